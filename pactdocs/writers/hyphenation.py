"""Hyphenation patterns that load in a few milliseconds instead of half a second.

WeasyPrint hyphenates with Pyphen, whose :class:`pyphen.HyphDict` parses every pattern of a
dictionary when it is opened: 66,000 for German (0.6 s), as many for Hungarian. A letter looks
up a few thousand of them. :class:`QuickHyphDict` reads the file in one pass, keeps each
pattern's text under its letters (found by removing the digits of the whole file at once) and
parses a pattern the first time a word asks for it. Its answers are Pyphen's own (the test suite
compares both on every dictionary the 24 languages use): patterns that carry no hyphenation point
are left out as Pyphen leaves them out, later patterns replace earlier ones with the same letters,
and the few patterns Pyphen treats specially (``^^hh`` escapes, nonstandard hyphenation such as
Hungarian ``ssz/sz=sz``) are parsed by Pyphen's rules to find their letters, and kept as text too.

:func:`install` makes Pyphen open dictionaries this way for the rest of the process.

Even read that way, a dictionary of 66,000 patterns takes 80-100 ms to sort into a table, paid
in every process that hyphenates the language (once before the workers fork for a run of one
language, else in each worker for each of its languages). :func:`build` (``python -m
pactdocs.writers.hyphenation``, run by ``make setup``) sorts every dictionary Pyphen ships once
and keeps each table, with the SHA-256 of the dictionary it came from, in :data:`TABLES`
inside the environment pactdocs is installed in; a dictionary then loads in about 20 ms. A
table that is missing, unreadable, of another layout or another Pyphen, or made from other
bytes than the dictionary's, is not used: the dictionary is read as above. Nothing is written
at run time.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from itertools import compress
from operator import ne
from pathlib import Path
from typing import Any

import pyphen

from .weasyffi import keep, read_kept

# Where :func:`build` keeps the tables: the environment's own data folder (``.venv/share``).
TABLES = Path(sys.prefix) / "share" / "pactdocs" / "hyphenation"
_FORMAT = 1  # the layout of a table; a table of another layout is not used
_MAX_TABLE = 64 * 1024 * 1024

_DIGITS = re.compile(r"\d")


def _parse(pattern: str) -> tuple[str, tuple[int, tuple[int, ...]]] | None:
    """Return a pattern's letters and (offset, points) as Pyphen stores them, or None when
    the pattern has no hyphenation point."""
    pattern = pyphen.parse_hex(lambda match: chr(int(match.group(1), 16)), pattern)
    factory: Any = int
    if "/" in pattern and "=" in pattern:
        pattern, alternative = pattern.split("/", 1)
        factory = pyphen.AlternativeParser(pattern, alternative)
    pairs = [(string, factory(i or "0")) for i, string in pyphen.parse(pattern)]
    tags, values = zip(*pairs, strict=True)
    if max(values) == 0:
        return None
    start, end = 0, len(values)
    while not values[start]:
        start += 1
    while not values[end - 1]:
        end -= 1
    return "".join(tags), (start, tuple(values[start:end]))


class _Patterns:
    """Letters → pattern, for Pyphen's look-ups (``get``); a value is the pattern's text until
    the first look-up parses it."""

    __slots__ = ("_table",)

    def __init__(self, table: dict[str, Any]) -> None:
        self._table = table

    def get(self, key: str, default: Any = None) -> Any:
        table = self._table
        value = table.get(key, default)
        if type(value) is str:
            parsed = _parse(value)
            value = parsed[1] if parsed is not None else default
            table[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)


class QuickHyphDict(pyphen.HyphDict):
    """A :class:`pyphen.HyphDict` that parses each pattern when a word first needs it.

    The file is read with whole-text operations, not line by line: each line's letters are the
    line without its digits, and a line has a hyphenation point when removing only its zeros
    leaves something else. The lines Pyphen reads by other rules (comments and keywords, which
    it skips; ``^^hh`` escapes and nonstandard hyphenation, whose letters are those of their
    parsed form) are found by one search and taken in their place in the file, so that a later
    pattern still replaces an earlier one with the same letters. When :func:`build` kept the
    dictionary's table, the table is read instead (``from_table``).
    """

    def __init__(self, path: Path | str) -> None:
        raw = Path(path).read_bytes()
        kept = read_table(Path(path), raw)
        self.from_table = kept is not None
        table, maxlen = kept if kept is not None else _sorted(raw)
        self.patterns = _Patterns(table)
        self.cache: dict[str, list[int]] = {}
        self.maxlen = maxlen


def _sorted(raw: bytes) -> tuple[dict[str, str], int]:
    """Return letters → pattern text for every pattern of the dictionary ``raw`` that has a
    hyphenation point, a later pattern replacing an earlier one with the same letters, and the
    length of the longest letters."""
    # As Pyphen reads it: the first line (with its end) names the encoding, and the file is
    # decoded whole with universal newlines.
    first, end, _ = raw.partition(b"\n")
    encoding = (first + end).decode()
    if encoding.lower() == "microsoft-cp1251":
        encoding = "cp1251"
    decoded = raw.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
    lines = list(map(str.strip, decoded.split("\n")[1:]))
    text = "\n".join(lines)
    letters = _without_digits(text).split("\n")
    nonzero = text.replace("0", "").split("\n")  # the letters again, unless a point is left
    patterns: dict[str, str] = {}
    start = 0
    for other in [*_other_rules(text), len(lines)]:
        patterns.update(compress(zip(letters[start:other], lines[start:other], strict=True),
                                 map(ne, letters[start:other], nonzero[start:other])))
        if other < len(lines) and not lines[other].startswith(pyphen.ignored):
            parsed = _parse(lines[other])  # its letters are those of its parsed form
            if parsed is not None:
                patterns[parsed[0]] = lines[other]
        start = other + 1
    return patterns, max(map(len, patterns))


def _table_path(dictionary: Path, folder: Path | None = None) -> Path:
    return (TABLES if folder is None else folder) / (dictionary.stem + ".marshal")


def read_table(dictionary: Path, raw: bytes, folder: Path | None = None
               ) -> tuple[dict[str, str], int] | None:
    """Return the table :func:`build` kept for the dictionary ``dictionary`` (whose bytes are
    ``raw``) in ``folder`` (default :data:`TABLES`) and its longest letters' length, as
    :func:`_sorted` gives them, or None when there is none usable."""
    kept = read_kept(_table_path(dictionary, folder), _MAX_TABLE, _FORMAT)
    if kept is None or kept.get("pyphen") != pyphen.__version__ \
            or kept.get("sha256") != hashlib.sha256(raw).hexdigest():
        return None
    table, maxlen = kept.get("patterns"), kept.get("maxlen")
    if not isinstance(table, dict) or not table or type(maxlen) is not int:
        return None
    return table, maxlen


def build(folder: Path | None = None) -> tuple[Path, int]:
    """Sort every dictionary Pyphen ships into a table kept in ``folder`` (default
    :data:`TABLES`), each file replaced whole; return the folder and the number of tables."""
    folder = TABLES if folder is None else folder
    dictionaries = sorted({Path(p) for p in pyphen.LANGUAGES.values()})
    for dictionary in dictionaries:
        raw = dictionary.read_bytes()
        table, maxlen = _sorted(raw)
        keep(_table_path(dictionary, folder),
             {"format": _FORMAT, "pyphen": pyphen.__version__,
              "sha256": hashlib.sha256(raw).hexdigest(), "patterns": table, "maxlen": maxlen})
    return folder, len(dictionaries)


_OTHER_DIGITS = re.compile(r"[^\D0-9]")  # a decimal digit other than 0-9 (Pyphen's \d has them)
_ASCII_DIGITS = b"0123456789"


def _without_digits(text: str) -> str:
    """``text`` without its decimal digits, as ``re.sub(r"\\d", "", text)`` gives it, faster."""
    try:
        text.encode("latin-1")  # no decimal digit but 0-9 below U+0100
    except UnicodeEncodeError:
        if _OTHER_DIGITS.search(text):
            return _DIGITS.sub("", text)
    return text.encode("utf-8").translate(None, _ASCII_DIGITS).decode("utf-8")


def _other_rules(text: str) -> list[int]:
    """The numbers of the lines (0 = the first) Pyphen reads by its other rules: those that
    start with a comment or keyword, those that have ``^^`` or ``/``."""
    starts = [0] if text.startswith(pyphen.ignored) else []
    for needle in ["^^", "/", *("\n" + prefix for prefix in pyphen.ignored)]:
        at = text.find(needle)
        while at >= 0:
            starts.append(at + 1 if needle[0] == "\n" else at)
            at = text.find(needle, at + 1)
    found: list[int] = []
    line, previous = 0, 0
    for at in sorted(starts):
        line += text.count("\n", previous, at)
        previous = at
        if not found or found[-1] != line:
            found.append(line)
    return found


def install() -> None:
    """Make Pyphen open every dictionary from now on as a :class:`QuickHyphDict`."""
    if pyphen.HyphDict is not QuickHyphDict:
        pyphen.HyphDict = QuickHyphDict


if __name__ == "__main__":
    kept, count = build()
    print(f"Pyphen's {count} hyphenation dictionaries kept as tables in {kept}")
