"""Bilingual review documents: the rendered letter in the source language and in the target
language, segment by segment, each row marked with its translation status.

A review is built from the same :class:`~pactdocs.model.Document` a merge renders, so what a
translator reviews is exactly what the recipient would receive: the placeholders are filled in for
the chosen recipient, in document order. Each part (the letter, every annex) gets its own review.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ..compose import Composer, Project
from ..errors import UsageError, did_you_mean
from ..model import Segment, Status
from ..sources.files import MAX_TEMPLATE_BYTES, read_inside
from ..sources.letters import FRAME_DIR, STYLE_DIR, Letter
from ..writers.docx import deterministic_zip
from ..writers.pdf import style_fetcher

STATUSES: tuple[Status, ...] = ("translated", "fuzzy", "untranslated")
# Colour and a word for each status, so the mark survives printing in black and white.
COLOURS = {"translated": "E2F0D9", "fuzzy": "FFF2CC", "untranslated": "F8CBAD"}
LABELS = {"translated": "translated", "fuzzy": "FUZZY", "untranslated": "UNTRANSLATED"}
REVIEW_FORMATS = ("html", "pdf", "docx")


@dataclass(frozen=True)
class Row:
    """One segment of a review: the source and the target as the recipient would read them."""

    number: int
    source: str
    target: str
    status: Status
    catalog: str  # the letter's name, or ``_frame`` for the letter frame
    context: str | None
    msgid: str


@dataclass(frozen=True)
class Review:
    letter: str
    part: str
    title: str
    language: str
    language_name: str
    source_language: str
    recipient: str | None
    created: str
    rows: tuple[Row, ...]
    style_dir: Path  # the project's house style folder: review.css

    @property
    def counts(self) -> dict[Status, int]:
        counter = Counter(row.status for row in self.rows)
        return {status: counter.get(status, 0) for status in STATUSES}

    @property
    def heading(self) -> str:
        who = f", addressed to {self.recipient}" if self.recipient else ""
        return (f"Translation review: {self.letter}, {self.title} — "
                f"{self.source_language} → {self.language} ({self.language_name}){who}")

    def summary(self) -> str:
        counts = self.counts
        return (f"{len(self.rows)} segments: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES))


def pair_rows(source: tuple[Segment, ...], target: tuple[Segment, ...]) -> tuple[Row, ...]:
    """Return one row per distinct segment of ``target`` in document order, with its source text.

    The source text is the same message rendered in the source language for the same recipient
    (so a date reads "15 April 2024" on the left and "15 avril 2024" on the right).
    """
    queues: dict[tuple[str, str | None, str], deque[str]] = defaultdict(deque)
    for segment in source:
        queues[(segment.catalog, segment.context, segment.msgid)].append(segment.target)
    rows: list[Row] = []
    seen: set[tuple[str, str | None, str, str]] = set()
    for segment in target:
        key = (segment.catalog, segment.context, segment.msgid)
        text = queues[key].popleft() if queues[key] else segment.source
        if (*key, segment.target) in seen:
            continue  # the same text again (e.g. an annex title in the enclosures and heading)
        seen.add((*key, segment.target))
        rows.append(Row(len(rows) + 1, text, segment.target, segment.status, segment.catalog,
                        segment.context, segment.msgid))
    return tuple(rows)


def letter_recipients(composer: Composer) -> list[str]:
    """Return the valid recipients of the letter's own group, in the group's order: Member
    States, agency heads and people alike."""
    registry = composer.registry
    return [code for code in registry.groups[composer.letter.recipients].members
            if code in registry.recipients]


def default_recipient(composer: Composer, language: str) -> str:
    """Return the letter's first recipient (in its group's order) who reads ``language``, else
    its first recipient."""
    members = letter_recipients(composer)
    if not members:
        raise UsageError(f"letter '{composer.letter.name}' has no valid recipient to review with")
    for code in members:
        if composer.registry.recipients[code].language == language:
            return code
    return members[0]


def build_reviews(project: Project, letter_name: str, language: str, to: str | None = None,
                  parts: tuple[str, ...] = ()) -> list[Review]:
    """Return the reviews of every part of ``letter_name`` (or of ``parts``) in ``language``."""
    letter = project.letter(letter_name)
    registry = project.registry()
    composer = Composer(project, letter, registry)
    if language not in composer.languages:
        raise UsageError(f"unknown language '{language}'",
                         hint=did_you_mean(language, tuple(composer.languages)))
    if language == letter.source_language:
        raise UsageError(f"{language} is the source language of '{letter.name}'",
                         hint="review a language the letter is translated into, e.g. --lang fr")
    recipient = to or default_recipient(composer, language)
    if recipient not in registry.recipients:
        if recipient in registry.broken:
            raise registry.broken[recipient]
        raise UsageError(f"unknown recipient '{recipient}'",
                         hint=did_you_mean(recipient, tuple(registry.recipients)))
    chosen = _parts(letter, parts)
    reviews = []
    for part in chosen:
        who = recipient if part.per_recipient else None
        source = composer.compose(part, who, letter.source_language)
        target = composer.compose(part, who, language)
        reviews.append(Review(
            letter=letter.name, part=part.id, title=source.title, language=language,
            language_name=composer.languages[language].name,
            source_language=letter.source_language, recipient=recipient if who else None,
            created=composer.created[:10], rows=pair_rows(source.segments, target.segments),
            style_dir=project.templates / STYLE_DIR))
    return reviews


def _parts(letter: Letter, wanted: tuple[str, ...]) -> list[Any]:
    ids = [p.id for p in letter.parts]
    for name in wanted:
        if name not in ids:
            raise UsageError(f"letter '{letter.name}' has no part '{name}'",
                             hint=did_you_mean(name, tuple(ids)) or ", ".join(ids))
    return [p for p in letter.parts if not wanted or p.id in wanted]


# --- writers ---------------------------------------------------------------------------------------


def _where(row: Row) -> str:
    owner = "letter frame" if row.catalog == FRAME_DIR else row.catalog
    return f"{owner}: {row.context}" if row.context else owner


def review_html(review: Review) -> str:
    """Return the review as a self-contained HTML page (also the input of the PDF)."""
    css = read_inside(review.style_dir / "review.css", review.style_dir,
                      MAX_TEMPLATE_BYTES).decode("utf-8")
    counts = review.counts
    summary = "".join(
        f'<td class="{s}"><span class="count">{counts[s]}</span> {LABELS[s]}</td>' for s in STATUSES)
    rows = "".join(
        f'<tr class="{row.status}"><td class="number">{row.number}</td>'
        f"<td>{escape(row.source)}</td><td>{escape(row.target)}</td>"
        f'<td class="status">{LABELS[row.status]}<div class="where">{escape(_where(row))}</div>'
        "</td></tr>" for row in review.rows)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(review.heading)}</title>"
        f'<meta name="dcterms.created" content="{review.created}">'
        f"<style>{css}</style></head><body>"
        f"<h1>{escape(review.heading)}</h1>"
        f'<p class="summary-line">{escape(review.summary())}</p>'
        f'<table class="summary"><tr>{summary}</tr></table>'
        f'<table class="review"><colgroup><col class="number"><col class="text"><col class="text">'
        f'<col class="status"></colgroup><thead><tr><th>#</th><th>{escape(review.source_language)}'
        f"</th><th>{escape(review.language)} ({escape(review.language_name)})</th><th>Status</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></body></html>")


def review_pdf(review: Review) -> bytes:
    from ..writers import weasy

    weasy.load()
    from weasyprint import HTML

    html = HTML(string=review_html(review), base_url=review.style_dir.resolve().as_uri() + "/",
                url_fetcher=style_fetcher(review.style_dir))
    data = html.write_pdf(pdf_identifier=review.heading.encode("utf-8")[:32])
    assert data is not None
    return bytes(data)


def review_docx(review: Review) -> bytes:
    """Return the review as a Word table translators can comment on."""
    from docx import Document as new_docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.oxml.parser import OxmlElement
    from docx.shared import Mm, Pt

    doc = new_docx()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    normal = doc.styles["Normal"]
    normal.font.name = "Liberation Serif"
    normal.font.size = Pt(10)
    doc.core_properties.title = review.heading
    doc.core_properties.language = review.language
    doc.add_heading(review.heading, level=1)
    doc.add_paragraph(review.summary())

    def shade(cell: Any, colour: str) -> None:
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:color"), "auto")
        shading.set(qn("w:fill"), colour)
        cell._tc.get_or_add_tcPr().append(shading)

    def language(cell: Any, tag: str) -> None:
        for paragraph in cell.paragraphs:
            for run in paragraph.runs:
                lang = OxmlElement("w:lang")
                lang.set(qn("w:val"), tag)
                run._r.get_or_add_rPr().append(lang)

    table = doc.add_table(rows=1 + len(review.rows), cols=4)
    table.style = doc.styles["Table Grid"]
    widths = (Mm(10), Mm(110), Mm(110), Mm(37))
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid, which LibreOffice and Word use for the layout
    header = table.rows[0]
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    titles = ("#", review.source_language, f"{review.language} ({review.language_name})", "Status")
    for cell, title, width in zip(header.cells, titles, widths, strict=True):
        cell.width = width
        cell.paragraphs[0].add_run(title).bold = True
        shade(cell, "D9D9D9")
    for row_obj, row in zip(table.rows[1:], review.rows, strict=True):
        texts = (str(row.number), row.source, row.target, LABELS[row.status])
        for cell, text, width in zip(row_obj.cells, texts, widths, strict=True):
            cell.width = width
            cell.paragraphs[0].add_run(text)
        language(row_obj.cells[1], review.source_language)
        language(row_obj.cells[2], review.language)
        status_cell = row_obj.cells[3]
        status_cell.paragraphs[0].runs[0].bold = row.status != "translated"
        status_cell.add_paragraph().add_run(_where(row)).font.size = Pt(7)
        shade(status_cell, COLOURS[row.status])
    buffer = io.BytesIO()
    doc.save(buffer)
    return deterministic_zip(buffer.getvalue())


def review_bytes(review: Review, fmt: str) -> bytes:
    if fmt == "html":
        return review_html(review).encode("utf-8")
    if fmt == "pdf":
        return review_pdf(review)
    if fmt == "docx":
        return review_docx(review)
    raise UsageError(f"unknown review format '{fmt}'",
                     hint=did_you_mean(fmt, REVIEW_FORMATS) or ", ".join(REVIEW_FORMATS))


def review_path(out: Path, review: Review, fmt: str) -> Path:
    return out / f"{review.letter}-{review.part}-{review.language}-review.{fmt}"


def write_reviews(project: Project, letter_name: str, language: str, *, to: str | None = None,
                  formats: tuple[str, ...] = ("html",), out: Path | None = None,
                  parts: tuple[str, ...] = ()) -> list[Path]:
    """Write the review documents; return their paths. Each file is written atomically."""
    from ..batch.outdir import check_output_folder, write_atomic

    for fmt in formats:
        if fmt not in REVIEW_FORMATS:
            raise UsageError(f"unknown review format '{fmt}'",
                             hint=did_you_mean(fmt, REVIEW_FORMATS) or ", ".join(REVIEW_FORMATS))
    reviews = build_reviews(project, letter_name, language, to, parts)
    folder = check_output_folder(out or project.root / "output" / "review" / letter_name / language,
                                 [project.templates, project.recipients], foreign_ok=True)
    written = []
    for review in reviews:
        for fmt in formats:
            path = review_path(folder, review, fmt)
            write_atomic(path, review_bytes(review, fmt))
            written.append(path)
    return written
