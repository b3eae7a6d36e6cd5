"""Quick start-up parts of the PDF writer give the answers of the parts they stand in for:
hyphenation patterns parsed on demand hyphenate every word as Pyphen does, in each of the 24
languages that has a dictionary, the library look-up names the libraries ldconfig names, glyph
arrays made without cffi's C parser give the same PDF bytes, and the parts of fontTools imported
when first used work when they are used."""

from __future__ import annotations

import ctypes.util
import marshal
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyphen
import pytest
from conftest import ROOT

from pactdocs.sources.languages import load_languages
from pactdocs.writers import hyphenation, weasy
from pactdocs.writers.hyphenation import QuickHyphDict

# Pyphen's own class (once PDFs are written in this process, pyphen.HyphDict is the quick one).
PyphenHyphDict = QuickHyphDict.__bases__[0]

LANGUAGES = sorted(load_languages(ROOT / "letter_templates" / "_frame" / "languages.yaml"))


def words_of(language: str) -> list[str]:
    """The words of the language's catalogs, and a few long compounds made of them."""
    name = "messages.pot" if language == "en" else f"{language}.po"
    text = " ".join(p.read_text(encoding="utf-8")
                    for p in (ROOT / "letter_templates").glob(f"*/locale/{name}"))
    words = sorted(set(re.findall(r"[^\W\d_]{4,}", text)))
    return words + ["".join(words[i:i + 3]) for i in range(0, len(words) - 3, 7)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_quick_patterns_hyphenate_as_pyphen_does(language: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fallback = pyphen.language_fallback(language)
    if fallback is None:
        assert language in ("fi", "ga", "mt"), f"{language} lost its hyphenation dictionary"
        return
    path = pyphen.LANGUAGES[fallback]
    # The table make setup kept, and the dictionary read without it.
    kept = QuickHyphDict(path)
    assert kept.from_table, f"make setup keeps {language}'s table in {hyphenation.TABLES}"
    monkeypatch.setattr(hyphenation, "TABLES", tmp_path / "none")
    read = QuickHyphDict(path)
    assert not read.from_table
    slow = PyphenHyphDict(path)
    words = words_of(language)
    assert len(words) > 300, language
    for quick in (kept, read):
        assert quick.maxlen == slow.maxlen
        for word in words:
            expected = [(int(p), getattr(p, "data", None)) for p in slow.positions(word)]
            assert [(int(p), getattr(p, "data", None))
                    for p in quick.positions(word)] == expected, word
        # Every pattern Pyphen keeps is there, with the same points; none that Pyphen drops.
        assert {k for k in quick.patterns
                if quick.patterns.get(k) is not None} == set(slow.patterns)
        assert all(quick.patterns.get(k) == v for k, v in slow.patterns.items())


def test_a_hyphenation_table_is_used_only_for_the_dictionary_it_was_made_from(
        tmp_path: Path) -> None:
    path = Path(pyphen.LANGUAGES[pyphen.language_fallback("de")])
    folder, count = hyphenation.build(tmp_path / "tables")
    assert count == len(set(pyphen.LANGUAGES.values()))
    table = folder / (path.stem + ".marshal")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        Path(p).stem + ".marshal" for p in set(pyphen.LANGUAGES.values()))  # no scratch left
    raw = path.read_bytes()
    made = hyphenation.read_table(path, raw, folder)
    assert made is not None and made == hyphenation.read_table(path, raw)  # as make setup's
    # Another dictionary's bytes (an edited or updated file), another layout, another Pyphen,
    # a torn or foreign file: not used, the dictionary is read.
    assert hyphenation.read_table(path, raw + b"\nxy1z\n", folder) is None
    kept = marshal.loads(table.read_bytes())
    for junk in (marshal.dumps({**kept, "format": 0}), marshal.dumps({**kept, "pyphen": "0.1"}),
                 marshal.dumps({**kept, "patterns": {}}), marshal.dumps({**kept, "maxlen": "9"}),
                 marshal.dumps([1, 2]), b"", b"\x00" * 10, table.read_bytes()[:-9]):
        table.write_bytes(junk)
        assert hyphenation.read_table(path, raw, folder) is None
    assert hyphenation.read_table(path, raw, tmp_path / "absent") is None


def test_nonstandard_hyphenation_is_kept() -> None:
    """Hungarian breaks 'ssz' as 'sz-sz': Pyphen's alternative data survives the quick parse."""
    path = pyphen.LANGUAGES[pyphen.language_fallback("hu")]
    quick = pyphen.Pyphen(lang="hu")
    quick.hd = QuickHyphDict(path)
    slow = pyphen.Pyphen(lang="hu")
    slow.hd = PyphenHyphDict(path)
    for word in ("asszony", "hosszú", "visszaküld", "összeg"):
        assert quick.inserted(word) == slow.inserted(word), word
    assert quick.inserted("asszony") == "asz-szony"


@pytest.mark.parametrize("name", ["gobject-2.0", "pango-1.0", "harfbuzz", "harfbuzz-subset",
                                  "fontconfig", "pangoft2-1.0", "c", "m",
                                  "no-such-library-pactdocs"])
def test_library_lookup_names_what_ldconfig_names(name: str) -> None:
    assert weasy.find_in_linker_path(name) == ctypes.util.find_library(name)


def _documents() -> list[object]:
    from pactdocs.compose import Composer, Project

    project = Project(ROOT)
    letter = project.letter("pact-implementation")
    composer = Composer(project, letter, project.registry())
    composer.prepare(["de", "el", "bg"])
    return [composer.compose(letter.part(part), who, language, final=False)
            for part, who, language in (("letter", "AT", "de"), ("annex-1", "CY", "el"),
                                        ("annex-2", None, "bg"))]


def test_glyph_arrays_give_the_same_pdf_bytes_as_cffi() -> None:
    from pactdocs.writers import get_writer

    weasy.load()
    from weasyprint.pdf import fonts

    assert isinstance(fonts.ffi, weasy.GlyphArrays)
    documents = _documents()
    quick = [get_writer("pdf", ROOT / "letter_templates" / "_style").write(d) for d in documents]
    handle = fonts.ffi
    fonts.ffi = handle._ffi
    try:
        plain = [get_writer("pdf", ROOT / "letter_templates" / "_style").write(d) for d in documents]
    finally:
        fonts.ffi = handle
    assert quick == plain
    array = handle.new("hb_codepoint_t[3]", [7, 5, 9])
    assert len(array) == 3 and list(array) == [7, 5, 9]
    # Any other declaration, and a length that does not match its values, go to cffi as asked.
    assert len(handle.new("hb_codepoint_t[4]", [1])) == 4
    assert handle.typeof("hb_codepoint_t") is handle._ffi.typeof("hb_codepoint_t")


def test_font_tools_parts_are_imported_when_first_used() -> None:
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from pactdocs.writers import get_writer, weasy
        sys.path.insert(0, "tests")
        from test_hyphenation import _documents
        weasy.load()
        from weasyprint.pdf import fonts
        assert "fontTools.subset" not in sys.modules, "imported with WeasyPrint"
        assert "fontTools.varLib.instancer" not in sys.modules, "imported with WeasyPrint"
        # As on a system without HarfBuzz's subsetter: WeasyPrint subsets with fontTools.
        fonts.harfbuzz_subset = None
        document = _documents()[0]
        data = get_writer("pdf", Path("letter_templates/_style")).write(document)
        assert "fontTools.subset" in sys.modules
        import fontTools.subset
        assert fonts.subset.Subsetter is fontTools.subset.Subsetter
        from fontTools.ttLib import TTFont
        from fontTools.varLib.instancer import instantiateVariableFont
        font = TTFont("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        for function in (fonts.instantiateVariableFont, instantiateVariableFont):
            try:
                function(font, {"wght": 400})
            except ValueError as error:
                print("refused:", error)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          check=True)
    first, second, data = done.stdout.split(b"\n", 2)
    assert first == second and first.startswith(b"refused:")
    assert data.startswith(b"%PDF")
    from readback import pdf_fonts, pdf_text

    assert "GENERALDIREKTION MIGRATION UND INNERES" in pdf_text(data)
    assert all(font["embedded"] for font in pdf_fonts(data))


_TABLES_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    from pathlib import Path
    from pactdocs.writers import get_writer, weasy, weasyffi
    sys.path.insert(0, "tests")
    from test_hyphenation import _documents
    if sys.argv[1] != "kept":
        weasyffi.TABLES = Path(sys.argv[2])
    weasy.load()
    from weasyprint.text import ffi
    print(type(ffi.ffi).__name__, "pycparser" in sys.modules)
    for document in _documents():
        data = get_writer("pdf", Path("letter_templates/_style")).write(document)
        print(hashlib.sha256(data).hexdigest())
""")


def _render_with_tables(mode: str, tables: str = "") -> list[str]:
    done = subprocess.run([sys.executable, "-c", _TABLES_SCRIPT, mode, tables], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_weasyprint_declarations_kept_at_setup_give_the_same_pdf_bytes(tmp_path) -> None:
    from pactdocs.writers import weasyffi

    tables = weasyffi.read_tables()
    assert tables is not None, f"make setup keeps the tables in {weasyffi.TABLES}"
    kept = _render_with_tables("kept")
    assert kept[:2] == ["PrebuiltFFI", "False"]  # no C parser imported
    parsed = _render_with_tables("none", str(tmp_path / "missing.marshal"))
    assert parsed[:2] == ["FFI", "True"]
    assert kept[2:] == parsed[2:] and len(kept) == 5
    # Tables of other declarations (another WeasyPrint) are refused at the first cdef.
    other = tmp_path / "other.marshal"
    other.write_bytes(marshal.dumps({**tables, "sha256": "0" * 64}))
    assert _render_with_tables("other", str(other)) == parsed
    # A torn or foreign file is no tables at all.
    for junk in (b"", b"\x00" * 10, marshal.dumps([1, 2]), marshal.dumps({**tables, "format": 0}),
                 marshal.dumps(tables)[:-9]):
        other.write_bytes(junk)
        assert weasyffi.read_tables(other) is None
    assert weasyffi.read_tables(tmp_path / "absent") is None


def test_weasyprint_declarations_are_kept_whole_by_build(tmp_path) -> None:
    from pactdocs.writers import weasyffi

    target = tmp_path / "share" / "tables.marshal"
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from pactdocs.writers import weasyffi; weasyffi.build(Path(sys.argv[1]))",
                    str(target)], cwd=ROOT, check=True)
    assert weasyffi.read_tables(target) == weasyffi.read_tables()
    assert [p.name for p in target.parent.iterdir()] == ["tables.marshal"]
