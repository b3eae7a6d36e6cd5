"""Recipients beyond Member States: agency heads and people, forms of address by gender and
language, academic titles, the neutral form, mixed groups, non-EU codes, and one language per
document (the fallback), read back from the PDF and DOCX files a real merge writes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import GOOD_PERSON, ROOT, run_cli
from readback import docx_text, normalise, pdf_text

from pactdocs.sources.registry import Registry, load_registry

LETTER = "agency-coordination"
HEADS = ("cepol", "emcdda", "europol", "euaa", "eu-lisa", "frontex")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "registry"

# (salutation, first words of the closing) for each head, by language: the heads' genders are
# the registry's (EMCDDA's head is styled Director, the others Executive Director).
EXPECTED = {
    "en": {h: ("Dear Director," if h == "emcdda" else "Dear Executive Director,", "Yours sincerely,")
           for h in HEADS},
    "fr": {
        "cepol": ("Madame la Directrice exécutive,", "Veuillez agréer, Madame la Directrice exécutive,"),
        "emcdda": ("Monsieur le Directeur,", "Veuillez agréer, Monsieur le Directeur,"),
        "europol": ("Madame la Directrice exécutive,", "Veuillez agréer, Madame la Directrice exécutive,"),
        "euaa": ("Madame la Directrice exécutive,", "Veuillez agréer, Madame la Directrice exécutive,"),
        "eu-lisa": ("Madame la Directrice exécutive,", "Veuillez agréer, Madame la Directrice exécutive,"),
        "frontex": ("Monsieur le Directeur exécutif,", "Veuillez agréer, Monsieur le Directeur exécutif,"),
    },
    "de": {
        "cepol": ("Sehr geehrte Frau Exekutivdirektorin,", "Mit freundlichen Grüßen"),
        "emcdda": ("Sehr geehrter Herr Direktor,", "Mit freundlichen Grüßen"),
        "europol": ("Sehr geehrte Frau Exekutivdirektorin,", "Mit freundlichen Grüßen"),
        "euaa": ("Sehr geehrte Frau Exekutivdirektorin,", "Mit freundlichen Grüßen"),
        "eu-lisa": ("Sehr geehrte Frau Exekutivdirektorin,", "Mit freundlichen Grüßen"),
        "frontex": ("Sehr geehrter Herr Exekutivdirektor,", "Mit freundlichen Grüßen"),
    },
}
# Words of the frame in each language that must not appear in a document of another language.
FRAME_WORDS = {"en": ("Enclosure:", "c.c.:", "Yours sincerely"),
               "fr": ("Annexe :", "Copie", "Veuillez agréer"),
               "de": ("Anlage:", "Kopie:", "Mit freundlichen"),
               "nl": ("Bijlage", "Hoogachtend"), "pl": ("Załącznik", "Z poważaniem")}


def read(path: Path) -> str:
    return normalise(pdf_text(path) if path.suffix == ".pdf" else docx_text(path))


@pytest.fixture(scope="module")
def every_language(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agency letter to the six heads in each of its three languages, PDF and DOCX."""
    out = tmp_path_factory.mktemp("agencies") / "out"
    assert run_cli(ROOT, "merge", LETTER, "--lang", "en,fr,de", "--parts", "letter",
                   "--out", str(out), "--quiet") == 0
    return out


@pytest.mark.parametrize("language", ["en", "fr", "de"])
@pytest.mark.parametrize("head", HEADS)
def test_agency_director_salutation_and_closing(every_language: Path, head: str,
                                                language: str) -> None:
    salutation, closing = EXPECTED[language][head]
    for fmt in ("pdf", "docx"):
        text = read(every_language / head / language / f"{LETTER}-{head}-{language}-letter.{fmt}")
        assert normalise(salutation) in text, (head, language, fmt)
        assert normalise(closing) in text, (head, language, fmt)
        # The head is not sent a copy of her own letter; the five others are.
        registry = load_registry(ROOT / "recipients")
        own = normalise(registry.agencies[head].head.surname)
        assert text.count(own) == 1, (head, language, fmt)  # in the address block only
        others = [registry.agencies[h].head.surname for h in HEADS if h != head]
        assert all(normalise(name) in text for name in others), (head, language, fmt)


# An agency's seat in the addressee block, in the letter's language (city and country both).
SEATS = {("emcdda", "fr"): ("Lisbonne, Portugal", "Lisbon"),
         ("eu-lisa", "de"): ("Tallinn, Estland", "Estonia"),
         ("frontex", "fr"): ("Varsovie, Pologne", "Warsaw"),
         ("europol", "de"): ("Den Haag, Niederlande", "The Hague"),
         ("cepol", "en"): ("Budapest, Hungary", "Ungarn")}


@pytest.mark.parametrize("head, language", sorted(SEATS))
def test_the_agency_seat_is_written_in_the_letters_language(every_language: Path, head: str,
                                                            language: str) -> None:
    seat, foreign = SEATS[(head, language)]
    for fmt in ("pdf", "docx"):
        text = read(every_language / head / language / f"{LETTER}-{head}-{language}-letter.{fmt}")
        assert normalise(seat) in text, (head, language, fmt)
        assert not re.search(rf"\b{foreign}\b", text), (head, language, fmt)


def test_auto_languages_fall_back_to_one_language(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli(ROOT, "merge", LETTER, "--out", str(out), "--quiet") == 0
    said = capsys.readouterr().out
    assert "2 recipient(s) in the fallback language en" in said
    assert "europol (nl)" in said and "frontex (pl)" in said
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    by_recipient: dict[str, set[tuple[str, str | None]]] = {}
    for doc in manifest["documents"]:
        by_recipient.setdefault(doc["recipient"], set()).add((doc["language"],
                                                             doc.get("fallback_from")))
    assert by_recipient == {"cepol": {("en", None)}, "emcdda": {("fr", None)},
                            "europol": {("en", "nl")}, "euaa": {("en", None)},
                            "eu-lisa": {("de", None)}, "frontex": {("en", "pl")}}
    # Frame and body alike in English: no word of the recipient's own language, nor another.
    for head, language in (("europol", "nl"), ("frontex", "pl")):
        for part in ("letter", "annex-1"):
            for fmt in ("pdf", "docx"):
                text = read(out / head / "en" / f"{LETTER}-{head}-en-{part}.{fmt}")
                assert "Executive Director" in text or part == "annex-1"
                for other in ("fr", "de", language):
                    for word in FRAME_WORDS[other]:
                        assert normalise(word) not in text, (head, part, fmt, word)
                assert "Given name and family name" in text or part == "letter"


def test_academic_title_neutral_form_and_a_non_eu_address(tmp_path: Path) -> None:
    out = tmp_path / "out"
    to = "de-bamf-sample,fr-authority-sample,no-justice-sample"
    assert run_cli(ROOT, "merge", LETTER, "--to", to, "--lang", "en,fr,de", "--parts", "letter",
                   "--out", str(out), "--quiet") == 0

    def letter(who: str, lang: str, fmt: str) -> str:
        return read(out / who / lang / f"{LETTER}-{who}-{lang}-letter.{fmt}")

    for fmt in ("pdf", "docx"):
        # Academic title: English writes it alone, German beside the courtesy title.
        assert normalise("Dr Anna Berger") in letter("de-bamf-sample", "en", fmt)
        assert normalise("Ms Anna Berger") not in letter("de-bamf-sample", "en", fmt)
        german = letter("de-bamf-sample", "de", fmt)
        assert normalise("Frau Dr. Anna Berger") in german
        assert normalise("Sehr geehrte Frau Generaldirektorin,") in german
        # No gender recorded: the neutral form, no courtesy title, in every language.
        assert normalise("Dear Director,") in letter("fr-authority-sample", "en", fmt)
        french = letter("fr-authority-sample", "fr", fmt)
        assert normalise("Madame, Monsieur,") in french
        assert "Madame la" not in french and "Monsieur le" not in french
        assert normalise("Camille Laurent") in french and "M. Camille" not in french
        assert normalise("Guten Tag,") in letter("fr-authority-sample", "de", fmt)
        # Norway: a non-EU code stays a country code, named in the letter's language.
        norway = letter("no-justice-sample", "en", fmt)
        assert normalise("Dear Minister,") in norway
        assert normalise("0150 Oslo, Norway") in norway
        assert normalise("Mr Lars Haugen") in norway
        assert normalise("0150 Oslo, Norwegen") in letter("no-justice-sample", "de", fmt)
        # The organisation is named once in the address block: in the title line when the form
        # names it (the street follows it at once), else as the first line of the address.
        assert normalise("Mr Lars Haugen Minister, Ministry of Justice and Public Security "
                         "(SAMPLE) Nygata 1") in norway
        assert normalise("Camille Laurent National Asylum Authority (SAMPLE) 12 rue de "
                         "l'Exemple") in french


def test_a_group_mixing_a_member_state_an_agency_and_a_person(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(ROOT, "merge", "pact-implementation", "--to", "schengen-partners", "--lang",
                   "en", "--parts", "letter", "--format", "pdf", "--out", str(out),
                   "--quiet") == 0
    austria = read(out / "AT/en/pact-implementation-AT-en-letter.pdf")
    assert "Dear Ambassador," in austria and "Permanent Representative of Austria" in austria
    europol = read(out / "europol/en/pact-implementation-europol-en-letter.pdf")
    assert "Dear Executive Director," in europol and "Executive Director, Europol" in europol
    norway = read(out / "no-justice-sample/en/pact-implementation-no-justice-sample-en-letter.pdf")
    assert "Dear Minister," in norway and "Oslo, Norway" in norway
    # And by ids on the command line, any case for the Member State.
    out2 = tmp_path / "out2"
    assert run_cli(ROOT, "merge", "pact-implementation", "--to", "at,europol", "--lang", "en",
                   "--parts", "letter", "--format", "pdf", "--out", str(out2), "--quiet") == 0
    assert sorted(p.name for p in out2.iterdir() if p.is_dir()) == ["AT", "europol"]


def test_a_language_lacking_the_form_fails_that_document_alone(project: Path) -> None:
    """Europol corresponds in Dutch; with the Dutch agency-director function line left
    untranslated, that document fails with the reason: it is never written with an English
    line in a Dutch letter, and the other recipient's letter is written."""
    nl = project / "letter_templates/_frame/locale/nl.po"
    text = nl.read_text(encoding="utf-8")
    entry = ('msgctxt "forms_of_address.agency_director.female.title"\n'
             'msgid "Executive Director, %(organisation)s"\nmsgstr "')
    start = text.index(entry) + len(entry)
    nl.write_text(text[:start] + text[text.index('"', start):], encoding="utf-8")
    out = project / "out"
    assert run_cli(project, "merge", "pact-implementation", "--to", "AT,europol", "--parts",
                   "letter", "--format", "pdf", "--out", str(out), "--quiet") == 1
    docs = {d["recipient"]: d for d in json.loads((out / "manifest.json").read_text())["documents"]}
    assert docs["AT"]["status"] == "written"
    assert docs["europol"]["status"] == "failed"
    assert "nl has no translation of 'forms_of_address.agency_director.female.title'" in \
        docs["europol"]["error"]
    assert not (out / "europol/nl/pact-implementation-europol-nl-letter.pdf").exists()


def test_every_language_has_every_form_of_address(tmp_path: Path) -> None:
    """The frame drafts every form of address, gender and academic title in all 24 languages:
    the pact letter to the six agency heads and the three people renders in each language."""
    out = tmp_path / "out"
    people = "no-justice-sample,de-bamf-sample,fr-authority-sample"
    assert run_cli(ROOT, "merge", "pact-implementation", "--to", ",".join(HEADS) + "," + people,
                   "--lang", "all", "--parts", "letter", "--format", "docx", "--out", str(out),
                   "--quiet") == 0
    docs = json.loads((out / "manifest.json").read_text())["documents"]
    assert len(docs) == 9 * 24 and all(d["status"] == "written" for d in docs)
    english = ("Dear ", "Yours sincerely", "Executive Director,")
    for doc in docs:
        if doc["language"] != "en":
            text = read(out / doc["path"])
            assert not any(normalise(e) in text for e in english), doc["path"]


# --- schema rules: each with a bad-input file ---------------------------------------------------



def people(tmp_path: Path, text: str, groups: str | None = None) -> Registry:
    target = tmp_path / "recipients"
    shutil.copytree(FIXTURES / "minimal", target)
    (target / "people.yaml").write_text("people:\n" + text, encoding="utf-8")
    if groups is not None:
        (target / "groups.yaml").write_text(groups, encoding="utf-8")
    return load_registry(target)


def one(registry: Registry, text: str) -> str:
    found = [str(p) for p in registry.problems if text in str(p)]
    assert len(found) == 1, [str(p) for p in registry.problems]
    return found[0]


def test_the_good_person_loads(tmp_path: Path) -> None:
    registry = people(tmp_path, GOOD_PERSON)
    assert registry.problems == ()
    person = registry.recipients["berg-sample"]
    assert (person.kind, person.address.country if person.address else None) == ("person", "NO")
    assert person.emails == ("berg@example.org",)


@pytest.mark.parametrize("field, bad, line, message", [
    ("id", "../etc", 2, "'../etc' is not a valid id: it names the recipient's output folder"),
    ("id", "Berg", 2, "'Berg' is not a valid id"),
    ("id", "at", 2, "'at' reads as the Member State code 'AT'"),
    ("id", "a" * 41, 2, "is not a valid id"),
    ("id", "a-", 2, "'a-' is not a valid id"),
    ("title", "Dr", 3, "'Dr' is not one of 'Mr', 'Ms' or 'none'"),
    ("first_name", " ", 4, "is empty"),
    ("surname", "Berg\u202e", 5, "contains an invisible formatting character U+202E"),
    ("gender", "unknown", 6, "'unknown' is not one of 'male', 'female' or 'none'"),
    ("form_of_address", "Minister!", 7, "'Minister!' is not a form of address id"),
    ("language", "no", 8, "'no' is not an official EU language code"),
    ("organisation", "x" * 1001, 9, "is 1,001 characters long (the limit is 1,000)"),
    ("street", "", 11, "is empty"),
    ("country", "Norway", 14, "'Norway' is not an ISO country code"),
    ("email", "berg@example.org?bcc=x@y.org", 15, "is not a valid e-mail address"),
    ("sample", "maybe", 16, "'maybe' is not one of 'yes' or 'no'"),
])
def test_each_person_rule_names_file_line_and_field(tmp_path: Path, field: str, bad: str,
                                                    line: int, message: str) -> None:
    lines = GOOD_PERSON.splitlines()
    index = next(i for i, text in enumerate(lines) if text.strip().startswith(f"{field}:")
                 or text.strip().startswith(f"- {field}:"))
    prefix = lines[index].split(f"{field}:")[0]
    lines[index] = f'{prefix}{field}: "{bad}"'
    registry = people(tmp_path, "\n".join(lines) + "\n")
    error = one(registry, message)
    dotted = f"address.{field}" if field in ("street", "country") else field
    assert f"recipients/people.yaml:{line}: {dotted}: " in error, error
    assert "berg-sample" not in registry.recipients


def test_academic_title_unknown_field_and_wrong_types(tmp_path: Path) -> None:
    text = GOOD_PERSON.replace("    gender: female\n",
                               "    gender: female\n    academic_title: Doctor\n    age: 50\n")
    text = text.replace("    email: berg@example.org\n", "    email: {address: berg@example.org}\n")
    registry = people(tmp_path, text)
    assert "people.yaml:7: academic_title: 'Doctor' is not one of 'dr', 'prof' or 'prof-dr'" in \
        one(registry, "'Doctor'")
    assert "people.yaml:8: age: unknown field in person" in one(registry, "age:")
    assert "people.yaml:17: email: 'email' must be a text or a list of texts, not a mapping" in \
        one(registry, "email:")
    # The nearest valid value is the hint.
    close = people(tmp_path / "2", GOOD_PERSON.replace("gender: female", "gender: femal"))
    assert one(close, "gender").endswith("(did you mean 'female'?)")


def test_missing_fields_duplicates_and_dangling_group_members(tmp_path: Path) -> None:
    text = GOOD_PERSON + GOOD_PERSON
    groups = ("groups:\n  mixed:\n    kind: recipients\n"
              '    members: ["AT", europol, berg-sample, nobody-sample]\n')
    registry = people(tmp_path, text, groups)
    assert "people.yaml:17: id: duplicate person id 'berg-sample' (first on line 2)" in \
        one(registry, "duplicate person id")
    assert "groups.yaml:4: members[3]: group 'mixed' names 'nobody-sample', which is neither " \
        "an agency nor a person of people.yaml (did you mean 'berg-sample'?)" in \
        one(registry, "nobody-sample")
    registry = people(tmp_path / "2", GOOD_PERSON.replace("    organisation: Ministry (SAMPLE)\n", ""))
    assert "people.yaml:2: organisation: missing (person has no 'organisation')" in \
        one(registry, "organisation")
    # A person whose id is an agency's would write into the agency's folder.
    registry = people(tmp_path / "3", GOOD_PERSON.replace("id: berg-sample", "id: europol"))
    assert "people.yaml:2: id: 'europol' is already an agency id" in one(registry, "europol")


def test_agency_ids_name_folders_and_never_a_member_state(tmp_path: Path) -> None:
    for bad, message in (("europol-", "id: 'europol-' is not a valid id: it names the "
                                      "recipient's output folder"),
                         ("at", "id: 'at' reads as the Member State code 'AT'")):
        target = tmp_path / bad / "recipients"
        shutil.copytree(FIXTURES / "minimal", target)
        path = target / "agencies.yaml"
        path.write_text(path.read_text("utf-8").replace("id: frontex", f"id: {bad}"), "utf-8")
        registry = load_registry(target)
        error = one(registry, message)
        assert "agencies.yaml:13: " in error, error
        assert bad not in registry.recipients


def test_the_agency_letter_is_sent_to_each_head(tmp_path: Path) -> None:
    import email
    from email import policy

    out = tmp_path / "out"
    assert run_cli(ROOT, "merge", LETTER, "--format", "pdf", "--out", str(out), "--quiet") == 0
    assert run_cli(ROOT, "send", LETTER, "--out", str(out), "--allow-draft", "--register",
                   str(tmp_path / "register.sqlite")) == 0
    sent = {p.name.split("-")[0] if not p.name.startswith("eu-lisa") else "eu-lisa": p
            for p in (out / "outbox").glob("*.eml")}
    assert sorted(sent) == sorted(HEADS)
    message = email.message_from_bytes(sent["europol"].read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "director@europol.example"
    cc = [a.addr_spec for a in message["Cc"].addresses]
    assert len(cc) == 5 and "director@europol.example" not in cc
    # Europol falls back to English: the attachment and the cover text are English.
    assert [p.get_filename() for p in message.iter_attachments()] == [
        f"{LETTER}-europol-en-letter.pdf", f"{LETTER}-europol-en-annex-1.pdf"]
    assert "Dear Executive Director," in message.get_body(("plain",)).get_content()
