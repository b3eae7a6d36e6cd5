"""Load and check the recipient registries in ``recipients/``.

Five YAML files, each holding one top-level key of the same name:

- ``member_states.yaml``: ``member_states``, a list of Member States (any order; loaded in EU
  protocol order);
- ``agencies.yaml``: ``agencies``, a list of agencies with their heads;
- ``contacts.yaml``: ``contacts``, DG contact points and functional mailboxes keyed by Member
  State code;
- ``signatories.yaml``: ``signatories``, a list of people who sign letters;
- ``groups.yaml``: ``groups``, named groups (``kind: recipients`` of Member State codes or
  ``kind: cc`` of agency ids).

Every problem becomes a :class:`~pactdocs.errors.RegistryError` with ``file:line`` and, where a
valid name exists, a ``did you mean`` hint. Only a file that cannot be read or parsed at all (it
is missing, malformed YAML, a duplicate key) makes :func:`load_registry` raise; everything else
is collected in :attr:`Registry.problems` and the load goes on.

Broken Member States: an entry whose own data has a problem (a bad e-mail, a missing surname …)
is **left out** of :attr:`Registry.member_states`; its first error is kept in
:attr:`Registry.broken` under its code. Its code still counts as known: groups and contacts may
name it, and :meth:`Registry.resolve` returns it when selected, so that a merge reports exactly
that recipient as failed and writes the others. (An entry whose code itself is unusable cannot
be selected at all: it is only reported in ``problems``.)
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Location, RegistryError, did_you_mean, relpath
from .yamlload import Node, Seq, load_yaml

# The EU Member States in protocol order (Interinstitutional Style Guide 7.1): Greece is EL.
PROTOCOL_ORDER = ("BE", "BG", "CZ", "DK", "DE", "EE", "IE", "EL", "ES", "FR", "HR", "IT", "CY",
                  "LV", "LT", "LU", "HU", "MT", "NL", "AT", "PL", "PT", "RO", "SI", "SK", "FI",
                  "SE")

# The 24 official languages of the EU (ISO 639-1).
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
             "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")

# Country codes often written where a language code is meant.
_COUNTRY_NOT_LANGUAGE = {"gr": "el", "cz": "cs", "dk": "da", "ee": "et", "se": "sv", "si": "sl",
                         "gb": "en", "uk": "en", "ie": "ga", "at": "de", "be": "nl", "cy": "el",
                         "lu": "fr"}

# Codes that are not EU codes but are often meant as one.
_NOT_EU_CODES = {"GR": "EL", "GB": None, "UK": None}

SECTIONS = ("member_states", "agencies", "contacts", "signatories", "groups", "people")
# Files that may be absent (an empty section then).
OPTIONAL_SECTIONS = ("people",)
GROUP_KINDS = ("recipients", "cc")
TITLES = ("Mr", "Ms", "none")
# "none": the gender is not recorded (or the person asks not to be addressed by one): the frame's
# neutral variant of the form of address is used, never a guess.
GENDERS = ("male", "female", "none")
# Academic titles by id (the frame writes each per language and courtesy title: de "Frau Dr.").
ACADEMIC_TITLES = ("dr", "prof", "prof-dr")
# Kinds of recipient a letter can be addressed to.
RECIPIENT_KINDS = ("member_state", "agency", "person")
# How a person's name is written: given name first (most of Europe) or family name first
# (Hungarian names in Hungarian). Each language's catalog says where the courtesy title goes.
NAME_ORDERS = ("given-first", "family-first")
YES_NO = ("yes", "no")

_CODE = re.compile(r"[A-Z]{2}")
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_FORM = re.compile(r"[a-z][a-z0-9_]{0,39}")
# An agency id becomes a folder name in the output: lower-case letters, digits and inner
# hyphens, at most 40 characters (never "." or "..", never a slash, never a Member State code).
_RECIPIENT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
# The longest value one registry field may hold (names, streets, functions, addresses).
MAX_FIELD = 1000
# Characters pactdocs uses for itself or that change how text reads: the private-use area (the
# composer marks message segments with U+E000/U+E001), line and paragraph separators, and the
# bidirectional overrides that make text read differently from how it is stored.
_RESERVED = set("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_PERSON_FIELDS = ("title", "first_name", "surname", "gender")
_PERSON_OPTIONAL = ("name_order", "academic_title")


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A person letters name: an addressee, an agency head, a contact point or a signatory."""

    title: str
    first_name: str
    surname: str
    gender: str
    form_of_address: str = "ambassador"
    function: str = ""
    email: str = ""
    name_order: str = "given-first"
    academic_title: str = ""

    @property
    def display_name(self) -> str:
        """Return title and full name: ``Mr Thomas Oberreiter``."""
        title = "" if self.title == "none" else f"{self.title} "
        return f"{title}{self.first_name} {self.surname}"

    @property
    def signature_name(self) -> str:
        """Return the name as signed, surname in capitals: ``Thomas OBERREITER``."""
        return f"{self.first_name} {self.surname.upper()}"


@dataclass(frozen=True)
class Address:
    """A postal address; ``country`` is the ISO code of the address's country (``BE``)."""

    street: str
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class MemberState:
    """A Member State, its Permanent Representation and its Permanent Representative."""

    code: str
    iso: str
    name: str
    languages: tuple[str, ...]
    correspondence_language: str
    representation: Address
    email: str
    representative: Person
    sample: bool
    position: int
    fingerprint: str


@dataclass(frozen=True)
class Seat:
    """Where an agency sits: a city as the registry writes it (English; the frame translates
    it) and the ISO code of its country."""

    city: str
    country: str


@dataclass(frozen=True)
class Agency:
    """An EU agency and its head, as named in a c.c. line."""

    id: str
    short_name: str
    name: str
    seat: Seat
    head: Person
    fingerprint: str


@dataclass(frozen=True)
class Recipient:
    """Anyone a letter can be addressed to: a Permanent Representative, an agency's head or a
    person of the people registry. ``id`` is the folder name of the recipient's documents."""

    id: str
    kind: str  # one of RECIPIENT_KINDS
    language: str  # correspondence language
    person: Person
    address: Address | None
    emails: tuple[str, ...]
    fingerprint: str
    country: str = ""  # the Member State's EU code (kind member_state)
    agency: str = ""  # the agency id (kind agency)
    organisation: str = ""  # printed as written (kind person)
    sample: bool = False


@dataclass(frozen=True)
class Contact:
    """The DG's senior contact point for one Member State and that state's functional mailbox."""

    code: str
    person: Person
    mailbox: str
    sample: bool


@dataclass(frozen=True)
class Signatory:
    """Someone who signs letters, with the function printed under the DG's name."""

    id: str
    person: Person
    function: str
    institution: str
    department: str


@dataclass(frozen=True)
class Group:
    """A named list of Member State codes (``kind`` recipients) or agency ids (``kind`` cc)."""

    name: str
    kind: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    """Everything loaded from ``recipients/``, with every problem found on the way.

    ``member_states`` is in protocol order and holds the usable states only; a state whose own
    entry has a problem is in ``broken`` (code -> its first error) instead. ``codes`` lists every
    selectable code in protocol order, broken ones included. A group with a dangling member is
    left out of ``groups`` and its error kept in ``bad_groups``.
    """

    root: Path
    member_states: dict[str, MemberState]
    agencies: dict[str, Agency]
    contacts: dict[str, Contact]
    signatories: dict[str, Signatory]
    groups: dict[str, Group]
    problems: tuple[RegistryError, ...]
    broken: dict[str, RegistryError]
    codes: tuple[str, ...] = ()
    bad_groups: dict[str, RegistryError] = field(default_factory=dict)
    bad_contacts: dict[str, RegistryError] = field(default_factory=dict)
    recipients: dict[str, Recipient] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def resolve(self, selection: str | None, default_group: str) -> list[str]:
        """Return the recipient ids ``selection`` names: Member States in protocol order, then
        agencies and people in registry order.

        ``selection`` is a group name, comma-separated Member State codes (any case), agency ids
        or people ids, or a mix; None or blank selects ``default_group``. Broken states are
        returned too. Raise :class:`RegistryError` for an unknown name, with the nearest valid
        one as a hint.
        """
        known = set(self.codes) | set(self.member_states) | set(self.broken)
        others = [r for r in self.recipients if r not in known]
        order = {code: i for i, code in enumerate(tuple(self.codes or tuple(self.member_states))
                                                  + tuple(others))}
        text = (selection or "").strip()
        items = [item.strip() for item in text.split(",")] if text else [default_group]
        chosen: set[str] = set()
        for item in items:
            if not item:
                continue
            if item in self.groups or item in self.bad_groups:
                chosen.update(self._group_codes(item))
            elif item in others:
                chosen.add(item)
            elif item.upper() in known:
                chosen.add(item.upper())
            else:
                names = sorted(known) + sorted(others) + sorted(self.groups)
                hint = did_you_mean(item, names) or did_you_mean(item.upper(), sorted(known))
                if hint is None and item.upper() in _NOT_EU_CODES:
                    problem = _code_problem(item.upper())
                    hint = problem[1] if problem else None
                what = "group" if item == default_group and not selection else "recipient"
                raise RegistryError(
                    f"unknown {what} '{item}'", None,
                    hint or f"give a group ({', '.join(self.groups)}), Member State codes, "
                            "agency ids or people ids")
        if not chosen:
            raise RegistryError("no recipients selected", None,
                                "give a group name or comma-separated Member State codes")
        return sorted(chosen, key=lambda code: order.get(code, len(order)))

    def _group_codes(self, name: str) -> tuple[str, ...]:
        if name in self.bad_groups:
            raise self.bad_groups[name]
        group = self.groups[name]
        if group.kind != "recipients":
            recipient_groups = [g.name for g in self.groups.values() if g.kind == "recipients"]
            raise RegistryError(f"group '{name}' is a {group.kind} group, not a recipients group",
                                None, f"recipients groups: {', '.join(recipient_groups)}")
        return group.members

    def digest(self, *parts: str) -> str:
        """Return the sha256 (hex) of the canonical JSON of the named registry sections."""
        for part in parts:
            if part not in SECTIONS:
                raise ValueError(
                    f"unknown registry section '{part}' (known: {', '.join(SECTIONS)})")
        return _sha256({part: self.sections.get(part) for part in parts})


# --- helpers -----------------------------------------------------------------------------------


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(data: Any) -> str:
    return hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


def _control_character(text: str) -> str | None:
    """Return the first character a registry value may not hold, or None.

    Refused: what XML cannot hold (control characters other than tab and newline, surrogates,
    U+FFFE/U+FFFF), private-use and unassigned code points, separators and bidi overrides.
    """
    for ch in text:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in _RESERVED:
            return ch
    return None


def _kind_of(value: Any) -> str:
    if isinstance(value, Node):
        return "a mapping"
    if isinstance(value, Seq):
        return "a list"
    if value is None:
        return "empty"
    return "a text"


class _Fields:
    """Read the fields of one YAML mapping, recording each problem in ``errors``.

    Readers return ``""`` (or an empty tuple) for a missing or invalid value, so that one pass
    reports every problem of an entry.
    """

    def __init__(self, node: Any, where: Location, what: str, errors: list[RegistryError],
                 required: Iterable[str], optional: Iterable[str] = ()) -> None:
        self.what = what
        self.errors = errors
        self.where = where
        self.required = tuple(required)
        known = self.required + tuple(optional)
        if not isinstance(node, Node):
            self.node: Node = Node()
            self.node.location, self.node.key_lines = where, {}
            self.fail(f"{what} must be a mapping of fields, not {_kind_of(node)}", where,
                      f"give the fields {', '.join(self.required)}")
            self.valid = False
            return
        self.node = node
        self.valid = True
        for key in node:
            if key not in known:
                self.fail(f"unknown field '{key}' in {what}", node.where(key),
                          did_you_mean(key, known) or f"known fields: {', '.join(known)}")
        for key in self.required:
            if key not in node:
                self.fail(f"{what} has no '{key}'", where, f"add the field '{key}'")

    def fail(self, message: str, where: Location, hint: str | None = None) -> None:
        """Record one problem."""
        self.errors.append(RegistryError(message, where, hint))

    def at(self, key: str) -> Location:
        """Return the location of ``key`` (or of the mapping when it is absent)."""
        return self.node.where(key) if key in self.node else self.where

    def has(self, key: str) -> bool:
        """Return whether ``key`` is given."""
        return key in self.node

    def text(self, key: str, check: Callable[[str, Location], bool] | None = None) -> str:
        """Return the string value of ``key`` ("" when missing or invalid)."""
        if key not in self.node:
            return ""
        value = self.node[key]
        where = self.node.where(key)
        if not isinstance(value, str):
            self.fail(f"'{key}' must be a text, not {_kind_of(value)}", where,
                      "write a single value; quote it if it contains ':' or starts with '['")
            return ""
        if not _valid_text(value, f"'{key}'", where, self.errors):
            return ""
        if check is not None and not check(value, where):
            return ""
        return value

    def texts(self, key: str, check: Callable[[str, Location], bool] | None = None
              ) -> tuple[str, ...]:
        """Return the list of strings under ``key`` (``()`` when missing or invalid)."""
        if key not in self.node:
            return ()
        value = self.node[key]
        where = self.node.where(key)
        if not isinstance(value, Seq):
            self.fail(f"'{key}' must be a list, not {_kind_of(value)}", where,
                      f"write {key}: [a, b]")
            return ()
        if not value:
            self.fail(f"'{key}' is empty", where, "list at least one value")
            return ()
        result: list[str] = []
        seen: dict[str, int] = {}
        ok = True
        for i, item in enumerate(value):
            item_where = value.where(i)
            if not isinstance(item, str):
                self.fail(f"an item of '{key}' must be a text, not {_kind_of(item)}", item_where)
                ok = False
                continue
            if not _valid_text(item, f"an item of '{key}'", item_where, self.errors):
                ok = False
                continue
            if item in seen:
                self.fail(f"'{item}' is listed twice in '{key}' (first on line {seen[item]})",
                          item_where, "remove one of the two")
                ok = False
                continue
            seen[item] = item_where.line
            if check is not None and not check(item, item_where):
                ok = False
                continue
            result.append(item)
        return tuple(result) if ok else ()

    def mapping(self, key: str, what: str, required: Iterable[str],
                optional: Iterable[str] = ()) -> _Fields:
        """Return the fields of the mapping under ``key``."""
        if key not in self.node:
            # Already reported as missing: read an empty mapping without more noise.
            empty = Node()
            empty.location, empty.key_lines = self.where, {}
            return _Fields(empty, self.where, what, [], (), optional)
        return _Fields(self.node[key], self.node.where(key), what, self.errors, required,
                       optional)


def _valid_text(value: str, what: str, where: Location, errors: list[RegistryError]) -> bool:
    if not value.strip():
        errors.append(RegistryError(f"{what} is empty", where, "give a value"))
        return False
    if len(value) > MAX_FIELD:
        errors.append(RegistryError(
            f"{what} is {len(value):,} characters long (the limit is {MAX_FIELD:,})", where,
            "shorten it: registry values are names, addresses and functions"))
        return False
    bad = _control_character(value)
    if bad is not None:
        kind = ("a private-use character" if unicodedata.category(bad) == "Co"
                else "an invisible formatting character" if bad in _RESERVED
                else "an unassigned character" if unicodedata.category(bad) == "Cn"
                else "the control character")
        errors.append(RegistryError(
            f"{what} contains {kind} U+{ord(bad):04X}", where,
            "remove it: XML (PDF metadata, DOCX) cannot hold control characters"
            if kind == "the control character" else
            "remove it: registry values may hold only printable text"))
        return False
    return True


def _one_of(choices: tuple[str, ...], what: str, hint: str | None = None
            ) -> Callable[[_Fields], Callable[[str, Location], bool]]:
    def bind(f: _Fields) -> Callable[[str, Location], bool]:
        def check(value: str, where: Location) -> bool:
            if value in choices:
                return True
            f.fail(f"{what} '{value}' is not one of {', '.join(choices)}", where,
                   hint or did_you_mean(value, choices))
            return False
        return check
    return bind


_title = _one_of(TITLES, "title", "use Mr or Ms (or none: no courtesy title)")
_gender = _one_of(GENDERS, "gender",
                  "use male or female (or none: not recorded; the neutral form is used)")
_academic = _one_of(ACADEMIC_TITLES, "academic_title", "use dr, prof or prof-dr")
_name_order = _one_of(NAME_ORDERS, "name_order", "use given-first or family-first")
_yes_no = _one_of(YES_NO, "sample", 'use "yes" or "no"')
_kind = _one_of(GROUP_KINDS, "group kind", "use recipients (Member State codes) or cc (agency ids)")


def email_problem(value: str) -> str | None:
    """Return why ``value`` is not a plain e-mail address (``name@example.org``), or None.

    Checked by the ``email-validator`` package (syntax only, no DNS): one address, no display
    name, no quoted local part, no IP literal, nothing after the domain (``?bcc=…``).
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False, allow_quoted_local=False,
                       allow_domain_literal=False, allow_display_name=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _email(f: _Fields) -> Callable[[str, Location], bool]:
    def check(value: str, where: Location) -> bool:
        problem = email_problem(value)
        if problem is None:
            return True
        f.fail(f"'{value}' is not a valid e-mail address: {problem}", where,
               "an e-mail address looks like name@example.org: one @, a dot in the domain, "
               "no spaces, nothing after the domain")
        return False
    return check


def _language(f: _Fields) -> Callable[[str, Location], bool]:
    def check(value: str, where: Location) -> bool:
        if value in LANGUAGES:
            return True
        hint = did_you_mean(value, LANGUAGES)
        if hint is None and value.lower() in _COUNTRY_NOT_LANGUAGE:
            hint = (f"did you mean '{_COUNTRY_NOT_LANGUAGE[value.lower()]}'? "
                    f"('{value}' is a country code)")
        f.fail(f"'{value}' is not an official EU language code", where,
               hint or f"use one of {' '.join(LANGUAGES)}")
        return False
    return check


def _code_problem(value: str) -> tuple[str, str | None] | None:
    """Return (message, hint) when ``value`` is not an EU Member State code, else None."""
    if not _CODE.fullmatch(value):
        hint = did_you_mean(value.upper(), PROTOCOL_ORDER) if len(value) == 2 else None
        return (f"'{value}' is not a Member State code",
                hint or "a Member State code is two capital letters, e.g. 'AT'")
    if value not in PROTOCOL_ORDER:
        if value in _NOT_EU_CODES:
            eu = _NOT_EU_CODES[value]
            return (f"'{value}' is not an EU Member State code",
                    f"did you mean '{eu}'? (the EU writes Greece EL)" if eu
                    else "the United Kingdom is no longer a Member State")
        return (f"'{value}' is not an EU Member State code",
                did_you_mean(value, PROTOCOL_ORDER) or f"use one of {' '.join(PROTOCOL_ORDER)}")
    return None


def _dangling_code_hint(code: str, codes: tuple[str, ...]) -> str | None:
    """Return a hint for a well-formed code that names no Member State of the registry."""
    hint = did_you_mean(code, codes)
    if hint is None and code in _NOT_EU_CODES:
        problem = _code_problem(code)
        hint = problem[1] if problem else None
    return hint


def _member_code(f: _Fields) -> Callable[[str, Location], bool]:
    def check(value: str, where: Location) -> bool:
        problem = _code_problem(value)
        if problem:
            f.fail(problem[0], where, problem[1])
            return False
        return True
    return check


def _id(what: str) -> Callable[[_Fields], Callable[[str, Location], bool]]:
    def bind(f: _Fields) -> Callable[[str, Location], bool]:
        def check(value: str, where: Location) -> bool:
            if _ID.fullmatch(value):
                return True
            suggestion = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
            f.fail(f"'{value}' is not a valid {what}", where,
                   "use lower-case letters, digits and '-'"
                   + (f", e.g. '{suggestion}'" if suggestion else ""))
            return False
        return check
    return bind


def _iso_country(f: _Fields) -> Callable[[str, Location], bool]:
    def check(value: str, where: Location) -> bool:
        if _CODE.fullmatch(value):
            return True
        f.fail(f"'{value}' is not an ISO country code", where,
               "an ISO 3166 code is two capital letters, e.g. 'BE'")
        return False
    return check


def _form(f: _Fields) -> Callable[[str, Location], bool]:
    def check(value: str, where: Location) -> bool:
        if _FORM.fullmatch(value):
            return True
        suggestion = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
        f.fail(f"'{value}' is not a valid form of address", where,
               "a form of address of the frame (frame.yaml forms_of_address), e.g. "
               f"'{suggestion or 'neutral'}'")
        return False
    return check


def _person(f: _Fields, default_form: str = "ambassador", read_email: bool = True) -> Person:
    """Return the Person made of the fields of ``f`` (already checked for unknown ones)."""
    title = f.text("title", _title(f))
    first_name = f.text("first_name")
    surname = f.text("surname")
    gender = f.text("gender", _gender(f))
    form = f.text("form_of_address", _form(f))
    function = f.text("function")
    email = f.text("email", _email(f)) if read_email else ""
    order = f.text("name_order", _name_order(f))
    academic = f.text("academic_title", _academic(f))
    return Person(title=title, first_name=first_name, surname=surname, gender=gender,
                  form_of_address=form or default_form, function=function, email=email,
                  name_order=order or "given-first", academic_title=academic)


# --- the files ---------------------------------------------------------------------------------


class _Loader:
    """Check the five registry files and build the records."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[RegistryError] = []
        self.data: dict[str, Any] = {}
        self.shown: dict[str, str] = {}
        self.agency_recipients: dict[str, Recipient] = {}

    def read(self) -> None:
        """Parse every file; raise the first that cannot be parsed."""
        for section in SECTIONS:
            path = self.root / f"{section}.yaml"
            self.shown[section] = relpath(path)
            if section in OPTIONAL_SECTIONS and not path.exists() and not path.is_symlink():
                self.data[section] = None
                continue
            self.data[section] = load_yaml(path, RegistryError, self.root, allow_private=True)

    def section(self, name: str, kind: type) -> Any:
        """Return the content of the top-level key ``name``, or None after recording why not."""
        where = Location(self.shown[name], 1)
        data = self.data[name]
        if not isinstance(data, Node):
            self.problems.append(RegistryError(
                f"the file must hold a mapping with the key '{name}', not {_kind_of(data)}",
                where, f"start the file with '{name}:'"))
            return None
        for key in data:
            if key != name:
                self.problems.append(RegistryError(
                    f"unknown top-level key '{key}'", data.where(key),
                    did_you_mean(key, [name]) or f"this file holds only '{name}'"))
        if name not in data:
            self.problems.append(RegistryError(f"no '{name}' in this file", where,
                                               f"add the key '{name}:'"))
            return None
        value = data[name]
        if not isinstance(value, kind):
            want = "a list" if kind is Seq else "a mapping"
            self.problems.append(RegistryError(
                f"'{name}' must be {want}, not {_kind_of(value)}", data.where(name)))
            return None
        return value

    # --- Member States -------------------------------------------------------------------------

    def member_states(self) -> tuple[dict[str, MemberState], dict[str, RegistryError],
                                     tuple[str, ...]]:
        """Return the usable states, the broken ones and every known code, in protocol order."""
        items = self.section("member_states", Seq)
        states: dict[str, MemberState] = {}
        broken: dict[str, RegistryError] = {}
        first_line: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            errors: list[RegistryError] = []
            where = items.where(i)
            f = _Fields(item, where, "Member State", errors,
                        ("code", "iso", "name", "languages", "correspondence_language",
                         "representation", "email", "representative", "sample"))
            code = f.text("code", _member_code(f))
            if code and code in first_line:
                # Neither entry can be trusted to be the right one: the state is broken.
                error = RegistryError(
                    f"duplicate Member State code '{code}' (first on line {first_line[code]}): "
                    f"again on line {f.at('code').line}", f.at("code"),
                    "remove one of the two entries; until then neither is used")
                self.problems.append(error)
                states.pop(code, None)
                broken[code] = error
                continue
            state = self._member_state(f, code) if f.valid else None
            self.problems.extend(errors)
            if not code:
                continue
            first_line[code] = f.at("code").line
            if errors or state is None:
                broken[code] = errors[0] if errors else RegistryError(
                    f"Member State '{code}' could not be loaded", where)
            else:
                states[code] = state
        order = sorted(first_line, key=PROTOCOL_ORDER.index)
        return ({c: states[c] for c in order if c in states},
                {c: broken[c] for c in order if c in broken}, tuple(order))

    def _member_state(self, f: _Fields, code: str) -> MemberState | None:
        iso = f.text("iso", _iso_country(f))
        if code and iso:
            expected = "GR" if code == "EL" else code
            if iso != expected:
                f.fail(f"the ISO code of '{code}' is '{expected}', not '{iso}'", f.at("iso"),
                       f"write iso: \"{expected}\"")
        name = f.text("name")
        languages = f.texts("languages", _language(f))
        corr = f.text("correspondence_language", _language(f))
        if corr and languages and corr not in languages:
            f.fail(f"correspondence language '{corr}' is not one of the state's languages",
                   f.at("correspondence_language"),
                   did_you_mean(corr, languages) or f"use one of {', '.join(languages)}")
        a = f.mapping("representation", "representation",
                      ("street", "postcode", "city", "country"))
        address = Address(street=a.text("street"), postcode=a.text("postcode"),
                          city=a.text("city"), country=a.text("country", _iso_country(a)))
        email = f.text("email", _email(f))
        r = f.mapping("representative", "representative", _PERSON_FIELDS,
                      ("form_of_address", "function", "email") + _PERSON_OPTIONAL)
        person = _person(r)
        sample = f.text("sample", _yes_no(f))
        if not code:
            return None
        return MemberState(
            code=code, iso=iso, name=name, languages=languages, correspondence_language=corr,
            representation=address, email=email, representative=person, sample=sample == "yes",
            position=PROTOCOL_ORDER.index(code) + 1, fingerprint=_sha256(f.node))

    # --- agencies, signatories ------------------------------------------------------------------

    def agencies(self) -> tuple[dict[str, Agency], dict[str, int]]:
        """Return the valid agencies and the line of every agency id seen (broken ones too)."""
        items = self.section("agencies", Seq)
        agencies: dict[str, Agency] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            errors: list[RegistryError] = []
            f = _Fields(item, items.where(i), "agency", errors,
                        ("id", "short_name", "name", "seat", "head"),
                        ("language", "address"))
            agency_id = f.text("id", _id("agency id")(f))
            if agency_id in seen:
                self.problems.append(RegistryError(
                    f"duplicate agency id '{agency_id}' (first on line {seen[agency_id]})",
                    f.at("id"), "remove one of the two entries"))
                continue
            short_name, name = f.text("short_name"), f.text("name")
            s = f.mapping("seat", "agency seat", ("city", "country"))
            seat = Seat(city=s.text("city"), country=s.text("country", _iso_country(s)))
            h = f.mapping("head", "agency head", _PERSON_FIELDS + ("function",),
                          ("email", "form_of_address") + _PERSON_OPTIONAL)
            head = _person(h, "agency_director")
            language = f.text("language", _language(f)) or "en"
            address = _address(f) if f.has("address") else None
            if agency_id and not _RECIPIENT_ID.fullmatch(agency_id):
                f.fail(f"agency id '{agency_id}' cannot name a folder", f.at("id"),
                       "use 1 to 40 lower-case letters, digits and '-', not at either end")
            if agency_id and agency_id.upper() in PROTOCOL_ORDER:
                f.fail(f"agency id '{agency_id}' reads as the Member State code "
                       f"'{agency_id.upper()}'", f.at("id"), "give the agency a longer id")
            self.problems.extend(errors)
            if agency_id:
                seen[agency_id] = f.at("id").line
                if not errors:
                    fingerprint = _sha256(f.node)
                    agencies[agency_id] = Agency(agency_id, short_name, name, seat, head,
                                                 fingerprint)
                    self.agency_recipients[agency_id] = Recipient(
                        id=agency_id, kind="agency", language=language, person=head,
                        address=address, emails=(head.email,) if head.email else (),
                        fingerprint=fingerprint, agency=agency_id)
        return agencies, seen

    def people(self, taken: set[str]) -> dict[str, Recipient]:
        """Return the valid people of people.yaml (an absent file holds nobody), checked
        against the pydantic schema :class:`~pactdocs.sources.schemas.PersonRecord`."""
        from .schemas import PersonRecord, validate

        if self.data.get("people") is None:
            return {}
        items = self.section("people", Seq)
        result: dict[str, Recipient] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            record, errors = validate(PersonRecord, item, items.where(i), "person")
            where = item.where("id") if isinstance(item, Node) and "id" in item else items.where(i)
            if record is not None and record.id in seen:
                self.problems.append(RegistryError(
                    f"id: duplicate person id '{record.id}' (first on line {seen[record.id]})",
                    where, "remove one of the two entries"))
                continue
            if record is not None and record.id in taken:
                errors.append(RegistryError(
                    f"id: '{record.id}' is already an agency id", where,
                    f"give the person an id of their own, e.g. '{record.id}-person'"))
            self.problems.extend(errors)
            if record is None or errors:
                continue
            seen[record.id] = where.line
            person = Person(
                title=record.title, first_name=record.first_name, surname=record.surname,
                gender=record.gender, form_of_address=record.form_of_address,
                function=record.function or "", name_order=record.name_order,
                academic_title=record.academic_title or "")
            a = record.address
            emails = (record.email,) if isinstance(record.email, str) else tuple(record.email)
            result[record.id] = Recipient(
                id=record.id, kind="person", language=record.language, person=person,
                address=Address(a.street, a.postcode, a.city, a.country), emails=emails,
                fingerprint=_sha256(item), organisation=record.organisation,
                sample=record.sample == "yes")
        return result

    def signatories(self) -> dict[str, Signatory]:
        """Return the valid signatories."""
        items = self.section("signatories", Seq)
        result: dict[str, Signatory] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            errors: list[RegistryError] = []
            f = _Fields(item, items.where(i), "signatory", errors,
                        ("id",) + _PERSON_FIELDS + ("function", "institution", "department"),
                        ("email", "name_order"))
            sid = f.text("id", _id("signatory id")(f))
            if sid in seen:
                self.problems.append(RegistryError(
                    f"duplicate signatory id '{sid}' (first on line {seen[sid]})",
                    f.at("id"), "remove one of the two entries"))
                continue
            person = _person(f)
            institution, department = f.text("institution"), f.text("department")
            self.problems.extend(errors)
            if sid:
                seen[sid] = f.at("id").line
                if not errors:
                    result[sid] = Signatory(sid, person, person.function, institution, department)
        return result

    # --- contacts, groups ----------------------------------------------------------------------

    def contacts(self, codes: tuple[str, ...]) -> tuple[dict[str, Contact],
                                                         dict[str, RegistryError]]:
        """Return the valid contacts in protocol order, and the first error of each bad one.

        A Member State with no entry at all gets an error too, at the line of ``contacts:``
        (or of the file), so that a document printing its contact point fails instead of
        printing a blank.
        """
        entries = self.section("contacts", Node)
        result: dict[str, Contact] = {}
        bad: dict[str, RegistryError] = {}
        for code, value in (entries or {}).items():
            errors: list[RegistryError] = []
            key_where = entries.where(code)
            if code not in codes:
                problem = _code_problem(code)
                if problem and not _CODE.fullmatch(code):
                    errors.append(RegistryError(problem[0], key_where, problem[1]))
                else:
                    errors.append(RegistryError(
                        f"contacts name '{code}', which is not in member_states.yaml", key_where,
                        _dangling_code_hint(code, codes)
                        or "add the Member State or remove this entry"))
            f = _Fields(value, key_where, f"contact of '{code}'", errors,
                        ("contact_point", "mailbox", "sample"))
            p = f.mapping("contact_point", "contact point", _PERSON_FIELDS + ("function",),
                          ("email",))
            person = _person(p)
            mailbox = f.text("mailbox", _email(f))
            sample = f.text("sample", _yes_no(f))
            self.problems.extend(errors)
            if not errors:
                result[code] = Contact(code, person, mailbox, sample == "yes")
            elif code in codes:
                bad[code] = errors[0]
        data = self.data.get("contacts")
        where = (data.where("contacts") if isinstance(data, Node) and "contacts" in data
                 else Location(self.shown["contacts"], 1))
        for code in codes:
            if code not in result and code not in bad:
                bad[code] = RegistryError(f"no contact point for Member State '{code}'", where,
                                          f"add an entry '{code}:' with contact_point and mailbox")
        return ({c: result[c] for c in sorted(result, key=PROTOCOL_ORDER.index)},
                {c: bad[c] for c in sorted(bad, key=PROTOCOL_ORDER.index)})

    def groups(self, codes: tuple[str, ...], agencies: dict[str, Agency],
               agency_lines: dict[str, int], others: tuple[str, ...] = ()
               ) -> tuple[dict[str, Group], dict[str, RegistryError]]:
        """Return the valid groups and the first error of each group that is not."""
        entries = self.section("groups", Node)
        groups: dict[str, Group] = {}
        bad: dict[str, RegistryError] = {}
        for name, value in (entries or {}).items():
            errors: list[RegistryError] = []
            key_where = entries.where(name)
            if not _ID.fullmatch(name):
                errors.append(RegistryError(f"'{name}' is not a valid group name", key_where,
                                            "use lower-case letters, digits and '-'"))
            f = _Fields(value, key_where, f"group '{name}'", errors, ("kind", "members"))
            kind = f.text("kind", _kind(f))
            members = f.texts("members")
            member_list = f.node.get("members")
            if not isinstance(member_list, Seq):
                member_list = Seq()
            for i, member in enumerate(member_list):
                if not isinstance(member, str) or member not in members:
                    continue
                where = member_list.where(i)
                if kind == "recipients":
                    if member in codes or member in others:
                        continue
                    if member in agency_lines:
                        f.fail(f"group '{name}' names agency '{member}', whose entry has errors "
                               f"(agencies.yaml line {agency_lines[member]})", where)
                        continue
                    if _ID.fullmatch(member):
                        f.fail(f"group '{name}' names '{member}', which is neither an agency "
                               "nor a person of people.yaml", where,
                               did_you_mean(member, list(others)))
                        continue
                    problem = _code_problem(member)
                    if problem and not _CODE.fullmatch(member):
                        f.fail(problem[0], where, problem[1])
                    else:
                        f.fail(f"group '{name}' names '{member}', which is not in "
                               "member_states.yaml", where, _dangling_code_hint(member, codes))
                elif kind == "cc":
                    if member in agencies:
                        continue
                    if member in agency_lines:
                        f.fail(f"group '{name}' names agency '{member}', whose entry has errors "
                               f"(agencies.yaml line {agency_lines[member]})", where)
                    else:
                        f.fail(f"group '{name}' names '{member}', which is not in agencies.yaml",
                               where, did_you_mean(member, list(agencies)))
            self.problems.extend(errors)
            if errors:
                bad[name] = errors[0]
            else:
                groups[name] = Group(name, kind, members)
        return groups, bad


def load_registry(root: Path) -> Registry:
    """Return the registry in the folder ``root`` (normally ``recipients/``).

    Raise :class:`RegistryError` when a file is missing or cannot be parsed (malformed YAML,
    duplicate key); collect every other problem in :attr:`Registry.problems`.
    """
    loader = _Loader(Path(root))
    loader.read()
    states, broken, codes = loader.member_states()
    agencies, agency_lines = loader.agencies()
    people = loader.people(set(agency_lines))
    recipients: dict[str, Recipient] = {code: _state_recipient(s) for code, s in states.items()}
    recipients.update(loader.agency_recipients)
    recipients.update(people)
    signatories = loader.signatories()
    contacts, bad_contacts = loader.contacts(codes)
    groups, bad_groups = loader.groups(codes, agencies, agency_lines,
                                       tuple(loader.agency_recipients) + tuple(people))
    return Registry(
        root=Path(root), member_states=states, agencies=agencies, contacts=contacts,
        signatories=signatories, groups=groups, problems=tuple(loader.problems), broken=broken,
        codes=codes, bad_groups=bad_groups, bad_contacts=bad_contacts,
        recipients=recipients, sections=dict(loader.data))


def _state_recipient(state: MemberState) -> Recipient:
    """Return the Member State as a recipient: its Permanent Representative."""
    person = state.representative
    emails = tuple(dict.fromkeys(e for e in (person.email, state.email) if e))
    return Recipient(id=state.code, kind="member_state", language=state.correspondence_language,
                     person=person, address=state.representation, emails=emails,
                     fingerprint=state.fingerprint, country=state.code, sample=state.sample)


def _address(f: _Fields) -> Address:
    """Return the postal address under ``address`` (any ISO country, e.g. Norway's "NO")."""
    a = f.mapping("address", "address", ("street", "postcode", "city", "country"))
    return Address(street=a.text("street"), postcode=a.text("postcode"), city=a.text("city"),
                   country=a.text("country", _iso_country(a)))
