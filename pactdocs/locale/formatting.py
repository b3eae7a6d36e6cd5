"""The locale-bound formatter templates use: dates, countries and lists for one language.

A :class:`Formatter` is bound to one language for a whole run; templates reach it through
filters, never through Babel directly.
"""

from __future__ import annotations

import datetime as dt
import re

from babel import Locale
from babel.dates import format_date

from ..sources.languages import DATE_ROLES, EU_TO_ISO, Language

NBSP, NNBSP = "\u00a0", "\u202f"
_QUOTED = re.compile(r"('(?:[^']|'')*')")


def _substitute(pattern: str, month: str | None, day: str | None) -> str:
    """Return the CLDR ``pattern`` with MMMM and d (outside quotes) replaced by literal text."""
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    parts = _QUOTED.split(pattern)
    for i in range(0, len(parts), 2):  # the unquoted parts
        if month is not None:
            parts[i] = parts[i].replace("MMMM", literal(month))
        if day is not None:
            parts[i] = re.sub(r"(?<![d'])d(?![d'])", literal(day), parts[i])
    return "".join(parts)


class Formatter:
    """Format dates, countries and lists for one language.

    >>> from pathlib import Path
    >>> f = Formatter(Language("en", "en_IE", "English", "English", "Latin"))
    >>> f.date("2024-04-15")
    '15 April 2024'
    >>> f.country("EL")
    'Greece'
    """

    def __init__(self, language: Language) -> None:
        self.language = language
        self.locale = Locale.parse(language.locale)

    def date(self, value: str | dt.date, role: str = "default") -> str:
        """Return ``value`` (ISO date) as this language writes it in ``role``, unbreakable.

        ``role`` is the date's part in the sentence (``on``, ``by``, ``dateline``, ``default``):
        Latvian writes "2024. gada 15. martā" for "on 15 March", Hungarian "2024. március 15-én".
        The spaces are no-break spaces, so a date never breaks across lines.
        """
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        form = self.language.date_form(role)
        pattern = form.pattern or self.locale.date_formats["long"].pattern
        months = form.months or self.language.month_names
        if months or form.days:
            pattern = _substitute(pattern, months[day.month - 1] if months else None,
                                  form.days[day.day - 1] if form.days else None)
        return format_date(day, pattern, locale=self.locale).replace(" ", NBSP)

    def prepare(self) -> None:
        """Load now what this language's first date, list and country load: its CLDR data
        (25 ms), Babel's number formats and date patterns, the spacing patterns of
        :meth:`typeset`. A process that forks workers after this call gives them all of it."""
        for role in DATE_ROLES:
            self.date("2000-01-01", role)
        self.month("2000-01")
        self.country("FR")
        self.list(["a", "b", "c"])
        self.typeset("a; b: c? d! «e»")

    def typeset(self, text: str) -> str:
        """Return ``text`` with this language's spacing before punctuation (French ``;`` ``:``)."""
        for characters, space in self.language.space_before:
            text = re.sub(f"[ {NBSP}{NNBSP}]?([{re.escape(characters)}])(?=\\s|$|<)",
                          space.replace("\\", "\\\\") + r"\1", text)
        return text

    def month(self, value: str) -> str:
        """Return ``YYYY-MM`` as month and year in this language ("October 2025")."""
        year, month = (int(p) for p in value.split("-")[:2])
        skeleton = self.locale.datetime_skeletons.get("yMMMM")
        pattern = skeleton.pattern if skeleton is not None else "MMMM y"
        return format_date(dt.date(year, month, 1), pattern, locale=self.locale)

    def country(self, code: str) -> str:
        """Return the short name of the country with EU code ``code`` in this language."""
        iso = EU_TO_ISO.get(code.upper(), code.upper())
        return str(self.locale.territories.get(iso, code))

    def list(self, items: list[str]) -> str:
        """Return ``items`` joined as a list in this language ("A, B and C")."""
        from babel.lists import format_list

        return format_list(list(items), locale=self.locale)
