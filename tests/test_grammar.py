"""A frame that can say each language's grammar: country forms, gendered functions, place and date.

Every expectation is built from the catalogs themselves (what the translator wrote), never from
strings copied into the test, and read back from both the PDF and the DOCX.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, replace_in, run_cli
from readback import docx_text, normalise, pdf_text

from pactdocs.compose import Composer, Project
from pactdocs.locale.catalogs import load_catalog
from pactdocs.locale.formatting import Formatter

LETTER = "pact-implementation"
LANGUAGES = ("bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it", "lv", "lt", "hu",
             "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv")
# Men and women from countries with an article or a plural name in many languages.
RECIPIENTS = ("AT", "NL", "PT", "CZ", "SK")


def frame(language: str, context: str, english: str) -> str:
    """Return the frame catalog's text for ``context`` (the English source for en)."""
    if language == "en":
        return english
    entry = load_catalog(ROOT / f"letter_templates/_frame/locale/{language}.po", language).get(
        context, english)
    assert entry is not None and entry.strings[0], f"{language}: no text for {context}"
    return entry.strings[0]


@pytest.fixture(scope="module")
def composer() -> Composer:
    project = Project(ROOT)
    return Composer(project, project.letter(LETTER), project.registry())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grammar")
    assert run_cli(ROOT, "merge", LETTER, "--to", ",".join(RECIPIENTS), "--lang", "all", "--parts",
                   "letter", "--out", str(out), "--quiet") == 0
    return out


def texts(out: Path, code: str, language: str) -> list[str]:
    base = out / code / language / f"{LETTER}-{code}-{language}-letter"
    return [normalise(pdf_text(base.with_suffix(".pdf"))), normalise(docx_text(base.with_suffix(".docx")))]


@pytest.mark.parametrize("language", LANGUAGES)
def test_addressee_function_signatory_and_date_line(rendered: Path, composer: Composer,
                                                    language: str) -> None:
    english = composer.frame
    genders = set()
    signatory = composer.registry.signatories[composer.letter.signatory]
    function_ctx = f"functions.{signatory.function}.{signatory.person.gender}"
    function = frame(language, function_ctx,
                     english["functions"][signatory.function][signatory.person.gender])
    formatter = Formatter(composer.languages[language])
    place = frame(language, "places.Brussels", english["places"]["Brussels"])
    date_line = frame(language, "labels.place_date", english["labels"]["place_date"]) % {
        "place": place, "date": formatter.date(composer.letter.date, "dateline")}
    for code in RECIPIENTS:
        person = composer.registry.member_states[code].representative
        genders.add(person.gender)
        of_country = frame(language, f"countries.{code}.of", english["countries"][code]["of"])
        ctx = f"forms_of_address.ambassador.{person.gender}.title"
        title = frame(language, ctx, english["forms_of_address"]["ambassador"][person.gender]["title"])
        expected = title % {"of_country": of_country}
        # The country sits in the sentence, in the form the language needs: no brackets, no dash.
        assert "(" not in expected and "–" not in expected and " - " not in expected, expected
        assert "%" not in expected
        for text in texts(rendered, code, language):
            assert normalise(expected) in text, (code, language, expected)
            assert normalise(function) in text
            assert normalise(date_line) in text, (language, date_line)
    assert genders == {"male", "female"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_signatory_function_follows_her_gender(project: Path, tmp_path: Path, language: str) -> None:
    """A male signatory gets the masculine function, from the same catalogs."""
    replace_in(project / "recipients/signatories.yaml", "gender: female", "gender: male")
    replace_in(project / "recipients/signatories.yaml", "title: Ms", "title: Mr")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", language, "--parts", "letter",
                   "--format", "docx", "--out", str(out), "--quiet") == 0
    text = normalise(docx_text(out / "AT" / language / f"{LETTER}-AT-{language}-letter.docx"))
    proj = Project(ROOT)
    english = proj.frame()["functions"]["director-general-acting"]
    male = frame(language, "functions.director-general-acting.male", english["male"])
    female = frame(language, "functions.director-general-acting.female", english["female"])
    assert normalise(male) in text
    if male != female and female not in male:
        assert normalise(female) not in text


def test_dates_take_the_case_the_sentence_needs(composer: Composer) -> None:
    """Estonian, Latvian and Hungarian decline the date; no workaround around a nominative."""
    cases = {
        "et": ("15. märtsil 2024", "29. aprilliks 2024"),
        "lv": ("2024. gada 15. martā", "2024. gada 29. aprīlim"),
        "hu": ("2024. március 15-én", "2024. április 29-éig"),
        "pl": ("15 marca 2024 r.", "29 kwietnia 2024 r."),
    }
    for language, (on, by) in cases.items():
        formatter = Formatter(composer.languages[language])
        assert normalise(formatter.date("2024-03-15", "on")) == on
        assert normalise(formatter.date("2024-04-29", "by")) == by
        assert "\u00a0" in formatter.date("2024-03-15")  # a date never breaks across lines
    assert normalise(Formatter(composer.languages["lv"]).date("2024-04-15", "dateline")) == \
        "2024. gada 15. aprīlī"


def test_person_name_order_per_person(rendered: Path) -> None:
    """A Hungarian national is "Varga Zsófia asszony" in Hungarian, "Ms Zsófia Varga" in English."""
    out = rendered.parent / "hu-names"
    assert run_cli(ROOT, "merge", LETTER, "--to", "HU,AT", "--lang", "hu,en", "--parts", "letter",
                   "--format", "docx", "--out", str(out), "--quiet") == 0
    hu = normalise(docx_text(out / "HU/hu" / f"{LETTER}-HU-hu-letter.docx"))
    en = normalise(docx_text(out / "HU/en" / f"{LETTER}-HU-en-letter.docx"))
    at_hu = normalise(docx_text(out / "AT/hu" / f"{LETTER}-AT-hu-letter.docx"))
    assert "Varga Zsófia asszony" in hu and "Ms Zsófia Varga" in en
    assert "Thomas Oberreiter úr" in at_hu


def test_check_names_a_missing_grammar_form(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / "letter_templates/_frame/locale/de.po"
    text = po.read_text("utf-8")
    text, count = re.subn(r'(msgctxt "countries\.NL\.of"\nmsgid "of the Netherlands"\nmsgstr )"[^"\n]*"',
                          r'\1""', text)
    assert count == 1
    po.write_text(text, "utf-8")
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    assert re.search(r"_frame/locale/de\.po: de lacks 1 form\(s\) letter 'pact-implementation' uses: "
                     r"countries\.NL\.of \('of the Netherlands'\)", out), out


def test_check_names_a_function_the_frame_lacks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / "recipients/signatories.yaml", "function: director-general-acting",
               "function: deputy-director-general")
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    assert "the frame has no text 'functions.deputy-director-general.female'" in out, out


# --- no word or punctuation of any language outside the catalogs ---------------------------------

def test_templates_hold_no_text_outside_messages() -> None:
    for template in sorted((ROOT / "letter_templates").glob("*/*.j2")):
        source = template.read_text("utf-8")
        bare = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
        bare = re.sub(r"\{%-? trans.*?endtrans -?%\}", "", bare, flags=re.S)
        bare = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", bare, flags=re.S)
        bare = re.sub(r"<[^>]*>", "", bare)
        assert not re.search(r"[^\s]", bare), f"{template}: text outside a message: {bare.strip()[:60]!r}"


def test_pseudo_translated_letter_has_only_catalog_text_and_data(project: Path, tmp_path: Path) -> None:
    """With every German message replaced by '¤', the letter holds '¤', data and nothing else."""
    from pactdocs.locale.catalogs import read_catalog_file, write_catalog

    for po in (project / "letter_templates/_frame/locale/de.po",
               project / "letter_templates" / LETTER / "locale/de.po"):
        catalog = read_catalog_file(po)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            keep = re.findall(r"%\(\w+\)[sd]|<[^>]+>", ids[-1])
            pseudo = "¤" + "¤".join(keep) + "¤"
            message.string = tuple(pseudo for _ in message.string) if isinstance(
                message.string, tuple | list) else pseudo
        write_catalog(catalog, po)
    result = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "NL", "--lang", "de", "--out", str(result),
                   "--format", "docx", "--quiet") == 0
    registry = Project(project).registry()
    state = registry.member_states["NL"]
    signatory = registry.signatories[Project(project).letter(LETTER).signatory].person
    data = [state.email, state.representation.street, state.representation.postcode,
            composer_reference(project), signatory.surname.upper()]
    for person in [state.representative, signatory, *(a.head for a in registry.agencies.values()),
                   *(c.person for c in registry.contacts.values())]:
        data += [person.first_name, person.surname]
    data += [c.mailbox for c in registry.contacts.values()]
    for part in ("letter", "annex-1", "annex-2"):
        text = docx_text(result / "NL/de" / f"{LETTER}-NL-de-{part}.docx").replace("\u00a0", " ")
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, " ")
        text = re.sub(r"\d+\.?\s*(\w+\s+)?\d{4}|\d+", " ", text)  # dates and numbers
        leftover = re.sub(r"[¤\s]", "", text)
        assert not re.search(r"[A-Za-z;:,.()]", leftover), f"{part}: {leftover[:120]!r}"


def composer_reference(project: Path) -> str:
    return Project(project).letter(LETTER).reference


def test_hyphenation_and_proofing_language(rendered: Path) -> None:
    """Justified text is hyphenated in the letter's language (PDF); Word hyphenates and proofs it."""
    import zipfile

    base = rendered / "AT" / "de" / f"{LETTER}-AT-de-letter"
    lines = pdf_text(base.with_suffix(".pdf"), hyphenated=True).splitlines()
    assert any(re.search("[a-zäöüß]\u2010$", line) for line in lines), "no word hyphenated in German"
    with zipfile.ZipFile(base.with_suffix(".docx")) as package:
        settings = package.read("word/settings.xml").decode()
        styles = package.read("word/styles.xml").decode()
    assert "<w:autoHyphenation/>" in settings
    assert "proofState" not in settings  # not marked as already spell-checked
    assert re.search(r'<w:lang w:val="de-DE"', styles)
