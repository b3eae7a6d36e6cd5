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
