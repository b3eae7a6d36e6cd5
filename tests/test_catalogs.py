"""Catalog checks: each translator mistake makes `pactdocs check` fail with file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_cli

LETTER_PO = "letter_templates/pact-implementation/locale/{}.po"
FRAME_PO = "letter_templates/_frame/locale/{}.po"


def set_msgstr(po: Path, msgid_start: str, new: str) -> int:
    """Replace the translation of a message; return the line of its msgid."""
    lines = po.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("msgid") and msgid_start in line:
            j = i
            while not lines[j].startswith("msgstr"):
                j += 1
            k = j + 1
            while k < len(lines) and lines[k].startswith('"'):
                k += 1
            lines[j:k] = [f'msgstr "{new}"']
            po.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return i + 1
    raise AssertionError(msgid_start)


def problems(capsys: pytest.CaptureFixture[str], project: Path) -> str:
    assert run_cli(project, "check") == 1
    return capsys.readouterr().out


def test_clean_project_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "check") == 0, capsys.readouterr().out


def test_wrong_placeholder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / FRAME_PO.format("de")
    set_msgstr(po, '"%(place)s, %(date)s"', "%(ort)s, %(date)s")
    out = problems(capsys, project)
    m = re.search(r"_frame/locale/de\.po:(\d+): placeholders differ", out)
    assert m, out
    # The line named is the translation's own line, as msgfmt --check names it.
    assert po.read_text(encoding="utf-8").splitlines()[int(m.group(1)) - 1].startswith("msgstr")


def test_injected_markup(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("fr")
    line = set_msgstr(po, "Rethinking reception", '<img src=\\"http://x.example/t.png\\">Repenser')
    out = problems(capsys, project)
    assert f"pact-implementation/locale/fr.po:{line + 1}: translation adds markup" in out, out


def test_malformed_po(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("it")
    lines = po.read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if line.startswith("msgid") and "Rethinking" in line)
    lines[target] = 'msgid "Rethinking reception'  # unterminated string
    po.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = problems(capsys, project)
    assert f"pact-implementation/locale/it.po:{target + 1}: malformed string after msgid" in out, out


def test_duplicate_entry(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("nl")
    text = po.read_text(encoding="utf-8")
    block = re.search(r'\n(msgid "Rethinking reception"\nmsgstr "[^"]*"\n)', text)
    assert block
    po.write_text(text + "\n" + block.group(1), encoding="utf-8")
    out = problems(capsys, project)
    assert "pact-implementation/locale/nl.po:" in out and "duplicate message" in out, out


def test_wrong_plural_forms(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("pl")
    text = po.read_text(encoding="utf-8")
    entry = re.search(r'msgid_plural ""\n(?:"[^\n]*"\n)+((?:msgstr\[\d\] "[^\n]*"\n(?:"[^\n]*"\n)*)+)', text)
    assert entry
    two_forms = 'msgstr[0] "Tabela dla %(count)s państwa."\nmsgstr[1] "Tabela dla %(count)s państw."\n'
    po.write_text(text.replace(entry.group(1), two_forms), encoding="utf-8")
    out = problems(capsys, project)
    assert re.search(r"pact-implementation/locale/pl\.po:\d+: nplurals=3, but the message on line \d+ has 2 "
                     r"plural form", out), out


def test_outdated_template_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = project / "letter_templates" / "pact-implementation" / "letter.html.j2"
    body.write_text(body.read_text(encoding="utf-8") + "<p>{% trans %}A new sentence.{% endtrans %}</p>\n",
                    encoding="utf-8")
    out = problems(capsys, project)
    assert "messages.pot:1: catalog template is out of step" in out


def test_status_table_and_fail_under(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pot = project / "letter_templates/pact-implementation/locale/messages.pot"
    total = pot.read_text("utf-8").count("\nmsgid ") - 1
    assert run_cli(project, "i18n", "status") == 0
    table = capsys.readouterr().out
    assert re.search(rf"pact-implementation\s+en\s+{total}\s+0\s+0\s+100%", table), table
    row = re.search(r"pact-implementation\s+de\s+(\d+)\s+(\d+)\s+(\d+)", table)
    assert row and sum(int(n) for n in row.groups()) == total
    # An approved translation (no fuzzy flag) counts as translated.
    po = project / LETTER_PO.format("de")
    text = po.read_text("utf-8")
    text = re.sub(r'(?:#, fuzzy\n)?(msgid "Rethinking reception"\n)msgstr "[^"]*"',
                  r'\1msgstr "Die Aufnahme neu denken"', text)
    po.write_text(text, "utf-8")
    assert run_cli(project, "i18n", "status", "--lang", "de") == 0
    after = re.search(r"pact-implementation\s+de\s+(\d+)", capsys.readouterr().out)
    assert after and int(after.group(1)) == int(row.group(1)) + 1
    assert run_cli(project, "i18n", "status", "--fail-under", "100") == 1
    assert run_cli(project, "i18n", "status", "--lang", "en", "--fail-under", "100") == 0


def test_extract_update_compile_round(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = project / "letter_templates" / "pact-implementation" / "letter.html.j2"
    body.write_text(body.read_text(encoding="utf-8") + "<p>{% trans %}One more line.{% endtrans %}</p>\n",
                    encoding="utf-8")
    assert run_cli(project, "i18n", "extract") == 0
    pot = (project / "letter_templates/pact-implementation/locale/messages.pot").read_text("utf-8")
    assert 'msgid "One more line."' in pot
    assert run_cli(project, "i18n", "update", "--lang", "de") == 0
    de = (project / LETTER_PO.format("de")).read_text("utf-8")
    assert 'msgid "One more line."\nmsgstr ""' in de
    assert run_cli(project, "check") == 0
    assert run_cli(project, "i18n", "compile", "--lang", "de", "--out", str(project / "mo")) == 0
    import gettext

    with open(project / "mo/de/LC_MESSAGES/pact-implementation.mo", "rb") as handle:
        translations = gettext.GNUTranslations(handle)
    # Compiled catalogs hold approved translations only; fuzzy ones stay out.
    assert translations.gettext("Rethinking reception") == "Rethinking reception"


def test_repeated_placeholder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("fr")
    text = po.read_text("utf-8")
    start = text.index('"L\'annexe 1 présente')
    end = text.index("%(date)s", start)
    po.write_text(text[:end] + "%(date)s, %(date)s" + text[end + len("%(date)s"):], "utf-8")
    out = problems(capsys, project)
    assert re.search(r"locale/fr\.po:\d+: placeholder 'date' appears 2 times", out), out
