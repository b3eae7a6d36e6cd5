"""Every rule of the registry schemas (pactdocs/sources/schemas.py), each with a bad input.

Each case edits one line of the small valid registry of tests/fixtures/registry/minimal (or of a
valid people.yaml written beside it), loads the registry and checks the one error the edit
causes: its file, its line, its field, what it says and its hint, and that the broken record is
not used while the others are.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import GOOD_PERSON

from pactdocs.errors import RegistryError
from pactdocs.sources.registry import Registry, load_registry
from pactdocs.sources.schemas import shown

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registry"

PEOPLE = "people:\n" + GOOD_PERSON.replace("    email: berg@example.org\n",
                                           "    email: [berg@example.org, office@example.org]\n")


def registry_with(tmp_path: Path, filename: str, old: str, new: str) -> Registry:
    """Load the minimal registry (and PEOPLE) with ``old`` replaced by ``new`` in one file."""
    root = tmp_path / "recipients"
    shutil.copytree(FIXTURES / "minimal", root)
    (root / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    path = root / filename
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {filename}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_registry(root)


def errors_in(registry: Registry, filename: str) -> list[RegistryError]:
    return [p for p in registry.problems
            if p.location is not None and Path(p.location.path).name == filename]


class Case(NamedTuple):
    file: str
    old: str
    new: str
    line: int
    field: str
    message: str
    hint: str | None  # the hint, or its beginning when it ends with "…"


CASES = {
    # --- member_states.yaml: Austria's entry is lines 3 to 19 --------------------------------
    "code not a code": Case("member_states.yaml", 'code: "AT"', 'code: "../at"', 3, "code",
                            "'../at' is not a Member State code",
                            "a Member State code is two capital letters, e.g. 'AT'"),
    "code of a non-member": Case("member_states.yaml", 'code: "AT"', 'code: "NO"', 3, "code",
                                 "'NO' is not an EU Member State code", "use one of BE BG …"),
    "code GR for Greece": Case("member_states.yaml", 'code: "AT"', 'code: "GR"', 3, "code",
                               "'GR' is not an EU Member State code",
                               "did you mean 'EL'? (the EU writes Greece EL)"),
    "code in lower case": Case("member_states.yaml", 'code: "AT"', 'code: "at"', 3, "code",
                               "'at' is not a Member State code", "did you mean 'AT'?"),
    "iso not a code": Case("member_states.yaml", 'iso: "AT"', 'iso: "AUT"', 4, "iso",
                           "'AUT' is not an ISO country code",
                           'an ISO 3166 code is two capital letters, e.g. "BE" …'),
    "iso of another state": Case("member_states.yaml", 'iso: "AT"', 'iso: "DE"', 4, "iso",
                                 "the ISO code of 'AT' is 'AT', not 'DE'", 'write iso: "AT"'),
    "name empty": Case("member_states.yaml", "name: Austria", 'name: "  "', 5, "name",
                       "is empty", "give a value"),
    "name too long": Case("member_states.yaml", "name: Austria", "name: " + "A" * 1001, 5,
                          "name", "is 1,001 characters long (the limit is 1,000)",
                          "shorten it: …"),
    "name with a control character": Case(
        "member_states.yaml", "name: Austria", 'name: "Aus\\x07tria"', 5, "name",
        "contains the control character U+0007",
        "remove it: XML (PDF metadata, DOCX) cannot hold control characters"),
    "name with a private-use character": Case(
        "member_states.yaml", "name: Austria", 'name: "Aus\\ue000tria"', 5, "name",
        "contains a private-use character U+E000",
        "remove it: registry values may hold only printable text"),
    "name with a bidi override": Case(
        "member_states.yaml", "name: Austria", 'name: "Aus\\u202etria"', 5, "name",
        "contains an invisible formatting character U+202E",
        "remove it: registry values may hold only printable text"),
    "name with an unassigned character": Case(
        "member_states.yaml", "name: Austria", 'name: "Aus\\U000effffria"', 5, "name",
        "contains an unassigned character U+EFFFF", "remove it: …"),
    "name a mapping": Case("member_states.yaml", "name: Austria", "name: {en: Austria}", 5,
                           "name", "'name' must be a text, not a mapping",
                           "write a single value; …"),
    "languages a text": Case("member_states.yaml", "languages: [de]", "languages: de", 6,
                             "languages", "'languages' must be a list, not a text",
                             "write languages: [a, b]"),
    "languages empty": Case("member_states.yaml", "languages: [de]", "languages: []", 6,
                            "languages", "'languages' is empty", "list at least one value"),
    "language not a code": Case("member_states.yaml", "languages: [de]", "languages: [deu]", 6,
                                "languages[0]", "'deu' is not an official EU language code",
                                "did you mean 'de'?"),
    "language item a list": Case("member_states.yaml", "languages: [de]", "languages: [[de]]",
                                 6, "languages[0]",
                                 "an item of 'languages' must be a text, not a list",
                                 "write a single value; …"),
    "language twice": Case("member_states.yaml", "languages: [de]", "languages: [de, de]", 6,
                           "languages[1]", "'de' is listed twice (first on line 6)",
                           "remove one of the two"),
    "language a country code": Case(
        "member_states.yaml", "correspondence_language: de", "correspondence_language: at", 7,
        "correspondence_language", "'at' is not an official EU language code",
        "did you mean 'de'? ('at' is a country code)"),
    "correspondence language not the state's": Case(
        "member_states.yaml", "correspondence_language: de", "correspondence_language: fr", 7,
        "correspondence_language", "'fr' is not one of the state's languages",
        "use one of de"),
    "representation a text": Case(
        "member_states.yaml", "representation:\n      street: Avenue de Cortenbergh 30\n"
        "      postcode: \"1040\"\n      city: Brussels\n      country: \"BE\"\n",
        "representation: Avenue de Cortenbergh 30, 1040 Brussels\n", 8, "representation",
        "'representation' must be a mapping of fields, not a text",
        "give the fields street, postcode, city, country"),
    "representation empty": Case(
        "member_states.yaml", "representation:\n      street: Avenue de Cortenbergh 30\n"
        "      postcode: \"1040\"\n      city: Brussels\n      country: \"BE\"\n",
        "representation:\n", 8, "representation",
        "'representation' must be a mapping of fields, not empty",
        "give the fields street, postcode, city, country"),
    "representation without a city": Case(
        "member_states.yaml", "      city: Brussels\n      country: \"BE\"\n    email: bruessel",
        "      country: \"BE\"\n    email: bruessel", 8, "representation.city",
        "missing (representation has no 'city')", "add the field 'city'"),
    "representation in a country by name": Case(
        "member_states.yaml", 'country: "BE"\n    email: bruessel',
        'country: Belgium\n    email: bruessel', 12, "representation.country",
        "'Belgium' is not an ISO country code", "an ISO 3166 code is …"),
    "email without an @": Case("member_states.yaml", "email: bruessel-ov@bmeia.gv.at",
                               "email: bruessel-ov.bmeia.gv.at", 13, "email",
                               "'bruessel-ov.bmeia.gv.at' is not a valid e-mail address",
                               "an e-mail address looks like name@example.org: …"),
    "email with a quoted local part": Case(
        "member_states.yaml", "email: bruessel-ov@bmeia.gv.at",
        "email: '\"bruessel ov\"@bmeia.gv.at'", 13, "email",
        "'\"bruessel ov\"@bmeia.gv.at' is not a valid e-mail address: Quoting the part before "
        "the @-sign is not allowed",
        "an e-mail address looks like …"),
    "email at an IP address": Case(
        "member_states.yaml", "email: bruessel-ov@bmeia.gv.at", 'email: "ov@[192.0.2.1]"', 13,
        "email", "'ov@[192.0.2.1]' is not a valid e-mail address: A bracketed IP address",
        "an e-mail address looks like …"),
    "email with a bcc": Case(
        "member_states.yaml", "email: bruessel-ov@bmeia.gv.at",
        'email: "bruessel-ov@bmeia.gv.at?bcc=x@evil.example"', 13, "email",
        "'bruessel-ov@bmeia.gv.at?bcc=x@evil.example' is not a valid e-mail address",
        "an e-mail address looks like …"),
    "email a list": Case("member_states.yaml", "email: bruessel-ov@bmeia.gv.at",
                         "email: [bruessel-ov@bmeia.gv.at]", 13, "email",
                         "'email' must be a text, not a list", "write a single value; …"),
    "representative without a surname": Case(
        "member_states.yaml", "      surname: Oberreiter\n", "", 14, "representative.surname",
        "missing (representative has no 'surname')", "add the field 'surname'"),
    "representative a list": Case(
        "member_states.yaml", "    representative:\n      title: Mr\n      first_name: Thomas\n"
        "      surname: Oberreiter\n      gender: male\n",
        "    representative: [Mr, Thomas, Oberreiter]\n", 14, "representative",
        "'representative' must be a mapping of fields, not a list",
        "give the fields title, first_name, surname, gender"),
    "representative's field misspelt": Case(
        "member_states.yaml", "surname: Oberreiter", "surnme: Oberreiter", 17,
        "representative.surnme", "unknown field in representative", "did you mean 'surname'?"),
    "title Mrs": Case("member_states.yaml", "title: Mr\n      first_name: Thomas",
                      "title: Mrs\n      first_name: Thomas", 15, "representative.title",
                      "'Mrs' is not one of 'Mr', 'Ms' or 'none'",
                      "use Mr or Ms (or none: no courtesy title)"),
    "gender misspelt": Case("member_states.yaml", "gender: male\n    sample: \"no\"",
                            "gender: mael\n    sample: \"no\"", 18, "representative.gender",
                            "'mael' is not one of 'male', 'female' or 'none'",
                            "did you mean 'male'?"),
    "gender unknown": Case("member_states.yaml", "gender: male\n    sample: \"no\"",
                           "gender: m\n    sample: \"no\"", 18, "representative.gender",
                           "'m' is not one of 'male', 'female' or 'none'",
                           "use male or female (or none: not recorded; the neutral form is used)"),
    "form of address not an id": Case(
        "member_states.yaml", "form_of_address: ambassador", "form_of_address: Ambassador!", 36,
        "representative.form_of_address", "'Ambassador!' is not a form of address id",
        "a form of address of the frame (frame.yaml forms_of_address), e.g. 'ambassador'"),
    "name order unknown": Case(
        "member_states.yaml", "gender: male\n    sample: \"no\"",
        "gender: male\n      name_order: surname-first\n    sample: \"no\"", 19,
        "representative.name_order",
        "'surname-first' is not one of 'given-first' or 'family-first'",
        "did you mean 'family-first'?"),
    "name order unknown, none near": Case(
        "member_states.yaml", "gender: male\n    sample: \"no\"",
        "gender: male\n      name_order: western\n    sample: \"no\"", 19,
        "representative.name_order", "'western' is not one of 'given-first' or 'family-first'",
        "use given-first or family-first"),
    "academic title unknown": Case(
        "member_states.yaml", "gender: male\n    sample: \"no\"",
        "gender: male\n      academic_title: Dr\n    sample: \"no\"", 19,
        "representative.academic_title", "'Dr' is not one of 'dr', 'prof' or 'prof-dr'",
        "did you mean 'dr'?"),
    "sample not yes or no": Case("member_states.yaml", 'sample: "no"', "sample: maybe", 19,
                                 "sample", "'maybe' is not one of 'yes' or 'no'",
                                 'use "yes" or "no" (quoted)'),
    "sample capitalised": Case("member_states.yaml", 'sample: "no"', "sample: No", 19,
                               "sample", "'No' is not one of 'yes' or 'no'",
                               "did you mean 'no'?"),
    "unknown field": Case("member_states.yaml", "name: Austria", "name: Austria\n    capital: Vienna",
                          6, "capital", "unknown field in Member State", "known fields: code, …"),
    "unknown field with a control sequence": Case(
        "member_states.yaml", "name: Austria", 'name: Austria\n    "\\e[2J": x', 6,
        "\\u001b[2J", "unknown field in Member State", "known fields: code, …"),
    "missing field": Case("member_states.yaml", '    sample: "no"\n', "", 3, "sample",
                          "missing (Member State has no 'sample')", "add the field 'sample'"),
    # --- agencies.yaml: Europol is lines 3 to 12, Frontex 13 to 22 ---------------------------
    "agency id not a folder name": Case(
        "agencies.yaml", "id: frontex", "id: ../frontex", 13, "id",
        "'../frontex' is not a valid id: it names the recipient's output folder",
        "use 1 to 40 lower-case letters, digits and inner '-', e.g. 'frontex'"),
    "agency id too long": Case(
        "agencies.yaml", "id: frontex", "id: " + "f" * 41, 13, "id", "'" + "f" * 41 + "' is not a valid id",
        "use 1 to 40 lower-case letters, digits and inner '-', e.g. '" + "f" * 40 + "'"),
    "agency id a Member State code": Case(
        "agencies.yaml", "id: frontex", "id: pl", 13, "id",
        "'pl' reads as the Member State code 'PL'", "give a longer id, …"),
    "agency short name empty": Case("agencies.yaml", "short_name: Frontex", 'short_name: ""',
                                    14, "short_name", "is empty", "give a value"),
    "agency seat a text": Case("agencies.yaml", "seat: {city: Warsaw, country: PL}",
                               "seat: Warsaw", 16, "seat",
                               "'seat' must be a mapping of fields, not a text",
                               "give the fields city, country"),
    "agency seat's country by name": Case(
        "agencies.yaml", "seat: {city: Warsaw, country: PL}",
        "seat: {city: Warsaw, country: Poland}", 16, "seat.country",
        "'Poland' is not an ISO country code", "an ISO 3166 code is …"),
    "agency seat's field misspelt": Case(
        "agencies.yaml", "seat: {city: Warsaw, country: PL}",
        "seat: {cty: Warsaw, country: PL}", 16, "seat.cty", "unknown field in seat",
        "did you mean 'city'?"),
    "agency language unknown": Case(
        "agencies.yaml", "seat: {city: Warsaw, country: PL}",
        "seat: {city: Warsaw, country: PL}\n    language: pol", 17, "language",
        "'pol' is not an official EU language code", "did you mean 'pl'?"),
    "agency address without a postcode": Case(
        "agencies.yaml", "seat: {city: Warsaw, country: PL}",
        "seat: {city: Warsaw, country: PL}\n    address: {street: Plac Europejski 6, "
        "city: Warsaw, country: PL}", 17, "address.postcode",
        "missing (address has no 'postcode')", "add the field 'postcode'"),
    "agency head without a function": Case(
        "agencies.yaml", "      function: Executive Director\n  - id: frontex",
        "  - id: frontex", 7, "head.function", "missing (head has no 'function')",
        "add the field 'function'"),
    "agency head's form of address": Case(
        "agencies.yaml", "gender: male", "gender: male\n      form_of_address: Director", 22,
        "head.form_of_address", "'Director' is not a form of address id",
        "a form of address of the frame (frame.yaml forms_of_address), e.g. 'director'"),
    "agency head's e-mail": Case(
        "agencies.yaml", "gender: male", "gender: male\n      email: director at frontex", 22,
        "head.email", "'director at frontex' is not a valid e-mail address",
        "an e-mail address looks like …"),
    "agency not a mapping": Case(
        "agencies.yaml", "  - id: frontex\n    short_name: Frontex\n    name: European Border"
        " and Coast Guard Agency\n    seat: {city: Warsaw, country: PL}\n    head:\n"
        "      title: Mr\n      first_name: Hans\n      surname: Leijtens\n"
        "      gender: male\n      function: Executive Director\n", "  - frontex\n", 13, "",
        "agency must be a mapping of fields, not a text",
        "give the fields id, short_name, name, seat, head"),
    # --- contacts.yaml: AT is lines 3 to 11 ----------------------------------------------------
    "contact point without a surname": Case(
        "contacts.yaml", "      surname: Muster\n", "", 4, "contact_point.surname",
        "missing (contact_point has no 'surname')", "add the field 'surname'"),
    "contact point's unknown field": Case(
        "contacts.yaml", "function: Head of Unit", "function: Head of Unit\n      phone: '+32'",
        10, "contact_point.phone", "unknown field in contact_point",
        "known fields: title, first_name, surname, gender, function, email"),
    "contact point's title": Case("contacts.yaml", "title: Ms", "title: Frau", 5,
                                  "contact_point.title",
                                  "'Frau' is not one of 'Mr', 'Ms' or 'none'", "use Mr or Ms …"),
    "mailbox with a bcc": Case(
        "contacts.yaml", "mailbox: pact-implementation@at.example",
        "mailbox: pact-implementation@at.example?bcc=spy@evil.example", 10, "mailbox",
        "'pact-implementation@at.example?bcc=spy@evil.example' is not a valid e-mail",
        "an e-mail address looks like …"),
    "contact's sample": Case("contacts.yaml", 'sample: "yes"\n  "EL"', 'sample: "Yes"\n  "EL"',
                             11, "sample", "'Yes' is not one of 'yes' or 'no'",
                             "did you mean 'yes'?"),
    "contact without a mailbox": Case(
        "contacts.yaml", "    mailbox: pact-implementation@at.example\n", "", 3, "mailbox",
        "missing (contact of 'AT' has no 'mailbox')", "add the field 'mailbox'"),
    # --- signatories.yaml: lines 3 to 10 -------------------------------------------------------
    "signatory id": Case("signatories.yaml", "id: home-dg-acting", "id: Home DG (acting)", 3,
                         "id", "'Home DG (acting)' is not a valid id",
                         "use lower-case letters, digits and '-', e.g. 'home-dg-acting'"),
    "signatory title": Case("signatories.yaml", "title: Ms", "title: Mrs", 4, "title",
                            "'Mrs' is not one of 'Mr', 'Ms' or 'none'", "use Mr or Ms …"),
    "signatory gender": Case("signatories.yaml", "gender: female", "gender: femal", 7,
                             "gender", "'femal' is not one of 'male', 'female' or 'none'",
                             "did you mean 'female'?"),
    "signatory function a list": Case(
        "signatories.yaml", "function: The Director-General (acting)",
        "function: [The Director-General (acting)]", 8, "function",
        "'function' must be a text, not a list", "write a single value; …"),
    "signatory without an institution": Case(
        "signatories.yaml", "    institution: European Commission\n", "", 3, "institution",
        "missing (signatory has no 'institution')", "add the field 'institution'"),
    "signatory e-mail": Case("signatories.yaml", "department:", "email: gminder@\n    department:",
                             10, "email", "'gminder@' is not a valid e-mail address",
                             "an e-mail address looks like …"),
    "signatory's field misspelt": Case(
        "signatories.yaml", "department:", "departement:", 10, "departement",
        "unknown field in signatory", "did you mean 'department'?"),
    # --- groups.yaml: all is lines 3 to 5, agencies 6 to 8 -------------------------------------
    "group kind misspelt": Case("groups.yaml", "kind: cc", "kind: c.c.", 7, "kind",
                                "'c.c.' is not one of 'recipients' or 'cc'", "did you mean 'cc'?"),
    "group kind unknown": Case("groups.yaml", "kind: cc", "kind: copy", 7, "kind",
                               "'copy' is not one of 'recipients' or 'cc'",
                               "use recipients (any recipient ids) or cc (agency ids)"),
    "group members a text": Case("groups.yaml", "members: [europol, frontex]",
                                 "members: europol, frontex", 8, "members",
                                 "'members' must be a list, not a text", "write members: [a, b]"),
    "group members empty": Case("groups.yaml", "members: [europol, frontex]", "members: []", 8,
                                "members", "'members' is empty", "list at least one value"),
    "group member a mapping": Case("groups.yaml", "members: [europol, frontex]",
                                   "members: [europol, {frontex: 1}]", 8, "members[1]",
                                   "an item of 'members' must be a text, not a mapping",
                                   "write a single value; …"),
    "group member twice": Case("groups.yaml", "members: [europol, frontex]",
                               "members:\n      - europol\n      - frontex\n      - europol", 11,
                               "members[2]", "'europol' is listed twice (first on line 9)",
                               "remove one of the two"),
    "group member dangling": Case("groups.yaml", "members: [europol, frontex]",
                                  "members: [europol, frontexx]", 8, "members[1]",
                                  "group 'agencies' names 'frontexx', which is not in "
                                  "agencies.yaml", "did you mean 'frontex'?"),
    "group of agencies naming a Member State": Case(
        "groups.yaml", "members: [europol, frontex]", 'members: [europol, "AT"]', 8,
        "members[1]", "group 'agencies' names 'AT', which is not in agencies.yaml", None),
    "group name": Case("groups.yaml", "  agencies:", "  Agencies_CC:", 6, "group name",
                       "'Agencies_CC' is not a valid name",
                       "use lower-case letters, digits and '-'"),
    "group's unknown field": Case("groups.yaml", "kind: cc", "kind: cc\n    member: [x]", 8,
                                  "member", "unknown field in group 'agencies'",
                                  "did you mean 'members'?"),
    # --- people.yaml (written above): lines 2 to 16 ---------------------------------------------
    "person's second e-mail": Case(
        "people.yaml", "office@example.org", "office@", 15, "email[1]",
        "'office@' is not a valid e-mail address", "an e-mail address looks like …"),
    "person's e-mail list empty": Case(
        "people.yaml", "email: [berg@example.org, office@example.org]", "email: []", 15,
        "email", "'email' is empty", "list at least one value"),
    "person's address a list": Case(
        "people.yaml", "    address:\n      street: \"Street 1\"\n      postcode: \"0150\"\n"
        "      city: Oslo\n      country: \"NO\"\n", "    address: [Street 1, 0150 Oslo]\n", 10,
        "address", "'address' must be a mapping of fields, not a list",
        "give the fields street, postcode, city, country"),
}

# What each file's broken record is, to check that it is left out.
DROPPED = {
    "member_states.yaml": lambda r: "AT" not in r.member_states or "BE" not in r.member_states,
    "agencies.yaml": lambda r: not {"europol", "frontex"} <= set(r.agencies),
    "contacts.yaml": lambda r: "AT" not in r.contacts,
    "signatories.yaml": lambda r: "home-dg-acting" not in r.signatories,
    "groups.yaml": lambda r: "agencies" not in r.groups,
    "people.yaml": lambda r: "berg-sample" not in r.recipients,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_schema_rule_names_file_line_field_and_hint(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    registry = registry_with(tmp_path, case.file, case.old, case.new)
    found = errors_in(registry, case.file)
    assert len(found) == 1, [str(p) for p in registry.problems]
    error = found[0]
    assert error.location is not None and error.location.line == case.line, str(error)
    prefix = f"{case.file}:{case.line}: " + (f"{case.field}: " if case.field else "")
    assert f"{prefix}{case.message}" in str(error), str(error)
    if case.hint is None:
        assert error.hint is None, str(error)
    elif case.hint.endswith("…"):
        assert error.hint is not None and error.hint.startswith(case.hint[:-1]), str(error)
    else:
        assert error.hint == case.hint, str(error)
    assert "\x1b" not in str(error)
    assert DROPPED[case.file](registry), str(error)


def test_the_unchanged_registry_is_clean(tmp_path: Path) -> None:
    registry = registry_with(tmp_path, "people.yaml", "Anna", "Anna")
    assert registry.problems == ()
    person = registry.recipients["berg-sample"]
    assert person.emails == ("berg@example.org", "office@example.org")
    assert person.person.email == ""  # a person's addresses are the recipient's
    assert registry.member_states["AT"].representative.form_of_address == "ambassador"
    assert registry.agencies["frontex"].head.form_of_address == "agency_director"
    assert registry.recipients["frontex"].language == "en"
    assert registry.contacts["AT"].person.function == "Head of Unit"
    assert registry.signatories["home-dg-acting"].person.email == ""


def test_every_problem_of_a_record_in_one_pass(tmp_path: Path) -> None:
    """Three problems of one Member State, each with its own line and field, a rule across two
    fields beside the others; a misspelt field is one problem (not also a missing one)."""
    root = tmp_path / "recipients"
    shutil.copytree(FIXTURES / "minimal", root)
    path = root / "member_states.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('iso: "AT"', 'iso: "DE"').replace("surname: Oberreiter", "surname: ''")
    text = text.replace("correspondence_language: de", "correspondance_language: de")
    path.write_text(text, encoding="utf-8")
    registry = load_registry(root)
    found = [str(p).split("member_states.yaml:", 1)[1] for p in errors_in(registry,
                                                                          "member_states.yaml")]
    assert found == [
        "7: correspondance_language: unknown field in Member State "
        "(did you mean 'correspondence_language'?)",
        "4: iso: the ISO code of 'AT' is 'AT', not 'DE' (write iso: \"AT\")",
        "17: representative.surname: is empty (give a value)"]
    assert str(registry.broken["AT"]).endswith(found[0])


def test_a_quoted_value_is_escaped_and_cut() -> None:
    assert shown("frontex") == "frontex"
    assert shown("a\x1b[2Jb") == "a\\u001b[2Jb"
    assert shown("x" * 100) == "x" * 80 + "…"


def test_every_scalar_stays_text(tmp_path: Path) -> None:
    """YAML 1.1 would read these as a boolean, a number and a date: each stays the text it was
    written as, and is refused as a text (not a type error) where it does not fit."""
    registry = registry_with(tmp_path, "member_states.yaml", 'sample: "no"', "sample: 2024-05-06")
    [error] = errors_in(registry, "member_states.yaml")
    assert "member_states.yaml:19: sample: '2024-05-06' is not one of 'yes' or 'no'" in str(error)
    registry = registry_with(tmp_path / "2", "contacts.yaml", 'sample: "yes"\n  "EL"',
                             'sample: yes\n  "EL"')
    assert registry.problems == () and registry.contacts["AT"].sample is True


def test_duplicates_name_both_lines_and_the_second_entry_is_checked_too(tmp_path: Path) -> None:
    root = tmp_path / "recipients"
    shutil.copytree(FIXTURES / "minimal", root)
    signatories = root / "signatories.yaml"
    text = signatories.read_text(encoding="utf-8")
    entry = text[text.index("  - id: home-dg-acting"):]
    signatories.write_text(text + entry.replace("gender: female", "gender: f"), encoding="utf-8")
    states = root / "member_states.yaml"
    states.write_text(states.read_text("utf-8").replace('code: "EL"', 'code: "BE"'), "utf-8")
    registry = load_registry(root)
    found = [str(p).split("/recipients/", 1)[1] for p in registry.problems
             if p.location and Path(p.location.path).name in ("signatories.yaml",
                                                                "member_states.yaml")]
    assert found == [
        "member_states.yaml:38: code: duplicate Member State code 'BE' (first on line 20): "
        "again on line 38 (remove one of the two entries; until then neither is used)",
        "member_states.yaml:39: iso: the ISO code of 'BE' is 'BE', not 'GR' (write iso: \"BE\")",
        "signatories.yaml:11: id: duplicate signatory id 'home-dg-acting' (first on line 3) "
        "(remove one of the two entries)",
        "signatories.yaml:15: gender: 'f' is not one of 'male', 'female' or 'none' "
        "(use male or female (or none: not recorded; the neutral form is used))"]
    # The first signatory stays; neither Belgium is used, and Belgium fails with the duplicate.
    assert registry.signatories["home-dg-acting"].person.gender == "female"
    assert "BE" not in registry.member_states and "duplicate" in registry.broken["BE"].message
