"""PDF through WeasyPrint: one shared font configuration and stylesheet per process, nothing
fetched from outside ``letter_templates/_style``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import RenderError
from ..model import Document
from .html import STYLE_DIR, document_html

# WeasyPrint options, in one place. pdf/ua or pdf/a cost 5-20 % (measured) and are not asked for.
OPTIONS: dict[str, Any] = {"uncompressed_pdf": False, "optimize_images": False}


def local_fetcher(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    """Fetch ``url`` only when it is a file inside the house style folder; refuse anything else."""
    from weasyprint.urls import default_url_fetcher

    parsed = urlparse(url)
    if parsed.scheme == "data":
        return dict(default_url_fetcher(url))
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path)).resolve()
        if path.is_relative_to(STYLE_DIR.resolve()):
            return dict(default_url_fetcher(url))
    raise RenderError(f"refused to fetch '{url}'",
                      hint="documents may use only files in letter_templates/_style")


class PdfWriter:
    name = "pdf"
    suffix = ".pdf"

    def __init__(self) -> None:
        self._ready = False

    def _setup(self) -> None:
        import logging

        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        # WeasyPrint logs unsupported CSS and failed fetches as warnings; a writer that renders
        # thousands of documents must fail loudly instead, so warnings become errors below.
        self._log = logging.getLogger("weasyprint")
        self._fonts = FontConfiguration()
        self._css = CSS(filename=str(STYLE_DIR / "letter.css"), font_config=self._fonts,
                        url_fetcher=local_fetcher)
        self._ready = True

    def write(self, document: Document) -> bytes:
        from weasyprint import HTML

        if not self._ready:
            self._setup()
        page = document_html(document, stylesheet_link=False)
        try:
            html = HTML(string=page, base_url=STYLE_DIR.as_uri() + "/", url_fetcher=local_fetcher)
            data = html.write_pdf(stylesheets=[self._css], font_config=self._fonts,
                                  pdf_identifier=document.title.encode("utf-8")[:32] or b"pactdocs",
                                  **OPTIONS)
        except RenderError:
            raise
        except Exception as exc:
            raise RenderError(f"WeasyPrint could not render the document: {exc}") from None
        assert data is not None
        return bytes(data)
