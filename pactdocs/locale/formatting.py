"""The locale-bound formatter templates use: dates, countries and lists for one language.

A :class:`Formatter` is bound to one language for a whole run; templates reach it through
filters, never through Babel directly.
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import format_date

from ..sources.languages import EU_TO_ISO, Language


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

    def date(self, value: str | dt.date) -> str:
        """Return ``value`` (ISO date) as the long date of this language."""
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        if self.language.month_names:
            # House style differs from CLDR here: substitute the month name, keep CLDR's order.
            pattern = self.locale.date_formats["long"].pattern
            month = self.language.month_names[day.month - 1]
            return format_date(day, pattern.replace("MMMM", f"'{month}'"), locale=self.locale)
        return format_date(day, "long", locale=self.locale)

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
