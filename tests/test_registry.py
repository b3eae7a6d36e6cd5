"""Tests of the recipient registries: the real data in recipients/ and one bad input per rule.

Each bad-input case under tests/fixtures/registry/<case>/ holds only the files that differ from
tests/fixtures/registry/minimal/ (a small valid registry); :func:`registry_dir` lays the case over
a copy of the minimal registry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pactdocs.errors import RegistryError
from pactdocs.sources.registry import (
    LANGUAGES,
    PROTOCOL_ORDER,
    Person,
    Registry,
    load_registry,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registry"


def registry_dir(tmp_path: Path, case: str | None = None) -> Path:
    """Return a folder holding the minimal registry with the files of ``case`` laid over it."""
    target = tmp_path / "recipients"
    shutil.copytree(FIXTURES / "minimal", target)
    if case is not None:
        files = sorted((FIXTURES / case).glob("*.yaml"))
        assert files, f"fixture case {case} is empty"
        for path in files:
            shutil.copy(path, target / path.name)
    return target


def load_case(tmp_path: Path, case: str) -> Registry:
    """Load the minimal registry with ``case`` laid over it."""
    return load_registry(registry_dir(tmp_path, case))


def problem(registry: Registry, text: str) -> RegistryError:
    """Return the one problem whose message contains ``text``."""
    found = [p for p in registry.problems if text in p.message]
    assert len(found) == 1, [str(p) for p in registry.problems]
    return found[0]


def assert_at(error: RegistryError, filename: str, line: int) -> None:
    """Assert that ``error`` points at ``filename:line`` and says so in its text."""
    assert error.location is not None
    assert Path(error.location.path).name == filename
    assert error.location.line == line
    assert f"{filename}:{line}: " in str(error)


# --- the real registry -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Registry:
    return load_registry(ROOT / "recipients")


def test_real_registry_loads_without_problems(real: Registry) -> None:
    assert [str(p) for p in real.problems] == []
    assert real.broken == {}
    assert real.bad_groups == {}


def test_real_registry_has_the_27_states_in_protocol_order(real: Registry) -> None:
    assert list(real.member_states) == list(PROTOCOL_ORDER)
    assert len(real.member_states) == 27
    assert [s.position for s in real.member_states.values()] == list(range(1, 28))
    assert real.codes == PROTOCOL_ORDER


def test_real_registry_greece_is_el_with_iso_gr(real: Registry) -> None:
    greece = real.member_states["EL"]
    assert greece.iso == "GR"
    assert greece.name == "Greece"
    assert all(s.iso == s.code for s in real.member_states.values() if s.code != "EL")


def test_real_registry_austria_is_real_data(real: Registry) -> None:
    austria = real.member_states["AT"]
    person = austria.representative
    assert person.display_name == "Mr Thomas Oberreiter"
    assert person.signature_name == "Thomas OBERREITER"
    assert (person.gender, person.form_of_address) == ("male", "ambassador")
    assert austria.representation.street == "Avenue de Cortenbergh 30"
    assert austria.representation.postcode == "1040"
    assert isinstance(austria.representation.postcode, str)
    assert (austria.representation.city, austria.representation.country) == ("Brussels", "BE")
    assert austria.email == "bruessel-ov@bmeia.gv.at"
    assert austria.sample is False
    assert austria.languages == ("de",)
    assert austria.correspondence_language == "de"


def test_real_registry_other_states_are_marked_sample(real: Registry) -> None:
    for code, state in real.member_states.items():
        if code == "AT":
            continue
        assert state.sample is True, code
        assert state.email.endswith(".example"), code
    text = (ROOT / "recipients" / "member_states.yaml").read_text(encoding="utf-8")
    assert "SAMPLE DATA" in text.splitlines()[3]


def test_real_registry_languages_and_genders(real: Registry) -> None:
    states = real.member_states
    expected = {"BE": "fr", "LU": "fr", "IE": "en", "MT": "en", "CY": "el", "FI": "fi"}
    for code, language in expected.items():
        assert states[code].correspondence_language == language
    assert states["BE"].languages == ("nl", "fr", "de")
    assert states["FI"].languages == ("fi", "sv")
    used = {lang for s in states.values() for lang in s.languages}
    assert used <= set(LANGUAGES)
    assert used == set(LANGUAGES)  # every official language is some state's language
    genders = [s.representative.gender for s in states.values()]
    assert abs(genders.count("male") - genders.count("female")) <= 1


def test_real_registry_agencies_in_cc_order(real: Registry) -> None:
    # A recipients group of agencies: the sample letter's c.c. list and the agency letter's
    # recipients.
    assert real.groups["jha-agencies"].kind == "recipients"
    assert real.groups["jha-agencies"].members == (
        "cepol", "emcdda", "europol", "euaa", "eu-lisa", "frontex")
    assert list(real.agencies) == list(real.groups["jha-agencies"].members)
    lines = [f"{a.head.display_name} ({a.short_name})" for a in real.agencies.values()]
    assert lines == [
        "Ms Montserrat Marín López (CEPOL)", "Mr Alexis Goosdeel (EMCDDA)",
        "Ms Catherine De Bolle (EUROPOL)", "Ms Nina Gregori (EUAA)",
        "Ms Agnès Diallo (eu-LISA)", "Mr Hans Leijtens (Frontex)"]
    assert real.agencies["emcdda"].head.function == "Director"
    assert real.agencies["frontex"].head.function == "Executive Director"


def test_real_registry_contacts_signatory_and_groups(real: Registry) -> None:
    assert list(real.contacts) == list(PROTOCOL_ORDER)
    assert all(c.sample for c in real.contacts.values())
    assert real.contacts["AT"].mailbox == "pact-implementation@at.example"
    assert all(c.person.function for c in real.contacts.values())
    signatory = real.signatories["home-dg-acting"]
    assert signatory.person.display_name == "Ms Beate Gminder"
    assert signatory.person.signature_name == "Beate GMINDER"
    assert signatory.person.gender == "female"
    assert signatory.function == "director-general-acting"
    assert signatory.institution == "European Commission"
    assert signatory.department == "Directorate-General for Migration and Home Affairs"
    assert real.groups["member-states"].members == PROTOCOL_ORDER
    assert real.groups["benelux"].members == ("BE", "NL", "LU")
    assert real.resolve("benelux", "member-states") == ["BE", "LU", "NL"]


# --- the loader on valid input -----------------------------------------------------------------


def test_minimal_registry_is_clean_and_sorted(tmp_path: Path) -> None:
    registry = load_registry(registry_dir(tmp_path))
    assert registry.problems == ()
    # The file lists AT, BE, EL: the registry keeps protocol order.
    assert list(registry.member_states) == ["BE", "EL", "AT"]
    assert registry.member_states["AT"].position == 20
    assert registry.member_states["BE"].representative.form_of_address == "ambassador"


def test_person_names() -> None:
    person = Person("Ms", "Catherine", "De Bolle", "female")
    assert person.display_name == "Ms Catherine De Bolle"
    assert person.signature_name == "Catherine DE BOLLE"
    assert Person("Ms", "Agnès", "Marín López", "female").signature_name == "Agnès MARÍN LÓPEZ"


def test_unquoted_postcode_stays_a_string(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    path = root / "member_states.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('postcode: "1040"', "postcode: 01234", 1), encoding="utf-8")
    registry = load_registry(root)
    assert registry.problems == ()
    postcode = registry.member_states["AT"].representation.postcode
    assert postcode == "01234"
    assert isinstance(postcode, str)


def test_fingerprint_changes_only_for_the_changed_state(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    before = load_registry(root)
    path = root / "member_states.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("permrep@be.example", "permanent@be.example"), encoding="utf-8")
    after = load_registry(root)
    assert after.problems == ()
    assert after.member_states["BE"].fingerprint != before.member_states["BE"].fingerprint
    for code in ("AT", "EL"):
        assert after.member_states[code].fingerprint == before.member_states[code].fingerprint
    assert after.digest("member_states") != before.digest("member_states")
    assert after.digest("agencies", "signatories", "groups") == before.digest(
        "agencies", "signatories", "groups")
    assert len(after.digest("contacts")) == 64
    with pytest.raises(ValueError, match="unknown registry section"):
        after.digest("staff")


# --- resolve -----------------------------------------------------------------------------------


def test_resolve_groups_and_codes(tmp_path: Path) -> None:
    registry = load_registry(registry_dir(tmp_path))
    assert registry.resolve(None, "all") == ["BE", "EL", "AT"]
    assert registry.resolve("", "all") == ["BE", "EL", "AT"]
    assert registry.resolve("at, el", "all") == ["EL", "AT"]
    assert registry.resolve("AT,BE,AT", "all") == ["BE", "AT"]
    with pytest.raises(RegistryError, match="unknown recipient 'ES'"):
        registry.resolve("AT,ES", "all")
    with pytest.raises(RegistryError) as info:
        registry.resolve("al", "all")
    assert info.value.hint == "did you mean 'all'?"
    with pytest.raises(RegistryError) as info:
        registry.resolve("GR", "all")
    assert info.value.hint is not None and "'EL'" in info.value.hint
    with pytest.raises(RegistryError, match="cc group, not a recipients group"):
        registry.resolve("agencies", "all")
    with pytest.raises(RegistryError, match="unknown group 'everyone'"):
        registry.resolve(None, "everyone")


# --- bad input, one case per rule --------------------------------------------------------------


def test_duplicate_key_is_fatal_with_line(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as info:
        load_case(tmp_path, "duplicate-key")
    assert_at(info.value, "member_states.yaml", 6)
    assert "duplicate key 'name' (first on line 5)" in str(info.value)


def test_malformed_yaml_is_fatal_with_line(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as info:
        load_case(tmp_path, "malformed-yaml")
    assert_at(info.value, "agencies.yaml", 5)
    assert "malformed YAML" in str(info.value)


def test_missing_file_is_fatal(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    (root / "groups.yaml").unlink()
    with pytest.raises(RegistryError, match="file not found"):
        load_registry(root)


def test_unknown_field_suggests_the_nearest(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "unknown-field")
    error = problem(registry, "correspondance_language: unknown field in Member State")
    assert_at(error, "member_states.yaml", 7)
    assert error.hint == "did you mean 'correspondence_language'?"
    assert "(did you mean 'correspondence_language'?)" in str(error)
    # The field the misspelt one was meant to be is missing too: one problem, reported once.
    assert not [p for p in registry.problems if "missing" in p.message]
    assert registry.broken["AT"] is error


def test_missing_field_is_named(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "missing-field")
    error = problem(registry, "representative.surname: missing (representative has no 'surname')")
    assert_at(error, "member_states.yaml", 14)
    assert error.hint == "add the field 'surname'"
    assert "AT" in registry.broken and "AT" not in registry.member_states


def test_unquoted_yaml11_values_stay_strings(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "unquoted-yaml11")
    raw = registry.sections["member_states"]["member_states"]
    assert raw[0]["code"] == "NO" and isinstance(raw[0]["code"], str)
    assert raw[0]["iso"] == "NO"
    assert raw[0]["sample"] == "yes"
    assert raw[1]["sample"] == "no"
    assert raw[0]["representation"]["postcode"] == "01234"
    # NO is a string, and not an EU Member State.
    error = problem(registry, "'NO' is not an EU Member State code")
    assert_at(error, "member_states.yaml", 3)
    group_error = problem(registry, "group 'all' names 'NO'")
    assert_at(group_error, "groups.yaml", 5)
    # Austria's unquoted values load as strings and its entry is fine.
    austria = registry.member_states["AT"]
    assert austria.representation.postcode == "01234"
    assert austria.representation.country == "BE"
    assert austria.sample is False
    assert "NO" not in registry.codes


def test_bad_email(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "bad-email")
    error = problem(registry, "'bruessel-ov bmeia.gv.at' is not a valid e-mail address")
    assert_at(error, "member_states.yaml", 13)
    assert error.hint is not None and "name@example.org" in error.hint
    mailbox = problem(registry, "'pact@implementation@at.example' is not a valid e-mail")
    assert_at(mailbox, "contacts.yaml", 10)
    assert registry.broken["AT"] is error
    assert "AT" not in registry.contacts


def test_bad_language_codes_suggest_the_nearest(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "bad-language")
    error = problem(registry, "'deu' is not an official EU language code")
    assert_at(error, "member_states.yaml", 6)
    assert error.hint == "did you mean 'de'?"
    greek = problem(registry, "'gr' is not an official EU language code")
    assert_at(greek, "member_states.yaml", 24)
    assert greek.hint is not None and greek.hint.startswith("did you mean 'el'?")
    outside = problem(registry, "correspondence_language: 'en' is not one of the state's languages")
    assert_at(outside, "member_states.yaml", 41)
    assert outside.hint == "use one of nl, fr, de"
    assert set(registry.broken) == {"AT", "EL", "BE"}


def test_dangling_references_suggest_the_nearest(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "dangling-reference")
    agency = problem(registry, "group 'agencies' names 'europoll'")
    assert_at(agency, "groups.yaml", 9)
    assert agency.hint == "did you mean 'europol'?"
    state = problem(registry, "group 'all' names 'ES'")
    assert_at(state, "groups.yaml", 5)
    contact = problem(registry, "contacts name 'GR'")
    assert_at(contact, "contacts.yaml", 12)
    assert contact.hint is not None and "did you mean 'EL'?" in contact.hint
    # Groups with a dangling member are not used; selecting one reports why.
    assert "all" not in registry.groups and "agencies" not in registry.groups
    with pytest.raises(RegistryError, match="names 'ES'"):
        registry.resolve(None, "all")
    assert list(registry.contacts) == ["AT"]


def test_codes_that_escape_the_output_folder_are_rejected(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "path-escaping-code")
    error = problem(registry, "'../x' is not a Member State code")
    assert_at(error, "member_states.yaml", 3)
    member = problem(registry, "'A/B' is not a Member State code")
    assert_at(member, "groups.yaml", 5)
    assert registry.codes == ("BE",)
    assert list(registry.member_states) == ["BE"]
    for selection in ("../x", "A/B", "../BE", "BE/.."):
        with pytest.raises(RegistryError, match="unknown recipient"):
            registry.resolve(selection, "all")


def test_control_characters_are_rejected(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "control-character")
    error = problem(registry, "representative.surname: contains the control character U+0007")
    assert_at(error, "member_states.yaml", 17)
    assert error.hint is not None and "XML" in error.hint
    agency = problem(registry, "name: contains the control character U+001B")
    assert_at(agency, "agencies.yaml", 5)
    assert "europol" not in registry.agencies and "frontex" in registry.agencies
    # The cc group naming the broken agency says so rather than calling it unknown.
    group = problem(registry, "names agency 'europol', whose entry has errors")
    assert_at(group, "groups.yaml", 8)


def test_one_broken_state_leaves_the_others_loaded(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "broken-state")
    assert list(registry.member_states) == ["EL", "AT"]
    assert list(registry.broken) == ["BE"]
    first = registry.broken["BE"]
    assert_at(first, "member_states.yaml", 30)
    assert "not a valid e-mail address" in first.message
    surname = problem(registry, "representative has no 'surname'")
    assert_at(surname, "member_states.yaml", 31)
    assert len(registry.problems) == 2
    # The broken state stays selectable, in protocol order, so a merge can report it as failed.
    assert registry.codes == ("BE", "EL", "AT")
    assert registry.resolve(None, "all") == ["BE", "EL", "AT"]
    assert registry.resolve("be", "all") == ["BE"]
    assert "all" in registry.groups


def test_duplicate_id_names_the_first_line(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "duplicate-code")
    error = problem(registry, "duplicate agency id 'europol'")
    assert_at(error, "agencies.yaml", 23)
    assert "(first on line 3)" in error.message
    assert registry.agencies["europol"].short_name == "EUROPOL"
    assert len(registry.problems) == 1


def test_duplicate_member_state_code(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    path = root / "member_states.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('code: "EL"', 'code: "BE"'), encoding="utf-8")
    registry = load_registry(root)
    error = problem(registry, "duplicate Member State code 'BE' (first on line 20)")
    assert_at(error, "member_states.yaml", 38)
    assert "again on line 38" in error.message
    # Neither entry is used: Belgium's documents fail with this error.
    assert "BE" not in registry.member_states
    assert registry.broken["BE"] is error


def test_non_text_values_are_rejected(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "wrong-type")
    error = problem(registry, "surname: 'surname' must be a text, not a mapping")
    assert_at(error, "signatories.yaml", 6)
    listed = problem(registry, "function: 'function' must be a text, not a list")
    assert_at(listed, "signatories.yaml", 9)
    assert registry.signatories == {}


def test_title_and_gender_must_be_known(tmp_path: Path) -> None:
    registry = load_case(tmp_path, "bad-title")
    title = problem(registry, "title: 'Mrs' is not one of 'Mr', 'Ms' or 'none'")
    assert_at(title, "signatories.yaml", 4)
    assert title.hint == "use Mr or Ms (or none: no courtesy title)"
    gender = problem(registry, "gender: 'f' is not one of 'male', 'female' or 'none'")
    assert_at(gender, "signatories.yaml", 7)
    assert gender.hint == "use male or female (or none: not recorded; the neutral form is used)"


def test_iso_code_must_match(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    path = root / "member_states.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('iso: "GR"', 'iso: "EL"'), encoding="utf-8")
    registry = load_registry(root)
    error = problem(registry, "the ISO code of 'EL' is 'GR', not 'EL'")
    assert_at(error, "member_states.yaml", 39)
    assert list(registry.broken) == ["EL"]


def test_file_without_its_section(tmp_path: Path) -> None:
    root = registry_dir(tmp_path)
    (root / "contacts.yaml").write_text("# nothing\ncontact:\n  AT: {}\n", encoding="utf-8")
    registry = load_registry(root)
    unknown = problem(registry, "unknown top-level key 'contact'")
    assert_at(unknown, "contacts.yaml", 2)
    assert unknown.hint == "did you mean 'contacts'?"
    assert registry.contacts == {}
    (root / "contacts.yaml").write_text("", encoding="utf-8")
    empty = problem(load_registry(root), "the file must hold a mapping with the key 'contacts'")
    assert_at(empty, "contacts.yaml", 1)
