"""Schemas of the registry records as pydantic models, and their errors as ``file:line: field:``.

One model per kind of record (a Member State, an agency, a contact, a signatory, a group, a
person), with nested models for what a record holds (a representative, an agency head, a
contact point, an address, a seat). A model says what a record holds (field names, allowed
values, types, what is optional) in one place, and pydantic reports every problem of a record in
one pass, each with the path (``loc``) of the field. :func:`validate` maps that path back to the
YAML node it came from (``Node.where``), so each error names the file, the line of the field and
the field, with the nearest valid value as the hint.

The YAML loader stays in front: it refuses aliases, oversized files and deep nesting before any
model sees the data, and hands every scalar over as text; the models run in strict mode, so
nothing is coerced. Rules that compare two fields of one record (a Member State's ISO code and
its EU code, a correspondence language among the state's languages, a value listed twice) are
the model's ``rules``; they run whenever the fields they read are valid, so that they are
reported in the same pass as the other problems. Rules across records and files (duplicates,
dangling references) belong to :mod:`pactdocs.sources.registry`.
"""

from __future__ import annotations

import re
import types
import typing
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from typing import Annotated, Any, ClassVar, NamedTuple, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import Location, RegistryError, did_you_mean, nearest
from .vocabulary import (
    ACADEMIC_TITLES,
    CODE,
    COUNTRY_NOT_LANGUAGE,
    FORM,
    GENDERS,
    GROUP_KINDS,
    ID,
    LANGUAGES,
    MAX_FIELD,
    MEMBER_STATE_CODES,
    NAME_ORDERS,
    RECIPIENT_ID,
    RESERVED,
    TITLES,
    YES_NO,
    kind_of,
    member_state_code_problem,
    shown,
)
from .yamlload import Node, Seq

# --- values ------------------------------------------------------------------------------------


def _fail(message: str, hint: str | None = None) -> typing.NoReturn:
    """Refuse a value: ``message`` names what is wrong with it, ``hint`` what to write."""
    raise PydanticCustomError("registry", "{message}", {"message": message, "hint": hint})


def _text(value: str) -> str:
    """Accept printable text of 1 to MAX_FIELD characters (tab and newline allowed)."""
    # str.isprintable() is False for every character refused below (all of categories C and Z
    # but the space), so most values are accepted without looking at each character.
    if value.isprintable() and len(value) <= MAX_FIELD and value.strip():
        return value
    if not value.strip():
        _fail("is empty", "give a value")
    if len(value) > MAX_FIELD:
        _fail(f"is {len(value):,} characters long (the limit is {MAX_FIELD:,})",
              "shorten it: registry values are names, addresses and functions")
    for ch in value:
        if ch in "\t\n":
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            _fail(f"contains the control character U+{ord(ch):04X}",
                  "remove it: XML (PDF metadata, DOCX) cannot hold control characters")
        if category in ("Co", "Cn") or ch in RESERVED:
            kind = ("a private-use character" if category == "Co"
                    else "an unassigned character" if category == "Cn"
                    else "an invisible formatting character")
            _fail(f"contains {kind} U+{ord(ch):04X}",
                  "remove it: registry values may hold only printable text")
    return value


def _choice(choices: tuple[str, ...], hint: str, suggest: bool = True
            ) -> Callable[[str], str]:
    """Return a check accepting one of ``choices``; the hint is the nearest choice when there
    is a close one (and ``suggest``), else ``hint``."""
    listed = ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"

    def check(value: str) -> str:
        if value not in choices:
            _fail(f"'{shown(value)}' is not one of {listed}",
                  (did_you_mean(value, choices) if suggest else None) or hint)
        return value
    return check


def _member_state_code(value: str) -> str:
    problem = member_state_code_problem(value)
    if problem:
        _fail(*problem)
    return value


def _iso(value: str) -> str:
    # Any ISO 3166-1 code: an address may be outside the EU (Norway is "NO"). A country code
    # never names a file or folder (only Member State codes and recipient ids do).
    if not CODE.fullmatch(value):
        _fail(f"'{shown(value)}' is not an ISO country code",
              'an ISO 3166 code is two capital letters, e.g. "BE" (Norway is "NO")')
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        hint = did_you_mean(value, LANGUAGES)
        if hint is None and value.lower() in COUNTRY_NOT_LANGUAGE:
            hint = (f"did you mean '{COUNTRY_NOT_LANGUAGE[value.lower()]}'? "
                    f"('{shown(value)}' is a country code)")
        _fail(f"'{shown(value)}' is not an official EU language code",
              hint or f"use one of {' '.join(LANGUAGES)}")
    return value


@lru_cache(maxsize=8192)
def email_problem(value: str) -> str | None:
    """Return why ``value`` is not a plain e-mail address (``name@example.org``), or None.

    Checked by the ``email-validator`` package (syntax only, no DNS): one address, no display
    name, no quoted local part, no IP literal, nothing after the domain (``?bcc=…``).
    """
    try:
        validate_email(value, check_deliverability=False, allow_quoted_local=False,
                       allow_domain_literal=False, allow_display_name=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _email(value: str) -> str:
    problem = email_problem(value)
    if problem is not None:
        _fail(f"'{shown(value)}' is not a valid e-mail address: {problem}",
              "an e-mail address looks like name@example.org: one @, a dot in the domain, "
              "no spaces, nothing after the domain")
    return value


def _id(value: str) -> str:
    if not ID.fullmatch(value):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
        _fail(f"'{shown(value)}' is not a valid id", "use lower-case letters, digits and '-'"
              + (f", e.g. '{suggestion}'" if suggestion else ""))
    return value


def _recipient_id(value: str) -> str:
    if value.upper() in MEMBER_STATE_CODES:
        _fail(f"'{shown(value)}' reads as the Member State code '{shown(value.upper())}'",
              "give a longer id, e.g. with a name in it")
    if not RECIPIENT_ID.fullmatch(value):
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:40].strip("-")
        _fail(f"'{shown(value)}' is not a valid id: it names the recipient's output folder",
              "use 1 to 40 lower-case letters, digits and inner '-'"
              + (f", e.g. '{suggestion}'" if suggestion else ""))
    return value


def _form(value: str) -> str:
    if not FORM.fullmatch(value):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
        _fail(f"'{shown(value)}' is not a form of address id",
              "a form of address of the frame (frame.yaml forms_of_address), e.g. "
              f"'{suggestion if FORM.fullmatch(suggestion) else 'neutral'}'")
    return value


def _group_name(value: str) -> str:
    if not ID.fullmatch(value):
        _fail(f"'{shown(value)}' is not a valid name", "use lower-case letters, digits and '-'")
    return value


def _text_then(check: Callable[[str], str]) -> AfterValidator:
    """Return a validator that checks a text, then ``check``s it: a message quoting a value
    thus never quotes an overlong one or one with control characters in it. (One validator,
    not two in a chain: half the schema to build and half the calls per value.)"""
    def validate(value: str) -> str:
        return check(_text(value))
    validate.__name__ = validate.__qualname__ = getattr(check, "__name__", "check")
    return AfterValidator(validate)


Text = Annotated[str, AfterValidator(_text)]
Id = Annotated[str, _text_then(_id)]
RecipientId = Annotated[str, _text_then(_recipient_id)]
MemberStateCode = Annotated[str, _text_then(_member_state_code)]
CountryCode = Annotated[str, _text_then(_iso)]
Language = Annotated[str, _text_then(_language)]
Email = Annotated[str, _text_then(_email)]
FormId = Annotated[str, _text_then(_form)]
Title = Annotated[str, _text_then(
    _choice(TITLES, "use Mr or Ms (or none: no courtesy title)", suggest=False))]
Gender = Annotated[str, _text_then(
    _choice(GENDERS, "use male or female (or none: not recorded; the neutral form is used)"))]
AcademicTitle = Annotated[str, _text_then(_choice(ACADEMIC_TITLES, "use dr, prof or prof-dr"))]
NameOrder = Annotated[str, _text_then(_choice(NAME_ORDERS, "use given-first or family-first"))]
YesNo = Annotated[str, _text_then(_choice(YES_NO, 'use "yes" or "no" (quoted)'))]
GroupKind = Annotated[str, _text_then(
    _choice(GROUP_KINDS, "use recipients (any recipient ids) or cc (agency ids)"))]
GroupName = Annotated[str, _text_then(_group_name)]


# --- records -----------------------------------------------------------------------------------


class Problem(NamedTuple):
    """A rule's finding: the path of the field (as pydantic's ``loc``), message and hint."""

    loc: tuple[str | int, ...]
    message: str
    hint: str | None = None


class Rule(NamedTuple):
    """A rule across fields of one record: run on the record's data once ``fields`` are valid."""

    fields: tuple[str, ...]
    check: Callable[[Node], Iterable[Problem]]


def _unique(field: str) -> Rule:
    def check(node: Node) -> Iterator[Problem]:
        items: Seq = node[field]
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            if item in first:
                yield Problem((field, i), f"'{shown(item)}' is listed twice (first on line "
                                          f"{first[item]})", "remove one of the two")
            else:
                first[item] = items.where(i).line
    return Rule((field,), check)


def _iso_of_code(node: Node) -> Iterator[Problem]:
    code, iso = node["code"], node["iso"]
    expected = "GR" if code == "EL" else code
    if iso != expected:
        yield Problem(("iso",), f"the ISO code of '{code}' is '{expected}', not '{iso}'",
                      f'write iso: "{expected}"')


def _correspondence_language(node: Node) -> Iterator[Problem]:
    language, languages = node["correspondence_language"], node["languages"]
    if language not in languages:
        yield Problem(("correspondence_language",),
                      f"'{language}' is not one of the state's languages",
                      did_you_mean(language, languages)
                      or f"use one of {', '.join(languages)}")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # What one record is called in messages ("Member State has no 'code'").
    what: ClassVar[str] = "record"
    rules: ClassVar[tuple[Rule, ...]] = ()


class AddressRecord(_Record):
    """A postal address; ``country`` is any ISO code (an address may be outside the EU)."""

    street: Text
    postcode: Text
    city: Text
    country: CountryCode


class SeatRecord(_Record):
    """Where an agency sits: the city in English (the frame translates it) and the country."""

    city: Text
    country: CountryCode


class _Named(_Record):
    title: Title
    first_name: Text
    surname: Text
    gender: Gender


class RepresentativeRecord(_Named):
    """A Permanent Representative (the form of address defaults to ambassador)."""

    academic_title: AcademicTitle | None = None
    name_order: NameOrder = "given-first"
    form_of_address: FormId = "ambassador"
    function: Text | None = None
    email: Email | None = None


class HeadRecord(_Named):
    """An agency's head (the form of address defaults to agency_director)."""

    academic_title: AcademicTitle | None = None
    name_order: NameOrder = "given-first"
    function: Text
    form_of_address: FormId = "agency_director"
    email: Email | None = None


class ContactPointRecord(_Named):
    """The DG's senior contact point for one Member State."""

    function: Text
    email: Email | None = None


class MemberStateRecord(_Record):
    """One entry of member_states.yaml."""

    what: ClassVar[str] = "Member State"
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("code", "iso"), _iso_of_code), _unique("languages"),
        Rule(("languages", "correspondence_language"), _correspondence_language))

    code: MemberStateCode
    iso: CountryCode
    name: Text
    languages: Annotated[list[Language], Field(min_length=1)]
    correspondence_language: Language
    representation: AddressRecord
    email: Email
    representative: RepresentativeRecord
    sample: YesNo


class AgencyRecord(_Record):
    """One entry of agencies.yaml."""

    what: ClassVar[str] = "agency"

    id: RecipientId
    short_name: Text
    name: Text
    seat: SeatRecord
    language: Language = "en"
    address: AddressRecord | None = None
    head: HeadRecord


class ContactRecord(_Record):
    """One entry of contacts.yaml (its key is the Member State's code)."""

    what: ClassVar[str] = "contact"

    contact_point: ContactPointRecord
    mailbox: Email
    sample: YesNo


class SignatoryRecord(_Record):
    """One entry of signatories.yaml."""

    what: ClassVar[str] = "signatory"

    id: Id
    title: Title
    first_name: Text
    surname: Text
    gender: Gender
    name_order: NameOrder = "given-first"
    function: Text
    institution: Text
    department: Text
    email: Email | None = None


class GroupRecord(_Record):
    """One entry of groups.yaml (its key is the group's name). Whether the members exist is a
    rule across files, checked by the registry."""

    what: ClassVar[str] = "group"
    rules: ClassVar[tuple[Rule, ...]] = (_unique("members"),)

    kind: GroupKind
    members: Annotated[list[Text], Field(min_length=1)]


class PersonRecord(_Record):
    """One entry of people.yaml: a person with an organisation and an address."""

    what: ClassVar[str] = "person"

    id: RecipientId
    title: Title
    academic_title: AcademicTitle | None = None
    first_name: Text
    surname: Text
    gender: Gender
    form_of_address: FormId
    name_order: NameOrder = "given-first"
    function: Text | None = None
    language: Language
    organisation: Text
    address: AddressRecord
    email: Email | Annotated[list[Email], Field(min_length=1)]
    sample: YesNo


GROUP_NAME: TypeAdapter[str] = TypeAdapter(GroupName)


# --- validation --------------------------------------------------------------------------------


M = TypeVar("M", bound=BaseModel)


class Checked(NamedTuple):
    """The outcome of :func:`validate`: the record (None when it has a problem), one error per
    problem, and the top-level fields with a problem (the others hold valid values)."""

    record: Any
    errors: list[RegistryError]
    failed: frozenset[str]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return the models an annotation (``X``, ``X | None``, ``Annotated[X, …]``) names."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found


@cache
def _field_model(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    info = model.model_fields.get(field)
    found = _models_in(info.annotation) if info is not None else []
    return found[0] if found else None


@cache
def _required(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items() if info.is_required())


class _Place(NamedTuple):
    where: Location  # the line of the field (of its mapping when the field is absent)
    name: str  # dotted path: representative.surname, email[1]
    leaf: str  # the field's own name: surname
    parent: str  # the mapping holding the field, in messages: representative, or the record


def _place(model: type[BaseModel], node: Any, loc: tuple[str | int, ...], fallback: Location,
           what: str) -> _Place:
    """Return where the field at ``loc`` is, following the YAML nodes alongside the models."""
    where, names, leaf = fallback, [], ""
    current: type[BaseModel] | None = model
    parent = what
    value: Any = node
    for step in loc:
        if isinstance(step, int):
            if isinstance(value, Seq) and step < len(value):
                names.append(f"[{step}]")
                where, value = value.where(step), value[step]
            continue
        is_field = current is not None and step in current.model_fields
        if isinstance(value, Node) and (is_field or step in value):
            if names:
                parent = leaf
            leaf = step if is_field else shown(step, 40)
            names.append(leaf)
            if step not in value:
                break  # missing: the place is the mapping's
            where, value = value.where(step), value[step]
            holder = current
            current = _field_model(current, step) if current is not None else None
            if current is None and holder is not None and not is_field:
                current = holder  # an unknown field: nothing below it is known
        # Any other step names a choice of a union ("function-after[…]", "list[…]"): it has no
        # place in the file.
    return _Place(where, ".".join(names).replace(".[", "["), leaf, parent)


def _message(error: dict[str, Any], place: _Place, what: str, model: type[BaseModel]
             ) -> tuple[str, str | None, Location]:
    """Return the message (after ``field:``), the hint and the location of one pydantic error."""
    kind, leaf = error["type"], place.leaf
    value = error.get("input")
    loc = tuple(error["loc"])
    if kind == "registry":
        ctx = error["ctx"]
        return ctx["message"], ctx.get("hint"), place.where
    if kind == "missing":
        parent = what if len(loc) == 1 else place.parent
        return (f"missing ({parent} has no '{leaf}')", f"add the field '{leaf}'", place.where)
    if kind == "extra_forbidden":
        holder = _field_model_at(model, loc[:-1])
        known = list(holder.model_fields) if holder is not None else []
        parent = what if len(loc) == 1 else place.parent
        return (f"unknown field in {parent}",
                did_you_mean(str(loc[-1]), known) or f"known fields: {', '.join(known)}",
                place.where)
    subject = f"an item of '{leaf}'" if isinstance(loc[-1], int) else f"'{leaf}'"
    if kind in ("string_type", "list_type") and leaf == "email" and model is PersonRecord \
            and len(loc) <= 2:
        return (f"{subject} must be a text or a list of texts, not {kind_of(value)}",
                "write one address, or a list: [a@example.org, b@example.org]", place.where)
    if kind == "string_type":
        return (f"{subject} must be a text, not {kind_of(value)}",
                "write a single value; quote it if it contains ':' or starts with '['",
                place.where)
    if kind == "list_type":
        return f"{subject} must be a list, not {kind_of(value)}", f"write {leaf}: [a, b]", \
            place.where
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        inner = _field_model_at(model, loc)
        fields = ", ".join(_required(inner)) if inner is not None else ""
        return (f"{subject} must be a mapping of fields, not {kind_of(value)}",
                f"give the fields {fields}" if fields else None, place.where)
    if kind == "too_short":
        return f"{subject} is empty", "list at least one value", place.where
    return str(error["msg"]), None, place.where


def _field_model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the model of the mapping at ``loc`` (None when ``loc`` is not a mapping)."""
    current: type[BaseModel] | None = model
    for step in loc:
        if current is None:
            return None
        if isinstance(step, int) or step not in current.model_fields:
            continue  # a list index, or a choice of a union
        current = _field_model(current, step)
    return current


def _wrong_branch(loc: tuple[str | int, ...], node: Node) -> bool:
    """Return whether an error is the complaint of the union choice that does not apply.

    A field that may be a text or a list (a person's ``email``) fails both choices: report only
    the text's complaint when a text was given, only the list's when a list was.
    """
    if len(loc) < 2 or isinstance(loc[1], int):
        return False
    branch = str(loc[1])
    if not (branch.startswith("list[") or branch.startswith("function-after[")):
        return False
    given_list = isinstance(node.get(str(loc[0])), Seq)
    return branch.startswith("list[") != given_list


def validate(model: type[M], node: Any, where: Location, what: str | None = None) -> Checked:
    """Return the record ``node`` makes (None when it has a problem), one error per problem
    (``file:line: field: message``, the nearest valid value as the hint) and the top-level
    fields that have a problem. ``what`` names the record in messages (the model's ``what``
    by default)."""
    what = what or str(getattr(model, "what", "record"))
    if not isinstance(node, Node):
        return Checked(None, [RegistryError(
            f"{what} must be a mapping of fields, not {kind_of(node)}", where,
            f"give the fields {', '.join(_required(model))}")], frozenset(model.model_fields))
    record: M | None = None
    errors: list[tuple[bool, int, RegistryError]] = []
    failed: set[str] = set()
    seen: set[tuple[int, str]] = set()

    def add(first: bool, at: Location, message: str, hint: str | None) -> None:
        if (at.line, message) not in seen:
            seen.add((at.line, message))
            errors.append((first, len(errors), RegistryError(message, at, hint)))

    try:
        record = model.model_validate(node)
    except ValidationError as exc:
        found = [e for e in exc.errors(include_url=False, include_context=True)
                 if not _wrong_branch(tuple(e["loc"]), node)]
        # A misspelt field also makes the field it was meant to be missing: that is one
        # problem, reported once, as the unknown field with the right name as the hint.
        meant = set()
        for error in found:
            if error["type"] == "extra_forbidden":
                loc = tuple(error["loc"])
                holder = _field_model_at(model, loc[:-1])
                best = nearest(str(loc[-1]), list(holder.model_fields)) if holder else None
                if best is not None:
                    meant.add((*loc[:-1], best))
        for error in found:
            loc = tuple(error["loc"])
            failed.add(str(loc[0]))
            if error["type"] == "missing" and loc in meant:
                continue
            place = _place(model, node, loc, where, what)
            message, hint, at = _message(dict(error), place, what, model)
            name = place.name or str(loc[0])
            add(error["type"] != "extra_forbidden", at, f"{name}: {message}", hint)
    for rule in getattr(model, "rules", ()):
        if failed.intersection(rule.fields) or not all(f in node for f in rule.fields):
            continue
        for problem in rule.check(node):
            failed.add(str(problem.loc[0]))
            place = _place(model, node, problem.loc, where, what)
            add(True, place.where, f"{place.name}: {problem.message}", problem.hint)
    if errors:
        errors.sort(key=lambda item: (item[0], item[2].location.line
                                      if item[2].location else 0, item[1]))
        return Checked(None, [error for _, _, error in errors], frozenset(failed))
    return Checked(record, [], frozenset())


def check_key(adapter: TypeAdapter[str], key: str, where: Location, label: str
              ) -> RegistryError | None:
    """Return the problem of a mapping key (a group's name) as ``file:line: label: message``,
    or None."""
    try:
        adapter.validate_python(key, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        ctx = error.get("ctx") or {}
        return RegistryError(f"{label}: {ctx.get('message', error['msg'])}", where,
                             ctx.get("hint"))
    return None
