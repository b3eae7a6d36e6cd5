"""Compose: registries + a letter's templates + catalogs → one :class:`~pactdocs.model.Document`.

Templates run in Jinja2's sandbox with undefined variables as errors. Every message a template or
the frame uses goes through :meth:`Composer.translate`, which records a :class:`Segment` with its
translation status and leaves an invisible marker in the output, so the body parser can give each
block the status of the messages it holds.
"""

from __future__ import annotations

import operator
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, pass_context
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from .errors import (
    CatalogError,
    Location,
    PactdocsError,
    RenderError,
    TemplateError,
    did_you_mean,
    relpath,
)
from .locale.catalogs import Catalog, load_catalog, read_template
from .locale.formatting import NBSP, Formatter
from .model import (
    Block,
    Cell,
    Document,
    Heading,
    ListBlock,
    PageBreak,
    Paragraph,
    Run,
    Segment,
    Status,
    Table,
    worst,
)
from .sources.files import MAX_TEMPLATE_BYTES, read_inside
from .sources.languages import DATE_ROLES, EU_TO_ISO
from .sources.letters import FRAME_DIR, Letter, Part, pinned_timestamp
from .sources.markdown import MdBlock, MdCell, MdMessage, parse_markdown, render_inline
from .sources.project import Project

if TYPE_CHECKING:
    from .sources.registry import Person, Recipient, Registry

MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# The private-use area: compose's own markers live there, so no input may hold it.
_PRIVATE = re.compile("[\ue000-\uf8ff]")
# Limits on what one document may hold: past them DOCX readers (lxml) refuse the file.
MAX_PARAGRAPH = 100_000
MAX_DOCUMENT_TEXT = 2_000_000
# The longest text or list a template expression may build with `*` (``'x' * 10**9``).
MAX_REPEAT = 1_000_000


class LetterLoader(BaseLoader):
    """Load templates from one letter's folder only, whatever links they pass through.

    Jinja's own FileSystemLoader refuses ``..`` but follows symbolic links: a template linked to
    a file elsewhere would put that file into every document. This loader resolves each name
    and refuses any that lands outside the folder, before reading it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = [p for p in template.split("/") if p and p != "."]
        if not pieces or any(p == ".." or os.sep in p or p.startswith(".") for p in pieces):
            raise TemplateNotFound(template)
        path = self.folder.joinpath(*pieces)
        try:
            data = read_inside(path, self.folder, MAX_TEMPLATE_BYTES, TemplateError)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise TemplateNotFound(template) from None
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateError("template is not UTF-8 text", Location(relpath(path)),
                                "save the file as UTF-8") from None
        marker = _PRIVATE.search(source)
        if marker:
            line = source.count("\n", 0, marker.start()) + 1
            raise TemplateError(f"template holds the private-use character "
                                f"U+{ord(marker.group()):04X}", Location(relpath(path), line),
                                "remove it: pactdocs reserves these characters for itself")
        mtime = os.stat(path).st_mtime_ns
        return source, str(path), lambda: os.path.exists(path) and os.stat(path).st_mtime_ns == mtime


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` kept from building texts or numbers that eat memory."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise SecurityError(f"exponent {right} is too large")
            return operator.pow(left, right)
        if operator_ == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and \
                        len(seq) * count > MAX_REPEAT:
                    raise SecurityError(f"repeating a text or list {count:,} times makes more "
                                        f"than {MAX_REPEAT:,} items")
            return operator.mul(left, right)
        return super().call_binop(context, operator_, left, right)


def _at_render_time(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``func`` as a filter Jinja cannot fold into the compiled template."""
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    if kind == "context":
        return func

    @pass_context
    def filter_(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        if kind == "eval_context":
            return func(ctx.eval_ctx, *args, **kwargs)
        if kind == "environment":
            return func(ctx.environment, *args, **kwargs)
        return func(*args, **kwargs)

    return filter_


def mailto(address: str) -> str:
    """Return the ``mailto:`` URL of one plain e-mail address, built from its checked parts.

    Raise RenderError when ``address`` is not a single plain address (``a@b.example?bcc=…``).
    """
    from email_validator import EmailNotValidError, validate_email

    text = str(address)
    try:
        found = validate_email(text, check_deliverability=False, allow_quoted_local=False,
                               allow_domain_literal=False, allow_display_name=False)
    except EmailNotValidError as exc:
        raise RenderError(f"'{text[:80]}' is not an e-mail address a link can point to ({exc})",
                          hint="fix the address in the registry") from None
    local = urllib.parse.quote(found.local_part, safe="!$'*+-._~")
    return f"mailto:{local}@{found.ascii_domain}"


class _Row:
    """A template's view of one record: a field whose data is missing raises its error."""

    def __init__(self, values: dict[str, Any], missing: dict[str, PactdocsError]) -> None:
        self._values = values
        self._missing = missing

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._missing:
            error = self._missing[name]
            raise RenderError(f"{error.message} (field '{name}' of this document)",
                              error.location, error.hint)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


class _States:
    """Every Member State, for a table listing them all: incomplete data is an error, not a gap.

    Iterating or counting the list raises the error of the first state that could not be
    loaded, so a document that lists every Member State fails rather than quietly listing 26.
    The rows are made when a template first reads the list (``make``), so a document that does
    not show it neither renders nor records its messages.
    """

    def __init__(self, make: Callable[[], list[_Row]], broken: dict[str, PactdocsError]) -> None:
        self._make = make
        self._made: list[_Row] | None = None
        self._broken = broken

    @property
    def _rows(self) -> list[_Row]:
        if self._made is None:
            self._made = self._make()
        return self._made

    def _check(self) -> None:
        if self._broken:
            code, error = next(iter(self._broken.items()))
            raise RenderError(f"this document lists every Member State, and the entry of "
                              f"'{code}' has an error: {error.message}", error.location,
                              error.hint or "fix that entry; the other documents are not affected")

    def __iter__(self) -> Iterator[_Row]:
        self._check()
        return iter(self._rows)

    def __len__(self) -> int:
        self._check()
        return len(self._rows)


class Composer:
    """Compose the documents of one letter, for any recipient and language, in one process."""

    def __init__(self, project: Project, letter: Letter, registry: Registry) -> None:
        self.project = project
        self.letter = letter
        self.registry = registry
        self.languages = project.languages()
        self.frame = project.frame()
        self.created = pinned_timestamp(letter)
        self._catalogs: dict[tuple[str, str], Catalog] = {}
        self._formatters: dict[str, Formatter] = {}
        self._parsed: dict[tuple[str, str], Any] = {}
        # Per-render state, reset by compose().
        self._language = letter.source_language
        self._segments: list[Segment] = []
        self._part = "letter"
        self.final = False
        self.env = self._environment()

    # --- Jinja ---------------------------------------------------------------------------------

    def _environment(self) -> ImmutableSandboxedEnvironment:
        env = LetterSandbox(
            loader=LetterLoader(self.letter.root),
            undefined=StrictUndefined,
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            keep_trailing_newline=False,
        )
        env.policies["ext.i18n.trimmed"] = True
        env.newstyle_gettext = True  # type: ignore[attr-defined]
        composer = self

        @pass_context
        def gettext(_ctx: Any, message: str, **variables: Any) -> Markup:
            return composer._template_message(None, message, None, None, variables)

        @pass_context
        def ngettext(_ctx: Any, __singular: str, __plural: str, __num: int,
                     **variables: Any) -> Markup:
            variables.setdefault("num", __num)
            return composer._template_message(None, __singular, __plural, __num, variables)

        @pass_context
        def pgettext(_ctx: Any, context: str, message: str, **variables: Any) -> Markup:
            return composer._template_message(context, message, None, None, variables)

        @pass_context
        def npgettext(_ctx: Any, __context: str, __singular: str, __plural: str, __num: int,
                      **variables: Any) -> Markup:
            variables.setdefault("num", __num)
            return composer._template_message(__context, __singular, __plural, __num, variables)

        env.globals.update(gettext=gettext, ngettext=ngettext, pgettext=pgettext,
                           npgettext=npgettext)
        # pass_context keeps Jinja from folding `"2024-04-15"|date` into the compiled template,
        # which would freeze the language of whichever render compiled it first.
        @pass_context
        def date(_ctx: Any, value: Any, role: str = "default") -> str:
            if role not in DATE_ROLES:
                raise TemplateError(f"unknown date role '{role}'", None,
                                    did_you_mean(role, DATE_ROLES) or f"use one of {', '.join(DATE_ROLES)}")
            return composer.formatter.date(str(value), role)

        @pass_context
        def country(_ctx: Any, code: Any, form: str = "name") -> str:
            return composer.country(str(code), form)

        @pass_context
        def list_(_ctx: Any, items: Any) -> str:
            return composer.formatter.list([str(i) for i in items])

        env.filters.update(date=date, country=country, list=list_, mailto=mailto)
        # Jinja runs a filter with constant arguments while compiling, in the parent process
        # and outside every limit (`"x"|center(3000000000)`): no filter is run before rendering.
        env.filters.update({name: _at_render_time(f) for name, f in env.filters.items()})
        return env

    def check_templates(self) -> list[PactdocsError]:
        """Return the syntax errors of the letter's templates (without rendering them)."""
        problems: list[PactdocsError] = []
        for part in self.letter.parts:
            try:
                if part.template.endswith(".md"):
                    self.markdown_blocks(part)
                else:
                    self.env.get_template(part.template)
            except TemplateError as exc:
                problems.append(exc)
            except TemplateSyntaxError as exc:
                problems.append(TemplateError(exc.message or "syntax error",
                                              Location(relpath(self.letter.root / part.template),
                                                       exc.lineno)))
        return problems

    def frame_messages_used(self) -> dict[str, str]:
        """Return context → English of every frame message that depends on who the letter is for.

        That is the grammar a language must supply before it can carry the letter: each
        recipient's country forms and form of address in the recipient's gender, each person's
        name order, the signatory's function in the signatory's gender, the place of writing, the
        c.c. agencies. A missing one is named by ``pactdocs check``.
        """
        used: list[str] = []
        signatory = self.registry.signatories.get(self.letter.signatory)
        if signatory is not None:
            used += [f"functions.{signatory.function}.{signatory.person.gender}",
                     f"labels.person_name.{signatory.person.name_order}"]
        used.append(f"places.{self.letter.place}")
        group = self.registry.groups.get(self.letter.recipients)
        for rid in (group.members if group else ()):
            recipient = self.registry.recipients.get(rid)
            if recipient is None:
                continue
            used += self.recipient_messages(recipient)
        cc = self.registry.groups.get(self.letter.cc)
        for agency in (cc.members if cc else ()):
            used.append(f"agencies.{agency}.short_name")
            head = self.registry.agencies[agency].head if agency in self.registry.agencies else None
            if head is not None:
                used.append(f"labels.person_name.{head.name_order}")
        result: dict[str, str] = {}
        for context in dict.fromkeys(used):
            node: Any = self.frame
            for key in context.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            result[context] = node if isinstance(node, str) else ""
        return result

    def _lists_member_states(self) -> bool:
        """Return whether a part of the letter may list every Member State (a Jinja template
        can; a Markdown part lists only what its fields name)."""
        return any(not p.template.endswith(".md") for p in self.letter.parts)

    def recipient_messages(self, recipient: Recipient) -> list[str]:
        """Return the contexts of the frame messages the letter to ``recipient`` uses."""
        person = recipient.person
        form = f"forms_of_address.{person.form_of_address}.{person.gender}"
        used = [f"{form}.title", f"{form}.salutation", f"{form}.closing",
                self._name_label(person)]
        if person.title != "none":
            used.append(f"courtesy_titles.{person.title}")
        if person.academic_title:
            used.append(f"academic_titles.{person.academic_title}.{person.title}")
        if recipient.kind == "member_state":
            used.append(f"countries.{recipient.country}.of")
        elif recipient.kind == "agency":
            used.append(f"agencies.{recipient.agency}.short_name")
        if recipient.address is not None and recipient.address.country in self.frame.get(
                "countries", {}):
            used.append(f"countries.{recipient.address.country}.name")
        return used

    @staticmethod
    def _name_label(person: Person) -> str:
        untitled = person.title == "none" and not person.academic_title
        return f"labels.{'full_name' if untitled else 'person_name'}.{person.name_order}"

    def check_frame_forms(self, languages: list[str]) -> list[PactdocsError]:
        """Return an error per frame message the letter needs that the frame or a language lacks."""
        problems: list[PactdocsError] = []
        needed = self.frame_messages_used()
        frame_file = relpath(self.project.frame_dir / "frame.yaml")
        for context, english in needed.items():
            if not english:
                problems.append(TemplateError(
                    f"the frame has no text '{context}', which letter '{self.letter.name}' needs",
                    Location(frame_file), f"add {context} to frame.yaml, then run pactdocs i18n extract"))
        for language in languages:
            if language == self.letter.source_language:
                continue
            catalog = self.catalog(FRAME_DIR, language)
            missing = [(c, e) for c, e in needed.items() if e and not (
                (entry := catalog.get(c, e)) is not None and all(entry.strings))]
            if missing:
                shown = ", ".join(f"{c} ('{e[:30]}')" for c, e in missing[:6])
                problems.append(CatalogError(
                    f"{language} lacks {len(missing)} form(s) letter '{self.letter.name}' uses: {shown}"
                    + (", …" if len(missing) > 6 else ""),
                    Location(relpath(catalog.path)),
                    "translate them in the frame catalog (country forms, gendered functions and "
                    "titles, the place of writing)"))
        return problems

    # --- catalogs and messages -------------------------------------------------------------------

    @property
    def formatter(self) -> Formatter:
        if self._language not in self._formatters:
            self._formatters[self._language] = Formatter(self.languages[self._language])
        return self._formatters[self._language]

    def prepare(self, languages: Iterable[str]) -> None:
        """Load now the catalogs and locale data of ``languages`` (the letter's and the frame's).

        Called once before worker processes fork, so that every worker inherits them. The
        e-mail address checker of the ``mailto`` filter is not among them: its import (which
        compiles the RFC grammars, 40-50 ms) would hold up every worker's start for the sake
        of the documents that have links to addresses, so a worker imports it when its first
        such document needs it (50 ms of CPU a worker in a large run).
        """
        for language in languages:
            for owner in (self.letter.name, FRAME_DIR):
                if language != self.letter.source_language:
                    try:
                        self.catalog(owner, language)
                    except PactdocsError:
                        pass  # the documents of that language report it themselves
            if language in self.languages and language not in self._formatters:
                self._formatters[language] = Formatter(self.languages[language])
                self._formatters[language].prepare()

    def catalog(self, owner: str, language: str) -> Catalog:
        key = (owner, language)
        if key not in self._catalogs:
            self._catalogs[key] = load_catalog(self.project.catalog_path(owner, language), language)
        return self._catalogs[key]

    def translate(self, owner: str, context: str | None, singular: str, plural: str | None,
                  count: int | None, variables: dict[str, Any]) -> tuple[str, str, Status, int]:
        """Return (text, filled source, status, segment index) of one message for this language."""
        is_source = self._language == self.letter.source_language
        source = singular if plural is None or count == 1 else plural
        status: Status = "translated"
        text = source
        if not is_source:
            entry = self.catalog(owner, self._language).get(context, singular)
            status = entry.status if entry else "untranslated"
            if entry is not None and status != "untranslated":
                if plural is None:
                    text = entry.strings[0]
                else:
                    catalog = self.catalog(owner, self._language)
                    index = min(catalog.plural_index(count or 0), len(entry.strings) - 1)
                    text = entry.strings[index]
            if self.final and status != "translated":
                raise RenderError(f"'{singular[:50]}' is {status} in {self._language}",
                                  hint="translate and approve it, or leave out --final")
        try:
            filled_text = text % variables if variables or "%" in text else text
            filled_source = source % variables if variables or "%" in source else source
        except (KeyError, ValueError, TypeError) as exc:
            raise RenderError(f"the {self._language} text of '{singular[:50]}' has a bad placeholder "
                              f"({exc})", hint="run pactdocs check") from None
        filled_text = self.formatter.typeset(str(filled_text))
        # Markers may only come from messages this composer rendered itself (a nested message is
        # Markup it made); the catalog's text and every plain value from data must hold none.
        data = [v for v in variables.values() if not isinstance(v, Markup)]
        marker = next((m for m in (_PRIVATE.search(str(s)) for s in (text, source, *data)) if m), None)
        if marker:
            raise RenderError(f"the {self._language} text of '{singular[:50]}' holds the "
                              f"private-use character U+{ord(marker.group()):04X}",
                              hint="remove it from the catalog or registry it came from: "
                                   "pactdocs reserves these characters for itself")
        index = len(self._segments)
        self._segments.append(Segment(singular, context, str(filled_source), str(filled_text),
                                      status, self._part, owner))
        return str(filled_text), str(filled_source), status, index

    def _template_message(self, context: str | None, singular: str, plural: str | None,
                          count: int | None, variables: dict[str, Any]) -> Markup:
        for value in variables.values():
            marker = None if isinstance(value, Markup) else _PRIVATE.search(str(value))
            if marker:
                raise RenderError(f"a value given to '{singular[:50]}' holds the private-use character "
                                  f"U+{ord(marker.group()):04X}",
                                  hint="remove it from the registry it came from: pactdocs reserves "
                                       "these characters for itself")
        safe = {k: (v if isinstance(v, Markup) else escape(v)) for k, v in variables.items()}
        text, _src, _status, index = self.translate(self.letter.name, context, singular, plural,
                                                    count, safe)
        return Markup(f"{MARK_OPEN}{index}{MARK_CLOSE}") + Markup(text)

    def frame_text(self, path: str, count: int | None = None, **variables: Any) -> str:
        """Return the frame message at dotted ``path`` in the current language."""
        node: Any = self.frame
        for key in path.split("."):
            node = node[key]
        if isinstance(node, dict):
            singular, plural = node["singular"], node["plural"]
        else:
            singular, plural = node, None
        return self.translate(FRAME_DIR, path, singular, plural, count, variables)[0]

    def frame_item(self, path: str, value: str, **variables: Any) -> str:
        """Return ``value``, a text listed under ``path`` in the frame, in the current language."""
        return self.translate(FRAME_DIR, path, value, None, None, variables)[0]

    def frame_message(self, language: str, path: str, **variables: Any) -> str:
        """Return the frame message at ``path`` in ``language``, outside any document (the
        signature line added when a rendered PDF is signed); draft translations are used."""
        if language not in self.languages:
            raise RenderError(f"unknown language '{language}'")
        self._language, self._segments, self._part, self.final = language, [], "signature", False
        return self.frame_text(path, **variables)

    def format_date(self, language: str, value: str) -> str:
        """Return ISO date ``value`` as the long date of ``language``."""
        self._language = language
        return self.formatter.date(value)
    def use_language(self, language: str) -> None:
        """Answer frame_text() and translate() in ``language`` outside compose() (e-mail texts)."""
        if language not in self.languages:
            raise RenderError(f"unknown language '{language}'")
        self._language, self._segments, self.final = language, [], False

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Return the messages translated since compose() or use_language(), with their status."""
        return tuple(self._segments)

    # --- documents -------------------------------------------------------------------------------

    def compose(self, part: Part, recipient: str | None, language: str,
                *, final: bool = False) -> Document:
        """Return the Document of ``part`` for ``recipient`` (None for a shared annex)."""
        if language not in self.languages:
            raise RenderError(f"unknown language '{language}'")
        self._language, self._segments, self._part, self.final = language, [], part.id, final
        target = None
        if recipient is not None:
            if recipient in self.registry.broken:
                raise self.registry.broken[recipient]
            if recipient not in self.registry.recipients:
                raise RenderError(f"unknown recipient '{recipient}'",
                                  hint="run pactdocs check: its registry entry has an error")
            target = self.registry.recipients[recipient]
        signatory = self.registry.signatories[self.letter.signatory]
        letterhead = tuple(self.frame_item("letterhead", line) for line in self.frame["letterhead"])
        letterhead += (self.frame_text(f"functions.{signatory.function}.{signatory.person.gender}"),)
        subject = self.translate(self.letter.name, "subject", self.letter.subject, None, None, {})[0]
        if part.id == "letter":
            assert target is not None
            doc = self._compose_letter(part, target, letterhead, subject, signatory.person)
        else:
            doc = self._compose_annex(part, letterhead, subject)
        check_text(doc)
        return doc

    def _common(self) -> dict[str, Any]:
        return {"language": self._language, "created": self.created}

    def _annex_label(self, part: Part) -> str:
        return self.frame_text("labels.annex", number=str(part.number))

    def _annex_title(self, part: Part) -> str:
        assert part.title is not None
        return self.translate(self.letter.name, f"parts.{part.id}.title", part.title, None, None,
                              {})[0]

    def _compose_letter(self, part: Part, target: Recipient, letterhead: tuple[str, ...],
                        subject: str, signatory: Person) -> Document:
        place = self.frame_text(f"places.{self.letter.place}")
        place_date = self.frame_text("labels.place_date", place=place,
                                     date=self.formatter.date(self.letter.date, "dateline"))
        person = target.person
        form = f"forms_of_address.{person.form_of_address}.{person.gender}"
        self._require_forms(target)
        salutation = self.frame_text(f"{form}.salutation")
        body = self._render_body(part, self._variables(target))
        closing = self.frame_text(f"{form}.closing")
        annexes = self.letter.annexes
        enclosure_label = self.frame_text("labels.enclosure", count=len(annexes), num=len(annexes))
        enclosures = tuple(
            self.frame_text("labels.annex_line", annex=self._annex_label(a), title=self._annex_title(a))
            for a in annexes)
        cc_group = self.registry.groups[self.letter.cc]
        # The addressee is not sent a copy of their own letter.
        heads = [self.registry.agencies[a] for a in cc_group.members if a != target.agency]
        cc_label = self.frame_text("labels.cc")
        cc = tuple(
            self.frame_text("labels.cc_last" if i == len(heads) - 1 else "labels.cc_item",
                            name=self._person_name(a.head),
                            agency=self.frame_text(f"agencies.{a.id}.short_name"))
            for i, a in enumerate(heads))
        addressee = (self._person_name(person), self._title_line(target), *self._address_lines(target))
        return self._document(
            "letter", subject, subject, letterhead, body,
            place_date=place_date, reference=self.letter.reference, salutation=salutation,
            closing=closing, signature=(signatory.signature_name,),
            enclosure_label=enclosure_label, enclosures=enclosures, cc_label=cc_label, cc=cc,
            addressee=addressee)

    def _require_forms(self, target: Recipient) -> None:
        """Raise RenderError when the frame or this language lacks a form the letter to
        ``target`` needs: an English salutation in a Dutch letter would mix two languages."""
        needed = [c for c in self.recipient_messages(target) if c.startswith(("forms_of_address.",
                                                                              "academic_titles."))]
        for context in needed:
            node: Any = self.frame
            for key in context.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, str):
                raise RenderError(f"the frame has no '{context}', which the letter to "
                                  f"'{target.id}' needs",
                                  Location(relpath(self.project.frame_dir / "frame.yaml")),
                                  f"add {context} to frame.yaml, or give the recipient a form "
                                  "of address the frame has")
            if self._language == self.letter.source_language:
                continue
            catalog = self.catalog(FRAME_DIR, self._language)
            entry = catalog.get(context, node)
            if entry is None or not all(entry.strings):
                raise RenderError(f"{self._language} has no translation of '{context}' "
                                  f"('{node}'), which the letter to '{target.id}' needs",
                                  Location(relpath(catalog.path)),
                                  "translate it in the frame catalog (a draft will do), or "
                                  "write to this recipient in another language (--lang)")

    def _title_line(self, target: Recipient) -> str:
        """Return the line under the addressee's name: the form of address's title."""
        form = f"forms_of_address.{target.person.form_of_address}.{target.person.gender}"
        values: dict[str, str] = {}
        english = self.frame["forms_of_address"][target.person.form_of_address][
            target.person.gender]["title"]
        if "%(of_country)s" in english:
            if not target.country:
                raise RenderError(f"the form of address '{target.person.form_of_address}' names "
                                  f"a Member State, and recipient '{target.id}' is none",
                                  hint="give the person a form of address that names an "
                                       "organisation (agency_director, minister, neutral …)")
            values["of_country"] = self.country(target.country, "of")
        if "%(organisation)s" in english:
            values["organisation"] = self._organisation(target)
        return self.frame_text(f"{form}.title", None, **values)

    def _organisation(self, target: Recipient) -> str:
        if target.kind == "agency":
            return self.frame_text(f"agencies.{target.agency}.short_name")
        if target.kind == "member_state":
            return self.country(target.country)
        return target.organisation

    def _address_lines(self, target: Recipient) -> tuple[str, ...]:
        lines: list[str] = []
        form = target.person.form_of_address
        titled = "%(organisation)s" in self.frame["forms_of_address"][form][target.person.gender][
            "title"]
        if target.kind == "person" and target.organisation and not titled:
            # The organisation heads the address unless the title line already names it.
            lines.append(target.organisation)
        address = target.address
        if address is not None:
            lines += [address.street,
                      self.frame_text("labels.postal_city", postcode=address.postcode,
                                      city=self._city(address.city),
                                      country=self.country(address.country, "name"))]
        elif target.kind == "agency":
            seat = self.registry.agencies[target.agency].seat
            lines.append(self.frame_text("labels.seat", city=self._city(seat.city),
                                         country=self.country(seat.country, "name")))
        lines += [self.frame_text("labels.email", email=e) for e in target.emails[-1:]]
        return tuple(lines)

    def _city(self, city: str) -> str:
        """Return a postal city the frame translates (Brussels), or the city as written."""
        if city in (self.frame.get("cities") or ()):
            return self.frame_item("cities", city)
        return city

    def _compose_annex(self, part: Part, letterhead: tuple[str, ...], subject: str) -> Document:
        heading = self._annex_label(part)
        title = self._annex_title(part)
        body = self._render_body(part, self._variables(None))
        # The file's title (shown by PDF readers) joins label and title as the language does.
        file_title = self.frame_text("labels.annex_line", annex=heading, title=title)
        return self._document("annex", file_title, subject, letterhead, body,
                              heading=heading, subheading=title)

    def _document(self, kind: Any, title: str, subject: str, letterhead: tuple[str, ...],
                  body: tuple[Block, ...], **fields: Any) -> Document:
        unfinished = any(s.status != "translated" for s in self._segments)
        draft = self.frame_text("labels.draft") if unfinished else None
        return Document(
            kind=kind, language=self.languages[self._language].tag, title=title,
            author=letterhead[0], subject=subject, created=self.created, letterhead=letterhead,
            body=body, draft_mark=draft, segments=tuple(self._segments), **fields)

    def _person_name(self, person: Person) -> str:
        """Return the person's name with courtesy (or academic) title, in the person's name
        order, unbreakable; a person with neither is named without title."""
        if person.academic_title:
            title = self.frame_text(f"academic_titles.{person.academic_title}.{person.title}")
        elif person.title == "none":
            return self._full_name(person)
        else:
            title = self.frame_text(f"courtesy_titles.{person.title}")
        return self.frame_text(f"labels.person_name.{person.name_order}", title=title,
                               first_name=person.first_name, surname=person.surname).replace(" ", NBSP)

    def country(self, code: str, form: str = "name") -> str:
        """Return a country in the form a sentence needs (``name``, ``of``), from the frame catalog.

        Member States' names are the Interinstitutional Style Guide's, supplied by translators;
        CLDR's name is used only for a country the frame does not list.
        """
        code = code.upper()
        if code not in self.frame.get("countries", {}):
            iso = {v: k for k, v in EU_TO_ISO.items()}.get(code, code)
            if iso in self.frame.get("countries", {}):
                code = iso
            elif form == "name":
                return self.formatter.country(code)
            else:
                raise RenderError(f"the frame has no '{form}' form of country '{code}'",
                                  hint=f"add countries.{code} to letter_templates/_frame/frame.yaml")
        return self.frame_text(f"countries.{code}.{form}")

    def _full_name(self, person: Person) -> str:
        """Return the person's name without courtesy title, in the person's name order."""
        return self.frame_text(f"labels.full_name.{person.name_order}", first_name=person.first_name,
                               surname=person.surname).replace(" ", NBSP)

    def _member_states(self) -> list[_Row]:
        rows = []
        for code in self.registry.member_states:
            contact = self.registry.contacts.get(code)
            values: dict[str, Any] = {"code": code, "name": self.country(code)}
            missing: dict[str, PactdocsError] = {}
            if contact is not None:
                values["contact"] = self._full_name(contact.person)
                values["mailbox"] = contact.mailbox
            else:
                error = self.registry.bad_contacts.get(code) or RenderError(
                    f"no contact point for Member State '{code}'",
                    Location(relpath(self.registry.root / "contacts.yaml")))
                missing = {"contact": error, "mailbox": error}
            rows.append(_Row(values, missing))
        return rows

    def _variables(self, target: Recipient | None) -> dict[str, Any]:
        """Return what templates may read: plain values only, each made when a template reads it.

        A message reached only through a value the template never reads (the list of every
        Member State, in a letter that does not show it) is neither rendered nor recorded as a
        segment of the document.
        """
        recipient = None
        if target is not None:
            recipient = _Lazy(code=lambda: target.id, name=lambda: self._organisation(target),
                              person=lambda: self._person_name(target.person),
                              email=lambda: target.emails[-1] if target.emails else "")
        return {"recipient": recipient,
                "member_states": _States(self._member_states, dict(self.registry.broken)),
                "letter": SimpleNamespace(reference=self.letter.reference, date=self.letter.date),
                "language": self._language}

    def markdown_blocks(self, part: Part) -> list[MdBlock]:
        """Return the parsed Markdown of ``part`` (read once per process)."""
        key = ("markdown", part.template)
        if key not in self._parsed:
            self._parsed[key] = parse_markdown(self.letter.root / part.template, self.letter.field_names)
        return self._parsed[key]

    def _field_value(self, name: str, variables: dict[str, Any], item: Any = None) -> str:
        head, _, attr = name.partition(".")
        if not attr:
            value = dict(self.letter.fields)[name]
            return value.text if value.text is not None else self.formatter.date(value.date or "",
                                                                                 value.role)
        if head == "recipient":
            if variables.get("recipient") is None:
                raise TemplateError(f"'{name}' in a part that is the same for every recipient",
                                    None, "use recipient fields in the letter or a per-recipient annex")
            return str(getattr(variables["recipient"], attr))
        return str(getattr(item, attr))

    def _md_message(self, message: MdMessage, variables: dict[str, Any], item: Any = None) -> str:
        """Return the HTML of one Markdown message in this language, with its segment marker."""
        values = {placeholder: _md_escape(self._field_value(name, variables, item))
                  for placeholder, name in message.placeholders.items()}
        text, _src, _status, index = self.translate(self.letter.name, None, message.msgid, None, None,
                                                    values)
        return f"{MARK_OPEN}{index}{MARK_CLOSE}{render_inline(text)}"

    def _render_markdown(self, part: Part, variables: dict[str, Any]) -> str:
        """Return a Markdown part as the HTML the body parser reads, every message translated."""
        out: list[str] = []
        for block in self.markdown_blocks(part):
            if block.kind == "heading":
                out.append(f"<h{block.level}>{self._md_message(block.messages[0], variables)}"
                           f"</h{block.level}>")
            elif block.kind == "paragraph":
                out.append(f"<p>{self._md_message(block.messages[0], variables)}</p>")
            elif block.kind == "list":
                tag = "ol" if block.ordered else "ul"
                items = "".join(f"<li>{self._md_message(m, variables)}</li>" for m in block.messages)
                out.append(f"<{tag}>{items}</{tag}>")
            elif block.kind == "table":
                out.append(self._md_table(block, variables))
        return "\n".join(out)

    def _md_table(self, block: MdBlock, variables: dict[str, Any]) -> str:
        def cell(c: MdCell, tag: str, item: Any = None) -> str:
            if c.data_field is not None:
                return f"<{tag}>{escape(self._field_value(c.data_field, variables, item))}</{tag}>"
            inner = self._md_message(c.message, variables, item) if c.message else ""
            return f"<{tag}>{inner}</{tag}>"

        rows = [r for r in block.rows]
        body: list[str] = []
        if block.repeat:
            template = rows.pop() if rows else []
            items = variables[block.repeat[1]]
            fixed = ["<tr>" + "".join(cell(c, "td") for c in r) + "</tr>" for r in rows]
            repeated = ["<tr>" + "".join(cell(c, "td", it) for c in template) + "</tr>" for it in items]
            body = fixed + repeated
        else:
            body = ["<tr>" + "".join(cell(c, "td") for c in r) + "</tr>" for r in rows]
        head = "<tr>" + "".join(cell(c, "th") for c in block.header) + "</tr>"
        return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"

    def _render_body(self, part: Part, variables: dict[str, Any]) -> tuple[Block, ...]:
        where = Location(relpath(self.letter.root / part.template))
        if part.template.endswith(".md"):
            return parse_body(self._render_markdown(part, variables), self._segments, where)
        try:
            template = self.env.get_template(part.template)
            html = template.render(variables)
        except TemplateSyntaxError as exc:
            raise TemplateError(exc.message or "syntax error",
                                Location(where.path, exc.lineno)) from None
        except UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}", where,
                                f"variables a template can use: {', '.join(sorted(variables))}"
                                ) from None
        except SecurityError as exc:
            raise TemplateError(f"template tried to leave the sandbox: {exc}", where,
                                "templates may only read the letter's variables") from None
        except JinjaTemplateError as exc:
            raise TemplateError(f"template error: {exc}", where) from None
        except PactdocsError:
            raise
        return parse_body(html, self._segments, where)


_MD_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def _md_escape(value: str) -> str:
    """Return ``value`` with every ASCII punctuation escaped, so data is never Markdown syntax."""
    return _MD_PUNCTUATION.sub(r"\\\1", value)


class _Lazy:
    """A record whose fields are computed when a template first reads them."""

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        self._values: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("_fields", {})
        if name not in fields:
            raise AttributeError(name)
        values = self.__dict__["_values"]
        if name not in values:
            values[name] = fields[name]()
        return values[name]


# --- body parser -----------------------------------------------------------------------------------

_ALLOWED = {"p", "h2", "h3", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
            "em", "i", "strong", "b", "a", "br", "div"}
_CONTAINERS = {"p", "h2", "h3", "li", "th", "td"}
_SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


class _BodyParser(HTMLParser):
    def __init__(self, segments: list[Segment], where: Location) -> None:
        super().__init__(convert_charrefs=True)
        self.segments = segments
        self.where = where
        self.blocks: list[Block] = []
        self.bold = self.italic = 0
        self.href: str | None = None
        self.runs: list[Run] | None = None
        self.statuses: list[Status] = []
        self.container: str | None = None
        self.role = "body"
        self.list_items: list[Paragraph] | None = None
        self.ordered = False
        self.table: dict[str, Any] | None = None
        self.row: list[Cell] | None = None
        self.in_head = False

    def fail(self, message: str, hint: str | None = None) -> None:
        raise TemplateError(message, Location(self.where.path, 0), hint)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name in ("src", "srcset", "style", "background") or name.startswith("on"):
                self.fail(f"<{tag} {name}='{value}'>: attribute '{name}' is not allowed",
                          "pactdocs fetches nothing and takes its look from the house style")
        if tag not in _ALLOWED:
            self.fail(f"<{tag}> is not allowed in a letter body",
                      f"use one of: {', '.join(sorted(_ALLOWED))}")
        if tag in _CONTAINERS:
            if self.container is not None:
                self.fail(f"<{tag}> inside <{self.container}>")
            self.container, self.runs, self.statuses = tag, [], []
            self.role = attributes.get("class") or "body"
        elif tag in ("ul", "ol"):
            self.list_items, self.ordered = [], tag == "ol"
        elif tag == "table":
            widths = attributes.get("data-widths")
            self.table = {"header": (), "rows": [],
                          "widths": tuple(float(w) for w in widths.split(",")) if widths else None}
        elif tag in ("thead", "tbody"):
            self.in_head = tag == "thead"
        elif tag == "tr":
            self.row = []
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "a":
            href = attributes.get("href") or ""
            if not _SAFE_LINK.match(href):
                self.fail(f"link to '{href[:80]}' is not allowed",
                          "links may point to http(s):// or mailto: addresses only")
            if href[:7].lower() == "mailto:":
                # Rebuilt from the checked address: nothing rides along (?bcc=, a second address).
                href = mailto(urllib.parse.unquote(href[7:]))
            self.href = href
        elif tag == "br":
            self._text("\n")
        elif tag == "div":
            if attributes.get("class") != "page-break":
                self.fail("<div> is only for <div class=\"page-break\"></div>")
            self.blocks.append(PageBreak())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag == "a":
            self.href = None
        elif tag in _CONTAINERS and self.container == tag:
            runs = _tidy(self.runs or [])
            status = worst(*self.statuses)
            if tag == "p":
                self.blocks.append(Paragraph(runs, status, self.role))
            elif tag in ("h2", "h3"):
                self.blocks.append(Heading(runs, int(tag[1]), status))
            elif tag == "li" and self.list_items is not None:
                self.list_items.append(Paragraph(runs, status))
            elif tag in ("th", "td") and self.row is not None:
                self.row.append(Cell(runs, status))
            self.container, self.runs = None, None
        elif tag in ("ul", "ol") and self.list_items is not None:
            self.blocks.append(ListBlock(tuple(self.list_items), self.ordered))
            self.list_items = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            if self.in_head:
                self.table["header"] = tuple(self.row)
            else:
                self.table["rows"].append(tuple(self.row))
            self.row = None
        elif tag == "table" and self.table is not None:
            self.blocks.append(Table(self.table["header"], tuple(self.table["rows"]),
                                     self.table["widths"]))
            self.table = None

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        def record(match: re.Match[str]) -> str:
            self.statuses.append(self.segments[int(match.group(1))].status)
            return ""

        if self.runs is None:
            stripped = _MARK.sub(record, data)
            if stripped.strip():
                self.fail(f"text outside a paragraph: '{stripped.strip()[:40]}'",
                          "put it inside <p>…</p>")
            return
        text = _MARK.sub(record, data)
        forged = _PRIVATE.search(text)
        if forged:
            self.fail(f"the private-use character U+{ord(forged.group()):04X} in the body",
                      "remove it from the template, catalog or registry: pactdocs reserves "
                      "these characters for itself")
        if text:
            self.runs.append(Run(text, self.bold > 0, self.italic > 0, self.href))


def _tidy(runs: list[Run]) -> tuple[Run, ...]:
    """Collapse whitespace inside and trim it at the ends of a paragraph's runs."""
    result: list[Run] = []
    for run in runs:
        text = re.sub(r"[ \t\r\n]+", " ", run.text) if run.text != "\n" else "\n"
        if result and (result[-1].bold, result[-1].italic, result[-1].href) == (
                run.bold, run.italic, run.href):
            prev = result[-1]
            result[-1] = Run(prev.text + text, prev.bold, prev.italic, prev.href)
        else:
            result.append(Run(text, run.bold, run.italic, run.href))
    if result:
        result[0] = Run(result[0].text.lstrip(" "), result[0].bold, result[0].italic, result[0].href)
        last = result[-1]
        result[-1] = Run(last.text.rstrip(" "), last.bold, last.italic, last.href)
    merged: list[Run] = []
    for run in result:
        if merged and merged[-1].text.endswith(" ") and run.text.startswith(" "):
            run = Run(run.text.lstrip(" "), run.bold, run.italic, run.href)
        if run.text:
            merged.append(run)
    return tuple(merged)


def parse_body(html: str, segments: list[Segment], where: Location) -> tuple[Block, ...]:
    """Return the blocks of a rendered body; raise TemplateError for anything unsupported."""
    parser = _BodyParser(segments, where)
    parser.feed(html)
    parser.close()
    return tuple(parser.blocks)


def check_text(doc: Document) -> None:
    """Raise RenderError when a text of ``doc`` holds a character XML cannot carry."""
    fields: dict[str, Any] = {
        "letterhead": doc.letterhead, "place_date": doc.place_date, "salutation": doc.salutation,
        "closing": doc.closing, "signature": doc.signature, "enclosures": doc.enclosures,
        "cc": doc.cc, "addressee": doc.addressee, "title": doc.title,
    }
    for name, value in fields.items():
        values = value if isinstance(value, tuple) else (value,)
        for text in values:
            if text and _CONTROL.search(text):
                raise RenderError(f"control character in {name}: {text[:40]!r}",
                                  hint="remove it from the registry or catalog it came from")
            if text and _PRIVATE.search(text):
                raise RenderError(f"private-use character in {name}",
                                  hint="remove it from the registry or catalog it came from")
    plain = doc.plain_text()
    if len(plain) > MAX_DOCUMENT_TEXT:
        raise RenderError(f"the document holds {len(plain):,} characters of text (the limit is "
                          f"{MAX_DOCUMENT_TEXT:,})", hint="a letter is a few pages long")
    for line in plain.splitlines():
        if _CONTROL.search(line):
            raise RenderError(f"control character in the body: {line[:40]!r}",
                              hint="remove it from the template or catalog")
        if len(line) > MAX_PARAGRAPH:
            raise RenderError(f"a paragraph of {len(line):,} characters (the limit is "
                              f"{MAX_PARAGRAPH:,})", hint="split it, or check where it comes from")


def load_templates_of(project: Project, owner: str) -> list[tuple[str | None, str, str | None, int]]:
    path = project.template_path(owner)
    return read_template(path) if path.exists() else []
