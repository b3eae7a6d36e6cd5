"""Gettext catalogs: read, check, extract, update and compile.

Each letter has its own catalog (``letter_templates/<letter>/locale/<lang>.po`` with the template
``messages.pot``); the letter frame has one too (``letter_templates/_frame``). Babel reads the
files, but its reader passes over some malformed input silently, so :func:`scan_po` checks the
syntax line by line first and every problem carries ``file:line``.
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from .errors import CatalogError, Location, relpath
from .model import Status

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
MARKUP = re.compile(r"<[^<>]+>")


@dataclass(frozen=True)
class Entry:
    """One message of a catalog, as the translator left it."""

    msgid: str
    context: str | None
    plural: str | None
    strings: tuple[str, ...]  # msgstr, or msgstr[0..n] for a plural message
    fuzzy: bool
    line: int

    @property
    def status(self) -> Status:
        if not self.strings or not all(self.strings):
            return "untranslated"
        return "fuzzy" if self.fuzzy else "translated"


class Catalog:
    """A language's translations of one letter (or of the frame)."""

    def __init__(self, path: Path, language: str, entries: dict[tuple[str | None, str], Entry],
                 plural_expr: str, num_plurals: int) -> None:
        self.path = path
        self.language = language
        self.entries = entries
        self.num_plurals = num_plurals
        self.plural_index = _gettext.c2py(plural_expr)

    def get(self, context: str | None, msgid: str) -> Entry | None:
        return self.entries.get((context, msgid))


def empty_catalog(path: Path, language: str) -> Catalog:
    """Return a catalog with no translations (the source language, or a missing file)."""
    num, expr = get_plural(language)
    return Catalog(path, language, {}, expr, num)


_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr|msgstr\[(\d+)\])\s+(".*)$')
_STRING = re.compile(r'^"((?:[^"\\]|\\[\\"abfnrtv]|\\[0-7]{1,3}|\\x[0-9a-fA-F]+)*)"\s*$')


def scan_po(path: Path, text: str) -> list[CatalogError]:
    """Return the syntax problems of a .po file's ``text``, each with its line.

    Finds what Babel's reader would skip or truncate: unknown keywords, unterminated strings,
    bad escapes, an entry without msgstr, and duplicate messages.
    """
    shown = relpath(path)
    problems: list[CatalogError] = []
    seen: dict[tuple[str, str], int] = {}
    ctx = msgid = None
    last: str | None = None
    entry_line = 0
    has_msgstr = True

    def close_entry() -> None:
        if msgid is not None and not has_msgstr:
            problems.append(CatalogError("entry has no msgstr", Location(shown, entry_line),
                                         'add msgstr "" after the msgid'))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _KEYWORD.match(line)
        if m:
            keyword, rest = m.group(1), m.group(3)
            value = _STRING.match(rest)
            if value is None:
                problems.append(CatalogError(f"malformed string after {keyword}",
                                             Location(shown, number),
                                             'a string is one line in double quotes, with \\" for a quote'))
                continue
            if keyword in ("msgctxt",) or (keyword == "msgid" and last != "msgctxt"):
                close_entry()
                ctx, entry_line, has_msgstr = None, number, False
            if keyword == "msgctxt":
                ctx = value.group(1)
            elif keyword == "msgid":
                msgid = value.group(1)
                key = (ctx or "", msgid)
                if msgid and key in seen:
                    problems.append(CatalogError(
                        f"duplicate message '{msgid[:40]}' (first on line {seen[key]})",
                        Location(shown, number), "remove one of the two entries"))
                seen.setdefault(key, number)
            elif keyword.startswith("msgstr"):
                has_msgstr = True
            last = keyword.split("[")[0]
            continue
        if line.startswith('"'):
            if last is None:
                problems.append(CatalogError("string outside an entry", Location(shown, number)))
            elif _STRING.match(line) is None:
                problems.append(CatalogError("malformed continuation string", Location(shown, number),
                                             'a string is one line in double quotes, with \\" for a quote'))
            continue
        problems.append(CatalogError(f"unexpected text '{line[:30]}'", Location(shown, number),
                                     "each line is a comment, a keyword with a string, or a string"))
    close_entry()
    return problems


def read_catalog_file(path: Path) -> BabelCatalog:
    """Return Babel's view of a .po file, after our own syntax scan found nothing."""
    text = path.read_text(encoding="utf-8")
    problems = scan_po(path, text)
    if problems:
        raise problems[0]
    try:
        return read_po(io.StringIO(text), abort_invalid=True)
    except Exception as exc:  # Babel raises several types for bad input
        line = getattr(exc, "lineno", 0) or 0
        raise CatalogError(f"unreadable catalog: {exc}", Location(relpath(path), line)) from None


def load_catalog(path: Path, language: str) -> Catalog:
    """Return the translations in ``path`` for ``language``; an absent file has none."""
    if not path.exists():
        return empty_catalog(path, language)
    babel_catalog = read_catalog_file(path)
    entries: dict[tuple[str | None, str], Entry] = {}
    for message in babel_catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            msgid, plural = str(message.id[0]), str(message.id[1])
            strings = tuple(str(s or "") for s in (message.string or ()))
        else:
            msgid, plural = str(message.id), None
            strings = (str(message.string or ""),)
        entries[(message.context, msgid)] = Entry(msgid, message.context, plural, strings,
                                                  message.fuzzy, message.lineno or 0)
    num, expr = get_plural(language)
    return Catalog(path, language, entries, expr, num)


def read_template(path: Path) -> list[tuple[str | None, str, str | None, int]]:
    """Return the messages of a ``messages.pot``: (context, msgid, plural msgid, line)."""
    catalog = read_catalog_file(path)
    result: list[tuple[str | None, str, str | None, int]] = []
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            result.append((message.context, str(message.id[0]), str(message.id[1]),
                           message.lineno or 0))
        else:
            result.append((message.context, str(message.id), None, message.lineno or 0))
    return result


def placeholders(text: str) -> set[str]:
    return {m.group(1) or m.group(0) for m in PLACEHOLDER.finditer(text)}


def _count(text: str, name: str) -> int:
    return sum(1 for m in PLACEHOLDER.finditer(text) if (m.group(1) or m.group(0)) == name)


def check_entry(entry: Entry, language: str, num_plurals: int, path: Path) -> list[CatalogError]:
    """Return the translator errors in one entry: placeholders, markup, plural forms."""
    where = Location(relpath(path), entry.line)
    problems: list[CatalogError] = []
    if entry.status == "untranslated" and not any(entry.strings):
        return problems
    if entry.plural is not None and len(entry.strings) != num_plurals:
        problems.append(CatalogError(
            f"'{entry.msgid[:40]}' has {len(entry.strings)} plural forms, {language} has {num_plurals}",
            where, "give one msgstr[n] per plural form of the language"))
    for string in entry.strings:
        if not string:
            continue
        wanted = placeholders(entry.msgid) | placeholders(entry.plural or "")
        got = placeholders(string)
        # A plural form may leave out the count (e.g. "one Member State"), never add names.
        missing_ok = {"count"} if entry.plural is not None else set()
        if got - wanted or (wanted - got - missing_ok):
            problems.append(CatalogError(
                f"placeholders differ in '{entry.msgid[:40]}': source has "
                f"{sorted(wanted) or 'none'}, translation has {sorted(got) or 'none'}",
                where, "keep every %(name)s of the source exactly as it is"))
        for name in sorted(got & wanted):
            times, most = _count(string, name), max(_count(entry.msgid, name),
                                                    _count(entry.plural or "", name))
            if times > most:
                problems.append(CatalogError(
                    f"placeholder '{name}' appears {times} times in the translation of "
                    f"'{entry.msgid[:40]}', {most} in the source", where,
                    "a repeated placeholder is usually left over from an edit: remove the extra one"))
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


def catalog_problems(path: Path, language: str,
                     template: list[tuple[str | None, str, str | None, int]]) -> list[CatalogError]:
    """Return every problem of one .po file: syntax, header, entries, unchanged long strings."""
    try:
        catalog = load_catalog(path, language)
    except CatalogError as exc:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return scan_po(path, text) or [exc]
    problems: list[CatalogError] = []
    header_language = _header_language(path)
    if header_language and header_language.split("_")[0] != language:
        problems.append(CatalogError(
            f"catalog header says language '{header_language}', file is for '{language}'",
            Location(relpath(path), 1), "fix the Language: header"))
    expected = get_plural(language)[0]
    declared = _declared_plurals(path)
    if declared is not None and declared != expected:
        problems.append(CatalogError(
            f"Plural-Forms declares nplurals={declared}, {language} has {expected}",
            Location(relpath(path), 1), f"use nplurals={expected}"))
    # Babel pads missing plural forms with empty strings, so count them in the file itself.
    for line, count in _plural_form_counts(path.read_text(encoding="utf-8")):
        if count != expected:
            problems.append(CatalogError(
                f"message on line {line} has {count} plural forms, {language} has {expected}",
                Location(relpath(path), line), "give one msgstr[n] per plural form of the language"))
    for entry in catalog.entries.values():
        problems.extend(check_entry(entry, language, expected, path))
        if (entry.strings and entry.strings[0] == entry.msgid and len(entry.msgid.split()) >= 4
                and language != "en"):
            problems.append(CatalogError(
                f"translation is the unchanged source text '{entry.msgid[:40]}'",
                Location(relpath(path), entry.line), "translate it, or clear it to mark it untranslated"))
    return problems


def _plural_form_counts(text: str) -> list[tuple[int, int]]:
    """Return (msgid line, number of msgstr[n]) for every plural entry of a .po text."""
    result = []
    msgid_line = 0
    count = -1
    for number, line in enumerate(text.splitlines() + [""], start=1):
        if line.startswith("msgid "):
            msgid_line, count = number, -1
        elif line.startswith("msgid_plural"):
            count = 0
        elif line.startswith("msgstr[") and count >= 0:
            count += 1
        elif not line.strip() and count >= 0:
            result.append((msgid_line, count))
            count = -1
    return result


def _header(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[: text.find("\n\n")] if "\n\n" in text else text


def _header_language(path: Path) -> str | None:
    m = re.search(r'"Language: ([\w-]+)\\n"', _header(path))
    return m.group(1) if m else None


def _declared_plurals(path: Path) -> int | None:
    m = re.search(r"nplurals=(\d+)", _header(path))
    return int(m.group(1)) if m else None


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
