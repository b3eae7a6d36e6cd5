"""Hyphenation patterns that load in a few milliseconds instead of half a second.

WeasyPrint hyphenates with Pyphen, whose :class:`pyphen.HyphDict` parses every pattern of a
dictionary when it is opened: 66,000 for German (0.6 s), as many for Hungarian. A letter looks
up a few thousand of them. :class:`QuickHyphDict` reads the file in one pass, keeps each
pattern's text under its letters (found by removing the digits of the whole file at once) and
parses a pattern the first time a word asks for it. Its answers are Pyphen's own (the test suite
compares both on every dictionary the 24 languages use): patterns that carry no hyphenation point
are left out as Pyphen leaves them out, later patterns replace earlier ones with the same letters,
and the few patterns Pyphen treats specially (``^^hh`` escapes, nonstandard hyphenation such as
Hungarian ``ssz/sz=sz``) are parsed at once by Pyphen's rules.

:func:`install` makes Pyphen open dictionaries this way for the rest of the process.
"""

from __future__ import annotations

import re
from itertools import compress
from operator import ne
from pathlib import Path
from typing import Any

import pyphen

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


class _Patterns(dict[str, Any]):
    """Letters → pattern; a value is the pattern's text until the first look-up parses it."""

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key, default)
        if type(value) is str:
            parsed = _parse(value)
            value = parsed[1] if parsed is not None else default
            dict.__setitem__(self, key, value)
        return value


class QuickHyphDict(pyphen.HyphDict):
    """A :class:`pyphen.HyphDict` that parses each pattern when a word first needs it.

    The file is read with whole-text operations, not line by line: each line's letters are the
    line without its digits, and a line has a hyphenation point when removing only its zeros
    leaves something else. The lines Pyphen reads by other rules (comments and keywords, which
    it skips; ``^^hh`` escapes and nonstandard hyphenation, which are parsed at once) are found
    by one search and taken in their place in the file, so that a later pattern still replaces
    an earlier one with the same letters.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fd:
            encoding = fd.readline().decode()
        if encoding.lower() == "microsoft-cp1251":
            encoding = "cp1251"
        lines = list(map(str.strip, path.read_text(encoding).split("\n")[1:]))
        text = "\n".join(lines)
        letters = _without_digits(text).split("\n")
        nonzero = text.replace("0", "").split("\n")  # the letters again, unless a point is left
        patterns = _Patterns()
        start = 0
        for other in [*_other_rules(text), len(lines)]:
            patterns.update(compress(zip(letters[start:other], lines[start:other], strict=True),
                                     map(ne, letters[start:other], nonzero[start:other])))
            if other < len(lines) and not lines[other].startswith(pyphen.ignored):
                parsed = _parse(lines[other])
                if parsed is not None:
                    dict.__setitem__(patterns, *parsed)
            start = other + 1
        self.patterns = patterns
        self.cache: dict[str, list[int]] = {}
        self.maxlen = max(map(len, patterns))


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
