"""Every PDF is tagged (PDF/UA-1) and archival (PDF/A-2a): checked with the pdfua checker and with
pikepdf, the structure tree read back against the page text, and the house style's images."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pikepdf
import pytest
from conftest import copy_project, replace_in, run_cli
from readback import marked_content, pdf_text, struct_elements, structure_order

LETTER = "pact-implementation"
# Recipients whose languages cover Latin (with a DRAFT mark), Greek and Cyrillic.
DRAFTS = {"AT": "de", "CY": "el", "BG": "bg"}
# pdfua 0.1.3's empty-heading rule crashes on an /K array of MCIDs (its as_integer helper);
# headings are checked below instead.
CHECKER_FAULTS = {"UA-14-001"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("archival")
    project = copy_project(base / "project")
    out = base / "out"
    assert run_cli(project, "merge", LETTER, "--to", ",".join(DRAFTS), "--format", "pdf",
                   "--out", str(out / "draft"), "--quiet") == 0
    # English is the source language: --final renders it, without a DRAFT mark.
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--final",
                   "--format", "pdf", "--out", str(out / "final"), "--quiet") == 0
    return out


def pdfs(out: Path) -> list[tuple[str, Path]]:
    found = []
    for run in ("draft", "final"):
        manifest = json.loads((out / run / "manifest.json").read_text(encoding="utf-8"))
        found += [(d["language"], out / run / d["path"]) for d in manifest["documents"]]
    return found


def test_the_sample_covers_drafts_final_scripts_and_every_part(rendered: Path) -> None:
    found = {(lang, path.name.rsplit("-", 1)[0].rsplit("-", 1)[-1]) for lang, path in pdfs(rendered)}
    assert {lang for lang, _ in found} == {"de", "el", "bg", "en"}
    names = [path.name for _, path in pdfs(rendered)]
    assert len(names) == 12 and sum("annex" in n for n in names) == 8
    text = pdf_text(rendered / "draft/AT/de" / f"{LETTER}-AT-de-letter.pdf")
    assert "ENTWURF" in text
    assert "DRAFT" not in pdf_text(rendered / "final/AT/en" / f"{LETTER}-AT-en-letter.pdf")


def test_every_pdf_passes_the_pdfua_checker(rendered: Path) -> None:
    from pdfua import validate

    for _lang, path in pdfs(rendered):
        report = validate(str(path))
        assert not report.findings, (path.name, [(f.rule_id, f.message) for f in report.findings])
        skipped = {o.rule_id for o in report.outcomes if o.skipped_reason}
        assert skipped <= CHECKER_FAULTS, (path.name, skipped)


def _xmp(pdf: pikepdf.Pdf) -> str:
    return pdf.Root.Metadata.read_bytes().decode("utf-8")


def test_every_pdf_identifies_itself_as_pdfa_2a_and_pdfua_1(rendered: Path) -> None:
    for lang, path in pdfs(rendered):
        assert path.read_bytes().startswith(b"%PDF-1.7")
        with pikepdf.open(path) as pdf:
            meta = pdf.open_metadata()
            assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "A", path.name
            assert meta["pdfuaid:part"] == "1", path.name
            xmp = _xmp(pdf)
            # PDF/A admits pdfuaid only with its extension schema described in the packet.
            assert "<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/<" in xmp
            assert "<pdfaSchema:prefix>pdfuaid<" in xmp
            # The title is shown, in the file and in the XMP, and the same.
            assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
            assert meta["dc:title"] == str(pdf.docinfo.Title) and str(pdf.docinfo.Title)
            assert str(pdf.Root.Lang).split("-")[0] == lang
            assert pdf.Root.MarkInfo.Marked is True
            assert len(pdf.trailer.ID) == 2 and all(len(bytes(i)) >= 16 for i in pdf.trailer.ID)
            assert not pdf.is_encrypted and "/Names" not in pdf.Root or \
                "/JavaScript" not in pdf.Root.Names
            intents = pdf.Root.OutputIntents
            assert len(intents) == 1 and intents[0].S == "/GTS_PDFA1"
            assert intents[0].DestOutputProfile.N == 3  # an RGB ICC profile for DeviceRGB
            for page in pdf.pages:
                for annot in page.get("/Annots", []):
                    assert int(annot.F) & 4, "annotations must be printable"
                for name, font in page.resources.get("/Font", {}).items():
                    descendants = font.get("/DescendantFonts", [font])
                    for f in descendants:
                        descriptor = f.FontDescriptor
                        assert any(k in descriptor for k in ("/FontFile", "/FontFile2",
                                                             "/FontFile3")), (path.name, name)
                    assert "/ToUnicode" in font, (path.name, name)


def _strip_artifacts(text: str, artifacts: list[str]) -> str | None:
    """Return ``text`` without the artifacts that stand before and after the page's content."""
    pieces = [a for a in artifacts if a]
    changed = True
    while changed:
        changed = False
        for piece in pieces:
            if text.startswith(piece):
                text, changed = text[len(piece):], True
                pieces.remove(piece)
                break
            if text.endswith(piece):
                text, changed = text[:-len(piece)], True
                pieces.remove(piece)
                break
    return None if pieces else text  # None: an artifact stood amid the page's content


def _same_text(page_text: str | None, pieces: list[str]) -> bool:
    """Return whether the tree's pieces of text, in order, spell ``page_text`` (whitespace
    removed). pdftotext joins a word hyphenated at a line's end ("по-" + "последователно"),
    dropping the hyphen: a hyphen that ends a piece (a line) may be missing from ``page_text``."""
    if page_text is None:
        return False
    at = 0
    for piece in pieces:
        body, hyphen = (piece[:-1], True) if piece.endswith("-") else (piece, False)
        if not page_text.startswith(body, at):
            return False
        at += len(body)
        if hyphen and page_text.startswith("-", at):
            at += 1
    return at == len(page_text)


def test_structure_tree_reads_the_page_text_in_order(rendered: Path) -> None:
    for _lang, path in pdfs(rendered):
        with pikepdf.open(path) as pdf:
            order = structure_order(pdf)
            assert len(order) == len(set(order)), "a content item is in the tree twice"
            for index, page in enumerate(pdf.pages):
                by_mcid, artifacts = marked_content(page)
                in_tree = [mcid for p, mcid in order if p == index]
                # All text is tagged: every marked content item of the page is in the tree.
                assert set(in_tree) == set(by_mcid), (path.name, index)
                pieces = [re.sub(r"\s+", "", by_mcid[m]) for m in in_tree]
                # Only page numbers, the DRAFT header and the emblem are artifacts.
                assert all(re.fullmatch(r"\d+/\d+|ENTWURF|ΣΧΕΔΙΟ|ПРОЕКТ|", a.strip())
                           for a in artifacts), artifacts
                heads = [a.replace(" ", "") for a in artifacts]
                # pdftotext reads a page in one of two ways: by its own analysis of blocks (which
                # takes a justified line with wide gaps for columns) or line by line (which
                # interleaves the lines of table cells side by side). The tree must spell the
                # page's text in order as one of them reads it.
                readings = [re.sub(r"\s+", "", pdf_text(path, index + 1, index + 1, layout=mode,
                                                          hyphenated=True))
                            for mode in (False, True)]
                assert any(_same_text(_strip_artifacts(text, list(heads)), pieces)
                           for text in readings), (path.name, index)


def test_addressee_enclosures_and_cc_are_tagged_in_reading_order(rendered: Path) -> None:
    path = rendered / "final/AT/en" / f"{LETTER}-AT-en-letter.pdf"
    with pikepdf.open(path) as pdf:
        order = structure_order(pdf)
        texts = {i: marked_content(page)[0] for i, page in enumerate(pdf.pages)}
        # Names and dates hold no-break spaces (they never break across lines).
        tree_text = " ".join(texts[p][m] for p, m in order).replace("\u00a0", " ")
        elements = struct_elements(pdf)
        kinds = [str(e.S) for e in elements]
    for line in ("Mr Thomas Oberreiter", "Avenue de Cortenbergh 30", "E-mail: bruessel-ov@bmeia.gv.at"):
        assert line in tree_text
    # The addressee block is read where page 1 shows it: after that page's text, before page 2.
    assert tree_text.index("Dear Ambassador,") < tree_text.index("Mr Thomas Oberreiter") \
        < tree_text.index("Yours sincerely,")
    # The enclosure and c.c. lists are lists, not layout tables; a letter has no table at all.
    assert "/Table" not in kinds and kinds.count("/L") >= 2 and kinds.count("/LI") >= 8
    assert "/Sect" in kinds


def test_headings_lists_and_table_headers_are_tagged(rendered: Path) -> None:
    path = rendered / "draft/BG/bg" / f"{LETTER}-BG-bg-annex-2.pdf"
    with pikepdf.open(path) as pdf:
        elements = struct_elements(pdf)
        texts = {i: marked_content(page)[0] for i, page in enumerate(pdf.pages)}
        headings = [e for e in elements if str(e.S) == "/H1"]
        assert len(headings) == 1 and structure_order_of(pdf, headings[0], texts).strip()
        headers = [e for e in elements if str(e.S) == "/TH"]
        cells = [e for e in elements if str(e.S) == "/TD"]
        assert len(headers) >= 3 and cells
        assert all(str(h.A.Scope) == "/Column" and "/ID" in h for h in headers)
        ids = {bytes(h.ID) for h in headers}
        assert all(len(c.A.Headers) == 1 and bytes(c.A.Headers[0]) in ids for c in cells)
    annex1 = rendered / "draft/CY/el" / f"{LETTER}-CY-el-annex-1.pdf"
    with pikepdf.open(annex1) as pdf:
        kinds = [str(e.S) for e in struct_elements(pdf)]
        assert "/H1" in kinds and "/L" in kinds and "/LBody" in kinds and "/Lbl" in kinds


def structure_order_of(pdf: pikepdf.Pdf, element: object, texts: dict[int, dict[int, str]]) -> str:
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
    assert isinstance(element, pikepdf.Dictionary)
    page = pages[element.Pg.objgen]
    kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
    out = []
    for kid in kids:
        if isinstance(kid, int):
            out.append(texts[page][int(kid)])
        elif isinstance(kid, pikepdf.Dictionary) and "/K" in kid:
            out.append(structure_order_of(pdf, kid, texts))
    return "".join(out)


def test_rendering_is_byte_reproducible(project: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        assert run_cli(project, "merge", LETTER, "--to", "CY", "--format", "pdf", "--out",
                       str(out), "--quiet", "--jobs", "1") == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*.pdf"))
    assert len(files) == 3
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# --- images of the house style -------------------------------------------------------------------

def _form_contents(resources: pikepdf.Dictionary) -> bytes:
    """Return the content of every form XObject under ``resources``, nested ones too."""
    data = b""
    for xobject in resources.get("/XObject", {}).values():
        if xobject.get("/Subtype") == "/Form":
            data += xobject.read_bytes() + _form_contents(xobject.get("/Resources", pikepdf.Dictionary()))
    for pattern in resources.get("/Pattern", {}).values():
        if isinstance(pattern, pikepdf.Stream):
            data += pattern.read_bytes() + _form_contents(pattern.get("/Resources", pikepdf.Dictionary()))
    return data


def test_letterhead_emblem_from_style_is_drawn(rendered: Path) -> None:
    path = rendered / "draft/AT/de" / f"{LETTER}-AT-de-letter.pdf"
    with pikepdf.open(path) as pdf:
        drawn = _form_contents(pdf.pages[0].resources)
    # The emblem's blue tile and gold seal (emblem.svg: #1f3a93 and #f2c12e) are painted.
    colours = {tuple(round(float(c) * 255) for c in m.groups())
               for m in re.finditer(rb"([\d.]+) ([\d.]+) ([\d.]+) rg", drawn)}
    assert {(0x1F, 0x3A, 0x93), (0xF2, 0xC1, 0x2E)} <= colours, colours


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([31, 58, 147]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_png_emblem_in_style_becomes_an_image(project: Path, tmp_path: Path) -> None:
    style = project / "letter_templates" / "_style"
    (style / "emblem.png").write_bytes(_png(48, 40))
    replace_in(style / "letter.css", "url(emblem.svg)", "url(emblem.png)")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--parts", "letter", "--format", "pdf",
                   "--out", str(out), "--quiet") == 0
    with pikepdf.open(out / "AT/de" / f"{LETTER}-AT-de-letter.pdf") as pdf:
        images = []

        def collect(resources: pikepdf.Dictionary) -> None:
            for xobject in resources.get("/XObject", {}).values():
                if xobject.get("/Subtype") == "/Image":
                    images.append(xobject)
                elif "/Resources" in xobject:
                    collect(xobject.Resources)
            for pattern in resources.get("/Pattern", {}).values():
                if isinstance(pattern, pikepdf.Stream) and "/Resources" in pattern:
                    collect(pattern.Resources)

        collect(pdf.pages[0].resources)
    assert [(int(i.Width), int(i.Height)) for i in images] == [(48, 40)]


def test_a_small_data_url_in_style_is_allowed(project: Path, tmp_path: Path) -> None:
    style = project / "letter_templates" / "_style"
    url = "data:image/png;base64," + base64.b64encode(_png(8, 8)).decode()
    replace_in(style / "letter.css", "url(emblem.svg)", f"url({url})")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--parts", "letter", "--format", "pdf",
                   "--out", str(out), "--quiet") == 0


@pytest.mark.parametrize(
    ("url", "setup"),
    [
        ("file:///etc/hostname", None),
        ("http://127.0.0.1:9/emblem.png", None),
        ("https://example.invalid/emblem.png", None),
        ("../pact-implementation/letter.yaml", None),
        ("outside.svg", "symlink"),
        ("data:image/png;base64," + "A" * (1 << 20), None),
    ],
)
def test_any_url_outside_style_fails_the_document(project: Path, tmp_path: Path, url: str,
                                                  setup: str | None) -> None:
    style = project / "letter_templates" / "_style"
    if setup == "symlink":
        # A link inside _style that leads out of it is refused too (the path is resolved).
        (tmp_path / "outside.svg").write_bytes((style / "emblem.svg").read_bytes())
        (style / "outside.svg").symlink_to(tmp_path / "outside.svg")
    replace_in(style / "letter.css", "url(emblem.svg)", f"url({url})")
    out = tmp_path / "out"
    code = run_cli(project, "merge", LETTER, "--to", "AT", "--format", "pdf,docx", "--out",
                   str(out), "--quiet")
    assert code == 1
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    failed = [d for d in manifest["documents"] if d["status"] == "failed"]
    assert {d["format"] for d in failed} == {"pdf"} and len(failed) == 3
    shown = "too large" if url.startswith("data:") else url.rsplit("/", 1)[-1]
    assert all(shown in d["error"] and "refused" in d["error"] or "too large" in d["error"]
               for d in failed), failed[0]["error"]
    assert all("_style" in d["error"] for d in failed), failed[0]["error"]
    assert not list(out.rglob("*.pdf"))
