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


def pdf_text(source: Path | bytes, first: int | None = None, last: int | None = None,
             layout: bool = False, *, hyphenated: bool = False) -> str:
    """Return the text of a PDF (pdftotext, reading order), optionally of pages first..last;
    ``layout``: line by line as the page shows it (pdftotext -layout). Words hyphenated at a
    line end are joined again, unless ``hyphenated``."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
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


# --- the structure tree of a tagged PDF, read back with pikepdf ---------------------------------

def _to_unicode_map(font: object) -> dict[bytes, str]:
    """Return code → text of a font's /ToUnicode CMap (bfchar and bfrange entries)."""
    import pikepdf

    assert isinstance(font, pikepdf.Dictionary)
    cmap = font.get("/ToUnicode")
    assert cmap is not None, f"font {font.get('/BaseFont')} has no /ToUnicode map"
    data = cmap.read_bytes().decode("latin-1")
    mapping: dict[bytes, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            mapping[bytes.fromhex(src)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
        for src1, src2, rest in re.findall(
                r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            low, high, width = int(src1, 16), int(src2, 16), len(src1) // 2
            if rest.startswith("["):
                targets = re.findall(r"<([0-9A-Fa-f]*)>", rest)
                for offset, dst in enumerate(targets):
                    code = (low + offset).to_bytes(width, "big")
                    mapping[code] = bytes.fromhex(dst).decode("utf-16-be")
            else:
                start = bytes.fromhex(rest[1:-1])
                for offset in range(high - low + 1):
                    value = int.from_bytes(start, "big") + offset
                    code = (low + offset).to_bytes(width, "big")
                    mapping[code] = value.to_bytes(len(start), "big").decode("utf-16-be")
    return mapping


def marked_content(page: object) -> tuple[dict[int, str], list[str]]:
    """Return the text of a page's content stream by MCID, and the texts of its artifacts.

    Text is decoded through each font's /ToUnicode map (two-byte codes, as WeasyPrint writes).
    """
    import pikepdf

    assert isinstance(page, pikepdf.Page)
    fonts = page.resources.get("/Font", {})
    maps: dict[str, dict[bytes, str]] = {}
    stack: list[int | str | None] = []
    by_mcid: dict[int, str] = {}
    artifacts: list[str] = []
    font: dict[bytes, str] = {}

    def add(text: str) -> None:
        for item in reversed(stack):
            if item == "artifact":
                artifacts[-1] += text
                return
            if isinstance(item, int):
                by_mcid[item] = by_mcid.get(item, "") + text
                return
        raise AssertionError(f"text outside marked content: {text!r}")

    def decode(raw: bytes) -> str:
        return "".join(font.get(raw[i:i + 2], "\ufffd") for i in range(0, len(raw), 2))

    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "BDC":
            tag, props = operands
            if str(tag) == "/Artifact":
                stack.append("artifact")
                artifacts.append("")
            else:
                stack.append(int(props.get("/MCID")) if isinstance(props, pikepdf.Dictionary)
                             and "/MCID" in props else None)
        elif op == "BMC":
            if str(operands[0]) == "/Artifact":
                stack.append("artifact")
                artifacts.append("")
            else:
                stack.append(None)
        elif op == "EMC":
            stack.pop()
        elif op == "Tf":
            name = str(operands[0])
            if name not in maps:
                maps[name] = _to_unicode_map(fonts[name])
            font = maps[name]
        elif op == "Tj" or op in ("'", '"'):
            add(decode(bytes(operands[-1])))
        elif op == "TJ":
            add("".join(decode(bytes(item)) for item in operands[0]
                        if isinstance(item, pikepdf.String)))
    return by_mcid, artifacts


def structure_order(pdf: object) -> list[tuple[int, int]]:
    """Return (page index, MCID) of every content item of the structure tree, in tree order."""
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
    found: list[tuple[int, int]] = []

    def walk(node: object, page: int | None) -> None:
        if isinstance(node, pikepdf.Array):
            for item in node:
                walk(item, page)
        elif isinstance(node, pikepdf.Dictionary):
            if "/Pg" in node:
                page = pages[node.Pg.objgen]
            kind = node.get("/Type")
            if kind == "/MCR":
                assert page is not None
                found.append((page, int(node.MCID)))
            elif kind != "/OBJR" and "/K" in node:
                walk(node.K, page)
        elif isinstance(node, int):
            assert page is not None
            found.append((page, int(node)))

    walk(pdf.Root.StructTreeRoot.K, None)
    return found


def struct_elements(pdf: object) -> list[object]:
    """Return every structure element of the tree, in tree order."""
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    out: list[object] = []

    def walk(node: object) -> None:
        if isinstance(node, pikepdf.Array):
            for item in node:
                walk(item)
        elif isinstance(node, pikepdf.Dictionary) and node.get("/Type") not in ("/MCR", "/OBJR"):
            if "/S" in node:
                out.append(node)
            if "/K" in node:
                walk(node.K)

    walk(pdf.Root.StructTreeRoot.K)
    return out
