"""``pactdocs serve``: a local web page where translators review and edit catalog entries beside the
letter as one recipient will receive it.

The standard library's threading HTTP server and Jinja2 (autoescaped) templates, no framework.
Every page works as plain HTML forms; ``web/static/web.js`` (when JavaScript runs) submits a form
with ``fetch`` and replaces that one segment, so a save never reloads the page.

Safety: the server binds 127.0.0.1 unless a token is given; every request then needs the token.
A request whose Host is not this machine is refused (DNS rebinding). Every POST carries the
server's CSRF token. Letter, language, recipient and part names from a URL are looked up in the
project's own lists before any path is built; anything else is a 404. A save changes one entry
of one ``.po`` (every other byte is kept), is written atomically, and is refused when the file
changed on disk since the page was loaded (the form carries the file's sha256).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..compose import Composer, Project
from ..errors import CatalogError, PactdocsError, UsageError
from ..locale.catalogs import Entry, check_entry, load_catalog
from ..locale.pofile import replace_entry
from ..sources.letters import FRAME_DIR, STYLE_DIR, Letter, list_letters
from .maintenance import status
from .review import LABELS, STATUSES, Row, build_reviews, default_recipient, letter_recipients

WEB_DIR = Path(__file__).resolve().parent / "web"
STATIC = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BODY = 256 * 1024
PREVIEW_DPI = 80
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'; form-action 'self'; "
                               "base-uri 'none'; object-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts send "Origin: null"
    "Cache-Control": "no-store",
}
_CONTROL = {c for c in range(32) if c not in (9, 10)} | {0x7F}


class NotFound(Exception):
    """A URL that names no letter, language, recipient or part of this project."""


@dataclass
class Segment:
    """One row of the review with what the edit form needs: the catalog entry it comes from."""

    row: Row
    part: str
    anchor: str
    entry: Entry | None
    version: str
    forms: list[str]  # a label per msgstr ("" for a message without plural)
    strings: list[str]  # what the form shows (the entry's, or the translator's text after a refusal)
    errors: list[str] = field(default_factory=list)
    notice: str = ""

    @property
    def status(self) -> str:
        return self.entry.status if self.entry is not None else self.row.status


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_atomic_same_folder(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and ``os.replace``."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


class ReviewSite:
    """What the server shows and changes; independent of HTTP so it can be tested directly."""

    def __init__(self, project: Project, letter: str | None = None) -> None:
        self.project = project
        letters = list_letters(project.templates)
        if letter is not None and letter not in letters:
            raise UsageError(f"no letter '{letter}'", hint=", ".join(letters))
        self.letters = [letter] if letter else letters
        self.csrf = secrets.token_urlsafe(32)
        self.env = Environment(loader=FileSystemLoader(str(WEB_DIR / "templates")),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(labels=LABELS, statuses=STATUSES, quote=quote)
        self._save_lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._previews: OrderedDict[tuple[str, ...], tuple[bytes, list[bytes]]] = OrderedDict()
        self._writer: Any = None

    # --- names from URLs, checked against the project ------------------------------------------

    def letter(self, name: str) -> Letter:
        if name not in self.letters:
            raise NotFound(name)
        return self.project.letter(name)

    def language(self, letter: Letter, code: str) -> str:
        if code not in letter.languages or code == letter.source_language:
            raise NotFound(code)
        return code

    def recipient(self, composer: Composer, language: str, code: str | None) -> str:
        if not code:
            return default_recipient(composer, language)
        if code not in composer.registry.recipients:
            raise NotFound(code)
        return code

    def part(self, letter: Letter, part_id: str | None) -> str:
        ids = [p.id for p in letter.parts]
        if not part_id:
            return ids[0]
        if part_id not in ids:
            raise NotFound(part_id)
        return part_id

    def catalog_path(self, letter: Letter, owner: str, language: str) -> Path:
        if owner not in (letter.name, FRAME_DIR):
            raise NotFound(owner)
        return self.project.catalog_path(owner, language)

    # --- pages ---------------------------------------------------------------------------------

    def index(self) -> str:
        languages = self.project.languages()
        table = []
        for name in self.letters:
            letter = self.project.letter(name)
            targets = [code for code in letter.languages if code != letter.source_language]
            counts: dict[str, dict[str, int]] = {code: dict.fromkeys(STATUSES, 0) for code in targets}
            for row in status(self.project, targets, letter.source_language):
                if row.owner in (name, FRAME_DIR) and row.language in counts:
                    for key in STATUSES:
                        counts[row.language][key] += getattr(row, key)
            table.append((letter, [(code, languages[code].name, counts[code]) for code in targets]))
        return self.env.get_template("index.html").render(table=table)

    def composer(self, letter: Letter) -> Composer:
        return Composer(self.project, letter, self.project.registry())

    def segments(self, letter: Letter, language: str, recipient: str) -> list[Segment]:
        reviews = build_reviews(self.project, letter.name, language, recipient)
        catalogs = {owner: load_catalog(self.catalog_path(letter, owner, language), language)
                    for owner in (letter.name, FRAME_DIR)}
        versions = {owner: sha256_of(self.catalog_path(letter, owner, language))
                    for owner in catalogs}
        out: list[Segment] = []
        for review in reviews:
            for row in review.rows:
                catalog = catalogs[row.catalog]
                entry = catalog.get(row.context, row.msgid)
                forms = [""] if entry is None or entry.plural is None else \
                    plural_labels(catalog.plural.distribution(), catalog.plural.nplurals)
                strings = list(entry.strings) if entry is not None else [""] * len(forms)
                out.append(Segment(row, review.part, f"s-{len(out) + 1}", entry,
                                   versions[row.catalog], forms, strings))
        return out

    def letter_page(self, letter_name: str, code: str, to: str | None, part: str | None,
                    focus: dict[str, Segment] | None = None) -> str:
        letter = self.letter(letter_name)
        language = self.language(letter, code)
        composer = self.composer(letter)
        recipient = self.recipient(composer, language, to)
        shown = self.part(letter, part)
        segments = self.segments(letter, language, recipient)
        if focus:
            segments = [focus.get(s.anchor, s) for s in segments]
        counts = dict.fromkeys(STATUSES, 0)
        for segment in segments:
            counts[segment.status] += 1  # type: ignore[index]
        languages = self.project.languages()
        # The letter's own recipients; one asked for by name (?to=) is shown first, chosen.
        choices = letter_recipients(composer)
        if recipient not in choices:
            choices = [recipient, *choices]
        return self.env.get_template("letter.html").render(
            letter=letter, language=language, language_name=languages[language].name,
            recipient=recipient, recipients=choices, part=shown,
            segments=segments, counts=counts, csrf=self.csrf,
            preview=self.preview_context(letter, language, recipient, shown))

    def segment_html(self, letter: Letter, language: str, recipient: str, segment: Segment) -> str:
        return self.env.get_template("segment.html").render(
            letter=letter, language=language, recipient=recipient, segment=segment, csrf=self.csrf)

    # --- saving --------------------------------------------------------------------------------

    def save(self, letter_name: str, code: str, form: dict[str, list[str]]
             ) -> tuple[HTTPStatus, Letter, str, str, Segment]:
        """Apply one form; return the status, and the segment to show (with errors, if any)."""
        letter = self.letter(letter_name)
        language = self.language(letter, code)
        composer = self.composer(letter)
        recipient = self.recipient(composer, language, _one(form, "to"))
        owner = _one(form, "owner")
        po = self.catalog_path(letter, owner, language)
        context = _one(form, "context") if _one(form, "has_context") == "1" else None
        msgid = _one(form, "msgid")
        anchor = _one(form, "anchor")
        if not anchor.startswith("s-") or not anchor[2:].isdigit():
            raise NotFound(anchor)
        action = _one(form, "action") or "save"
        if action not in ("save", "approve", "review"):
            raise NotFound(action)
        def same(s: Segment) -> bool:
            return s.row.catalog == owner and s.row.msgid == msgid and s.row.context == context

        segments = self.segments(letter, language, recipient)
        # The anchor names the row; should the rows have shifted, the entry still decides.
        segment = next((s for s in segments if s.anchor == anchor and same(s)), None) or \
            next((s for s in segments if same(s)), None)
        if segment is None or segment.entry is None:
            raise NotFound(anchor)
        anchor = segment.anchor
        entry = segment.entry
        count = len(segment.forms)
        strings = [_one(form, f"target-{i}").replace("\r\n", "\n").replace("\r", "\n")
                   for i in range(count)]
        segment.strings = strings
        fuzzy = {"approve": False, "review": True}.get(action, entry.fuzzy or not any(entry.strings))
        problems = _text_problems(strings)
        if not problems:
            draft = Entry(entry.msgid, entry.context, entry.plural, tuple(strings), fuzzy, entry.line,
                          entry.lines)
            catalog = load_catalog(po, language)
            problems = [_describe(p) for p in check_entry(draft, catalog.plural, po)]
            if action == "approve" and not all(strings):
                problems.append("An empty translation cannot be approved: translate every form "
                                "first.")
        if problems:
            segment.errors = problems
            return HTTPStatus.UNPROCESSABLE_ENTITY, letter, language, recipient, segment
        with self._save_lock:
            data = po.read_bytes()
            current = hashlib.sha256(data).hexdigest()
            if not hmac.compare_digest(current, _one(form, "version")):
                on_disk = load_catalog(po, language).get(context, msgid)
                segment.version = current
                segment.errors = [
                    "Not saved: this catalog changed on disk after the page was loaded (another "
                    "tool, an import, or a second window). Your text is kept in the form; the "
                    "text now on disk is: "
                    + (" | ".join(on_disk.strings) if on_disk and any(on_disk.strings) else "(empty)")
                    + ". Save again to replace it with your text."]
                return HTTPStatus.CONFLICT, letter, language, recipient, segment
            new = replace_entry(data, po, context, msgid, strings, fuzzy)
            if new != data:
                write_atomic_same_folder(po, new)
        fresh = {s.anchor: s for s in self.segments(letter, language, recipient)}[anchor]
        fresh.notice = {"approve": "Approved and saved.", "review": "Marked for review and saved."
                        }.get(action, "Saved.")
        return HTTPStatus.OK, letter, language, recipient, fresh

    # --- the rendered letter -------------------------------------------------------------------

    def preview_context(self, letter: Letter, language: str, recipient: str, part: str
                        ) -> dict[str, Any]:
        version = self._version(letter, language)
        _pdf, pages = self.preview(letter, language, recipient, part)
        base = f"/letters/{quote(letter.name)}/{quote(language)}/preview/{quote(recipient)}/{quote(part)}"
        return {"pdf": f"{base}.pdf?v={version}", "part": part, "parts": [p.id for p in letter.parts],
                "pages": [f"{base}-{n}.png?v={version}" for n in range(1, len(pages) + 1)],
                "recipient": recipient, "version": version}

    def _version(self, letter: Letter, language: str) -> str:
        digest = hashlib.sha256()
        for owner in (letter.name, FRAME_DIR):
            digest.update(self.catalog_path(letter, owner, language).read_bytes())
        return digest.hexdigest()[:16]

    def preview(self, letter: Letter, language: str, recipient: str, part: str
                ) -> tuple[bytes, list[bytes]]:
        """Return the PDF of one part for one recipient with the catalogs as they are now, and
        its pages as PNG (pdftoppm)."""
        key = (letter.name, language, recipient, part, self._version(letter, language))
        with self._render_lock:
            if key in self._previews:
                self._previews.move_to_end(key)
                return self._previews[key]
            from ..writers.pdf import PdfWriter

            if self._writer is None:
                self._writer = PdfWriter(self.project.templates / STYLE_DIR)
            composer = self.composer(letter)
            chosen = letter.part(part)
            document = composer.compose(chosen, recipient if chosen.per_recipient else None, language)
            pdf = self._writer.write(document)
            pages = pdf_pages(pdf)
            self._previews[key] = (pdf, pages)
            while len(self._previews) > 24:
                self._previews.popitem(last=False)
            return pdf, pages


def pdf_pages(pdf: bytes, dpi: int = PREVIEW_DPI) -> list[bytes]:
    """Return each page of ``pdf`` as PNG bytes (poppler's pdftoppm)."""
    with tempfile.TemporaryDirectory(prefix="pactdocs-preview-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(source), str(Path(folder) / "page")],
                       check=True, capture_output=True, timeout=60)
        found = sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [p.read_bytes() for p in found]


def plural_labels(distribution: dict[int, list[int]], forms: int) -> list[str]:
    labels = []
    for index in range(forms):
        numbers = distribution.get(index, [])
        shown = ", ".join(map(str, numbers[:4])) + (" …" if len(numbers) > 4 else "")
        labels.append(f"Form {index + 1} (n = {shown})" if shown else f"Form {index + 1}")
    return labels


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name, [])
    return values[0] if values else ""


def _describe(problem: CatalogError) -> str:
    return problem.message + (f" — {problem.hint}" if problem.hint else "")


def _text_problems(strings: list[str]) -> list[str]:
    for text in strings:
        bad = next((c for c in text if ord(c) in _CONTROL), None)
        if bad is not None:
            return [f"The text holds the control character U+{ord(bad):04X}: remove it."]
    return []


# --- HTTP ------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # Every request goes through _serve: host and token checks, then the route.
    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("GET", head=True)

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str, head: bool = False) -> None:
        self._head = head
        self._cookie: str | None = None
        self._body = b""
        if method == "POST":
            # Read the body first, whatever the answer: what is left unread would be taken for
            # the next request on this connection.
            length = self.headers.get("Content-Length") or ""
            if not length.isdigit() or int(length) > MAX_BODY:
                self.close_connection = True
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Request too large or without "
                           b"a length.\n", "text/plain; charset=utf-8")
                return
            self._body = self.rfile.read(int(length))
        try:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            if not self._allowed(query):
                return
            parts = [p for p in url.path.split("/") if p]
            if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
                raise NotFound(url.path)
            if method == "POST":
                self._post(parts, query)
            else:
                self._get(parts, query)
        except NotFound:
            self._send(HTTPStatus.NOT_FOUND, b"Not found: no such letter, language, recipient or "
                       b"page in this project.\n", "text/plain; charset=utf-8")
        except PactdocsError as exc:
            self._send(HTTPStatus.BAD_REQUEST, f"{exc}\n".encode(), "text/plain; charset=utf-8")

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        site = self.server
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if site.token is None and host not in LOOPBACK:
            self._send(HTTPStatus.FORBIDDEN, b"Forbidden: this server answers only to 127.0.0.1.\n",
                       "text/plain; charset=utf-8")
            return False
        if site.token is not None:
            given = _one(query, "token") or _cookie(self.headers.get("Cookie") or "", "pactdocs_token")
            if not given or not hmac.compare_digest(given.encode(), site.token.encode()):
                self._send(HTTPStatus.UNAUTHORIZED, b"Unauthorized: open the address with "
                           b"?token=... as printed by pactdocs serve.\n", "text/plain; charset=utf-8")
                return False
            if _one(query, "token"):
                self._cookie = (f"pactdocs_token={site.token}; HttpOnly; SameSite=Strict; Path=/")
        return True

    def _get(self, parts: list[str], query: dict[str, list[str]]) -> None:
        site = self.server.site
        if not parts:
            self._html(site.index())
        elif parts == ["favicon.ico"]:
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif len(parts) == 2 and parts[0] == "static" and parts[1] in STATIC:
            self._send(HTTPStatus.OK, (WEB_DIR / "static" / parts[1]).read_bytes(), STATIC[parts[1]],
                       cache=True)
        elif len(parts) == 3 and parts[0] == "letters":
            self._html(site.letter_page(parts[1], parts[2], _one(query, "to"), _one(query, "part")))
        elif len(parts) == 4 and parts[0] == "letters" and parts[3] == "preview":
            letter = site.letter(parts[1])
            language = site.language(letter, parts[2])
            recipient = site.recipient(site.composer(letter), language, _one(query, "to"))
            context = site.preview_context(letter, language, recipient,
                                           site.part(letter, _one(query, "part")))
            self._html(site.env.get_template("preview.html").render(preview=context, letter=letter,
                                                                    language=language))
        elif len(parts) == 6 and parts[0] == "letters" and parts[3] == "preview":
            self._preview(parts[1], parts[2], parts[4], parts[5])
        else:
            raise NotFound("/".join(parts))

    def _preview(self, letter_name: str, code: str, recipient: str, name: str) -> None:
        site = self.server.site
        letter = site.letter(letter_name)
        language = site.language(letter, code)
        recipient = site.recipient(site.composer(letter), language, recipient)
        if name.endswith(".pdf"):
            pdf, _pages = site.preview(letter, language, recipient, site.part(letter, name[:-4]))
            self._send(HTTPStatus.OK, pdf, "application/pdf", extra={
                "Content-Disposition": f'inline; filename="{letter.name}-{recipient}-{language}.pdf"'})
            return
        stem, dash, number = name.removesuffix(".png").rpartition("-")
        if not name.endswith(".png") or not dash or not number.isdigit():
            raise NotFound(name)
        _pdf, pages = site.preview(letter, language, recipient, site.part(letter, stem))
        if not 1 <= int(number) <= len(pages):
            raise NotFound(name)
        self._send(HTTPStatus.OK, pages[int(number) - 1], "image/png")

    def _post(self, parts: list[str], query: dict[str, list[str]]) -> None:
        site = self.server.site
        if len(parts) != 4 or parts[0] != "letters" or parts[3] != "save":
            raise NotFound("/".join(parts))
        body = self._body
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if kind != "application/x-www-form-urlencoded":
            self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"Send the form as a browser does.\n",
                       "text/plain; charset=utf-8")
            return
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
        except (UnicodeDecodeError, ValueError):
            self._send(HTTPStatus.BAD_REQUEST, b"Malformed form.\n", "text/plain; charset=utf-8")
            return
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc != (self.headers.get("Host") or ""):
            self._send(HTTPStatus.FORBIDDEN, b"Forbidden: a form from another site.\n",
                       "text/plain; charset=utf-8")
            return
        if not hmac.compare_digest(_one(form, "csrf").encode(), site.csrf.encode()):
            self._send(HTTPStatus.FORBIDDEN, b"Forbidden: the form has no valid CSRF token; reload "
                       b"the page and try again.\n", "text/plain; charset=utf-8")
            return
        code, letter, language, recipient, segment = site.save(parts[1], parts[2], form)
        if self.headers.get("X-Requested-With") == "pactdocs":
            extra = {"X-Catalog-Version": f"{segment.row.catalog} {segment.version}"}
            self._send(code, site.segment_html(letter, language, recipient, segment).encode(),
                       "text/html; charset=utf-8", extra=extra)
        elif code == HTTPStatus.OK:
            location = (f"/letters/{quote(letter.name)}/{quote(language)}?to={quote(recipient)}"
                        f"&part={quote(segment.part)}#{segment.anchor}")
            self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", extra={"Location": location})
        else:
            page = site.letter_page(letter.name, language, recipient, segment.part,
                                    focus={segment.anchor: segment})
            self._send(code, page.encode(), "text/html; charset=utf-8")

    def _html(self, text: str) -> None:
        self._send(HTTPStatus.OK, text.encode("utf-8"), "text/html; charset=utf-8")

    def _send(self, code: HTTPStatus, body: bytes, kind: str, *, cache: bool = False,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            if not (cache and name == "Cache-Control"):
                self.send_header(name, value)
        if self._cookie:
            self.send_header("Set-Cookie", self._cookie)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not self._head:
            self.wfile.write(body)


def _cookie(header: str, name: str) -> str:
    for item in header.split(";"):
        key, _, value = item.strip().partition("=")
        if key == name:
            return value
    return ""


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: ReviewSite, host: str = "127.0.0.1", port: int = 8000,
                 token: str | None = None, verbose: bool = False) -> None:
        if host not in LOOPBACK and not token:
            raise UsageError(f"--host {host} makes the page reachable from other machines",
                             hint="give --token SECRET as well (every request must carry it)")
        if token is not None and len(token) < 16:
            raise UsageError("the token is too short", hint="use 16 characters or more, e.g. "
                             "python3 -c 'import secrets; print(secrets.token_urlsafe())'")
        self.site = site
        self.token = token
        self.verbose = verbose
        if ":" in host:
            self.address_family = __import__("socket").AF_INET6
        super().__init__((host, port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed the connection before the answer was sent (a reload, a
        page left) is no error of the page: nothing is printed for it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/" + (f"?token={self.token}" if self.token else "")


def make_server(project: Project, *, host: str = "127.0.0.1", port: int = 8000,
                token: str | None = None, letter: str | None = None,
                verbose: bool = False) -> ReviewServer:
    """Return the review server, bound and ready for ``serve_forever()``."""
    return ReviewServer(ReviewSite(project, letter), host, port, token, verbose)
