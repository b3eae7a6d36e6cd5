"""Load and check the recipient registries in ``recipients/``.

Six YAML files, each holding one top-level key of the same name:

- ``member_states.yaml``: ``member_states``, a list of Member States (any order; loaded in EU
  protocol order);
- ``agencies.yaml``: ``agencies``, a list of agencies with their heads;
- ``contacts.yaml``: ``contacts``, DG contact points and functional mailboxes keyed by Member
  State code;
- ``signatories.yaml``: ``signatories``, a list of people who sign letters;
- ``groups.yaml``: ``groups``, named groups (``kind: recipients`` of any recipient ids or
  ``kind: cc`` of agency ids);
- ``people.yaml`` (may be absent): ``people``, a list of other people letters are addressed to.

Each record is validated by its pydantic model in :mod:`pactdocs.sources.schemas` (the only
field checks there are); this module reads the files, checks the rules across records and
files (duplicates, references to other entries) and builds the records.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Location, RegistryError, did_you_mean, relpath
from .vocabulary import (
    ACADEMIC_TITLES,
    CODE,
    GENDERS,
    GROUP_KINDS,
    ID,
    LANGUAGES,
    MAX_FIELD,
    MEMBER_STATE_CODES,
    NAME_ORDERS,
    NOT_EU_CODES,
    RECIPIENT_ID,
    TITLES,
    YES_NO,
    kind_of,
    member_state_code_problem,
    shown,
)
from .yamlload import Node, Seq, load_yaml

if TYPE_CHECKING:
    from .schemas import Checked

# The EU Member States in protocol order (Interinstitutional Style Guide 7.1): Greece is EL.
PROTOCOL_ORDER = MEMBER_STATE_CODES

SECTIONS = ("member_states", "agencies", "contacts", "signatories", "groups", "people")
# Files that may be absent (an empty section then).
OPTIONAL_SECTIONS = ("people",)
# Kinds of recipient a letter can be addressed to.
RECIPIENT_KINDS = ("member_state", "agency", "person")

__all__ = ["ACADEMIC_TITLES", "GENDERS", "GROUP_KINDS", "LANGUAGES", "MAX_FIELD", "NAME_ORDERS",
           "PROTOCOL_ORDER", "RECIPIENT_ID", "RECIPIENT_KINDS", "SECTIONS", "TITLES", "YES_NO",
           "Address", "Agency", "Contact", "Group", "MemberState", "Person", "Recipient",
           "Registry", "Seat", "Signatory", "load_registry"]


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
    # A registry read back from its kept bytes (:mod:`.registry_cache`) holds its sections as
    # their canonical JSON instead.
    section_json: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

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
                if hint is None and item.upper() in NOT_EU_CODES:
                    problem = member_state_code_problem(item.upper())
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
        # The canonical JSON of {part: section}, one section's text at a time.
        text = ",".join(f'"{part}":' + (self.section_json[part] if part in self.section_json
                                        else canonical(self.sections.get(part)))
                        for part in sorted(set(parts)))
        return hashlib.sha256(("{" + text + "}").encode("utf-8")).hexdigest()



# --- helpers -----------------------------------------------------------------------------------


def canonical(data: Any) -> str:
    """Return ``data`` as canonical JSON (sorted keys, no spaces, UTF-8 text)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()


def _dangling_code_hint(code: str, codes: tuple[str, ...]) -> str | None:
    """Return a hint for a well-formed code that names no Member State of the registry."""
    hint = did_you_mean(code, codes)
    if hint is None and code in NOT_EU_CODES:
        problem = member_state_code_problem(code)
        hint = problem[1] if problem else None
    return hint


def _valid(checked: Checked, node: Any, key: str) -> str | None:
    """Return the value of the field ``key`` when it is valid (even if the record is not)."""
    if key in checked.failed or not isinstance(node, Node):
        return None
    value = node.get(key)
    return value if isinstance(value, str) else None


def _key_where(node: Any, key: str, fallback: Location) -> Location:
    return node.where(key) if isinstance(node, Node) and key in node else fallback


def _person(record: Any, default_form: str = "ambassador", with_email: bool = True) -> Person:
    """Return the Person a record of the schemas names (a representative, an agency head, a
    contact point, a signatory, a person of people.yaml)."""
    # A person of people.yaml has one or more addresses: the Recipient holds them, not the Person.
    email = getattr(record, "email", None) if with_email else None
    return Person(
        title=record.title, first_name=record.first_name, surname=record.surname,
        gender=record.gender, form_of_address=getattr(record, "form_of_address", default_form),
        function=getattr(record, "function", None) or "",
        email=email if isinstance(email, str) else "",
        name_order=getattr(record, "name_order", "given-first"),
        academic_title=getattr(record, "academic_title", None) or "")


def _address(record: Any) -> Address:
    return Address(street=record.street, postcode=record.postcode, city=record.city,
                   country=record.country)


# --- the files ---------------------------------------------------------------------------------


class _Loader:
    """Read the registry files, validate each record by its schema (:mod:`.schemas`), check the
    rules across records and files, and build the records."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[RegistryError] = []
        self.data: dict[str, Any] = {}
        self.shown: dict[str, str] = {}
        self.agency_recipients: dict[str, Recipient] = {}
        # The schemas (pydantic) are loaded only when a registry is validated.
        from . import schemas

        self.schemas = schemas

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
                f"the file must hold a mapping with the key '{name}', not {kind_of(data)}",
                where, f"start the file with '{name}:'"))
            return None
        for key in data:
            if key != name:
                self.problems.append(RegistryError(
                    f"unknown top-level key '{shown(key)}'", data.where(key),
                    did_you_mean(key, [name]) or f"this file holds only '{name}'"))
        if name not in data:
            self.problems.append(RegistryError(f"no '{name}' in this file", where,
                                               f"add the key '{name}:'"))
            return None
        value = data[name]
        if not isinstance(value, kind):
            want = "a list" if kind is Seq else "a mapping"
            self.problems.append(RegistryError(
                f"'{name}' must be {want}, not {kind_of(value)}", data.where(name)))
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
            where = items.where(i)
            checked = self.schemas.validate(self.schemas.MemberStateRecord, item, where)
            code = _valid(checked, item, "code")
            if code is not None and code in first_line:
                # Neither entry can be trusted to be the right one: the state is broken.
                line = item.where("code").line
                error = RegistryError(
                    f"code: duplicate Member State code '{code}' (first on line "
                    f"{first_line[code]}): again on line {line}", item.where("code"),
                    "remove one of the two entries; until then neither is used")
                self.problems.append(error)
                self.problems.extend(checked.errors)  # the second entry's own, if any
                states.pop(code, None)
                broken[code] = error
                continue
            self.problems.extend(checked.errors)
            if code is None:
                continue
            first_line[code] = item.where("code").line
            record = checked.record
            if record is None:
                broken[code] = checked.errors[0]
                continue
            states[code] = MemberState(
                code=code, iso=record.iso, name=record.name, languages=tuple(record.languages),
                correspondence_language=record.correspondence_language,
                representation=_address(record.representation), email=record.email,
                representative=_person(record.representative), sample=record.sample == "yes",
                position=PROTOCOL_ORDER.index(code) + 1, fingerprint=_sha256(item))
        order = sorted(first_line, key=PROTOCOL_ORDER.index)
        return ({c: states[c] for c in order if c in states},
                {c: broken[c] for c in order if c in broken}, tuple(order))

    # --- agencies, people, signatories ---------------------------------------------------------

    def agencies(self) -> tuple[dict[str, Agency], dict[str, int]]:
        """Return the valid agencies and the line of every agency id seen (broken ones too)."""
        items = self.section("agencies", Seq)
        agencies: dict[str, Agency] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            checked = self.schemas.validate(self.schemas.AgencyRecord, item, items.where(i))
            agency_id = _valid(checked, item, "id")
            if agency_id is not None and agency_id in seen:
                self.problems.append(RegistryError(
                    f"id: duplicate agency id '{agency_id}' (first on line {seen[agency_id]})",
                    item.where("id"), "remove one of the two entries"))
                self.problems.extend(checked.errors)
                continue
            self.problems.extend(checked.errors)
            if agency_id is None:
                continue
            seen[agency_id] = item.where("id").line
            record = checked.record
            if record is None:
                continue
            head = _person(record.head, "agency_director")
            fingerprint = _sha256(item)
            agencies[agency_id] = Agency(agency_id, record.short_name, record.name,
                                         Seat(record.seat.city, record.seat.country), head,
                                         fingerprint)
            self.agency_recipients[agency_id] = Recipient(
                id=agency_id, kind="agency", language=record.language, person=head,
                address=_address(record.address) if record.address is not None else None,
                emails=(head.email,) if head.email else (), fingerprint=fingerprint,
                agency=agency_id)
        return agencies, seen

    def people(self, taken: set[str]) -> dict[str, Recipient]:
        """Return the valid people of people.yaml (an absent file holds nobody)."""
        if self.data.get("people") is None:
            return {}
        items = self.section("people", Seq)
        result: dict[str, Recipient] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            checked = self.schemas.validate(self.schemas.PersonRecord, item, items.where(i))
            person_id = _valid(checked, item, "id")
            errors = list(checked.errors)
            if person_id is not None:
                where = item.where("id")
                if person_id in seen:
                    self.problems.append(RegistryError(
                        f"id: duplicate person id '{person_id}' (first on line "
                        f"{seen[person_id]})", where, "remove one of the two entries"))
                    self.problems.extend(errors)
                    continue
                if person_id in taken:
                    errors.append(RegistryError(
                        f"id: '{person_id}' is already an agency id", where,
                        f"give the person an id of their own, e.g. '{person_id}-person'"))
                else:
                    seen[person_id] = where.line
            self.problems.extend(errors)
            record = checked.record
            if record is None or errors:
                continue
            emails = (record.email,) if isinstance(record.email, str) else tuple(record.email)
            result[record.id] = Recipient(
                id=record.id, kind="person", language=record.language,
                person=_person(record, with_email=False), address=_address(record.address),
                emails=emails,
                fingerprint=_sha256(item), organisation=record.organisation,
                sample=record.sample == "yes")
        return result

    def signatories(self) -> dict[str, Signatory]:
        """Return the valid signatories."""
        items = self.section("signatories", Seq)
        result: dict[str, Signatory] = {}
        seen: dict[str, int] = {}
        for i, item in enumerate(items or ()):
            checked = self.schemas.validate(self.schemas.SignatoryRecord, item, items.where(i))
            sid = _valid(checked, item, "id")
            if sid is not None and sid in seen:
                self.problems.append(RegistryError(
                    f"id: duplicate signatory id '{sid}' (first on line {seen[sid]})",
                    item.where("id"), "remove one of the two entries"))
                self.problems.extend(checked.errors)
                continue
            self.problems.extend(checked.errors)
            if sid is None:
                continue
            seen[sid] = item.where("id").line
            record = checked.record
            if record is not None:
                person = _person(record)
                result[sid] = Signatory(sid, person, record.function, record.institution,
                                        record.department)
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
                problem = member_state_code_problem(code)
                if problem and not CODE.fullmatch(code):
                    errors.append(RegistryError(problem[0], key_where, problem[1]))
                else:
                    errors.append(RegistryError(
                        f"contacts name '{shown(code)}', which is not in member_states.yaml",
                        key_where,
                        _dangling_code_hint(code, codes)
                        or "add the Member State or remove this entry"))
            checked = self.schemas.validate(self.schemas.ContactRecord, value, key_where,
                                            f"contact of '{shown(code)}'")
            errors.extend(checked.errors)
            self.problems.extend(errors)
            record = checked.record
            if record is not None and not errors:
                result[code] = Contact(code, _person(record.contact_point), record.mailbox,
                                       record.sample == "yes")
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
        """Return the valid groups and the first error of each group that is not.

        The schema checks each group's own fields; here each member is looked up: a
        ``recipients`` group names Member State codes, agency ids and people ids, a ``cc``
        group agency ids only.
        """
        entries = self.section("groups", Node)
        groups: dict[str, Group] = {}
        bad: dict[str, RegistryError] = {}
        for name, value in (entries or {}).items():
            key_where = entries.where(name)
            errors: list[RegistryError] = []
            name_error = self.schemas.check_key(self.schemas.GROUP_NAME, name, key_where, "group name")
            if name_error is not None:
                errors.append(name_error)
            checked = self.schemas.validate(self.schemas.GroupRecord, value, key_where,
                                            f"group '{shown(name)}'")
            errors.extend(checked.errors)
            kind = _valid(checked, value, "kind")
            if "members" not in checked.failed:
                errors.extend(self._members(name, kind, value["members"], codes, agencies,
                                            agency_lines, others))
            self.problems.extend(errors)
            if errors:
                bad[name] = errors[0]
            else:
                record = checked.record
                groups[name] = Group(name, record.kind, tuple(record.members))
        return groups, bad

    def _members(self, name: str, kind: str | None, members: Seq, codes: tuple[str, ...],
                 agencies: dict[str, Agency], agency_lines: dict[str, int],
                 others: tuple[str, ...]) -> list[RegistryError]:
        """Return the problems of the members of one group (each a valid text)."""
        errors: list[RegistryError] = []
        group = f"group '{shown(name)}'"
        for i, member in enumerate(members):
            where = members.where(i)
            field = f"members[{i}]: "

            def fail(message: str, hint: str | None = None, where: Location = where,
                     field: str = field) -> None:
                errors.append(RegistryError(field + message, where, hint))

            if kind == "recipients":
                if member in codes or member in others:
                    continue
                if member in agency_lines:
                    fail(f"{group} names agency '{member}', whose entry has errors "
                         f"(agencies.yaml line {agency_lines[member]})")
                elif ID.fullmatch(member):
                    fail(f"{group} names '{shown(member)}', which is neither an agency nor a "
                         "person of people.yaml", did_you_mean(member, list(others)))
                else:
                    problem = member_state_code_problem(member)
                    if problem and not CODE.fullmatch(member):
                        fail(*problem)
                    else:
                        fail(f"{group} names '{shown(member)}', which is not in "
                             "member_states.yaml", _dangling_code_hint(member, codes))
            elif kind == "cc":
                if member in agencies:
                    continue
                if member in agency_lines:
                    fail(f"{group} names agency '{member}', whose entry has errors "
                         f"(agencies.yaml line {agency_lines[member]})")
                else:
                    fail(f"{group} names '{shown(member)}', which is not in agencies.yaml",
                         did_you_mean(member, list(agencies)))
        return errors


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
