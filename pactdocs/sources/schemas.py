"""Schemas of registry records as pydantic models, and their errors as ``file:line: field:``.

A model says what a record holds (field names, allowed values, types) in one place, and
pydantic reports every problem of a record in one pass, each with the path (``loc``) of the
field. :func:`validate` maps that path back to the YAML node it came from (``Node.where``), so
each error names the file, the line of the field and the field, with the nearest valid value as
the hint. The YAML loader stays in front: it refuses aliases, oversized files and deep nesting
before any model sees the data, and hands every scalar over as text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..errors import Location, RegistryError, did_you_mean
from .yamlload import Node, Seq

MAX_FIELD = 1000
_RESERVED = set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
             "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
MEMBER_STATE_CODES = ("BE", "BG", "CZ", "DK", "DE", "EE", "IE", "EL", "ES", "FR", "HR", "IT",
                      "CY", "LV", "LT", "LU", "HU", "MT", "NL", "AT", "PL", "PT", "RO", "SI",
                      "SK", "FI", "SE")
# A recipient id names the folder of the recipient's documents: lower-case letters, digits and
# inner hyphens, 1 to 40 characters; never ".", "..", a slash, or a Member State code.
_RECIPIENT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_FORM = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ISO = re.compile(r"[A-Z]{2}")


def _plain_text(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty (give a value)")
    if len(value) > MAX_FIELD:
        raise ValueError(f"is {len(value):,} characters long (the limit is {MAX_FIELD:,})")
    for ch in value:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in _RESERVED:
            raise ValueError(f"contains the character U+{ord(ch):04X}, which a registry value "
                             "may not hold (only printable text)")
    return value


def _recipient_id(value: str) -> str:
    if value.upper() in MEMBER_STATE_CODES:
        raise ValueError(f"'{value}' reads as the Member State code '{value.upper()}' "
                         "(give a longer id, e.g. with a surname)")
    if not _RECIPIENT_ID.fullmatch(value):
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:40].strip("-")
        raise ValueError(f"'{value}' is not a valid id: it names the recipient's output folder "
                         "(1 to 40 lower-case letters, digits and inner '-'"
                         + (f", e.g. '{suggestion}')" if suggestion else ")"))
    return value


def _form(value: str) -> str:
    if not _FORM.fullmatch(value):
        raise ValueError(f"'{value}' is not a form of address id (frame.yaml forms_of_address, "
                         "e.g. minister, neutral)")
    return value


def _iso(value: str) -> str:
    if not _ISO.fullmatch(value):
        raise ValueError(f"'{value}' is not an ISO country code (two capital letters; "
                         "Norway is \"NO\")")
    return value


def _email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False, allow_quoted_local=False,
                       allow_domain_literal=False, allow_display_name=False)
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid e-mail address: {exc}") from None
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
RecipientId = Annotated[str, AfterValidator(_recipient_id)]
FormId = Annotated[str, AfterValidator(_form)]
CountryCode = Annotated[str, AfterValidator(_iso)]
Email = Annotated[str, AfterValidator(_email)]
Language = Literal["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu",
                   "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AddressRecord(_Record):
    street: Text
    postcode: Text
    city: Text
    country: CountryCode


class PersonRecord(_Record):
    """One entry of people.yaml: a person with an organisation and an address."""

    id: RecipientId
    title: Literal["Mr", "Ms", "none"]
    academic_title: Literal["dr", "prof", "prof-dr"] | None = None
    first_name: Text
    surname: Text
    gender: Literal["male", "female", "none"]
    form_of_address: FormId
    name_order: Literal["given-first", "family-first"] = "given-first"
    function: Text | None = None
    language: Language
    organisation: Text
    address: AddressRecord
    email: Email | Annotated[list[Email], Field(min_length=1)]
    sample: Literal["yes", "no"]


M = TypeVar("M", bound=BaseModel)


def _where(node: Any, loc: tuple[int | str, ...], fallback: Location) -> tuple[Location, str]:
    """Return the location of the field at ``loc`` inside ``node`` and the field's dotted name."""
    where = fallback
    names: list[str] = []
    for step in loc:
        if isinstance(step, str) and not re.fullmatch(r"\w+", step):
            continue  # a choice of a union ("function-after[…]", "list[…]"): not a field
        if isinstance(node, Node) and isinstance(step, str):
            names.append(step)
            if step in node:
                where = node.where(step)
                node = node[step]
            else:
                break
        elif isinstance(node, Seq) and isinstance(step, int) and step < len(node):
            names.append(f"[{step}]")
            where = node.where(step)
            node = node[step]
        # Other steps name a choice of a union ("str", "list[...]"): no place in the file.
    return where, ".".join(names).replace(".[", "[")


def _hint(error: Any) -> str | None:
    expected = (error.get("ctx") or {}).get("expected")
    value = error.get("input")
    if error["type"] == "literal_error" and isinstance(value, str) and expected:
        choices = re.findall(r"'([^']*)'", expected)
        return did_you_mean(value, choices) or f"use one of {', '.join(choices)}"
    if error["type"] == "extra_forbidden":
        return None
    if error["type"] == "missing":
        return "add the field"
    return None


def validate(model: type[M], node: Any, where: Location, what: str
             ) -> tuple[M | None, list[RegistryError]]:
    """Return the record ``node`` makes, or None with one error per problem (``file:line:
    field: message``, nearest valid value as the hint)."""
    if not isinstance(node, Node):
        return None, [RegistryError(f"{what} must be a mapping of fields", where)]
    try:
        return model.model_validate(node), []
    except ValidationError as exc:
        errors: list[RegistryError] = []
        seen: set[tuple[int, str]] = set()
        fields = list(model.model_fields)
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            # A field that may be a text or a list: report only the text's complaint
            # when a text was given, only the list's when a list was.
            if len(loc) > 1 and not str(loc[1]).startswith("list[") and not isinstance(
                    loc[1], int) and isinstance(node.get(str(loc[0])), Seq):
                continue
            if len(loc) > 1 and str(loc[1]).startswith("list[") and not isinstance(
                    node.get(str(loc[0])), Seq):
                continue
            at, name = _where(node, loc, where)
            hint = None
            if error["type"] == "missing":
                message = f"{name}: missing ({what} has no '{name.rsplit('.', 1)[-1]}')"
                at = where if len(loc) == 1 else at
            elif error["type"] == "extra_forbidden":
                message = f"{name}: unknown field in {what}"
                hint = did_you_mean(str(loc[-1]), fields)
            else:
                text = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "literal_error":
                    text = f"'{error['input']}' is not one of {error['ctx']['expected']}"
                elif error["type"] in ("string_type", "list_type"):
                    text = "must be a text" + (" or a list of texts" if name == "email" else "")
                message = f"{name}: {text}"
            key = (at.line, message)
            if key in seen:
                continue
            seen.add(key)
            errors.append(RegistryError(message, at, hint or _hint(error)))
        return None, errors
