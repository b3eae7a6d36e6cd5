"""Gettext catalogs: read, check, extract, update and compile.

Each letter has its own catalog (``letter_templates/<letter>/locale/<lang>.po`` with the template
``messages.pot``); the letter frame has one too (``letter_templates/_frame``). Babel reads the
files for writing and updating; reading and checking go through :mod:`pactdocs.locale.pofile`, which
keeps every line and follows the file's own ``Plural-Forms``, and every problem carries
``file:line``.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po as babel_read_po
from babel.messages.pofile import write_po

from ..errors import CatalogError, CatalogWarning, Location, relpath
from ..sources.files import MAX_CATALOG_BYTES, read_inside
from . import Status
from .pofile import PLURAL_PROBE, PluralRule, PoFile, parse_plural_forms, parse_po, read_po

MARKUP = re.compile(r"<[^<>]+>")
# The private-use area: compose marks message segments with U+E000/U+E001.
_PRIVATE = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class Entry:
    """One message of a catalog, as the translator left it."""

    msgid: str
    context: str | None
    plural: str | None
    strings: tuple[str, ...]  # msgstr, or msgstr[0..n] for a plural message
    fuzzy: bool
    line: int  # the msgid line
    lines: tuple[int, ...] = ()  # the line of each msgstr / msgstr[n]

    @property
    def status(self) -> Status:
        if not self.strings or not all(self.strings):
            return "untranslated"
        return "fuzzy" if self.fuzzy else "translated"

    def string_line(self, index: int = 0) -> int:
        """Return the line of msgstr[index] (the msgid line when unknown)."""
        return self.lines[index] if index < len(self.lines) else self.line


class Catalog:
    """A language's translations of one letter (or of the frame)."""

    def __init__(self, path: Path, language: str, entries: dict[tuple[str | None, str], Entry],
                 plural: PluralRule) -> None:
        self.path = path
        self.language = language
        self.entries = entries
        self.plural = plural

    @property
    def num_plurals(self) -> int:
        return self.plural.nplurals

    def plural_index(self, n: int) -> int:
        """Return the form the catalog's own Plural-Forms gives ``n`` (not the installed CLDR's)."""
        return self.plural.index(n)

    def get(self, context: str | None, msgid: str) -> Entry | None:
        return self.entries.get((context, msgid))


def cldr_plural_rule(language: str) -> PluralRule:
    """Return the plural rule the installed CLDR (through Babel) gives ``language``."""
    found = get_plural(language)
    return parse_plural_forms(f"nplurals={found.num_plurals}; plural={found.plural_expr};")


def empty_catalog(path: Path, language: str) -> Catalog:
    """Return a catalog with no translations (the source language, or a missing file)."""
    return Catalog(path, language, {}, cldr_plural_rule(language))


def _entries(po: PoFile) -> dict[tuple[str | None, str], Entry]:
    entries: dict[tuple[str | None, str], Entry] = {}
    for e in po.entries:
        forms = sorted(e.strings)
        entries.setdefault((e.context, e.msgid), Entry(
            e.msgid, e.context, e.plural, tuple(e.strings[i] for i in forms), e.fuzzy, e.line,
            tuple(e.string_lines[i] for i in forms)))
    return entries


def scan_po(path: Path, text: str) -> list[CatalogError]:
    """Return the syntax problems of a .po file's ``text``, each with its line.

    Finds what Babel's reader would skip or truncate: unknown keywords, unterminated strings,
    bad escapes, an entry without msgstr, misnumbered plural forms and duplicate messages.
    """
    return parse_po(path, text.encode("utf-8")).problems


def read_catalog_file(path: Path) -> BabelCatalog:
    """Return Babel's view of a .po file, after our own syntax scan found nothing."""
    data = read_inside(path, path.parent, MAX_CATALOG_BYTES, CatalogError)
    problems = parse_po(path, data).problems
    if problems:
        raise problems[0]
    try:
        return babel_read_po(io.StringIO(data.decode("utf-8")), abort_invalid=True)
    except Exception as exc:  # Babel raises several types for bad input
        line = getattr(exc, "lineno", 0) or 0
        raise CatalogError(f"unreadable catalog: {exc}", Location(relpath(path), line)) from None


def load_catalog(path: Path, language: str) -> Catalog:
    """Return the translations in ``path`` for ``language``; an absent file has none.

    The plural form of a message is chosen by the file's own ``Plural-Forms`` header, as GNU
    gettext does, so the same catalog prints the same text whatever Babel is installed.
    """
    if not path.exists():
        return empty_catalog(path, language)
    po = read_po(path)
    if po.problems:
        raise po.problems[0]
    return Catalog(path, language, _entries(po), po.plural_rule())


def read_template(path: Path) -> list[tuple[str | None, str, str | None, int]]:
    """Return the messages of a ``messages.pot``: (context, msgid, plural msgid, line)."""
    po = read_po(path)
    if po.problems:
        raise po.problems[0]
    return [(e.context, e.msgid, e.plural, e.line) for e in po.entries]


# --- Python format strings, as msgfmt's python-format check reads them ---------------------------

_DIRECTIVE = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
                        r"(?P<conv>[diouxXeEfFgGcrsa%])")
_SAME_KIND = {"i": "d", "u": "d", "F": "f"}


@dataclass(frozen=True)
class FormatSpec:
    """The %-directives of a string: named ones with their conversion, and the unnamed count."""

    named: dict[str, list[str]]
    unnamed: list[str]
    error: str | None


def format_spec(text: str) -> FormatSpec:
    """Return the directives of ``text`` read as a Python %-format string."""
    named: dict[str, list[str]] = {}
    unnamed: list[str] = []
    pos = 0
    while True:
        pos = text.find("%", pos)
        if pos < 0:
            break
        m = _DIRECTIVE.match(text, pos)
        if m is None:
            return FormatSpec(named, unnamed, f"a lone '%' at character {pos + 1}")
        pos = m.end()
        conv = m.group("conv")
        if conv == "%":
            continue
        conv = _SAME_KIND.get(conv, conv)
        if m.group("name") is not None:
            if m.group("width") == "*":
                return FormatSpec(named, unnamed, "'*' width with a named argument")
            named.setdefault(m.group("name"), []).append(conv)
        else:
            unnamed.append(conv)
    if named and unnamed:
        return FormatSpec(named, unnamed, "it mixes named arguments and unnamed ones")
    return FormatSpec(named, unnamed, None)


def placeholders(text: str) -> set[str]:
    spec = format_spec(text)
    return set(spec.named) | ({"%s"} if spec.unnamed else set())


def _single_forms(rule: PluralRule) -> set[int]:
    """Return the plural forms chosen for at most two numbers (1; 0 and 1; 2 for a dual).

    Such a form may leave out a placeholder (\"one enclosure\"); any other form is chosen for
    many numbers and must print them, or it reads wrong for 21, 31, … .
    """
    return {form for form, numbers in rule.distribution().items() if len(numbers) <= 2}


@functools.lru_cache(maxsize=512)
def _shown(path: Path, cwd: str) -> str:
    return relpath(path)


def check_entry(entry: Entry, rule: PluralRule, path: Path) -> list[CatalogError]:
    """Return the translator errors in one entry: placeholders, markup, plural forms."""
    # The path as shown in errors: resolved once per file (and working directory), not per entry.
    shown = _shown(path, os.getcwd())
    problems: list[CatalogError] = []
    if entry.status == "untranslated" and not any(entry.strings):
        return problems
    if entry.plural is not None and len(entry.strings) != rule.nplurals:
        problems.append(CatalogError(
            f"'{entry.msgid[:40]}' has {len(entry.strings)} plural form(s), the catalog's Plural-Forms "
            f"has nplurals={rule.nplurals}", Location(shown, entry.string_line(0)),
            "give one msgstr[n] per plural form"))
    source = format_spec(entry.msgid)
    sources = [source] + ([format_spec(entry.plural)] if entry.plural is not None else [])
    wanted: dict[str, set[str]] = {}
    for spec in sources:
        for name, convs in spec.named.items():
            wanted.setdefault(name, set()).update(convs)
    most_unnamed = max(len(s.unnamed) for s in sources)
    single = _single_forms(rule) if entry.plural is not None else set()
    for index, string in enumerate(entry.strings):
        if not string:
            continue
        where = Location(shown, entry.string_line(index))
        label = f"msgstr[{index}]" if entry.plural is not None else "msgstr"
        reserved = _PRIVATE.search(string)
        if reserved:
            problems.append(CatalogError(
                f"the translation of '{entry.msgid[:40]}' holds the private-use character "
                f"U+{ord(reserved.group()):04X}", where,
                "remove it: pactdocs reserves these characters for itself"))
        got = format_spec(string)
        if got.error:
            if source.error is None:
                problems.append(CatalogError(
                    f"the translation of '{entry.msgid[:40]}' is not a valid format string: {got.error}",
                    where, "write %% for a percent sign; keep %(name)s exactly as in the source"))
            continue
        for name in sorted(set(got.named) - set(wanted)):
            problems.append(CatalogError(
                f"placeholders differ in '{entry.msgid[:40]}': %({name})s in {label} is not in the source",
                where, "keep every %(name)s of the source exactly as it is"))
        for name in sorted(set(wanted) - set(got.named)):
            if index in single:
                continue  # a form for one number may leave the number out
            problems.append(CatalogError(
                f"placeholders differ in '{entry.msgid[:40]}': %({name})s of the source is missing "
                f"from {label}" + (" (this form is chosen for " + _numbers_of(rule, index) + ")"
                                   if entry.plural is not None else ""),
                where, "keep every %(name)s of the source exactly as it is"))
        for name in sorted(set(got.named) & set(wanted)):
            if set(got.named[name]) - wanted[name]:
                problems.append(CatalogError(
                    f"format of %({name}) differs in '{entry.msgid[:40]}': source "
                    f"{'/'.join(sorted(wanted[name]))}, {label} {'/'.join(sorted(set(got.named[name])))}",
                    where, f"write %({name}){sorted(wanted[name])[0]} as in the source"))
            most = max(len(s.named.get(name, [])) for s in sources)
            if len(got.named[name]) > most:
                problems.append(CatalogError(
                    f"placeholder '{name}' appears {len(got.named[name])} times in the translation of "
                    f"'{entry.msgid[:40]}', {most} in the source", where,
                    "a repeated placeholder is usually left over from an edit: remove the extra one"))
        if len(got.unnamed) != most_unnamed and not (index in single and len(got.unnamed) < most_unnamed):
            problems.append(CatalogError(
                f"placeholders differ in '{entry.msgid[:40]}': {most_unnamed} unnamed %s in the source, "
                f"{len(got.unnamed)} in {label}", where, "keep every %s of the source"))
        if string.startswith("\n") != entry.msgid.startswith("\n") or \
                string.endswith("\n") != entry.msgid.endswith("\n"):
            problems.append(CatalogError(
                f"'{entry.msgid[:40]}': source and {label} do not both begin and end alike with a "
                f"line break", where, "begin and end the translation as the source does"))
        added = set(MARKUP.findall(string)) - set(MARKUP.findall(entry.msgid)) - set(
            MARKUP.findall(entry.plural or ""))
        if added:
            problems.append(CatalogError(
                f"translation adds markup {sorted(added)[0]!r} to '{entry.msgid[:40]}'",
                where, "remove the markup: only the source's own tags may appear"))
        if ("<" in string or ">" in string) and not MARKUP.search(string) and "<" not in entry.msgid:
            problems.append(CatalogError(f"stray '<' or '>' in the translation of '{entry.msgid[:40]}'",
                                         where, "remove it"))
    return problems


def _numbers_of(rule: PluralRule, form: int) -> str:
    numbers = rule.distribution().get(form, [])
    shown = ", ".join(str(n) for n in numbers[:4])
    return f"n = {shown}{', …' if len(numbers) > 4 else ''}"


def _header_problems(po: PoFile, language: str) -> list[CatalogError]:
    """Return the problems of the header: language, charset, Plural-Forms (and CLDR warnings)."""
    where = Location(po.shown, po.header_line)
    problems: list[CatalogError] = []
    header_language = po.header.get("Language")
    if header_language and header_language.replace("-", "_").split("_")[0] != language:
        problems.append(CatalogError(f"catalog header says language '{header_language}', file is for "
                                     f"'{language}'", where, "fix the Language: header"))
    content_type = po.header.get("Content-Type", "")
    charset = re.search(r"charset=([\w-]+)", content_type)
    if charset and charset.group(1).lower().replace("-", "") != "utf8":
        problems.append(CatalogError(f"catalog declares charset {charset.group(1)}", where,
                                     'catalogs are UTF-8: write "Content-Type: text/plain; charset=UTF-8"'))
    cldr = cldr_plural_rule(language)
    suggestion = f'"Plural-Forms: nplurals={cldr.nplurals}; plural={cldr.expression};\\n"'
    plural_entries = [e for e in po.entries if e.plural is not None]
    value = po.header.get("Plural-Forms")
    if value is None:
        if plural_entries:
            problems.append(CatalogError(
                f"the header has no Plural-Forms, but the message on line {plural_entries[0].line} "
                f"has plural forms", where, f"add {suggestion} (CLDR's rule for {language})"))
        return problems
    try:
        rule = parse_plural_forms(value)
    except ValueError as exc:
        problems.append(CatalogError(f"unusable Plural-Forms: {exc}", where,
                                     f"use {suggestion} (CLDR's rule for {language})"))
        return problems
    largest = max(rule.distribution())
    if largest >= rule.nplurals:
        problems.append(CatalogError(
            f"nplurals={rule.nplurals} but the plural expression gives values as large as {largest}",
            where, f"use {suggestion} (CLDR's rule for {language})"))
    if -1 in rule.distribution():
        problems.append(CatalogError("the plural expression fails for some numbers (division by zero?)",
                                     where, f"use {suggestion}"))
    for e in plural_entries:
        if len(e.strings) != rule.nplurals:
            problems.append(CatalogError(
                f"nplurals={rule.nplurals}, but the message on line {e.line} has {len(e.strings)} "
                f"plural form(s)", Location(po.shown, e.msgstr_line),
                f"give one msgstr[n] per form: msgstr[0] … msgstr[{rule.nplurals - 1}]"))
    differs = next((n for n in PLURAL_PROBE if rule.index(n) != cldr.index(n)), None)
    if rule.nplurals != cldr.nplurals or differs is not None:
        detail = (f"n = {differs} takes form {rule.index(differs)} here, form {cldr.index(differs)} in "
                  f"CLDR" if differs is not None else f"{rule.nplurals} forms, CLDR has {cldr.nplurals}")
        problems.append(CatalogWarning(
            f"Plural-Forms differs from CLDR {_cldr_version()} for {language} ({detail})", where,
            f"valid as it is, and the file's own rule is used; to follow CLDR use {suggestion} and "
            f"give each message that many forms"))
    return problems


def _cldr_version() -> str:
    from babel.core import get_cldr_version

    return str(get_cldr_version())


def catalog_problems(path: Path, language: str,
                     template: list[tuple[str | None, str, str | None, int]]) -> list[CatalogError]:
    """Return every problem of one .po file: syntax, header, entries, unchanged long strings.

    Covers everything ``msgfmt --check --use-fuzzy`` reports as an error, at the same lines, and
    more (every message is checked as a format string, since pactdocs fills all of them).
    """
    po = read_po(path)
    problems: list[CatalogError] = list(po.problems)
    problems.extend(_header_problems(po, language))
    rule = po.plural_rule()
    for entry in _entries(po).values():
        problems.extend(check_entry(entry, rule, path))
        if (entry.strings and entry.strings[0] == entry.msgid and len(entry.msgid.split()) >= 4
                and language != "en"):
            problems.append(CatalogError(
                f"translation is the unchanged source text '{entry.msgid[:40]}'",
                Location(relpath(path), entry.string_line(0)),
                "translate it, or clear it to mark it untranslated"))
    return problems


def status_counts(catalog: Catalog,
                  template: list[tuple[str | None, str, str | None, int]]) -> dict[str, int]:
    """Return how many of the template's messages are translated, fuzzy and untranslated."""
    counts = {"translated": 0, "fuzzy": 0, "untranslated": 0}
    for context, msgid, _plural, _line in template:
        entry = catalog.get(context, msgid)
        counts[entry.status if entry else "untranslated"] += 1
    return counts


def unfinished(catalog: Catalog,
               template: list[tuple[str | None, str, str | None, int]]) -> list[tuple[str, str]]:
    """Return (status, msgid) of every template message not translated and approved."""
    result: list[tuple[str, str]] = []
    for context, msgid, _plural, _line in template:
        entry = catalog.get(context, msgid)
        status = entry.status if entry else "untranslated"
        if status != "translated":
            result.append((status, msgid))
    return result


# --- extraction -------------------------------------------------------------------------------

def extract_yaml_messages(node: Any, path: str = "") -> Iterator[tuple[str, str | None, str | None]]:
    """Yield (context, singular, plural) for every text leaf of a frame or letter YAML tree."""
    if isinstance(node, dict):
        if set(node) == {"singular", "plural"}:
            yield path, node["singular"], node["plural"]
            return
        for key, value in node.items():
            yield from extract_yaml_messages(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from extract_yaml_messages(item, path)
    elif isinstance(node, str):
        yield path, node, None


def new_template(project: str) -> BabelCatalog:
    return BabelCatalog(project=project, version="1", copyright_holder="pactdocs",
                        msgid_bugs_address="", creation_date=_FIXED_DATE, revision_date=_FIXED_DATE,
                        fuzzy=False)


def _fixed_date() -> Any:
    import datetime as dt

    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


_FIXED_DATE = _fixed_date()


def write_catalog(catalog: BabelCatalog, path: Path, *, template: bool = False) -> bool:
    """Write ``catalog`` as a .po/.pot file; return whether the file changed."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False,
             ignore_obsolete=True, include_previous=False, include_lineno=True)
    data = buffer.getvalue()
    if path.is_symlink():
        raise CatalogError(f"refusing to write {relpath(path)}: it is a symbolic link",
                           Location(relpath(path)), "replace the link by the file itself")
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def compile_catalog(po: Path, mo: Path, *, use_fuzzy: bool = False) -> bool:
    """Compile ``po`` into ``mo`` when the .mo is missing or older; return whether it did."""
    if mo.exists() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
        return False
    catalog = read_catalog_file(po)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=use_fuzzy)
    mo.parent.mkdir(parents=True, exist_ok=True)
    tmp = mo.with_name(f".{mo.name}.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(mo)
    return True
