"""DOCX through python-docx. Every python-docx call of pactdocs lives here; the look comes from
the named styles of ``letter_templates/_style/reference.docx``, not from code."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from ..errors import RenderError
from ..model import Block, Cell, Document, Heading, ListBlock, PageBreak, Paragraph, Run, Table
from ..sources.files import MAX_TEMPLATE_BYTES, read_inside
from .html import STYLE_DIR

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class DocxWriter:
    name = "docx"
    suffix = ".docx"

    def __init__(self) -> None:
        self._reference: bytes | None = None
        self._style_ids: dict[str, str] = {}

    def write(self, document: Document) -> bytes:
        from docx import Document as open_docx

        if self._reference is None:
            self._reference = read_inside(STYLE_DIR / "reference.docx", STYLE_DIR,
                                          MAX_TEMPLATE_BYTES)
            probe = open_docx(io.BytesIO(self._reference))
            self._style_ids = {s.name: s.style_id for s in probe.styles}
        try:
            doc = open_docx(io.BytesIO(self._reference))
            self._fill(doc, document)
            buffer = io.BytesIO()
            doc.save(buffer)
        except ValueError as exc:  # lxml refuses characters XML cannot hold
            raise RenderError(f"DOCX cannot hold this text: {exc}") from None
        return _deterministic_zip(buffer.getvalue())

    # --- building -------------------------------------------------------------------------------

    def _para(self, container: Any, style: str, text: str = "", runs: tuple[Run, ...] = ()) -> Any:
        from docx.oxml.ns import qn
        from docx.oxml.parser import OxmlElement

        paragraph = container.add_paragraph()
        ppr = paragraph._p.get_or_add_pPr()
        pstyle = OxmlElement("w:pStyle")
        pstyle.set(qn("w:val"), self._style_ids[style])  # faster than paragraph.style = name
        ppr.insert(0, pstyle)
        if text:
            paragraph.add_run(text)
        for run in runs:
            self._run(paragraph, run)
        return paragraph

    def _run(self, paragraph: Any, run: Run) -> None:
        from docx.oxml.ns import qn
        from docx.oxml.parser import OxmlElement

        target = paragraph
        if run.href:
            part = paragraph.part
            rel = part.relate_to(run.href, "http://schemas.openxmlformats.org/officeDocument/2006/"
                                 "relationships/hyperlink", is_external=True)
            link = OxmlElement("w:hyperlink")
            link.set(qn("r:id"), rel)
            paragraph._p.append(link)
            r = OxmlElement("w:r")
            link.append(r)
            from docx.text.run import Run as DocxRun

            piece = DocxRun(r, paragraph)
            piece.text = run.text
        else:
            piece = target.add_run(run.text)
        if run.bold:
            piece.bold = True
        if run.italic:
            piece.italic = True

    def _fill(self, doc: Any, d: Document) -> None:
        from docx.shared import Mm

        body = doc
        # The reference document is empty but for its section; drop its empty paragraph if any.
        for p in list(doc.paragraphs):
            p._p.getparent().remove(p._p)
        props = doc.core_properties
        created = dt.datetime.fromisoformat(d.created).replace(tzinfo=None)
        props.title, props.author, props.subject = d.title, d.author, d.subject
        props.language, props.created, props.modified = d.language, created, created
        props.last_printed, props.revision, props.last_modified_by = created, 1, d.author
        props.comments, props.keywords, props.category = "", "", d.kind
        self._set_language(doc, d.language)

        lh = d.letterhead
        for i, line in enumerate(lh):
            style = ("Letterhead Title" if i == 0 else
                     "Letterhead Function" if i == len(lh) - 1 and d.kind == "letter" else "Letterhead")
            self._para(body, style, line)
        if d.kind == "letter":
            if d.place_date:
                self._para(body, "Place Date", d.place_date)
            if d.reference:
                self._para(body, "Reference", d.reference)
            if d.salutation:
                self._para(body, "Salutation", d.salutation)
        else:
            self._para(body, "Annex Title", d.heading or "")
            self._para(body, "Annex Subtitle", d.subheading or "")
        for block in d.body:
            self._block(doc, block)
        if d.closing:
            self._para(body, "Closing", d.closing)
        for line in d.signature:
            self._para(body, "Signature", line)
        for i, line in enumerate(d.enclosures):
            label = (d.enclosure_label or "") if i == 0 else ""
            p = self._para(body, "Enclosures", f"{label}\t{line}")
            # A hanging indent keeps the annex lines aligned under each other, as in the PDF.
            p.paragraph_format.left_indent = Mm(25)
            p.paragraph_format.first_line_indent = -Mm(25)
            p.paragraph_format.tab_stops.add_tab_stop(Mm(25))
        if d.cc:
            self._para(body, "CC", d.cc_label or "").paragraph_format.space_before = 76200
            for line in d.cc:
                self._para(body, "CC", line)
        self._header_footer(doc, d)

    def _block(self, doc: Any, block: Block) -> None:
        if isinstance(block, Paragraph):
            self._para(doc, "Body Text", runs=block.runs)
        elif isinstance(block, Heading):
            self._para(doc, "Body Heading", runs=block.runs)
        elif isinstance(block, ListBlock):
            style = "List Number" if block.ordered else "List Bullet"
            for item in block.items:
                self._para(doc, style, runs=item.runs)
        elif isinstance(block, Table):
            self._table(doc, block)
        elif isinstance(block, PageBreak):
            from docx.enum.text import WD_BREAK

            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def _table(self, doc: Any, table: Table) -> None:
        from docx.oxml.ns import qn
        from docx.oxml.parser import OxmlElement
        from docx.shared import Mm

        columns = len(table.header) or (len(table.rows[0]) if table.rows else 1)
        t = doc.add_table(rows=1 + len(table.rows), cols=columns)
        t.style = doc.styles["Table Grid"]
        rows = list(t.rows)
        header = rows[0]
        trpr = header._tr.get_or_add_trPr()
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        trpr.append(repeat)
        widths = table.widths or (1.0,) * columns
        total = sum(widths)
        usable = 165  # mm between the margins
        for row_obj, cells in zip(rows, (table.header, *table.rows), strict=True):
            style = "Table Header" if row_obj is header else "Table Text"
            if row_obj is not header:
                cant_split = OxmlElement("w:cantSplit")
                row_obj._tr.get_or_add_trPr().append(cant_split)
            for i, (cell_obj, cell) in enumerate(zip(row_obj.cells, cells, strict=False)):
                cell_obj.width = Mm(usable * widths[i] / total)
                self._cell(cell_obj, style, cell)

    def _cell(self, cell_obj: Any, style: str, cell: Cell) -> None:
        first = cell_obj.paragraphs[0]
        first._p.getparent().remove(first._p)
        self._para(cell_obj, style, runs=cell.runs)

    def _header_footer(self, doc: Any, d: Document) -> None:
        section = doc.sections[0]
        if d.draft_mark:
            header = section.header
            header.is_linked_to_previous = False
            p = header.paragraphs[0]
            p.text = d.draft_mark
            p.style = doc.styles["Draft Mark"]
        footer = section.footer
        footer.is_linked_to_previous = False
        self._page_number(footer.paragraphs[0], doc)
        if d.kind == "letter" and d.addressee:
            section.different_first_page_header_footer = True
            first = section.first_page_footer
            first.is_linked_to_previous = False
            p0 = first.paragraphs[0]
            for i, line in enumerate(d.addressee):
                p = p0 if i == 0 else first.add_paragraph()
                p.text = line
                p.style = doc.styles["Addressee"]
            self._page_number(first.add_paragraph(), doc)
            if d.draft_mark:
                fh = section.first_page_header
                fh.is_linked_to_previous = False
                fh.paragraphs[0].text = d.draft_mark
                fh.paragraphs[0].style = doc.styles["Draft Mark"]

    @staticmethod
    def _page_number(paragraph: Any, doc: Any) -> None:
        from docx.oxml.ns import qn
        from docx.oxml.parser import OxmlElement

        paragraph.style = doc.styles["Page Number"]
        for i, instr in enumerate(("PAGE", "NUMPAGES")):
            if i:
                paragraph.add_run("/")
            field = OxmlElement("w:fldSimple")
            field.set(qn("w:instr"), instr)
            r = OxmlElement("w:r")
            t = OxmlElement("w:t")
            t.text = "1"
            r.append(t)
            field.append(r)
            paragraph._p.append(field)

    @staticmethod
    def _set_language(doc: Any, tag: str) -> None:
        from docx.oxml.ns import qn
        from docx.oxml.parser import OxmlElement

        rpr = doc.styles["Normal"].element.get_or_add_rPr()
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), tag)
        lang.set(qn("w:bidi"), tag)


def _deterministic_zip(data: bytes) -> bytes:
    """Return the package with fixed timestamps, so equal documents give equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
