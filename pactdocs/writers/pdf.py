"""PDF through WeasyPrint: tagged (PDF/UA-1) and archival (PDF/A-2a), one shared font configuration
and stylesheet per process, nothing fetched from outside the project's ``letter_templates/_style``.

Why PDF/A-2a: the "a" level is the one that requires a tagged, logically ordered document with
Unicode text, which PDF/UA-1 needs anyway; part 2 is the PDF 1.7 part that PDF/UA-1 is built on
(part 4 is PDF 2.0), and unlike part 3 it admits no arbitrary attachments, which a letter has no
use for. WeasyPrint writes one variant per file, so the PDF/UA-1 identifier (with the extension
schema PDF/A asks for any property outside its predefined schemas) is added to the XMP packet
before the file is written, and the page-margin boxes (page numbers, the DRAFT header) are turned
into artifacts: WeasyPrint marks their content but leaves it out of the structure tree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import RenderError
from ..model import Document
from . import weasy
from .html import document_html

# WeasyPrint options, in one place.
PDF_VARIANT = "pdf/a-2a"
# The output intent is added by finish_pdf: WeasyPrint's own ("srgb") leaves its ICC file open.
OUTPUT_INTENT = "pactdocs-srgb"
OPTIONS: dict[str, Any] = {"uncompressed_pdf": False, "optimize_images": False,
                           "pdf_variant": PDF_VARIANT, "pdf_tags": True, "custom_metadata": False,
                           "output_intent": OUTPUT_INTENT}
_ICC: list[bytes] = []
DATA_URL_LIMIT = 1 << 20  # bytes of a data: URL in the house style

PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" \
pdfuaid:part="1"/>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" \
xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" \
xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Part of ISO 14289 the file conforms to</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
"""


def _style_fetcher_class() -> type:
    weasy.load()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StyleFetcher(URLFetcher):
        """Serve files inside one house style folder and ``data:`` URLs; refuse everything else.

        Built with ``fail_on_errors``: a refused URL stops the document instead of leaving a
        hole in it with a logged warning.
        """

        def __init__(self, style_dir: Path) -> None:
            super().__init__(fail_on_errors=True, allowed_protocols=("file", "data"))
            self.style_dir = style_dir.resolve()

        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "data":
                if len(url) > DATA_URL_LIMIT:
                    raise RenderError(f"data: URL of {len(url)} bytes is too large",
                                      hint=f"at most {DATA_URL_LIMIT} bytes; use a file in _style")
                return super().fetch(url, headers)
            if parsed.scheme == "file" and not parsed.netloc:
                # resolve() follows every symlink: a link in _style that points out is refused.
                path = Path(unquote(parsed.path)).resolve()
                if path.is_relative_to(self.style_dir) and path.is_file():
                    return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                              {"Content-Type": _content_type(path)})
            raise RenderError(f"refused to fetch '{url}'",
                              hint="the house style may use only files inside "
                                   f"{self.style_dir.parent.name}/{self.style_dir.name}")

    return StyleFetcher


def _content_type(path: Path) -> str:
    return {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
            ".jpeg": "image/jpeg", ".css": "text/css", ".ttf": "font/ttf",
            ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2",
            }.get(path.suffix.lower(), "application/octet-stream")


def style_fetcher(style_dir: Path) -> Any:
    """Return a WeasyPrint URL fetcher confined to ``style_dir``."""
    return _style_fetcher_class()(style_dir)


def _is_reference(value: Any) -> bool:
    text = value.decode() if isinstance(value, bytes) else value
    return isinstance(text, str) and text.endswith(" R")


def _number(reference: Any) -> int:
    text = reference.decode() if isinstance(reference, bytes) else str(reference)
    return int(text.split()[0])


def finish_pdf(document: Any, pdf: Any) -> None:
    """Add the PDF/UA-1 identifier and make margin-box content artifacts (a WeasyPrint finisher)."""
    import pydyf

    catalog = pdf.catalog
    metadata = pdf.objects[_number(catalog["Metadata"])]
    packet = b"".join(part if isinstance(part, bytes) else str(part).encode()
                      for part in metadata.stream)
    packet = packet.replace(b"</rdf:RDF>", PDFUA_XMP + b"</rdf:RDF>", 1)
    metadata.stream = [packet]

    if not _ICC:
        from importlib.resources import files

        _ICC.append((files("weasyprint.pdf") / "sRGB2014.icc").read_bytes())
    profile = pydyf.Stream([_ICC[0]], pydyf.Dictionary({"N": 3}), compress=True)
    pdf.add_object(profile)
    catalog["OutputIntents"] = pydyf.Array([pydyf.Dictionary({
        "Type": "/OutputIntent", "S": "/GTS_PDFA1",
        "OutputConditionIdentifier": pydyf.String("sRGB IEC61966-2.1"),
        "Info": pydyf.String("sRGB IEC61966-2.1"), "DestOutputProfile": profile.reference})])

    root = pdf.objects[_number(catalog["StructTreeRoot"])]
    _read_sections_where_drawn(pdf, root)

    # Structure elements reachable from the tree; the others are margin-box content.
    reachable: set[int] = set()
    todo = [_number(ref) for ref in root["K"]]
    while todo:
        number = todo.pop()
        if number in reachable:
            continue
        reachable.add(number)
        element = pdf.objects[number]
        if element.get("S") == "/TH":
            # Every header cell heads its column (the writer writes only column headers).
            element["A"]["Scope"] = "/Column"
        todo.extend(_number(k) for k in element.get("K", ()) if _is_reference(k))
    parent_tree = pdf.objects[_number(root["ParentTree"])]["Nums"]
    for index, page_ref in enumerate(pdf.page_references):
        mcids = parent_tree[2 * index + 1]
        orphans = {mcid for mcid, ref in enumerate(mcids) if _number(ref) not in reachable}
        if not orphans:
            continue
        page = pdf.objects[_number(page_ref)]
        stream = pdf.objects[_number(page["Contents"])]
        items = stream.stream
        for i, item in enumerate(items):
            if isinstance(item, pydyf.Dictionary) and item.get("MCID") in orphans \
                    and i + 1 < len(items) and items[i + 1] == b"BDC":
                items[i - 1] = "/Artifact"
                items[i] = pydyf.Dictionary({"Type": "/Pagination"})
        for mcid in orphans:
            mcids[mcid] = "null"


def _read_sections_where_drawn(pdf: Any, root: Any) -> None:
    """Move each section (the addressee block, drawn at the foot of its page) after the rest of
    its page's content, so the structure tree reads the page top to bottom as it is printed."""
    document = pdf.objects[_number(root["K"][0])]
    kids = list(document["K"])
    for kid in [k for k in kids if pdf.objects[_number(k)].get("S") == "/Sect"]:
        page = pdf.objects[_number(kid)]["Pg"]
        kids.remove(kid)
        last = max((i for i, k in enumerate(kids) if pdf.objects[_number(k)].get("Pg") == page),
                   default=len(kids) - 1)
        kids.insert(last + 1, kid)
    document["K"][:] = kids


def document_identifier(page: str) -> bytes:
    """Return the file identifier: a digest of the page's HTML, the same for the same inputs."""
    return hashlib.sha256(page.encode("utf-8")).hexdigest()[:32].encode("ascii")


class PdfWriter:
    name = "pdf"
    suffix = ".pdf"

    def __init__(self, style_dir: Path) -> None:
        self.style_dir = style_dir.resolve()
        self._ready = False

    def _setup(self) -> None:
        weasy.load()
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self._fetcher = style_fetcher(self.style_dir)
        self._fonts = FontConfiguration()
        stylesheet = self.style_dir / "letter.css"
        try:
            self._css = CSS(string=stylesheet.read_text(encoding="utf-8"),
                            base_url=self.style_dir.as_uri() + "/", font_config=self._fonts,
                            url_fetcher=self._fetcher)
        except OSError as exc:
            raise RenderError(f"cannot read the house style: {exc}") from None
        self._ready = True

    def prepare(self, languages: list[str]) -> None:
        """Load the hyphenation patterns of ``languages`` (document language tags) now.

        WeasyPrint hyphenates with Pyphen, which keeps each dictionary it opened for the life
        of the process: a process that forks workers after this call gives them the patterns
        instead of each loading its own (German's take 80 ms, Hungarian's 150 ms).
        """
        weasy.load()
        import pyphen

        for language in languages:
            if pyphen.language_fallback(language.replace("-", "_")) is not None:
                pyphen.Pyphen(lang=language.replace("-", "_"))

    def write(self, document: Document) -> bytes:
        if not self._ready:
            self._setup()  # imports WeasyPrint (weasy.load) before the imports below
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError

        page = document_html(document, stylesheet_link=False)
        try:
            html = HTML(string=page, base_url=self.style_dir.as_uri() + "/",
                        url_fetcher=self._fetcher)
            data = html.write_pdf(stylesheets=[self._css], font_config=self._fonts,
                                  pdf_identifier=document_identifier(page), finisher=finish_pdf,
                                  **OPTIONS)
        except RenderError:
            raise
        except FatalURLFetchingError as exc:
            cause = exc.__cause__
            if isinstance(cause, RenderError):
                raise cause from None
            raise RenderError(f"WeasyPrint could not fetch a resource: {cause or exc}") from None
        except Exception as exc:
            raise RenderError(f"WeasyPrint could not render the document: {exc}") from None
        assert data is not None
        return bytes(data)
