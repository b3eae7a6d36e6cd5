"""The 24 official languages and the locale-bound formatter templates use.

The language table is data (``letter_templates/_frame/languages.yaml``). A :class:`Formatter` is
bound to one language for a whole run; templates reach it through filters, never through Babel
directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date

from .errors import Location, UsageError, did_you_mean
from .yamlload import load_yaml

OFFICIAL = ("bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it",
            "lv", "lt", "hu", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv")

# The EU writes Greece EL; CLDR knows it as GR.
EU_TO_ISO = {"EL": "GR"}


@dataclass(frozen=True)
class Language:
    code: str
    locale: str
    name: str
    endonym: str
    script: str
    month_names: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """Return the BCP 47 tag written into files' language metadata (``pt-PT``)."""
        return self.locale.replace("_", "-")


@cache
def load_languages(path: Path) -> dict[str, Language]:
    """Return the language table from ``languages.yaml``, in the order of language versions."""
    data = load_yaml(path, UsageError)
    result: dict[str, Language] = {}
    for item in data["languages"]:
        result[item["code"]] = Language(
            code=item["code"], locale=item["locale"], name=item["name"],
            endonym=item["endonym"], script=item["script"],
            month_names=tuple(item.get("month_names", ())),
        )
    missing = set(OFFICIAL) - set(result)
    if missing:
        raise UsageError(f"languages missing: {', '.join(sorted(missing))}", Location(str(path)))
    return result


def parse_languages(spec: str, available: tuple[str, ...]) -> list[str]:
    """Return the language codes named by a comma-separated ``spec`` (``all`` for every one)."""
    if spec == "all":
        return list(available)
    codes = [c.strip().lower() for c in spec.split(",") if c.strip()]
    for code in codes:
        if code not in available:
            raise UsageError(
                f"unknown language '{code}'",
                hint=did_you_mean(code, available) or f"choose from {' '.join(available)}",
            )
    return list(dict.fromkeys(codes))


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
