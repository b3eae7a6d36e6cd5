"""HTML of a Document: the input of the PDF writer, and a preview format of its own."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ..model import Block, Cell, Document, Heading, ListBlock, PageBreak, Paragraph, Run, Table
from ..sources.files import MAX_TEMPLATE_BYTES, read_inside


def runs_html(runs: tuple[Run, ...]) -> str:
    parts = []
    for run in runs:
        text = escape(run.text).replace("\n", "<br>")
        if run.bold:
            text = f"<strong>{text}</strong>"
        if run.italic:
            text = f"<em>{text}</em>"
        if run.href:
            text = f'<a href="{escape(run.href)}">{text}</a>'
        parts.append(text)
    return "".join(parts)


def _cell(tag: str, cell: Cell) -> str:
    scope = ' scope="col"' if tag == "th" else ""
    return f"<{tag}{scope}>{runs_html(cell.runs)}</{tag}>"


def block_html(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f'<p class="{escape(block.role)}">{runs_html(block.runs)}</p>'
    if isinstance(block, Heading):
        return f"<h{block.level}>{runs_html(block.runs)}</h{block.level}>"
    if isinstance(block, ListBlock):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{runs_html(i.runs)}</li>" for i in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, Table):
        cols = ""
        if block.widths:
            total = sum(block.widths)
            cols = "".join(f'<col style="width:{100 * w / total:.2f}%">' for w in block.widths)
        head = "".join(_cell("th", c) for c in block.header)
        rows = "".join("<tr>" + "".join(_cell("td", c) for c in row) + "</tr>" for row in block.rows)
        return (f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table>")
    if isinstance(block, PageBreak):
        return '<div class="page-break"></div>'
    raise TypeError(block)


def _lines(css_class: str, lines: tuple[str, ...] | list[str]) -> str:
    inner = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return f'<div class="{css_class}">{inner}</div>'


def _labelled_list(css_class: str, label: str | None, items: tuple[str, ...]) -> str:
    """Return a label and a list beside it (enclosures, c.c.): a list, never a layout table."""
    inner = "".join(f"<li>{escape(item)}</li>" for item in items)
    return (f'<div class="{css_class}"><p class="label">{escape(label or "")}</p>'
            f"<ul>{inner}</ul></div>")


def document_html(doc: Document, stylesheet_link: bool = True) -> str:
    """Return the whole HTML page of ``doc``.

    Everything a reader needs is in the flow, in reading order, so that the PDF's structure tree
    holds it: page-margin boxes (WeasyPrint leaves them out of the tree) carry only page numbers
    and the DRAFT mark of pages after the first, which the first page shows in the flow.
    """
    out = [f'<!DOCTYPE html><html lang="{escape(doc.language)}"><head><meta charset="utf-8">',
           f"<title>{escape(doc.title)}</title>",
           f'<meta name="author" content="{escape(doc.author)}">',
           f'<meta name="description" content="{escape(doc.subject)}">',
           f'<meta name="dcterms.created" content="{escape(doc.created)}">',
           f'<meta name="dcterms.modified" content="{escape(doc.created)}">']
    if stylesheet_link:
        out.append('<link rel="stylesheet" href="letter.css">')
    out.append(f'</head><body class="{doc.kind}">')
    if doc.draft_mark:
        out.append(f'<p class="draft-mark">{escape(doc.draft_mark)}</p>'
                   f'<div class="draft-header">{escape(doc.draft_mark)}</div>')
    out.append(_lines("letterhead", doc.letterhead))
    if doc.kind == "letter":
        if doc.place_date:
            out.append(f'<p class="place-date">{escape(doc.place_date)}</p>')
        if doc.reference:
            out.append(f'<p class="reference">{escape(doc.reference)}</p>')
        # The addressee block is drawn at the foot of page 1 by the stylesheet; it is the one
        # section of a letter, and the PDF writer reads it in where the page shows it.
        inner = "".join(f"<p>{escape(line)}</p>" for line in doc.addressee)
        out.append(f'<section class="addressee">{inner}</section>')
        if doc.salutation:
            out.append(f'<p class="salutation">{escape(doc.salutation)}</p>')
    else:
        out.append(f'<h1 class="annex-title">{escape(doc.heading or "")}</h1>')
        out.append(f'<p class="annex-subtitle">{escape(doc.subheading or "")}</p>')
    out.append('<div class="body">' + "".join(block_html(b) for b in doc.body) + "</div>")
    if doc.closing:
        out.append(f'<p class="closing">{escape(doc.closing)}</p>')
    if doc.signature:
        out.append(_lines("signature", doc.signature))
    if doc.enclosures:
        out.append(_labelled_list("enclosures", doc.enclosure_label, doc.enclosures))
    if doc.cc:
        out.append(_labelled_list("cc", doc.cc_label, doc.cc))
    out.append("</body></html>")
    return "".join(out)


class HtmlWriter:
    name = "html"
    suffix = ".html"

    def __init__(self, style_dir: Path) -> None:
        # The house style of the project being rendered (letter_templates/_style), never the
        # copy beside the installed package.
        self.style_dir = style_dir
        self._css: str | None = None

    def write(self, document: Document) -> bytes:
        if self._css is None:
            self._css = read_inside(self.style_dir / "letter.css", self.style_dir,
                                    MAX_TEMPLATE_BYTES).decode("utf-8")
        page = document_html(document, stylesheet_link=False)
        page = page.replace("</head>", f"<style>{self._css}</style></head>", 1)
        return page.encode("utf-8")
