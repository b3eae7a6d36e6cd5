"""XLIFF 1.2 exchange: export, schema, a CAT tool's edits imported back, refusals, round trip."""

from __future__ import annotations

import difflib
import io
import json
import re
from pathlib import Path

import pytest
from conftest import only_first_letter, run_cli
from lxml import etree
from readback import normalise, pdf_metadata, pdf_text

from pactdocs.locale.catalogs import read_catalog_file
from pactdocs.translation.xliff import NS, xliff_schema


@pytest.fixture
def project(project: Path) -> Path:
    """A copy of the project with the first sample letter only (see conftest.only_first_letter)."""
    return only_first_letter(project)

LETTER = "pact-implementation"
X = {"x": NS}


def read_catalog_file_bytes(data: bytes) -> dict[object, object]:
    from babel.messages.pofile import read_po

    return {m.id: m for m in read_po(io.BytesIO(data)) if m.id}


def catalogs(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes()
            for p in sorted((project / "letter_templates").glob("*/locale/*.po"))}


def export(project: Path, tmp_path: Path, language: str) -> Path:
    path = tmp_path / f"{language}.xlf"
    assert run_cli(project, "i18n", "export", "--lang", language, "--format", "xliff",
                   "--out", str(path)) == 0
    return path


def unit(tree: etree._ElementTree, source_start: str) -> etree._Element:
    for element in tree.iterfind(".//x:trans-unit", X):
        if "".join(element.find("x:source", X).itertext()).startswith(source_start):
            return element
    raise AssertionError(source_start)


@pytest.mark.parametrize("language", ["fr", "el", "ga"])
def test_export_validates_and_carries_states_codes_and_notes(project: Path, tmp_path: Path,
                                                             language: str) -> None:
    path = export(project, tmp_path, language)
    # Validate with lxml against OASIS's strict schema as published (and W3C's xml.xsd).
    schema = xliff_schema()
    tree = etree.parse(str(path))
    assert schema.validate(tree), schema.error_log
    files = tree.findall("x:file", X)
    assert [f.get("original") for f in files] == [f"{LETTER}/locale/{language}.po",
                                                  f"_frame/locale/{language}.po"]
    assert {f.get("product-name") for f in files} == {LETTER}
    assert files[0].get("target-language").split("-")[0] == language
    # Every catalog entry is a unit (one per plural form), with the state of its catalog entry.
    for file in files:
        owner = file.get("original").split("/")[0]
        babel = read_catalog_file(project / "letter_templates" / owner / "locale" / f"{language}.po")
        entries = [m for m in babel if m.id]
        units = file.findall(".//x:trans-unit", X)
        forms = sum(babel.num_plurals if isinstance(m.id, tuple) else 1 for m in entries)
        assert len(units) == forms
        for message in entries:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            expected = ("needs-translation" if not all(strings) else
                        "needs-review-translation" if message.fuzzy else "final")
            # Several frame texts share their English ("Yours sincerely,"): find by context.
            first = next((u for u in units if message.context and u.get("resname") == message.context),
                         None)
            if first is None:
                first = unit(tree, message.id if isinstance(message.id, str) else message.id[0])
            assert first.find("x:target", X).get("state") == expected
    # Placeholders are protected codes, the same in source and target.
    date = unit(tree, "On ")
    assert [ph.text for ph in date.find("x:source", X)] == ["%(date)s"]
    target = date.find("x:target", X)
    if "".join(target.itertext()):
        assert [ph.text for ph in target] == ["%(date)s"]
    notes = " ".join(n.text for n in date.findall("x:note", X))
    assert "letter, segment" in notes and "letter.html.j2:3" in notes
    # Plurals: a group with one unit per plural form of the language, each saying which numbers.
    group = tree.find(".//x:group[@restype='x-gettext-plurals']", X)
    nplurals = read_catalog_file(project / "letter_templates" / LETTER / "locale" /
                                 f"{language}.po").num_plurals
    assert len(group.findall("x:trans-unit", X)) == nplurals
    assert re.search(r"used for n = (0, )?1\b", " ".join(group.find("x:trans-unit", X).itertext()))


def test_round_trip_without_edits_changes_nothing(project: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = catalogs(project)
    for language in ("fr", "bg"):
        path = export(project, tmp_path, language)
        capsys.readouterr()
        assert run_cli(project, "i18n", "import", str(path)) == 0
        assert "0 changed" in capsys.readouterr().out
    assert catalogs(project) == before


def test_cat_tool_edits_are_imported(project: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = export(project, tmp_path, "fr")
    tree = etree.parse(str(path))
    # Edit a target and confirm it, as a translator does in a CAT tool.
    subject = unit(tree, "Putting the Pact")
    subject.find("x:target", X).text = "Rendre opérationnel le pacte sur la migration et l'asile"
    subject.find("x:target", X).set("state", "translated")
    # Reword another one and sign it off with approved="yes".
    closing = unit(tree, "I look forward")
    closing.find("x:target", X).text = "Je me réjouis de poursuivre notre coopération sur ce dossier."
    closing.set("approved", "yes")
    closing.find("x:target", X).set("state", "signed-off")
    # A machine suggestion marked translated is not a human approval: it stays fuzzy.
    mailbox = unit(tree, "Functional mailbox")
    mailbox.find("x:target", X).text = "Boîte aux lettres fonctionnelle (MT)"
    mailbox.find("x:target", X).set("state", "translated")
    mailbox.find("x:target", X).set("state-qualifier", "mt-suggestion")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    before = catalogs(project)
    capsys.readouterr()
    assert run_cli(project, "i18n", "import", str(path)) == 0
    assert "3 changed" in capsys.readouterr().out
    after = catalogs(project)
    assert after["letter_templates/_frame/locale/fr.po"] == before["letter_templates/_frame/locale/fr.po"]
    babel = read_catalog_file(project / "letter_templates" / LETTER / "locale" / "fr.po")
    subject_entry = babel.get("Putting the Pact on Migration and Asylum into operation", "subject")
    assert subject_entry.string.startswith("Rendre opérationnel") and not subject_entry.fuzzy
    closing_entry = babel.get("I look forward to our continued cooperation on this important work.")
    assert closing_entry.string.endswith("sur ce dossier.") and not closing_entry.fuzzy
    mt = babel.get("Functional mailbox")
    assert mt.string.endswith("(MT)") and mt.fuzzy
    # Only those entries changed in the .po file: their msgstr and fuzzy lines, nothing else.
    old_po = read_catalog_file_bytes(before[f"letter_templates/{LETTER}/locale/fr.po"])
    differing = {m.id for m in babel if m.id and (m.string, m.fuzzy) != (
        old_po[m.id].string, old_po[m.id].fuzzy)}
    assert len(differing) == 3
    diff = difflib.unified_diff(before[f"letter_templates/{LETTER}/locale/fr.po"].decode().splitlines(),
                                after[f"letter_templates/{LETTER}/locale/fr.po"].decode().splitlines(),
                                n=0, lineterm="")
    edits = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    allowed = ("#, fuzzy", "")
    assert edits and all(e[1:] in allowed or e[1:].startswith(("msgstr", '"')) for e in edits), edits

    # The status table and the rendered letter follow.
    capsys.readouterr()
    assert run_cli(project, "i18n", "status", "--lang", "fr") == 0
    assert re.search(rf"{LETTER}\s+fr\s+2\s+", capsys.readouterr().out)
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "BE", "--lang", "fr", "--format", "pdf",
                   "--parts", "letter", "--out", str(out), "--quiet") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    pdf = out / manifest["documents"][0]["path"]
    assert "Je me réjouis de poursuivre notre coopération sur ce dossier." in normalise(pdf_text(pdf))
    assert pdf_metadata(pdf)["/Title"] == "Rendre opérationnel le pacte sur la migration et l'asile"


def test_broken_placeholder_is_refused(project: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = export(project, tmp_path, "fr")
    text = path.read_text("utf-8")
    deadline = text.index("au plus tard le <ph")
    broken = text[:deadline] + re.sub(r'au plus tard le <ph id="1"[^>]*>%\(date\)s</ph>',
                                      "au plus tard le %(datum)s", text[deadline:], count=1)
    path.write_text(broken, "utf-8")
    line = broken[:deadline].count("\n") + 1
    before = catalogs(project)
    capsys.readouterr()
    assert run_cli(project, "i18n", "import", str(path)) == 1
    captured = capsys.readouterr()
    assert re.search(r"fr\.xlf:\d+: placeholders differ .*%\(datum\)s in msgstr is not in the source",
                     captured.out), captured.out
    assert int(re.search(r"fr\.xlf:(\d+):", captured.out).group(1)) <= line
    assert "nothing was imported" in captured.err
    assert catalogs(project) == before


def test_other_letter_language_or_outdated_source_is_refused(project: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = export(project, tmp_path, "fr")
    text = path.read_text("utf-8")
    before = catalogs(project)

    other = tmp_path / "other.xlf"
    other.write_text(text.replace(f'product-name="{LETTER}"', 'product-name="budget-2025"'), "utf-8")
    assert run_cli(project, "i18n", "import", str(other)) == 2
    assert "letter 'budget-2025', which this project does not have" in capsys.readouterr().err

    assert run_cli(project, "i18n", "import", str(path), "--lang", "de") == 2
    assert "this file is for language 'fr', not 'de'" in capsys.readouterr().err

    assert run_cli(project, "i18n", "import", str(path), "--letter", "another-letter") == 2
    assert "not 'another-letter'" in capsys.readouterr().err

    # The letter's text changes after the export: the file's units no longer match.
    body = project / "letter_templates" / LETTER / "annex-1.html.j2"
    body.write_text(body.read_text("utf-8").replace("Rethinking reception", "Reception, rethought"),
                    "utf-8")
    assert run_cli(project, "i18n", "extract") == 0
    assert run_cli(project, "i18n", "update") == 0
    before = catalogs(project)
    capsys.readouterr()
    assert run_cli(project, "i18n", "import", str(path)) == 1
    out = capsys.readouterr().out
    assert "outdated source text" in out and "Rethinking reception" in out
    assert catalogs(project) == before

    not_xliff = tmp_path / "broken.xlf"
    not_xliff.write_text(text[: len(text) // 2], "utf-8")
    assert run_cli(project, "i18n", "import", str(not_xliff)) == 2
    assert "broken.xlf" in capsys.readouterr().err


def test_final_accepts_a_language_once_every_unit_is_approved(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("merge", LETTER, "--to", "AT", "--lang", "fr", "--format", "docx", "--final",
            "--out", str(out), "--quiet")
    assert run_cli(project, *args) == 1
    path = export(project, tmp_path, "fr")
    tree = etree.parse(str(path))
    for element in tree.iterfind(".//x:trans-unit", X):
        assert "".join(element.find("x:target", X).itertext())  # French is fully drafted
        element.find("x:target", X).set("state", "final")
        element.set("approved", "yes")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    assert run_cli(project, "i18n", "import", str(path)) == 0
    assert run_cli(project, *args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert {d["status"] for d in manifest["documents"]} == {"written"}
    assert run_cli(project, "i18n", "status", "--lang", "fr", "--fail-under", "100") == 0


def test_inline_codes_survive_what_cat_tools_do_with_them() -> None:
    from pactdocs.translation.xliff import _q, fill_inline, flatten_inline

    text = "See <em>Annex %(number)s</em> by %(date)s (100%% sure)."
    source = etree.Element(_q("source"))
    fill_inline(source, text)
    codes = [(ph.get("ctype"), ph.text) for ph in source]
    assert codes == [("x-html", "<em>"), ("x-python-format", "%(number)s"), ("x-html", "</em>"),
                     ("x-python-format", "%(date)s"), ("x-python-format", "%%")]
    assert flatten_inline(source, {}) == text
    # A CAT tool moves the codes, writes some back empty or as <x/>, and wraps text in <mrk>.
    target = etree.fromstring(
        f'<target xmlns="{NS}">Voir <ph id="1"/>l\'annexe <x id="2"/><ph id="3">&lt;/em&gt;</ph> '
        f'<mrk mtype="seg">avant le <ph id="4">%(date)s</ph></mrk> (sûr à 100<ph id="5"/>).</target>')
    codes_by_id = {ph.get("id"): ph.text for ph in source}
    assert flatten_inline(target, codes_by_id) == ("Voir <em>l'annexe %(number)s</em> avant le "
                                                   "%(date)s (sûr à 100%%).")


def test_translate_toolkit_reads_our_export_and_its_edits_import(project: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]
                                                                  ) -> None:
    """translate-toolkit (the XLIFF library behind Weblate and Virtaal) stands in for a CAT tool."""
    from translate.storage import xliff

    path = export(project, tmp_path, "el")
    store = xliff.xlifffile.parsefile(str(path))
    units = {u.source: u for u in store.units if not u.isheader()}
    babel = read_catalog_file(project / "letter_templates" / LETTER / "locale" / "el.po")
    for message in babel:
        if message.id and isinstance(message.id, str):
            assert units[message.id].target == message.string  # placeholders read as plain text
            assert units[message.id].isfuzzy() == message.fuzzy
    units["Member State"].target = "Κράτος μέλος (εγκρίθηκε)"
    units["Member State"].markfuzzy(False)
    date_unit = next(u for s, u in units.items() if s.startswith("On %(date)s"))
    date_unit.markfuzzy(False)
    path.write_bytes(bytes(store))
    capsys.readouterr()
    assert run_cli(project, "i18n", "import", str(path)) == 0
    assert "2 changed" in capsys.readouterr().out
    babel = read_catalog_file(project / "letter_templates" / LETTER / "locale" / "el.po")
    assert babel.get("Member State").string == "Κράτος μέλος (εγκρίθηκε)"
    assert not babel.get("Member State").fuzzy
    assert not next(m for m in babel if isinstance(m.id, str) and m.id.startswith("On %(date)s")).fuzzy
    # Overwriting a target that holds codes can leave the old text behind; such a target is refused.
    date_unit.target = "Στις %(date)s η Επίτροπος έγραψε."
    path.write_bytes(bytes(store))
    before = catalogs(project)
    assert run_cli(project, "i18n", "import", str(path)) == 1
    assert "appears 2 times" in capsys.readouterr().out
    assert catalogs(project) == before


def test_export_of_several_languages_needs_a_folder(project: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "i18n", "export", "--lang", "fr,de", "--out", str(tmp_path / "x.xlf")) == 2
    assert "names one file" in capsys.readouterr().err
    assert run_cli(project, "i18n", "export", "--lang", "fr,de", "--out", str(tmp_path / "xliff")) == 0
    assert sorted(p.name for p in (tmp_path / "xliff").iterdir()) == [
        f"{LETTER}.de.xlf", f"{LETTER}.fr.xlf"]


def test_xliff2po_and_po2xliff_keep_every_gendered_variant(project: Path, tmp_path: Path) -> None:
    """translate-toolkit names same-source units apart by location: none may collapse."""
    import subprocess
    import sys

    from translate.storage import pypo

    path = export(project, tmp_path, "fr")
    bin_dir = Path(sys.executable).parent
    po = tmp_path / "fr.po"
    subprocess.run([str(bin_dir / "xliff2po"), str(path), str(po)], check=True, capture_output=True)
    store = pypo.pofile.parsefile(str(po))
    messages = [u for u in store.units if not u.isheader()]
    tree = etree.parse(str(path))
    singles = [u for u in tree.iterfind(".//x:trans-unit", X)
               if u.getparent().get("restype") != "x-gettext-plurals"]
    groups = [g.findall("x:trans-unit", X) for g in tree.iterfind(".//x:group", X)]
    # Every unit (each plural form is one for a reader of plain XLIFF) is a message of its own.
    assert len(messages) == len(singles) + sum(len(g) for g in groups)
    salutations = [m for m in messages if m.source == "Dear Ambassador,"]
    assert len(salutations) >= 2
    assert {m.target for m in salutations} >= {"Monsieur l'Ambassadeur,", "Madame l'Ambassadrice,"}
    contexts = {m.getcontext() for m in salutations}
    assert any("female" in c for c in contexts) and any(".male." in c for c in contexts)
    back = tmp_path / "back.xlf"
    subprocess.run([str(bin_dir / "po2xliff"), str(po), str(back)], check=True, capture_output=True)
    back_units = [u for u in etree.parse(str(back)).xpath("//*[local-name()='trans-unit']")
                  if u.get("restype") != "x-gettext-domain-header"]
    assert len(back_units) == len(messages)
    assert sum("".join(u.xpath("*[local-name()='source']//text()")) == "Dear Ambassador,"
               for u in back_units) == len(salutations)


def test_the_schemas_are_the_published_ones_and_check_what_strict_forbids() -> None:
    """OASIS's xliff-core-1.2-strict.xsd and W3C's xml.xsd, byte for byte as published."""
    import hashlib

    from pactdocs.translation.xliff import SCHEMA, XML_XSD

    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == \
        "9f37af564ecd27d5f69154d7cfe7ba8deb1f620c81b94cf0eab1f4205c74d5f8"
    assert hashlib.sha256(XML_XSD.read_bytes()).hexdigest() == \
        "a0bf9207f9143205101b1196b249b1233b7a74cbc9ce15baf45a0106b8f56cdc"
    schema = xliff_schema()

    def valid(unit: str, file_attrs: str = 'datatype="x-gettext"') -> bool:
        doc = (f'<xliff xmlns="{NS}" version="1.2"><file original="a" source-language="en" '
               f'{file_attrs}><body>{unit}</body></file></xliff>')
        return bool(schema.validate(etree.fromstring(doc.encode())))

    assert valid('<trans-unit id="1"><source>a</source><target state="new">a</target></trans-unit>')
    assert valid('<trans-unit id="1"><source>a</source><target state="x-mine">b</target></trans-unit>')
    assert not valid('<trans-unit id="1"><source>a</source><target state="done">b</target></trans-unit>')
    assert not valid('<trans-unit><source>a</source></trans-unit>')  # id is required
    assert not valid('<trans-unit id="1"><source>a</source></trans-unit>'
                     '<trans-unit id="1"><source>b</source></trans-unit>')  # ids are unique
    assert not valid('<trans-unit id="1"><target>b</target><source>a</source></trans-unit>')
    assert not valid('<trans-unit id="1"><source>a</source></trans-unit>', 'datatype="gettext"')
    assert not valid('<trans-unit id="1" xmlns:q="urn:q" q:x="1"><source>a</source></trans-unit>')
    # Strict refuses a context-group name used twice in a file (translate-toolkit's po-reference).
    assert not valid('<trans-unit id="1"><source>a</source><context-group name="n" purpose="location">'
                     '<context context-type="sourcefile">x</context></context-group></trans-unit>'
                     '<trans-unit id="2"><source>b</source><context-group name="n" purpose="location">'
                     '<context context-type="sourcefile">y</context></context-group></trans-unit>')


def test_import_sets_cat_tool_extensions_aside_and_refuses_core_errors(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = export(project, tmp_path, "fr")
    tree = etree.parse(str(path))
    first = tree.find(".//x:trans-unit", X)
    assert first is not None
    # What Trados or memoQ add in their own namespaces does not stop an import.
    first.set("{urn:example:cat-tool}segment-status", "Confirmed")
    etree.SubElement(first, "{urn:example:cat-tool}comment").text = "checked"
    first.find("x:target", X).text = "Texte confirmé"  # type: ignore[union-attr]
    first.find("x:target", X).set("state", "translated")  # type: ignore[union-attr]
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    assert run_cli(project, "i18n", "import", str(path)) == 0
    # A core error (a state XLIFF 1.2 does not have) refuses the file, with its line.
    first.find("x:target", X).set("state", "confirmed")  # type: ignore[union-attr]
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    before = catalogs(project)
    capsys.readouterr()
    assert run_cli(project, "i18n", "import", str(path)) == 1
    out = capsys.readouterr().out
    assert "OASIS strict schema" in out and "confirmed" in out
    assert re.search(r"fr\.xlf:\d+: ", out)
    assert catalogs(project) == before
