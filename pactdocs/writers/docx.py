"""DOCX: WordprocessingML written straight into a package prepared from the house style.

The look comes from the named styles of ``letter_templates/_style/reference.docx``, not from
code. Its style, settings, numbering, font and theme parts are read and compressed once per
process; each document adds only what is its own (the body, headers and footers, hyperlinks,
properties), so a letter costs little more than writing its XML, and a table of 2,700 rows costs
2,700 times a row. Files open in python-docx, Word and LibreOffice (the tests read them back).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .. import __version__
from ..errors import RenderError
from ..model import Block, Cell, Document, Heading, ListBlock, PageBreak, Paragraph, Run, Table
from ..sources.files import MAX_TEMPLATE_BYTES, read_inside

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.wordprocessingml"
# The parts of the reference document every file shares, with their relationship and content types.
SHARED = {
    "word/styles.xml": ("styles", f"{CT}.styles+xml"),
    "word/settings.xml": ("settings", f"{CT}.settings+xml"),
    "word/webSettings.xml": ("webSettings", f"{CT}.webSettings+xml"),
    "word/fontTable.xml": ("fontTable", f"{CT}.fontTable+xml"),
    "word/numbering.xml": ("numbering", f"{CT}.numbering+xml"),
    "word/theme/theme1.xml": ("theme", "application/vnd.openxmlformats-officedocument.theme+xml"),
}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TWIPS_PER_MM = 1440 / 25.4
USABLE_MM = 165  # text width between the margins of the house style
ENCLOSURE_INDENT = round(25 * _TWIPS_PER_MM)


def _declaration(root: str) -> str:
    return (f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
            f'<w:{root} xmlns:w="{W}" xmlns:r="{R}">')


@dataclass
class _Package:
    """What one document adds to the shared parts: its XML parts and external links."""

    links: dict[str, str]

    def link(self, href: str) -> str:
        """Return the relationship id of ``href``, adding it once (a dict, not a search)."""
        if href not in self.links:
            self.links[href] = f"rIdL{len(self.links) + 1}"
        return self.links[href]


class DocxWriter:
    name = "docx"
    suffix = ".docx"

    def __init__(self, style_dir: Path) -> None:
        self._style_dir = style_dir
        self._prepared: bytes | None = None
        self._style_ids: dict[str, str] = {}
        self._section: dict[str, str] = {}
        self._styles_by_language: dict[str, bytes] = {}
        self._styles = b""

    # --- the shared parts, once -------------------------------------------------------------------

    def _prepare(self) -> None:
        from lxml import etree

        data = read_inside(self._style_dir / "reference.docx", self._style_dir, MAX_TEMPLATE_BYTES)
        with zipfile.ZipFile(io.BytesIO(data)) as reference:
            parts = {name: reference.read(name) for name in SHARED}
            document = etree.fromstring(reference.read("word/document.xml"))
        styles = etree.fromstring(parts["word/styles.xml"])
        ns = {"w": W}
        for style in styles.iterfind("w:style", ns):
            name = style.find("w:name", ns)
            if name is not None:
                self._style_ids[name.get(f"{{{W}}}val")] = style.get(f"{{{W}}}styleId")
        section = document.find(".//w:sectPr", ns)
        for child in section if section is not None else ():
            name = etree.QName(child).localname
            if name in ("pgSz", "pgMar", "cols", "docGrid"):
                self._section[name] = etree.tostring(child, encoding="unicode").replace(
                    f' xmlns:w="{W}"', "")
        self._styles = parts.pop("word/styles.xml")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
            for name, data in parts.items():
                _put(package, name, data)
        self._prepared = buffer.getvalue()

    def _styles_for(self, tag: str) -> bytes:
        """Return styles.xml with the Normal style in language ``tag`` (proofing, hyphenation)."""
        if tag not in self._styles_by_language:
            from lxml import etree

            styles = etree.fromstring(self._styles)
            q = f"{{{W}}}"
            for style in styles.iterfind(f"{q}style"):
                if style.get(f"{q}styleId") == "Normal":
                    rpr = style.find(f"{q}rPr")
                    if rpr is None:
                        rpr = etree.SubElement(style, f"{q}rPr")
                    lang = rpr.find(f"{q}lang")
                    if lang is None:
                        lang = etree.SubElement(rpr, f"{q}lang")
                    lang.set(f"{q}val", tag)
                    lang.set(f"{q}bidi", tag)
            self._styles_by_language[tag] = etree.tostring(
                styles, xml_declaration=True, encoding="UTF-8", standalone=True)
        return self._styles_by_language[tag]

    # --- one document -----------------------------------------------------------------------------

    def write(self, document: Document) -> bytes:
        if self._prepared is None:
            self._prepare()
        assert self._prepared is not None
        pkg = _Package({})
        body = self._body(document, pkg)
        headers, footers = self._headers_footers(document, pkg)
        references, parts, types = [], {}, {}
        for i, (kind, xml) in enumerate(headers):
            name = f"header{i + 1}.xml"
            parts[f"word/{name}"], types[f"word/{name}"] = xml, f"{CT}.header+xml"
            references.append((f"rIdH{i + 1}", "header", name, kind))
        for i, (kind, xml) in enumerate(footers):
            name = f"footer{i + 1}.xml"
            parts[f"word/{name}"], types[f"word/{name}"] = xml, f"{CT}.footer+xml"
            references.append((f"rIdF{i + 1}", "footer", name, kind))
        # The section's parts in the order the schema wants them.
        first_page = any(kind == "first" for *_rest, kind in references)
        s = self._section
        section = ("<w:sectPr>" + "".join(
            f'<w:{what}Reference w:type="{kind}" r:id="{rid}"/>' for rid, what, _n, kind in references)
            + s.get("pgSz", "") + s.get("pgMar", "") + s.get("cols", "")
            + ("<w:titlePg/>" if first_page else "") + s.get("docGrid", "") + "</w:sectPr>")
        document_xml = (_declaration("document") + "<w:body>" + body + section + "</w:body></w:document>")
        rels = [(f"rIdS{i}", f"{REL}/{rel}", name.removeprefix("word/"), False)
                for i, (name, (rel, _ct)) in enumerate(SHARED.items())]
        rels += [(rid, f"{REL}/{what}", name, False) for rid, what, name, _kind in references]
        rels += [(rid, f"{REL}/hyperlink", href, True) for href, rid in pkg.links.items()]
        types.update({name: ct for name, (_rel, ct) in SHARED.items()})
        types["word/document.xml"] = f"{CT}.document.main+xml"
        types["docProps/core.xml"] = "application/vnd.openxmlformats-package.core-properties+xml"
        types["docProps/app.xml"] = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
        buffer = io.BytesIO(self._prepared)
        buffer.seek(0, io.SEEK_END)
        try:
            with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as package:
                _put(package, "[Content_Types].xml", _content_types(types))
                _put(package, "_rels/.rels", _relationships([
                    ("rId1", f"{REL}/officeDocument", "word/document.xml", False),
                    ("rId2", f"{PKG_REL}/metadata/core-properties", "docProps/core.xml", False),
                    ("rId3", f"{REL}/extended-properties", "docProps/app.xml", False)]))
                _put(package, "word/styles.xml", self._styles_for(document.language))
                _put(package, "word/document.xml", _encode(document_xml))
                _put(package, "word/_rels/document.xml.rels", _relationships(rels))
                for name, xml in parts.items():
                    _put(package, name, _encode(xml))
                _put(package, "docProps/core.xml", _encode(_core(document)))
                _put(package, "docProps/app.xml", _encode(_app()))
        except ValueError as exc:
            raise RenderError(f"DOCX cannot hold this text: {exc}") from None
        return buffer.getvalue()

    # --- the body ---------------------------------------------------------------------------------

    def _p(self, style: str, runs: str, extra: str = "") -> str:
        return (f'<w:p><w:pPr><w:pStyle w:val="{self._style_ids[style]}"/>{extra}</w:pPr>'
                f"{runs}</w:p>")

    def _text(self, style: str, text: str, extra: str = "") -> str:
        return self._p(style, _run(text) if text else "", extra)

    def _runs(self, runs: tuple[Run, ...], pkg: _Package) -> str:
        out = []
        for run in runs:
            piece = _run(run.text, run.bold, run.italic)
            out.append(f'<w:hyperlink r:id="{pkg.link(run.href)}">{piece}</w:hyperlink>'
                       if run.href else piece)
        return "".join(out)

    def _body(self, d: Document, pkg: _Package) -> str:
        out: list[str] = []
        lh = d.letterhead
        for i, line in enumerate(lh):
            style = ("Letterhead Title" if i == 0 else
                     "Letterhead" if i < len(lh) - 1 else
                     "Letterhead Function" if d.kind == "letter" else "Annex Letterhead Function")
            out.append(self._text(style, line))
        if d.kind == "letter":
            for style, value in (("Place Date", d.place_date), ("Reference", d.reference),
                                 ("Salutation", d.salutation)):
                if value:
                    out.append(self._text(style, value))
        else:
            out.append(self._text("Annex Title", d.heading or ""))
            out.append(self._text("Annex Subtitle", d.subheading or ""))
        for block in d.body:
            out.append(self._block(block, pkg))
        if d.closing:
            out.append(self._text("Closing", d.closing))
        for line in d.signature:
            out.append(self._text("Signature", line))
        # A hanging indent keeps the annex lines aligned under each other, as in the PDF.
        hanging = (f'<w:tabs><w:tab w:val="left" w:pos="{ENCLOSURE_INDENT}"/></w:tabs>'
                   f'<w:ind w:left="{ENCLOSURE_INDENT}" w:hanging="{ENCLOSURE_INDENT}"/>')
        for i, line in enumerate(d.enclosures):
            label = (d.enclosure_label or "") if i == 0 else ""
            out.append(self._text("Enclosures", f"{label}\t{line}", hanging))
        if d.cc:
            out.append(self._text("CC", d.cc_label or "", '<w:spacing w:before="120"/>'))
            out.extend(self._text("CC", line) for line in d.cc)
        return "".join(out)

    def _block(self, block: Block, pkg: _Package) -> str:
        if isinstance(block, Paragraph):
            return self._p("Body Text", self._runs(block.runs, pkg))
        if isinstance(block, Heading):
            return self._p("Body Heading", self._runs(block.runs, pkg))
        if isinstance(block, ListBlock):
            style = "List Number" if block.ordered else "List Bullet"
            return "".join(self._p(style, self._runs(item.runs, pkg)) for item in block.items)
        if isinstance(block, Table):
            return self._table(block, pkg)
        if isinstance(block, PageBreak):
            return '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
        raise RenderError(f"the DOCX writer cannot write a {type(block).__name__}")

    def _table(self, table: Table, pkg: _Package) -> str:
        columns = len(table.header) or (len(table.rows[0]) if table.rows else 1)
        widths = table.widths or (1.0,) * columns
        total = sum(widths)
        twips = [round(USABLE_MM * _TWIPS_PER_MM * w / total) for w in widths[:columns]]
        twips += [twips[-1]] * (columns - len(twips))
        # Cell padding as the PDF's (1.2 mm above and below, 1.5 mm at the sides).
        out = ['<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
               '<w:tblCellMar><w:top w:w="68" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
               '<w:bottom w:w="68" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
               '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
               'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
               "".join(f'<w:gridCol w:w="{w}"/>' for w in twips), "</w:tblGrid>"]
        # The header row repeats on every page and is shaded as in the PDF; rows never split.
        for cells, header in [(table.header, True)] * bool(table.header) + [(r, False) for r in table.rows]:
            out.append("<w:tr><w:trPr>" + ("<w:tblHeader/>" if header else "<w:cantSplit/>") + "</w:trPr>")
            style = "Table Header" if header else "Table Text"
            shading = '<w:shd w:val="clear" w:color="auto" w:fill="E6E6E6"/>' if header else ""
            for i in range(columns):
                cell: Cell | None = cells[i] if i < len(cells) else None
                runs = self._runs(cell.runs, pkg) if cell is not None else ""
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{twips[i]}" w:type="dxa"/>{shading}</w:tcPr>'
                           f"{self._p(style, runs)}</w:tc>")
            out.append("</w:tr>")
        out.append("</w:tbl>")
        # Word needs a paragraph between a table and what follows (or the section's end).
        out.append("<w:p/>")
        return "".join(out)

    # --- headers and footers ----------------------------------------------------------------------

    def _page_number(self) -> str:
        field = '<w:fldSimple w:instr="{0}"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        runs = field.format("PAGE") + _run("/") + field.format("NUMPAGES")
        return self._p("Page Number", runs)

    def _headers_footers(self, d: Document, pkg: _Package
                         ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        headers: list[tuple[str, str]] = []
        footers: list[tuple[str, str]] = []
        # Page 1 keeps the foot free as the PDF does (letter.css: @page :first, 62 mm): the
        # addressee block of a letter, a spacer of the same height on an annex.
        first_page = True
        if d.draft_mark:
            mark = _declaration("hdr") + self._text("Draft Mark", d.draft_mark) + "</w:hdr>"
            headers.append(("default", mark))
            if first_page:
                headers.append(("first", mark))
        footers.append(("default", _declaration("ftr") + self._page_number() + "</w:ftr>"))
        if first_page:
            lines = ("".join(self._text("Addressee", line) for line in d.addressee)
                     if d.addressee else self._p("First Page Foot", ""))
            footers.append(("first", _declaration("ftr") + lines + self._page_number() + "</w:ftr>"))
        return headers, footers


def _run(text: str, bold: bool = False, italic: bool = False) -> str:
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
    pieces = []
    for i, line in enumerate(text.split("\n")):
        if i:
            pieces.append("<w:br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                pieces.append("<w:tab/>")
            if chunk:
                pieces.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return f"<w:r>{'<w:rPr>' + props + '</w:rPr>' if props else ''}{''.join(pieces)}</w:r>"


def _encode(xml: str) -> bytes:
    bad = _XML_INVALID.search(xml)
    if bad:
        raise RenderError(f"DOCX cannot hold the character U+{ord(bad.group(0)):04X}",
                          hint="remove control characters from the text")
    return xml.encode("utf-8")


def _put(package: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    package.writestr(info, data)


def _relationships(rels: list[tuple[str, str, str, bool]]) -> bytes:
    items = "".join(
        f'<Relationship Id="{rid}" Type="{kind}" Target={quoteattr(target)}'
        + (' TargetMode="External"' if external else "") + "/>"
        for rid, kind, target, external in rels)
    return _encode("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
                   f'<Relationships xmlns="{PKG_REL}">{items}</Relationships>')


def _content_types(types: dict[str, str]) -> bytes:
    overrides = "".join(f'<Override PartName="/{name}" ContentType="{ct}"/>'
                        for name, ct in sorted(types.items()))
    return _encode(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + overrides + "</Types>")


def _core(d: Document) -> str:
    created = dt.datetime.fromisoformat(d.created).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(d.title)}</dc:title><dc:subject>{escape(d.subject)}</dc:subject>"
        f"<dc:creator>{escape(d.author)}</dc:creator>"
        f"<cp:lastModifiedBy>{escape(d.author)}</cp:lastModifiedBy><cp:revision>1</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
        f"<cp:category>{escape(d.kind)}</cp:category><dc:language>{escape(d.language)}</dc:language>"
        "</cp:coreProperties>")


def _app() -> str:
    return ("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>pactdocs {escape(__version__)}</Application><DocSecurity>0</DocSecurity>"
            "<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
            "<HyperlinksChanged>false</HyperlinksChanged></Properties>")


def deterministic_zip(data: bytes) -> bytes:
    """Return a package python-docx saved, re-zipped with fixed timestamps (equal in, equal out)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            _put(target, info.filename, source.read(info.filename))
    return out.getvalue()
