"""A Word draft read into the Markdown of a letter body.

What is carried over: paragraphs, headings (styles Title and Heading 1 to 3), bold and italic,
bulleted and numbered lists (by style name or by Word's list numbering), tables and links' text.
What is not: images, comments, footnotes and endnotes, text boxes, page layout, fonts and colours.
A draft with tracked changes is refused: they must be accepted or rejected in Word first, so that
nobody's deleted sentence comes back into a letter unseen.

Every character of the draft is text, never syntax: Markdown characters are escaped, and so are
``{{``, ``{%`` and ``<!--``, so a draft can neither add merge fields nor template code.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Location, TemplateError, relpath

MAX_DRAFT_BYTES = 20 * 1024 * 1024  # the .docx file
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # all its parts once unzipped (a zip bomb stops here)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# Always escaped: the characters CommonMark or a merge field could read as syntax anywhere.
_INLINE = re.compile(r"([\\`*_\[\]<>{}|&~])")
# Escaped at the start of a paragraph only: what would start a heading, a list or a quote there.
_LEADING = re.compile(r"^(#|-|\+|=|(\d+)([.)]))")


@dataclass
class _Para:
    kind: str  # "heading", "paragraph", "bullet", "number"
    text: str
    level: int = 0


def _escape(text: str) -> str:
    """Return ``text`` with every character CommonMark or a merge field could read escaped."""
    return _INLINE.sub(r"\\\1", text).replace("\\<!", "\\<\\!").replace("\\{%", "\\{\\%")


def _escape_start(line: str) -> str:
    """Return ``line`` with what would start a heading, list or quote escaped."""
    return _LEADING.sub(lambda m: f"{m.group(2)}\\{m.group(3)}" if m.group(2) else f"\\{m.group(1)}",
                        line)


def _clean(text: str, where: Location) -> str:
    out = []
    for ch in text:
        if ch in "\t\n\r\v\f\u2028\u2029":
            out.append(" ")
        elif 0xE000 <= ord(ch) <= 0xF8FF:
            raise TemplateError(f"the draft holds a symbol-font character (U+{ord(ch):04X}) that has no "
                                "meaning outside Word", where,
                                "replace it in Word with the character it shows (Insert > Symbol, "
                                "font (normal text))")
        elif unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u00ad\u200b\u200c\u200d\u2060":
            continue  # Word's invisible marks (field separators, bidi marks) carry no text
        else:
            out.append(ch)
    return "".join(out)


def _run_parts(paragraph: Any) -> list[tuple[str, bool, bool]]:
    """Return (text, bold, italic) for the paragraph's runs, links' text included."""
    from docx.text.hyperlink import Hyperlink

    parts: list[tuple[str, bool, bool]] = []
    for item in paragraph.iter_inner_content():
        runs = item.runs if isinstance(item, Hyperlink) else [item]
        for run in runs:
            if run.text:
                parts.append((run.text, bool(run.bold), bool(run.italic)))
    return parts


def _inline(paragraph: Any, where: Location, plain: bool = False) -> str:
    """Return the paragraph's text as inline Markdown, bold and italic kept unless ``plain``."""
    merged: list[list[Any]] = []
    for text, bold, italic in _run_parts(paragraph):
        if plain:
            bold = italic = False
        if merged and merged[-1][1:] == [bold, italic]:
            merged[-1][0] += text
        else:
            merged.append([text, bold, italic])
    out = []
    for text, bold, italic in merged:
        text = _clean(text, where)
        body = text.strip(" ")
        if not body:
            out.append(text)
            continue
        mark = "***" if bold and italic else "**" if bold else "*" if italic else ""
        lead = text[: len(text) - len(text.lstrip(" "))]
        trail = text[len(text.rstrip(" ")):]
        out.append(f"{lead}{mark}{_escape(body)}{mark}{trail}")
    # Only ordinary spaces are collapsed: a no-break space (French "Article\u00a01 :") is kept.
    return _escape_start(re.sub(r" {2,}", " ", "".join(out)).strip(" "))


def _list_kind(paragraph: Any, numbering: dict[tuple[str, str], str]) -> str | None:
    """Return "bullet" or "number" when the paragraph is a list item, else None."""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.startswith("List Bullet"):
        return "bullet"
    if style.startswith("List Number"):
        return "number"
    ppr = paragraph._p.pPr
    num = ppr.numPr if ppr is not None else None
    if num is None or num.numId is None:
        return None
    num_id = str(num.numId.val)
    if num_id == "0":  # numbering switched off for this paragraph
        return None
    level = str(num.ilvl.val) if num.ilvl is not None else "0"
    return "bullet" if numbering.get((num_id, level), "bullet") == "bullet" else "number"


def _numbering_formats(document: Any) -> dict[tuple[str, str], str]:
    """Return (numId, level) → numFmt ("bullet", "decimal", …) from the draft's numbering part."""
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return {}
    abstract = {}
    for node in root.findall(f"{_W}abstractNum"):
        levels = {}
        for lvl in node.findall(f"{_W}lvl"):
            fmt = lvl.find(f"{_W}numFmt")
            levels[lvl.get(f"{_W}ilvl") or "0"] = fmt.get(f"{_W}val") if fmt is not None else "decimal"
        abstract[node.get(f"{_W}abstractNumId")] = levels
    found = {}
    for node in root.findall(f"{_W}num"):
        ref = node.find(f"{_W}abstractNumId")
        levels = abstract.get(ref.get(f"{_W}val") if ref is not None else None, {})
        for level, fmt in levels.items():
            found[(node.get(f"{_W}numId") or "", level)] = fmt
    return found


def _heading_level(paragraph: Any) -> int:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return 1
    m = re.fullmatch(r"Heading (\d)", style)
    return min(int(m.group(1)), 3) if m else 0


def _open(path: Path) -> Any:
    shown = relpath(path)
    if not path.is_file():
        raise TemplateError(f"no Word draft at {shown}", Location(shown), "give the path of a .docx file")
    if path.stat().st_size > MAX_DRAFT_BYTES:
        raise TemplateError(f"the draft is larger than {MAX_DRAFT_BYTES // (1024 * 1024)} MB",
                            Location(shown),
                            "save it without images (they are not carried over anyway)")
    try:
        with zipfile.ZipFile(path) as package:
            if sum(info.file_size for info in package.infolist()) > MAX_UNPACKED_BYTES:
                raise TemplateError("the draft unpacks to more than 100 MB", Location(shown),
                                    "save it without images (they are not carried over anyway)")
    except zipfile.BadZipFile:
        raise TemplateError("not a Word document (.docx)", Location(shown),
                            "save the draft in Word as 'Word Document (.docx)'; .doc and .odt are "
                            "not read") from None
    import docx

    try:
        return docx.Document(str(path))
    except (KeyError, ValueError) as exc:
        raise TemplateError(f"not a Word document (.docx): {exc}", Location(shown),
                            "save the draft in Word as 'Word Document (.docx)'") from None


def draft_to_markdown(path: Path) -> str:
    """Return the Markdown of the Word draft at ``path``; raise TemplateError when it cannot be read."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = _open(path)
    shown = relpath(path)
    body = document.element.body
    if body.find(f".//{_W}ins") is not None or body.find(f".//{_W}del") is not None:
        raise TemplateError("the draft has tracked changes", Location(shown),
                            "accept or reject them in Word (Review > Accept/Reject), save, try again")
    numbering = _numbering_formats(document)
    blocks: list[str] = []
    items: list[str] = []
    kind_of_list = ""

    def close_list() -> None:
        nonlocal kind_of_list
        if items:
            blocks.append("\n".join(items))
            items.clear()
        kind_of_list = ""

    for item in document.iter_inner_content():
        where = Location(shown, 0)
        if isinstance(item, Table):
            close_list()
            table = _table(item, where)
            if table:
                blocks.append(table)
            continue
        assert isinstance(item, Paragraph)
        level = _heading_level(item)
        kind = None if level else _list_kind(item, numbering)
        text = _inline(item, where, plain=bool(level))
        if not text:
            continue
        if kind:
            if kind != kind_of_list:
                close_list()
                kind_of_list = kind
            items.append(f"{len(items) + 1}. {text}" if kind == "number" else f"- {text}")
            continue
        close_list()
        blocks.append(f"{'#' * level} {text}" if level else text)
    close_list()
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _table(table: Any, where: Location) -> str:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            texts = [_inline(p, where) for p in cell.paragraphs]
            cells.append(" ".join(t for t in texts if t) or " ")
        rows.append(cells)
    if not rows or not any(c.strip() for r in rows for c in r):
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [" "] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)
