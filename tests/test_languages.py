"""All 24 languages: localised date, country, salutation, fonts; draft and final."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import ROOT, run_cli
from fontTools.ttLib import TTFont
from readback import docx_text, normalise, pdf_fonts, pdf_text

LETTER = "pact-implementation"
# The date line's date of 15 April 2024 in each language's EU style (reference/languages.yaml;
# Slovenian letters put the month in the genitive, Latvian date lines the locative, Polish adds r.).
DATES = {
    "bg": "15 април 2024 г.", "es": "15 de abril de 2024", "cs": "15. dubna 2024",
    "da": "15. april 2024", "de": "15. April 2024", "et": "15. aprill 2024",
    "el": "15 Απριλίου 2024", "en": "15 April 2024", "fr": "15 avril 2024",
    "ga": "15 Aibreán 2024", "hr": "15. travnja 2024.", "it": "15 aprile 2024",
    "lv": "2024. gada 15. aprīlī", "lt": "2024 m. balandžio 15 d.", "hu": "2024. április 15.",
    "mt": "15 ta’ April 2024", "nl": "15 april 2024", "pl": "15 kwietnia 2024 r.",
    "pt": "15 de abril de 2024", "ro": "15 aprilie 2024", "sk": "15. apríla 2024",
    "sl": "15. aprila 2024", "fi": "15. huhtikuuta 2024", "sv": "15 april 2024",
}
LOCALES = {"en": "en_IE", "pt": "pt_PT", "el": "el_GR", "ga": "ga_IE"}
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")


def frame_string(language: str, context: str) -> str:
    """Return the frame catalog's text for ``context`` in ``language`` (the source for en)."""
    if language == "en":
        po = ROOT / "letter_templates/_frame/locale/messages.pot"
    else:
        po = ROOT / f"letter_templates/_frame/locale/{language}.po"
    with open(po, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.context == context:
            return str(message.string or message.id)
    raise AssertionError(context)


def body_string(language: str, start: str) -> str:
    """Return the letter catalog's translation of the message starting with ``start``."""
    po = ROOT / f"letter_templates/{LETTER}/locale/{language}.po"
    if language == "en" or not po.exists():
        return ""
    with open(po, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if isinstance(message.id, str) and message.id.startswith(start):
            return str(message.string or "")
    raise AssertionError(start)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render the letter for a man (AT) and a woman (BE) in all 24 languages, once."""
    out = tmp_path_factory.mktemp("languages")
    code = run_cli(ROOT, "merge", LETTER, "--to", "AT,BE", "--lang", "all", "--parts", "letter",
                   "--out", str(out), "--quiet")
    assert code == 0
    return out


@pytest.fixture(scope="module")
def serif_cmap() -> set[int]:
    covered: set[int] = set()
    for style in ("Regular", "Bold", "Italic", "BoldItalic"):
        font = TTFont(FONT_DIR / f"LiberationSerif-{style}.ttf")
        covered |= set(font.getBestCmap())
    return covered


@pytest.mark.parametrize("language", sorted(DATES))
def test_letter_in_every_language(rendered: Path, serif_cmap: set[int], language: str) -> None:
    for code, gender in (("AT", "male"), ("BE", "female")):
        base = rendered / code / language / f"{LETTER}-{code}-{language}-letter"
        for text in (normalise(pdf_text(base.with_suffix(".pdf"))),
                     normalise(docx_text(base.with_suffix(".docx")))):
            assert normalise(DATES[language]) in text
            # The country named as the frame catalog names it (the ISG's form, not CLDR's).
            country = frame_string(language, f"countries.{code}.of")
            assert normalise(country) in text
            salutation = frame_string(language, f"forms_of_address.ambassador.{gender}.salutation")
            assert normalise(salutation) in text
            if language != "en":
                assert "Dear Ambassador" not in text
            if language != "en":  # the body is translated (at least drafted) in every language
                closing = body_string(language, "I look forward to our continued cooperation")
                assert closing, f"no {language} draft of the letter body"
                assert normalise(closing) in text
                assert "I look forward" not in text and "Commissioner for Home Affairs" not in text
        # Every character is drawn from the embedded Liberation Serif, which has a glyph for it.
        fonts = pdf_fonts(base.with_suffix(".pdf"))
        assert fonts and all(f["embedded"] for f in fonts)
        assert all("Liberation-Serif" in str(f["name"]) for f in fonts), fonts
        pdf = pdf_text(base.with_suffix(".pdf"))
        missing = {ch for ch in pdf if not ch.isspace() and ord(ch) not in serif_cmap}
        assert not missing, missing
        assert "\ufffd" not in pdf


def test_name_order_and_courtesy_title_follow_the_language(rendered: Path) -> None:
    """Hungarian writes the courtesy title after the name ("… úr", "… asszony"); English before it."""
    from pactdocs.compose import Project

    registry = Project(ROOT).registry()
    for code, hu_title, en_title in (("AT", "úr", "Mr"), ("BE", "asszony", "Ms")):
        person = registry.member_states[code].representative
        name = f"{person.first_name} {person.surname}"
        hu = normalise(docx_text(rendered / code / "hu" / f"{LETTER}-{code}-hu-letter.docx"))
        en = normalise(pdf_text(rendered / code / "en" / f"{LETTER}-{code}-en-letter.pdf"))
        assert f"{name} {hu_title}" in hu and f"{en_title} {name}" not in hu
        assert f"{en_title} {name}" in en
    # The heads of the agencies in the c.c. list follow the same order.
    hu_at = normalise(pdf_text(rendered / "AT" / "hu" / f"{LETTER}-AT-hu-letter.pdf"))
    europol = frame_string("hu", "agencies.europol.short_name")
    assert f"Catherine De Bolle asszony ({europol})" in hu_at


def test_auto_language_follows_the_registry(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT,BE,EL,FI", "--parts", "letter",
                   "--format", "docx", "--out", str(out), "--quiet") == 0
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    assert {(d["recipient"], d["language"]) for d in docs} == {
        ("AT", "de"), ("BE", "fr"), ("EL", "el"), ("FI", "fi")}


def test_draft_mark_only_on_unapproved_translations(rendered: Path) -> None:
    en = normalise(pdf_text(rendered / "AT/en" / f"{LETTER}-AT-en-letter.pdf"))
    assert "DRAFT" not in en
    de_pdf = normalise(pdf_text(rendered / "AT/de" / f"{LETTER}-AT-de-letter.pdf"))
    de_docx = normalise(docx_text(rendered / "AT/de" / f"{LETTER}-AT-de-letter.docx"))
    mark = frame_string("de", "labels.draft")
    assert mark in de_pdf and mark in de_docx


def approve(po: Path) -> None:
    """Approve every message, as a translator would: clear fuzzy flags, fill what is empty."""
    import io

    from babel.messages.pofile import write_po

    with open(po, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        message.flags.discard("fuzzy")
        if isinstance(message.id, tuple | list):
            if not all(message.string):
                message.string = tuple(f"(fr) {message.id[1]}" for _ in message.string)
        elif not message.string:
            message.string = f"(fr) {message.id}"
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100)
    po.write_bytes(buffer.getvalue())


def test_final_refuses_unapproved_language_only(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "fr,en", "--final",
                   "--out", str(out), "--quiet")
    assert code == 1
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    fr = [d for d in docs if d["language"] == "fr"]
    en = [d for d in docs if d["language"] == "en"]
    assert fr and all(d["status"] == "failed" and "fr is not final" in d["error"]
                      and re.search(r"[1-9]\d* fuzzy", d["error"]) for d in fr)
    assert en and all(d["status"] == "written" for d in en)
    assert not (out / "AT" / "fr").exists()
    # Once a translator approves both catalogs, --final accepts the language.
    approve(project / "letter_templates/_frame/locale/fr.po")
    approve(project / "letter_templates" / LETTER / "locale/fr.po")
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "fr", "--final",
                   "--out", str(out), "--quiet") == 0
    text = normalise(pdf_text(out / "AT/fr" / f"{LETTER}-AT-fr-letter.pdf"))
    assert "Monsieur l'Ambassadeur," in text
    assert frame_string("fr", "labels.draft") not in text
