"""Regenerate reference.docx: the named styles every pactdocs DOCX is built from.

Run from the repository root: ``.venv/bin/python letter_templates/_style/make_reference_docx.py``.
Times New Roman is metric-compatible with the PDF's Liberation Serif, so both paginate alike.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
FONT = "Times New Roman"

# name: (size pt, bold, italic, alignment, space before pt, space after pt)
PARAGRAPH_STYLES = {
    "Letterhead": (10, False, False, "left", 0, 0),
    "Letterhead Title": (11, True, False, "left", 0, 0),
    "Letterhead Function": (10, False, True, "left", 3, 24),
    # An annex's letterhead is smaller and keeps the emblem's height free below it (letter.css).
    "Annex Letterhead Function": (10, False, True, "left", 3, 36),
    "Place Date": (12, False, False, "right", 0, 4),
    "Reference": (10, False, False, "left", 0, 24),
    "Salutation": (12, False, False, "left", 0, 12),
    "Body Text": (12, False, False, "justify", 0, 10),
    "Body Heading": (12, True, False, "left", 12, 6),
    "Closing": (12, False, False, "left", 12, 48),
    "Signature": (12, False, False, "left", 0, 24),
    "Enclosures": (10, False, False, "left", 0, 0),
    "CC": (10, False, False, "left", 0, 0),
    "Addressee": (11, False, False, "left", 0, 0),
    "Annex Title": (13, True, False, "center", 0, 4),
    "Annex Subtitle": (12, True, False, "center", 0, 23),
    "Table Header": (10, True, False, "left", 2, 2),
    "Table Text": (10, False, False, "left", 2, 2),
    "Draft Mark": (11, True, False, "right", 0, 0),
    "Page Number": (9, False, False, "right", 6, 0),
    "First Page Foot": (12, False, False, "left", 0, 0),
}
# The foot of page 1 the PDF keeps free (letter.css: @page :first, margin-bottom 62 mm) less the
# footer distance and the page number: on an annex an empty paragraph this tall holds it free.
FIRST_PAGE_FOOT_PT = 131
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
         "center": WD_ALIGN_PARAGRAPH.CENTER, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}


def main() -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(22), Mm(25)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.footer_distance = Mm(10)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(12)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for name, (size, bold, italic, align, before, after) in PARAGRAPH_STYLES.items():
        try:
            style = doc.styles[name]
        except KeyError:
            style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        style.font.size, style.font.bold, style.font.italic = Pt(size), bold, italic
        fmt = style.paragraph_format
        fmt.alignment = ALIGN[align]
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        if name == "Draft Mark":
            style.font.color.rgb = RGBColor(0xC0, 0, 0)
        # Exact line heights: letter.css sets line-height 1.25 (Word's "single" is about 1.15).
        fmt.line_spacing = Pt(FIRST_PAGE_FOOT_PT if name == "First Page Foot" else size * 1.25)
        if name in ("Closing", "Table Header"):
            fmt.keep_with_next = True
    for name in ("List Number", "List Bullet"):
        style = doc.styles[name]
        style.font.size = Pt(12)
        style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        style.paragraph_format.space_after = Pt(6)  # li: margin-bottom 2 mm
        style.paragraph_format.line_spacing = Pt(15)
        # python-docx's template drops the space between items of one list; the PDF keeps it.
        ppr = style.element.get_or_add_pPr()
        for found in ppr.findall(qn("w:contextualSpacing")):
            ppr.remove(found)
    # Keep the package small: every document carries it, and zipping it dominates DOCX time.
    latent = doc.styles.element.find(qn("w:latentStyles"))
    if latent is not None:
        doc.styles.element.remove(latent)
    keep_tables = {"TableNormal", "TableGrid"}
    for style in list(doc.styles.element.findall(qn("w:style"))):
        if style.get(qn("w:type")) == "table" and style.get(qn("w:styleId")) not in keep_tables:
            doc.styles.element.remove(style)
    document_part = doc.part
    for rel_id, rel in list(document_part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            document_part.drop_rel(rel_id)
    # Hyphenate automatically in the document's language (the PDF does too), and leave spelling
    # and grammar to be checked: python-docx's template marks them as already checked.
    settings = doc.settings.element
    for name in ("w:proofState", "w:savePreviewPicture"):
        found = settings.find(qn(name))
        if found is not None:
            settings.remove(found)
    tab_stop = settings.find(qn("w:defaultTabStop"))
    hyphenation = OxmlElement("w:autoHyphenation")
    if tab_stop is not None:
        tab_stop.addnext(hyphenation)
    else:
        settings.append(hyphenation)
    doc.core_properties.author = "pactdocs"
    doc.core_properties.title = "pactdocs reference styles"
    doc.save(HERE / "reference.docx")


if __name__ == "__main__":
    main()
