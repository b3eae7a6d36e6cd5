"""The words and codes the registries are written in: Member State codes, languages, titles,
genders and the other closed lists, the patterns of ids, and how a value is quoted in a message.

Plain data, with nothing to import: the records of :mod:`pactdocs.sources.registry` and the
commands that read them use these without loading the schemas (:mod:`.schemas`, which need
pydantic) unless a registry file is validated.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import did_you_mean

# The EU Member States in protocol order (Interinstitutional Style Guide 7.1): Greece is EL.
MEMBER_STATE_CODES = ("BE", "BG", "CZ", "DK", "DE", "EE", "IE", "EL", "ES", "FR", "HR", "IT",
                      "CY", "LV", "LT", "LU", "HU", "MT", "NL", "AT", "PL", "PT", "RO", "SI",
                      "SK", "FI", "SE")
# The 24 official languages of the EU (ISO 639-1).
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
             "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
TITLES = ("Mr", "Ms", "none")
# "none": the gender is not recorded (or the person asks not to be addressed by one): the frame's
# neutral variant of the form of address is used, never a guess.
GENDERS = ("male", "female", "none")
# Academic titles by id (the frame writes each per language and courtesy title: de "Frau Dr.").
ACADEMIC_TITLES = ("dr", "prof", "prof-dr")
# How a person's name is written: given name first (most of Europe) or family name first
# (Hungarian names in Hungarian). Each language's catalog says where the courtesy title goes.
NAME_ORDERS = ("given-first", "family-first")
YES_NO = ("yes", "no")
GROUP_KINDS = ("recipients", "cc")

# Country codes often written where a language code is meant.
COUNTRY_NOT_LANGUAGE = {"gr": "el", "cz": "cs", "dk": "da", "ee": "et", "se": "sv", "si": "sl",
                         "gb": "en", "uk": "en", "ie": "ga", "at": "de", "be": "nl", "cy": "el",
                         "lu": "fr"}
# Codes that are not EU codes but are often meant as one.
NOT_EU_CODES = {"GR": "EL", "GB": None, "UK": None}

# The longest value one registry field may hold (names, streets, functions, addresses).
MAX_FIELD = 1000
# Characters pactdocs uses for itself or that change how text reads: line and paragraph
# separators and the bidirectional overrides that make text read differently from how it is
# stored (the private-use area, where the composer keeps its markers, is refused by category).
RESERVED = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

CODE = re.compile(r"[A-Z]{2}")
# Ids of signatories and names of groups: lower-case letters, digits and '-'.
ID = re.compile(r"[a-z0-9][a-z0-9-]*")
# A recipient id (an agency's, a person's) names the folder of the recipient's documents:
# lower-case letters, digits and inner hyphens, 1 to 40 characters; never ".", "..", a slash,
# or a Member State code.
RECIPIENT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
FORM = re.compile(r"[a-z][a-z0-9_]{0,39}")


def shown(value: str, limit: int = 80) -> str:
    """Return ``value`` as a message may quote it: what is not printable escaped (a key or a
    value may hold a terminal's control sequence), and cut after ``limit`` characters."""
    if value.isprintable() and len(value) <= limit:
        return value
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in value[:limit])
    return text + ("…" if len(value) > limit else "")


def member_state_code_problem(value: str) -> tuple[str, str] | None:
    """Return (message, hint) when ``value`` is not an EU Member State code, else None."""
    if value in MEMBER_STATE_CODES:
        return None
    if not CODE.fullmatch(value):
        hint = did_you_mean(value.upper(), MEMBER_STATE_CODES) if len(value) == 2 else None
        return (f"'{shown(value)}' is not a Member State code",
                hint or "a Member State code is two capital letters, e.g. 'AT'")
    if value in NOT_EU_CODES:
        eu = NOT_EU_CODES[value]
        return (f"'{shown(value)}' is not an EU Member State code",
                f"did you mean '{eu}'? (the EU writes Greece EL)" if eu
                else "the United Kingdom is no longer a Member State")
    return (f"'{shown(value)}' is not an EU Member State code",
            did_you_mean(value, MEMBER_STATE_CODES)
            or f"use one of {' '.join(MEMBER_STATE_CODES)}")


def kind_of(value: Any) -> str:
    """Return what a YAML value is, for messages: ``a mapping``, ``a list``, ``a text``."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None or value == "":
        return "empty"
    return "a text"
