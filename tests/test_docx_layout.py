"""The DOCX paginates as the PDF does: LibreOffice (headless) gives each part the PDF's page
count, and the package reopens in python-docx with Word's element order where Word checks it."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import run_cli
from lxml import etree

LETTER = "pact-implementation"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(line.split()[1] for line in info.stdout.splitlines()
                    if line.startswith("Pages:")))


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (Debian package "
                    "libreoffice-writer-nogui; make setup installs it)")
def test_docx_pages_equal_the_pdf_pages_in_libreoffice(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT,FR,FI,EL", "--quiet",
                   "--out", str(out)) == 0
    docx = sorted(out.rglob("*.docx"))
    assert len(docx) == 12
    converted = tmp_path / "converted"
    subprocess.run([str(SOFFICE), f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--convert-to", "pdf", "--outdir", str(converted),
                    *map(str, docx)], capture_output=True, check=True, timeout=300)
    counts = {}
    for path in docx:
        counts[path.stem] = (pages(path.with_suffix(".pdf")), pages(converted / f"{path.stem}.pdf"))
    assert all(pdf == word for pdf, word in counts.values()), counts
    assert {pdf for pdf, _ in counts.values()} >= {2}


def test_docx_parts_in_the_order_word_requires(project: Path, tmp_path: Path) -> None:
    import docx

    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--format", "docx", "--quiet",
                   "--out", str(out)) == 0
    sect_order = ["headerReference", "footerReference", "footnotePr", "endnotePr", "type",
                  "pgSz", "pgMar", "paperSrc", "pgBorders", "lnNumType", "pgNumType", "cols",
                  "formProt", "vAlign", "noEndnote", "titlePg", "textDirection", "bidi",
                  "rtlGutter", "docGrid", "printerSettings"]
    tbl_order = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
                 "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders",
                 "shd", "tblLayout", "tblCellMar", "tblLook"]
    tr_order = ["cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit",
                "trHeight", "tblHeader", "tblCellSpacing", "jc", "hidden"]

    def in_order(element: etree._Element, order: list[str]) -> bool:
        names = [child.tag.removeprefix(W) for child in element]
        assert all(n in order for n in names), names
        return [order.index(n) for n in names] == sorted(order.index(n) for n in names)

    for path in sorted(out.rglob("*.docx")):
        docx.Document(str(path))  # reopens
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            body = etree.fromstring(archive.read("word/document.xml"))
            app = archive.read("docProps/app.xml").decode()
        assert not [n for n in names if "thumbnail" in n.lower()]
        assert "Microsoft" not in app and "pactdocs" in app
        for sect in body.iter(f"{W}sectPr"):
            assert in_order(sect, sect_order)
        for tbl_pr in body.iter(f"{W}tblPr"):
            assert in_order(tbl_pr, tbl_order)
        rows = list(body.iter(f"{W}tr"))
        for tr_pr in body.iter(f"{W}trPr"):
            assert in_order(tr_pr, tr_order)
        # A header row repeats only from the top of its table, in an unbroken run of rows.
        for table in body.iter(f"{W}tbl"):
            flags = [row.find(f"{W}trPr/{W}tblHeader") is not None
                     for row in table.findall(f"{W}tr")]
            assert flags == sorted(flags, reverse=True)
        if path.stem.endswith("annex-2"):
            assert rows and rows[0].find(f"{W}trPr/{W}tblHeader") is not None
