"""letter.yaml and templates checked by ``pactdocs check``: each problem one line with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import replace_in, run_cli

from pactdocs.check import check_project
from pactdocs.compose import Project


def problems(project: Path) -> list[str]:
    return [str(p).replace(f"{project}/", "") for p in check_project(Project(project))]


def test_the_sample_project_is_clean(project: Path) -> None:
    assert problems(project) == []


def test_a_date_written_in_words(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / "letter_templates/pact-implementation/letter.yaml",
               'date: "2024-04-15"', "date: 6 May 2024")
    assert problems(project) == [
        "letter_templates/pact-implementation/letter.yaml:7: the letter's date '6 May 2024' is "
        "not a date written YYYY-MM-DD (write the date as e.g. 2024-05-06, in quotes)"]
    assert run_cli(project, "check") == 1
    assert "letter.yaml:7: the letter's date '6 May 2024'" in capsys.readouterr().out
    # A merge field's date too.
    replace_in(project / "letter_templates/pact-implementation/letter.yaml", "date: 6 May 2024",
               'date: "2024-04-15"')
    replace_in(project / "letter_templates/agency-coordination/letter.yaml",
               'deadline: {date: "2024-05-31", role: by}', 'deadline: {date: "31/05/2024", role: by}')
    found = problems(project)
    assert len(found) == 1 and found[0].startswith(
        "letter_templates/agency-coordination/letter.yaml:19: the date of field 'deadline' "
        "'31/05/2024' is not a date written YYYY-MM-DD"), found


def test_a_missing_template(project: Path) -> None:
    replace_in(project / "letter_templates/agency-coordination/letter.yaml",
               "template: annex-1.md", "template: annex-one.md")
    assert problems(project) == [
        "letter_templates/agency-coordination/letter.yaml:24: template 'annex-one.md' not found "
        "in letter_templates/agency-coordination"]


def test_a_jinja_syntax_error(project: Path) -> None:
    replace_in(project / "letter_templates/pact-implementation/annex-1.html.j2", "{%", "{% if %}{%")
    found = problems(project)
    assert len(found) == 1, found
    assert found[0].startswith("letter_templates/pact-implementation/annex-1.html.j2:")
    line = int(found[0].split(":")[1])
    text = (project / "letter_templates/pact-implementation/annex-1.html.j2").read_text("utf-8")
    assert "{% if %}" in text.splitlines()[line - 1]


def test_a_recipient_group_naming_a_form_the_frame_lacks(project: Path) -> None:
    replace_in(project / "recipients/agencies.yaml", "form_of_address: director",
               "form_of_address: chief")
    found = problems(project)
    assert any("the frame has no text 'forms_of_address.chief.male.title', which letter "
               "'agency-coordination' needs" in p for p in found), found
