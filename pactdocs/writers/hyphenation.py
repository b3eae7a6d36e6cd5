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
    """A :class:`pyphen.HyphDict` that parses each pattern when a word first needs it."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fd:
            encoding = fd.readline().decode()
        if encoding.lower() == "microsoft-cp1251":
            encoding = "cp1251"
        lines = [line.strip() for line in path.read_text(encoding).split("\n")[1:]]
        letters = _DIGITS.sub("", "\n".join(lines)).split("\n")
        patterns = _Patterns()
        for line, key in zip(lines, letters, strict=True):
            if not line or line.startswith(pyphen.ignored):
                continue
            if "^^" in line or "/" in line:
                parsed = _parse(line)
                if parsed is not None:
                    dict.__setitem__(patterns, *parsed)
            elif key != line.replace("0", ""):  # some digit other than 0: a hyphenation point
                dict.__setitem__(patterns, key, line)
        self.patterns = patterns
        self.cache: dict[str, list[int]] = {}
        self.maxlen = max(len(key) for key in patterns)


def install() -> None:
    """Make Pyphen open every dictionary from now on as a :class:`QuickHyphDict`."""
    if pyphen.HyphDict is not QuickHyphDict:
        pyphen.HyphDict = QuickHyphDict
