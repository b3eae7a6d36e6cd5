"""``pactdocs new``: a letter that renders at once, from scratch or from a Word draft."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import replace_in, run_cli
from readback import docx_text, pdf_text, words

NAME = "agency-meeting"


def test_a_new_letter_passes_check_and_merge_with_no_edit(project: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "new", NAME) == 0
    root = project / "letter_templates" / NAME
    assert {p.name for p in root.iterdir()} == {"letter.yaml", "letter.md", "annex-1.md", "locale"}
    assert (root / "locale/messages.pot").is_file() and len(list(root.glob("locale/*.po"))) == 23
    # Every field of letter.yaml has a comment right above it saying what it is.
    lines = (root / "letter.yaml").read_text("utf-8").splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"[a-z_]+:", line)]
    assert {lines[i].split(":")[0] for i in keys} == {
        "subject", "reference", "date", "place", "signatory", "recipients", "cc", "source_language",
        "languages", "fallback_language", "fields", "parts"}
    assert all(lines[i - 1].startswith("# ") for i in keys)
    capsys.readouterr()
    assert run_cli(project, "check") == 0, capsys.readouterr().out
    assert run_cli(project, "merge", NAME, "--to", "AT,IE", "--out", str(tmp_path / "out"), "--quiet") == 0
    text = pdf_text(tmp_path / "out" / f"AT/de/{NAME}-AT-de-letter.pdf")
    assert "Write the first paragraph of your letter here." in text  # English until translated
    assert "Österreich" in text and "2021-2027" in text
    annex = docx_text(tmp_path / "out" / f"IE/en/{NAME}-IE-en-annex-1.docx")
    assert "Title of annex 1" in annex and "Reply to this letter" in annex
    # The messages are in the catalog, untranslated, with the translator's note.
    pot = (root / "locale/messages.pot").read_text("utf-8")
    assert "#. Translators: this first paragraph says why the letter is written" in pot
    assert "please reply by %(reply_by)s." in pot and f"#: {NAME}/annex-1.md:5" in pot


@pytest.mark.parametrize("name", ["pact-implementation", "../elsewhere", "a/b", "_frame", "_mine",
                                  "Big-Letter", "", ".hidden", "x" * 61])
def test_a_taken_or_unsafe_name_is_refused(project: Path, name: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert run_cli(project, "new", name) == 2
    err = capsys.readouterr().err
    assert "already exists" in err if name == "pact-implementation" else "cannot be a letter name" in err
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def make_draft(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Coordination of the agencies", style="Title")
    document.add_heading("Background", level=1)
    p = document.add_paragraph("The Commission ")
    p.add_run("asks").bold = True
    p.add_run(" every agency to ")
    p.add_run("reply in writing").italic = True
    p.add_run(" before the meeting.")
    document.add_paragraph("Text a template would read: {{ deadline }}, {% if x %}, <!-- note -->, "
                           "*stars*, [a link](https://evil.example), 100 % & more.")
    document.add_paragraph("1. This line starts like a numbered list but is a paragraph.")
    document.add_heading("What we ask", level=2)
    document.add_paragraph("send the name of a contact point", style="List Bullet")
    document.add_paragraph("attend the meeting", style="List Bullet")
    document.add_paragraph("Prepare the figures", style="List Number")
    document.add_paragraph("Share them with the Commission", style="List Number")
    # A list made by Word's numbering on a plain paragraph (numPr), not by a list style.
    document.add_paragraph("Between the lists.")
    plain = document.add_paragraph("numbered by numPr alone")
    style_num = document.styles["List Number"].element.pPr.numPr.numId.val
    plain._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = style_num
    table = document.add_table(rows=3, cols=2)
    for row, cells in enumerate([("Agency", "Topic"), ("Frontex", "Borders | returns"),
                                 ("EUAA", "Asylum")]):
        for col, text in enumerate(cells):
            table.cell(row, col).text = text
    document.add_paragraph("Article\u00a012 applies\tfrom now on.")
    document.add_paragraph("We thank you in advance.")
    document.save(str(path))


def content(text: str) -> list[str]:
    """Return the words of ``text`` that carry letters or digits (list bullets dropped)."""
    return [w for w in words(text) if re.search(r"\w", w)]


def contains(sequence: list[str], part: list[str]) -> bool:
    """Return whether ``part`` is in ``sequence`` word for word (the PDF may break a URL)."""
    return "".join(part) in "".join(sequence)


def test_a_word_draft_becomes_the_body_with_the_same_text(project: Path, tmp_path: Path) -> None:
    draft = tmp_path / "draft.docx"
    make_draft(draft)
    assert run_cli(project, "new", NAME, "--from", str(draft)) == 0
    body = (project / "letter_templates" / NAME / "letter.md").read_text("utf-8")
    assert "# Coordination of the agencies" in body and "## What we ask" in body
    assert "**asks**" in body and "*reply in writing*" in body
    assert "- attend the meeting" in body and "2. Share them with the Commission" in body
    assert "1. numbered by numPr alone" in body
    assert "Article\u00a012 applies from now on." in body
    assert "| Frontex | Borders \\| returns |" in body
    assert "{{" not in body and "{%" not in body and "<!--" not in body
    assert not re.search(r"(?<!\\)\]\(", body)
    assert run_cli(project, "check") == 0
    out = tmp_path / "out"
    assert run_cli(project, "merge", NAME, "--to", "IE", "--parts", "letter", "--out", str(out),
                   "--quiet") == 0
    expected = content(docx_text(draft))
    assert len(expected) > 60
    for suffix, read in ((".pdf", pdf_text), (".docx", docx_text)):
        rendered = content(read(out / f"IE/en/{NAME}-IE-en-letter{suffix}"))
        assert contains(rendered, expected), (suffix, rendered)
    import docx

    rendered_doc = docx.Document(str(out / f"IE/en/{NAME}-IE-en-letter.docx"))
    runs = [r for p in rendered_doc.paragraphs for r in p.runs]
    assert any(r.text == "asks" and r.bold for r in runs)
    assert any(r.text == "reply in writing" and r.italic for r in runs)
    assert len(rendered_doc.tables) == 1 and rendered_doc.tables[0].cell(1, 1).text == "Borders | returns"


def test_a_file_that_is_not_a_word_document_is_refused(project: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.docx"
    draft.write_text("plain text, not a .docx", "utf-8")
    assert run_cli(project, "new", NAME, "--from", str(draft)) == 2
    assert "not a Word document (.docx)" in capsys.readouterr().err
    assert not (project / "letter_templates" / NAME).exists()


def test_a_draft_with_tracked_changes_is_refused(project: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    paragraph = document.add_paragraph("Kept text. ")
    inserted = OxmlElement("w:ins")
    inserted.set(qn("w:id"), "1")
    inserted.set(qn("w:author"), "Reviewer")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "A sentence nobody accepted."
    run.append(text)
    inserted.append(run)
    paragraph._p.append(inserted)
    document.save(str(tmp_path / "draft.docx"))
    assert run_cli(project, "new", NAME, "--from", str(tmp_path / "draft.docx")) == 2
    assert "the draft has tracked changes" in capsys.readouterr().err
    assert not (project / "letter_templates" / NAME).exists()


@pytest.mark.parametrize(("old", "new", "file", "line", "message"), [
    ("please reply by {{ reply_by }}.", "please reply by {{ reply_date }}.", "letter.md", 4,
     r"unknown merge field 'reply_date' \(did you mean 'reply_by'\?\)"),
    ("please reply by {{ reply_by }}.", "please reply by {{ reply_by.", "letter.md", 4,
     r"a merge field is not closed"),
    ("| First meeting | to be announced |", "| First meeting |", "annex-1.md", 8,
     r"this table row has 1 cell\(s\), the header 2"),
])
def test_author_slips_in_a_new_letter_are_named(project: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str], old: str, new: str,
                                                file: str, line: int, message: str) -> None:
    assert run_cli(project, "new", NAME) == 0
    replace_in(project / "letter_templates" / NAME / file, old, new)
    capsys.readouterr()
    assert run_cli(project, "check") == 1
    assert re.search(rf"{NAME}/{file}:{line}: {message}", capsys.readouterr().out)
    assert run_cli(project, "merge", NAME, "--to", "AT", "--out", str(tmp_path / "out"), "--quiet") == 2
    assert re.search(rf"{NAME}/{file}:{line}: {message}", capsys.readouterr().err)
