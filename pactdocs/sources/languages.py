"""The 24 official languages: the language table of ``letter_templates/_frame/languages.yaml``.

Locale-bound formatting of dates, countries and lists lives in :mod:`pactdocs.locale.formatting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..errors import Location, UsageError, did_you_mean
from .yamlload import load_yaml

OFFICIAL = ("bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it",
            "lv", "lt", "hu", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv")

# The EU writes Greece EL; CLDR knows it as GR.
EU_TO_ISO = {"EL": "GR"}
# The roles a date can have in a sentence (see languages.yaml).
DATE_ROLES = ("default", "on", "by", "dateline")


@dataclass(frozen=True)
class DateForm:
    """How a language writes a date in one role: a CLDR pattern, month names, day forms."""

    pattern: str | None = None
    months: tuple[str, ...] = ()
    days: tuple[str, ...] = ()


@dataclass(frozen=True)
class Language:
    code: str
    locale: str
    name: str
    endonym: str
    script: str
    month_names: tuple[str, ...] = ()
    dates: tuple[tuple[str, DateForm], ...] = ()
    space_before: tuple[tuple[str, str], ...] = ()  # (punctuation characters, the space before them)

    def date_form(self, role: str) -> DateForm:
        """Return the form of a date in ``role``, falling back to ``default``."""
        forms = dict(self.dates)
        return forms.get(role) or forms.get("default") or DateForm()

    @property
    def tag(self) -> str:
        """Return the BCP 47 tag written into files' language metadata (``pt-PT``)."""
        return self.locale.replace("_", "-")


@cache
def load_languages(path: Path) -> dict[str, Language]:
    """Return the language table from ``languages.yaml``, in the order of language versions."""
    data = load_yaml(path, UsageError)
    result: dict[str, Language] = {}
    for index, item in enumerate(data["languages"]):
        where = data["languages"].where(index) if hasattr(data["languages"], "where") else Location(
            str(path))
        dates = []
        for role, form in (item.get("dates") or {}).items():
            if role not in DATE_ROLES:
                raise UsageError(f"unknown date role '{role}' for {item['code']}", where,
                                 did_you_mean(role, DATE_ROLES) or f"use one of {', '.join(DATE_ROLES)}")
            months, days = tuple(form.get("months", ())), tuple(str(d) for d in form.get("days", ()))
            if months and len(months) != 12 or days and len(days) != 31:
                raise UsageError(f"date role '{role}' of {item['code']} needs 12 months and 31 days",
                                 where, "give every month name (and every day form) or none")
            dates.append((role, DateForm(form.get("pattern"), months, days)))
        result[item["code"]] = Language(
            code=item["code"], locale=item["locale"], name=item["name"],
            endonym=item["endonym"], script=item["script"],
            month_names=tuple(item.get("month_names", ())), dates=tuple(dates),
            space_before=tuple((str(k), str(v)) for k, v in (item.get("space_before") or {}).items()),
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
