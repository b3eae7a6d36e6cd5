"""Writers: one per output format, each turning a Document into bytes. Writers are language-blind."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..errors import UsageError, did_you_mean
from ..model import Document

WRITERS = ("pdf", "docx", "html")


class Writer(Protocol):
    name: str
    suffix: str

    def write(self, document: Document) -> bytes: ...


def get_writer(name: str, style_dir: Path) -> Writer:
    """Return a new writer for format ``name``; ``style_dir`` is the project's house style
    folder (``letter_templates/_style``), which every writer reads."""
    if name == "pdf":
        from .pdf import PdfWriter

        return PdfWriter(style_dir)
    if name == "docx":
        from .docx import DocxWriter

        return DocxWriter(style_dir)
    if name == "html":
        from .html import HtmlWriter

        return HtmlWriter(style_dir)
    raise UsageError(f"unknown format '{name}'", hint=did_you_mean(name, WRITERS) or "pdf, docx or html")
