"""Letters written in Markdown: every block a message, merge fields as placeholders, slips named."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, replace_in, run_cli
from readback import docx_text, pdf_text, words

LETTER = "pact-implementation"
FIXTURES = ROOT / "tests" / "fixtures" / "markdown"
FIELDS = """fields:
  commissioner_letter: {date: "2024-03-15", role: "on"}
  conference: {date: "2024-04-29", role: "on"}
  deadline: {date: "2024-04-29", role: by}
  period: "2021-2027"
"""


def markdown_twin(project: Path) -> Path:
    """Turn the sample letter's body and annex 2 into their Markdown twins."""
    root = project / "letter_templates" / LETTER
    for name in ("letter.md", "annex-2.md"):
        shutil.copy(FIXTURES / name, root / name)
    replace_in(root / "letter.yaml", "template: letter.html.j2", "template: letter.md")
    replace_in(root / "letter.yaml", "template: annex-2.html.j2", "template: annex-2.md")
    (root / "letter.yaml").write_text((root / "letter.yaml").read_text("utf-8") + FIELDS, "utf-8")
    return root


def render(project: Path, out: Path, *args: str) -> int:
    return run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--parts", "letter,annex-2",
                   "--out", str(out), "--quiet", *args)


def test_markdown_renders_the_same_text_as_its_html_twin(project: Path, tmp_path: Path) -> None:
    assert render(project, tmp_path / "html") == 0
    markdown_twin(project)
    assert render(project, tmp_path / "md") == 0
    for part in ("letter", "annex-2"):
        for suffix, read in ((".pdf", pdf_text), (".docx", docx_text)):
            name = f"AT/en/{LETTER}-AT-en-{part}{suffix}"
            twin = Counter(words(read(tmp_path / "md" / name)))
            html = Counter(words(read(tmp_path / "html" / name)))
            assert twin and twin == html, (part, suffix, twin - html, html - twin)


def test_messages_placeholders_and_notes_reach_the_catalog(project: Path) -> None:
    markdown_twin(project)
    assert run_cli(project, "i18n", "extract") == 0
    pot = (project / "letter_templates" / LETTER / "locale/messages.pot").read_text("utf-8")
    assert "#. Translators: the Commissioner for Home Affairs who wrote on 15 March 2024 is a woman" in pot
    assert re.search(r'#: pact-implementation/letter\.md:2\n#, python-format\nmsgid ""\n"On '
                     r'%\(commissioner_letter\)s the Commissioner', pot), pot[:3000]
    from pactdocs.locale.catalogs import read_template

    msgids = [m for _c, m, _p, _l in read_template(project / "letter_templates" / LETTER /
                                                    "locale/messages.pot")]
    assert any(m.endswith("given in Annex 2, by %(deadline)s.") for m in msgids)
    assert any(m.endswith("Multiannual Financial Framework %(period)s.") for m in msgids)
    # Each table header cell is a message; cells holding only a field are data.
    assert "Senior contact point" in msgids and "state.name" not in pot and "%(state_" not in pot
    assert run_cli(project, "i18n", "update") == 0
    # The old translations come back as fuzzy suggestions; their %(date)s no longer fits, and
    # check says so where the translator must look.
    assert run_cli(project, "check") == 1


def test_a_changed_paragraph_becomes_fuzzy_in_every_language(project: Path) -> None:
    from pactdocs.locale.catalogs import load_catalog
    from pactdocs.sources.languages import OFFICIAL

    root = markdown_twin(project)
    assert run_cli(project, "i18n", "extract") == 0 and run_cli(project, "i18n", "update") == 0
    old = "I look forward to our continued cooperation on this important work."
    for language in OFFICIAL:
        if language == "en":
            continue
        po = root / "locale" / f"{language}.po"
        text = po.read_text("utf-8")
        text, n = re.subn(rf'(?:#, fuzzy\n)?(msgid "{re.escape(old)}"\n)msgstr "[^"]*"',
                          rf'\1msgstr "approved {language}"', text)
        assert n == 1, language
        po.write_text(text, "utf-8")
    replace_in(root / "letter.md", old, "I look forward to our continued close cooperation on this work.")
    assert run_cli(project, "i18n", "extract") == 0 and run_cli(project, "i18n", "update") == 0
    new = "I look forward to our continued close cooperation on this work."
    for language in OFFICIAL:
        if language == "en":
            continue
        entry = load_catalog(root / "locale" / f"{language}.po", language).get(None, new)
        assert entry is not None and entry.fuzzy and entry.strings == (f"approved {language}",), language


@pytest.mark.parametrize(("slip", "line", "message"), [
    ("by {{ deadlin }}.", 8, r"unknown merge field 'deadlin' \(did you mean 'deadline'\?\)"),
    ("by {{ deadline.", 8, r"a merge field is not closed"),
    ("by {{ recipient.nmae }}.", 8,
     r"unknown merge field 'recipient.nmae' \(did you mean 'recipient.name'\?\)"),
])
def test_author_slips_are_named_with_file_and_line(project: Path, capsys: pytest.CaptureFixture[str],
                                                   slip: str, line: int, message: str) -> None:
    root = markdown_twin(project)
    replace_in(root / "letter.md", "by {{ deadline }}.", slip)
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    assert re.search(rf"pact-implementation/letter\.md:{line}: {message}", out), out
    assert render(project, project / "out") == 2


def test_a_table_row_with_a_missing_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = markdown_twin(project)
    replace_in(root / "annex-2.md", "| {{ state.name }} | {{ state.contact }} | {{ state.mailbox }} |",
               "| {{ state.name }} | {{ state.contact }} |")
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    assert re.search(r"pact-implementation/annex-2\.md:6: this table row has 2 cell\(s\), the header 3",
                     out), out


def test_data_cannot_become_markdown(project: Path, tmp_path: Path) -> None:
    """A registry value with Markdown syntax is printed as it is, never turned into a link."""
    markdown_twin(project)
    replace_in(project / "recipients/contacts.yaml", "first_name: Sabine",
               'first_name: "*Sabine* [x](https://evil.example)"')
    assert render(project, tmp_path / "out", "--format", "docx") == 0
    text = docx_text(tmp_path / "out" / f"AT/en/{LETTER}-AT-en-annex-2.docx").replace("\u00a0", " ")
    assert "*Sabine* [x](https://evil.example)" in text
    import zipfile

    with zipfile.ZipFile(tmp_path / "out" / f"AT/en/{LETTER}-AT-en-annex-2.docx") as package:
        assert "evil.example" not in package.read("word/_rels/document.xml.rels").decode()
