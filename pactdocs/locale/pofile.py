"""Read .po files the way GNU gettext does: entries with their lines, the header, the plural rule.

Babel's reader passes over some malformed input silently and chooses plural forms by the installed
CLDR, so pactdocs reads catalogs with this parser: every entry keeps the line of its ``msgid`` and
of each ``msgstr[n]`` (the lines ``msgfmt --check`` names), and the plural form is chosen by the
file's own ``Plural-Forms`` expression, as libintl does.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CatalogError, Location, relpath
from ..sources.files import MAX_CATALOG_BYTES, read_inside

# GNU gettext's rule for a catalog without a Plural-Forms header.
DEFAULT_PLURAL_FORMS = "nplurals=2; plural=(n != 1);"
# msgfmt evaluates the expression over these numbers to check it.
PLURAL_PROBE = range(0, 1001)

_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr|msgstr\[(\d+)\])\s+(".*)$')
_STRING = re.compile(r'^"((?:[^"\\]|\\[\\"abfnrtv]|\\[0-7]{1,3}|\\x[0-9a-fA-F]+)*)"\s*$')
_ESCAPE = re.compile(r'\\([\\"abfnrtv]|[0-7]{1,3}|x[0-9a-fA-F]+)')
_ESCAPES = {"\\": "\\", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
            "v": "\v"}
_PLURAL_FORMS = re.compile(r"^\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?)\s*;?\s*$")


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        return chr(int(code[1:], 16)) if code.startswith("x") else chr(int(code, 8))

    return _ESCAPE.sub(one, text)


@dataclass
class PoEntry:
    """One message as written in the file, with the lines of its parts."""

    context: str | None
    msgid: str
    line: int  # the msgid line
    plural: str | None = None
    strings: dict[int, str] = field(default_factory=dict)  # msgstr, or msgstr[n] by n
    string_lines: dict[int, int] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    comments: tuple[str, ...] = ()  # extracted comments (#.)
    first_line: int = 0  # the entry's first line: its first comment, else msgctxt/msgid
    last_line: int = 0  # its last line (the end of its last msgstr)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def msgstr_line(self) -> int:
        return min(self.string_lines.values(), default=self.line)


@dataclass(frozen=True)
class PluralRule:
    """A catalog's ``Plural-Forms``: how many forms, and which one a number takes."""

    nplurals: int
    expression: str
    function: Callable[[int], int]

    def index(self, n: int) -> int:
        """Return the form for ``n``; a value past the last form takes form 0, as libintl does."""
        try:
            value = int(self.function(n))
        except (ArithmeticError, ValueError):
            return 0
        return value if 0 <= value < self.nplurals else 0

    def distribution(self) -> dict[int, list[int]]:
        """Return form → the numbers of :data:`PLURAL_PROBE` that take it (raw values)."""
        result: dict[int, list[int]] = {}
        for n in PLURAL_PROBE:
            try:
                value = int(self.function(n))
            except (ArithmeticError, ValueError):
                value = -1
            result.setdefault(value, []).append(n)
        return result


def parse_plural_forms(value: str) -> PluralRule:
    """Return the rule of a ``Plural-Forms`` header value; raise ValueError when unusable."""
    m = _PLURAL_FORMS.match(value)
    if not m:
        raise ValueError("expected 'nplurals=INTEGER; plural=EXPRESSION;'")
    nplurals, expression = int(m.group(1)), m.group(2)
    if nplurals < 1:
        raise ValueError("nplurals must be at least 1")
    try:
        function = _gettext.c2py(expression)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"invalid plural expression {expression!r} ({exc})") from None
    return PluralRule(nplurals, expression, function)


@dataclass
class PoFile:
    """A parsed .po file: its entries in file order, its header and the problems found reading it."""

    path: Path
    entries: list[PoEntry]
    header: dict[str, str]
    header_line: int  # the header's msgstr line (where msgfmt reports header problems)
    problems: list[CatalogError]

    @property
    def shown(self) -> str:
        return relpath(self.path)

    def plural_rule(self) -> PluralRule:
        """Return the header's rule; GNU gettext's default when absent or unusable."""
        value = self.header.get("Plural-Forms")
        if value is not None:
            try:
                return parse_plural_forms(value)
            except ValueError:
                pass
        return parse_plural_forms(DEFAULT_PLURAL_FORMS)


def read_po(path: Path, folder: Path | None = None) -> PoFile:
    """Parse the .po file at ``path``, which must lie in ``folder`` (its own by default).

    A file that links outside that folder, or is larger than
    :data:`~pactdocs.sources.files.MAX_CATALOG_BYTES`, raises CatalogError without being read.
    """
    return parse_po(path, read_inside(path, folder or path.parent, MAX_CATALOG_BYTES,
                                      CatalogError))


def parse_po(path: Path, data: bytes) -> PoFile:
    """Parse ``data`` (the bytes of ``path``); syntax problems are collected, not raised."""
    shown = relpath(path)
    problems: list[CatalogError] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        problems.append(CatalogError(f"invalid UTF-8 (byte 0x{data[exc.start]:02x})",
                                     Location(shown, bad_line), "save the file as UTF-8"))
        text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    entries: list[PoEntry] = []
    seen: dict[tuple[str, str], int] = {}
    flags: set[str] = set()
    comments: list[str] = []
    entry: PoEntry | None = None
    pending_context: tuple[str, int] | None = None
    target: tuple[str, int] | None = None  # the field continuation strings extend
    last = ""
    block_start = 0  # the first comment line of the entry being read

    def error(message: str, line: int, hint: str | None = None) -> None:
        problems.append(CatalogError(message, Location(shown, line), hint))

    def finish() -> None:
        nonlocal entry
        if entry is None:
            return
        if not entry.strings:
            error("entry has no msgstr", entry.line, 'add msgstr "" after the msgid')
        key = (entry.context or "", entry.msgid)
        if key in seen and (entry.msgid or entry.context):
            error(f"duplicate message '{entry.msgid[:40]}' (first on line {seen[key]})", entry.line,
                  "remove one of the two entries")
        seen.setdefault(key, entry.line)
        entries.append(entry)
        entry = None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#~"):
                continue  # obsolete entries are not part of the catalog
            if last.startswith("msgstr"):
                finish()
                last = ""
            if entry is None and not block_start:
                block_start = number
            if line.startswith("#,"):
                flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            elif line.startswith("#."):
                comments.append(line[2:].strip())
            continue
        m = _KEYWORD.match(line)
        if m:
            keyword, index, rest = m.group(1), m.group(2), m.group(3)
            value = _STRING.match(rest)
            if value is None:
                error(f"malformed string after {keyword}", number,
                      'a string is one line in double quotes, with \\" for a quote')
                target, last = None, keyword
                continue
            string = _unescape(value.group(1))
            if keyword == "msgctxt":
                finish()
                pending_context = (string, number)
                target = ("context", number)
            elif keyword == "msgid":
                if last != "msgctxt":
                    finish()
                context = pending_context[0] if pending_context else None
                start = pending_context[1] if pending_context else number
                entry = PoEntry(context, string, number, flags=frozenset(flags),
                                comments=tuple(comments), first_line=block_start or start)
                flags, comments, pending_context, block_start = set(), [], None, 0
                target = ("msgid", number)
            elif entry is None:
                error(f"{keyword} without a msgid", number, "start each entry with msgid")
                target = None
            elif keyword == "msgid_plural":
                if entry.strings:
                    error("msgid_plural after msgstr", number, "put msgid_plural before msgstr[0]")
                entry.plural = string
                target = ("plural", number)
            elif keyword == "msgstr":
                if entry.plural is not None:
                    error("msgstr for a message with msgid_plural", number, "write msgstr[0], msgstr[1], …")
                elif 0 in entry.strings:
                    error("second msgstr in one entry", number)
                entry.strings[0], entry.string_lines[0] = string, number
                target = ("msgstr", 0)
            else:
                n = int(index)
                if entry.plural is None:
                    error(f"msgstr[{n}] for a message without msgid_plural", number,
                          "add msgid_plural, or write plain msgstr")
                if n != len(entry.strings):
                    error("plural form has wrong index", number,
                          f"number the forms msgstr[0], msgstr[1], … without gaps (expected "
                          f"msgstr[{len(entry.strings)}])")
                entry.strings[n], entry.string_lines[n] = string, number
                target = ("msgstr", n)
            last = keyword
            if entry is not None:
                entry.last_line = number
            continue
        if line.startswith('"'):
            value = _STRING.match(line)
            if last == "" or (target is None and value is not None):
                error("string outside an entry", number)
            elif value is None:
                error("malformed continuation string", number,
                      'a string is one line in double quotes, with \\" for a quote')
            elif target is not None:
                more = _unescape(value.group(1))
                kind, key = target
                if kind == "context" and pending_context is not None:
                    pending_context = (pending_context[0] + more, pending_context[1])
                elif entry is not None and kind == "msgid":
                    entry.msgid += more
                elif entry is not None and kind == "plural":
                    entry.plural = (entry.plural or "") + more
                elif entry is not None and kind == "msgstr":
                    entry.strings[key] += more
                if entry is not None:
                    entry.last_line = number
            continue
        error(f"unexpected text '{line[:30]}'", number,
              "each line is a comment, a keyword with a string, or a string")
    finish()
    header: dict[str, str] = {}
    header_line = 1
    for e in entries:
        if e.msgid == "" and e.context is None:
            header_line = e.msgstr_line
            for item in e.strings.get(0, "").split("\n"):
                if ":" in item:
                    name, _, val = item.partition(":")
                    header[name.strip()] = val.strip()
            break
    return PoFile(path, [e for e in entries if e.msgid or e.context], header, header_line, problems)


def po_string(text: str, keyword: str, width: int = 100) -> list[str]:
    """Return the lines of ``keyword "text"`` as Babel writes them (long or multi-line text wrapped)."""
    from babel.messages.pofile import normalize

    return f"{keyword} {normalize(text, prefix='', width=width)}".split("\n")


def replace_entry(data: bytes, path: Path, context: str | None, msgid: str,
                  strings: list[str], fuzzy: bool) -> bytes:
    """Return ``data`` (a .po file) with one entry's msgstr and fuzzy flag replaced.

    Every other byte stays as it was: other entries, comments, the header, line endings. When
    the entry loses its fuzzy mark, its ``#|`` (previous msgid) lines go too, as msgmerge expects.
    """
    po = parse_po(path, data)
    found = [e for e in po.entries if e.context == context and e.msgid == msgid]
    if len(found) != 1:
        raise CatalogError(f"'{msgid[:40]}' is not (once) in {po.shown}", Location(po.shown, 1),
                           "reload the page: the catalog changed")
    entry = found[0]
    if entry.plural is None and len(strings) != 1:
        raise CatalogError(f"'{msgid[:40]}' takes one translation", Location(po.shown, entry.line))
    text = data.decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text[len(bom):].splitlines(keepends=True)
    block = lines[entry.first_line - 1: entry.last_line]
    newline = next((line[len(line.rstrip("\r\n")):] for line in block if line.endswith("\n")), "\n")
    flags = [f.strip() for line in block if line.startswith("#,") for f in line[2:].split(",")
             if f.strip()]
    flags = [f for f in flags if f != "fuzzy"]
    if fuzzy:
        flags.insert(0, "fuzzy")
    out: list[str] = []
    flag_line = [f"#, {', '.join(flags)}{newline}"] if flags else []
    section = ""
    for line in block:
        bare = line.strip()
        if bare.startswith("#,"):
            out += flag_line
            flag_line = []
            continue
        if bare.startswith("#|") and not fuzzy:
            continue
        keyword = _KEYWORD.match(bare)
        if keyword:
            section = keyword.group(1)
        if section.startswith("msgstr"):
            if keyword and (section == "msgstr" or section == "msgstr[0]"):
                if entry.plural is None:
                    out += [piece + newline for piece in po_string(strings[0], "msgstr")]
                else:
                    for index, string in enumerate(strings):
                        out += [piece + newline for piece in po_string(string, f"msgstr[{index}]")]
            continue
        if flag_line and not bare.startswith("#"):
            out += flag_line  # an entry that had no flags line gets one before msgctxt/msgid
            flag_line = []
        out.append(line)
    if block and not block[-1].endswith(("\n", "\r")):
        out[-1] = out[-1].rstrip("\r\n")  # the file ended without a newline: keep it so
    lines[entry.first_line - 1: entry.last_line] = out
    return (bom + "".join(lines)).encode("utf-8")
