"""Bilingual review documents: every segment, in document order, source beside target, status marked;
read back from HTML, PDF and DOCX."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import run_cli
from docx import Document as open_docx
from docx.oxml.ns import qn
from lxml import html as lxml_html
from readback import normalise, pdf_fonts, pdf_text

from pactdocs.compose import Composer, Project
from pactdocs.translation.review import COLOURS, LABELS

LETTER = "pact-implementation"
PARTS = ("letter", "annex-1", "annex-2")


def expected_rows(project: Path, language: str, part_id: str, recipient: str) -> list[tuple[str, str, str]]:
    """Return (source, target, status) per distinct segment, composed independently of the review."""
    p = Project(project)
    letter = p.letter(LETTER)
    composer = Composer(p, letter, p.registry())
    part = next(x for x in letter.parts if x.id == part_id)
    who = recipient if part.per_recipient else None
    source = list(composer.compose(part, who, "en").segments)
    target = list(composer.compose(part, who, language).segments)
    rows, seen = [], set()
    for segment in target:
        key = (segment.catalog, segment.context, segment.msgid, segment.target)
        if key in seen:
            continue
        seen.add(key)
        # The draft mark is the one message only an unfinished translation uses.
        match = next((s for s in source if (s.catalog, s.context, s.msgid) == key[:3]), None)
        if match is not None:
            source.remove(match)
        rows.append((match.target if match else segment.source, segment.target, segment.status))
    return rows


def catalog(project: Path, owner: str, language: str) -> dict[tuple[str | None, str], object]:
    with open(project / "letter_templates" / owner / "locale" / f"{language}.po", "rb") as handle:
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(handle)
                if m.id}


@pytest.mark.parametrize("language", ["fr", "el", "bg"])
def test_review_documents_hold_every_segment_in_order(project: Path, tmp_path: Path,
                                                     language: str) -> None:
    out = tmp_path / "review"
    assert run_cli(project, "review", LETTER, "--lang", language, "--to", "AT", "--out", str(out)) == 0
    letter_po = catalog(project, LETTER, language)
    for part in PARTS:
        rows = expected_rows(project, language, part, "AT")
        assert len(rows) > 5
        stem = out / f"{LETTER}-{part}-{language}-review"

        # HTML: one table row per segment, cells equal to the composed texts, status word and class.
        page = lxml_html.fromstring((stem.with_suffix(".html")).read_bytes())
        html_rows = page.xpath("//table[@class='review']/tbody/tr")
        assert len(html_rows) == len(rows)
        for tr, (source, target, status) in zip(html_rows, rows, strict=True):
            cells = tr.xpath("./td")
            assert normalise(cells[1].text_content()) == normalise(source)
            assert normalise(cells[2].text_content()) == normalise(target)
            assert cells[3].text_content().startswith(LABELS[status])
            assert tr.get("class") == status

        # DOCX: a Word table with the same rows, the status cell shaded in the status colour.
        doc = open_docx(io.BytesIO(stem.with_suffix(".docx").read_bytes()))
        table = doc.tables[0]
        assert [c.text for c in table.rows[0].cells][1:3] == ["en", f"{language} " + re.search(
            r"\(.*\)", table.rows[0].cells[2].text).group(0)]
        assert len(table.rows) == len(rows) + 1
        for row, (source, target, status) in zip(table.rows[1:], rows, strict=True):
            assert row.cells[1].text == source and row.cells[2].text == target
            assert row.cells[3].paragraphs[0].text == LABELS[status]
            fill = row.cells[3]._tc.tcPr.find(qn("w:shd")).get(qn("w:fill"))
            assert fill == COLOURS[status]
        counts = {s: sum(1 for r in rows if r[2] == s) for s in ("translated", "fuzzy", "untranslated")}
        summary = (f"{len(rows)} segments: {counts['translated']} translated, {counts['fuzzy']} fuzzy, "
                   f"{counts['untranslated']} untranslated")
        assert summary in [p.text for p in doc.paragraphs]

        # PDF: the summary, then every target text in document order; fonts embedded.
        pdf = stem.with_suffix(".pdf").read_bytes()
        text = normalise(pdf_text(pdf))
        assert summary in text
        position = 0
        for _source, target, _status in rows:
            start = " ".join(normalise(target).split()[:3])
            found = text.find(start, position)
            assert found >= 0, (part, start)
            position = found
        assert all(f["embedded"] for f in pdf_fonts(pdf))

        # The body's translations are the catalog's own strings (no placeholders to fill here).
        body = [r for r in rows if (None, r[0]) in letter_po and "%" not in r[0]]
        assert body
        for source, target, status in body:
            string = letter_po[(None, source)].string  # type: ignore[attr-defined]
            # An untranslated message shows the source text in the target column, marked so.
            assert target == (string or source)
            assert (status == "untranslated") == (not string)
    assert language in {"fr", "el", "bg"}


def test_review_follows_approval_and_recipient(project: Path, tmp_path: Path) -> None:
    # A translator approves one entry directly in the .po file.
    from pactdocs.locale.catalogs import read_catalog_file, write_catalog

    po = project / "letter_templates" / LETTER / "locale" / "el.po"
    babel = read_catalog_file(po)
    message = babel.get("Rethinking reception")
    message.string = "Η υποδοχή σε νέα βάση"
    message.flags.discard("fuzzy")
    assert write_catalog(babel, po)
    out = tmp_path / "r"
    assert run_cli(project, "review", LETTER, "--lang", "el", "--to", "BE", "--parts", "annex-1,letter",
                   "--format", "html", "--out", str(out)) == 0
    page = lxml_html.fromstring((out / f"{LETTER}-annex-1-el-review.html").read_bytes())
    row = next(tr for tr in page.xpath("//table[@class='review']/tbody/tr")
               if tr.xpath("./td")[1].text_content() == "Rethinking reception")
    assert row.get("class") == "translated"
    assert row.xpath("./td")[2].text_content() == "Η υποδοχή σε νέα βάση"
    letter = (out / f"{LETTER}-letter-el-review.html").read_text("utf-8")
    assert "Βέλγιο" in letter or "Βελγίου" in letter  # Belgium's values fill the placeholders
    assert not (out / f"{LETTER}-annex-2-el-review.html").exists()


def test_review_refuses_bad_arguments(project: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path = tmp_path / "out"
    assert run_cli(project, "review", LETTER, "--lang", "en", "--out", str(tmp_path)) == 2
    assert "source language" in capsys.readouterr().err
    assert run_cli(project, "review", LETTER, "--lang", "fr", "--to", "XX", "--out", str(tmp_path)) == 2
    assert "unknown recipient 'XX'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse names the choices, exit 2
        run_cli(project, "review", LETTER, "--lang", "fr", "--format", "odt",
                "--out", str(tmp_path))
    assert refused.value.code == 2 and "choose from" in capsys.readouterr().err
    assert not tmp_path.exists()


def test_review_of_a_letter_to_agency_heads_and_people(project: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A letter to the agency heads is reviewed with one of them: by default the first head who
    reads the language (the EMCDDA's in French), or any recipient of the registries (--to)."""
    out = tmp_path / "r"
    assert run_cli(project, "review", "agency-coordination", "--lang", "fr", "--parts", "letter",
                   "--format", "html", "--out", str(out)) == 0
    page = (out / "agency-coordination-letter-fr-review.html").read_text("utf-8")
    assert "Monsieur le Directeur," in page and "Goosdeel" in page
    assert run_cli(project, "review", "agency-coordination", "--lang", "de", "--to",
                   "de-bamf-sample", "--parts", "letter", "--format", "html", "--out",
                   str(out)) == 0
    page = (out / "agency-coordination-letter-de-review.html").read_text("utf-8")
    assert "Berger" in page and "Frau Dr." in page
    assert run_cli(project, "review", "agency-coordination", "--lang", "de", "--to", "europl",
                   "--out", str(out)) == 2
    assert "did you mean 'europol'" in capsys.readouterr().err.lower()
