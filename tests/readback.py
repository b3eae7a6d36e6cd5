"""Read generated files back, never trusting the writer: text, pages, fonts, metadata."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from docx import Document as open_docx


def _bytes(source: Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


# The character WeasyPrint draws where it hyphenates a word at the end of a line.
SOFT_HYPHEN_SHOWN = "\u2010"


def pdf_text(source: Path | bytes, first: int | None = None, last: int | None = None, *,
             hyphenated: bool = False) -> str:
    """Return the text of a PDF (pdftotext, reading order), optionally of pages first..last.

    Words hyphenated at a line end are joined again, unless ``hyphenated``.
    """
    args = ["pdftotext", "-enc", "UTF-8"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    done = subprocess.run([*args, "-", "-"], input=_bytes(source), capture_output=True, check=True)
    text = done.stdout.decode("utf-8")
    return text if hyphenated else re.sub(f"{SOFT_HYPHEN_SHOWN}\n\\s*", "", text)


def pdf_pages(source: Path | bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(_bytes(source))).pages)


def pdf_fonts(source: Path | bytes) -> list[dict[str, object]]:
    """Return the fonts of a PDF as pdffonts lists them: name, embedded, subset."""
    done = subprocess.run(["pdffonts", "-"], input=_bytes(source), capture_output=True, check=True)
    fonts = []
    for line in done.stdout.decode().splitlines()[2:]:
        parts = line.split()
        # name ... emb sub uni object ID  (the type may contain spaces)
        fonts.append({"name": parts[0], "embedded": parts[-5] == "yes", "subset": parts[-4] == "yes"})
    return fonts


def pdf_metadata(source: Path | bytes) -> dict[str, str]:
    from pypdf import PdfReader

    info = PdfReader(io.BytesIO(_bytes(source))).metadata or {}
    return {str(k): str(v) for k, v in info.items()}


def _xml_text(element: object) -> str:
    parts = []
    for node in element.iter():  # type: ignore[attr-defined]
        tag = node.tag.rsplit("}", 1)[-1]
        if tag == "t":
            parts.append(node.text or "")
        elif tag in ("tab", "br"):
            parts.append(" ")
    return "".join(parts)


def docx_text(source: Path | bytes) -> str:
    """Return a DOCX's text: headers, then body paragraphs and tables in order, then footers."""
    doc = open_docx(io.BytesIO(_bytes(source)))
    lines: list[str] = []
    section = doc.sections[0]
    headers = [section.header]
    if section.different_first_page_header_footer:
        headers.insert(0, section.first_page_header)
    seen_header = set()
    for part in headers:
        for p in part.paragraphs:
            if p.text and p.text not in seen_header:
                seen_header.add(p.text)
                lines.append(p.text)
    body = doc.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(_xml_text(child))
        elif tag == "tbl":
            for row in child.iter():
                if row.tag.endswith("}tr"):
                    cells = [_xml_text(c) for c in row if c.tag.endswith("}tc")]
                    lines.append(" ".join(cells))
    footers = [section.first_page_footer] if section.different_first_page_header_footer else []
    for part in footers:
        for p in part.paragraphs:
            if p.text and not re.fullmatch(r"[\d/]+", p.text):
                lines.append(p.text)
    return "\n".join(lines)


def normalise(text: str) -> str:
    """Return ``text`` with whitespace collapsed and typographic apostrophes made plain."""
    return " ".join(text.replace("\u2019", "'").split())


def words(text: str) -> list[str]:
    """Return the words of ``text`` in order, without page numbers ("1/2") and list numbers
    ("1."), which DOCX keeps as fields and numbering that only a word processor fills in."""
    return [w for w in normalise(text).split() if not re.fullmatch(r"\d+/\d+|\d+\.", w)]
