"""Plural forms follow the catalog's own Plural-Forms, and `pactdocs check` finds all msgfmt finds."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, replace_in, run_cli

from pactdocs.compose import Composer, Project
from pactdocs.locale.catalogs import cldr_plural_rule

FRAME_PO = "letter_templates/_frame/locale/{}.po"
LETTER_PO = "letter_templates/pact-implementation/locale/{}.po"
NUMBERS = (1, 2, 5, 21, 27)
# Latvian as GNU gettext's own tables write it: 1, 21 → form 0; 2, 5, 27 → form 1; 0 → form 2.
# CLDR 48 and later order the forms differently (0 → form 0, 1 and 21 → form 1, the rest → 2).
GNU_LV = "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2);"
GNU_LV_FORMS = {1: 0, 2: 1, 5: 1, 21: 0, 27: 1}

MSGFMT = shutil.which("msgfmt")
needs_msgfmt = pytest.mark.skipif(MSGFMT is None, reason="GNU gettext (msgfmt) is not installed")


def set_plural_header(po: Path, value: str) -> None:
    text = po.read_text("utf-8")
    # The header line may be wrapped over several strings.
    text, count = re.subn(r'"Plural-Forms: .*?\\n"\n', f'"Plural-Forms: {value}\\\\n"\n', text, flags=re.S)
    assert count == 1
    po.write_text(text, "utf-8")


def set_enclosure_forms(po: Path, forms: list[str]) -> None:
    text = po.read_text("utf-8")
    block = "".join(f'msgstr[{i}] "{form}"\n' for i, form in enumerate(forms))
    text, count = re.subn(r'(msgid_plural "Enclosures:"\n)(?:msgstr\[\d\] "[^\n]*"\n)+', r"\g<1>" + block,
                          text)
    assert count == 1
    po.write_text(text, "utf-8")


def test_the_header_not_the_installed_cldr_chooses_the_form(project: Path, tmp_path: Path) -> None:
    po = project / FRAME_PO.format("lv")
    set_plural_header(po, GNU_LV)
    set_enclosure_forms(po, ["FORM0:", "FORM1:", "FORM2:"])
    cldr = cldr_plural_rule("lv")
    assert any(cldr.index(n) != GNU_LV_FORMS[n] for n in NUMBERS), "pick a rule CLDR disagrees with"
    proj = Project(project)
    composer = Composer(proj, proj.letter("pact-implementation"), proj.registry())
    composer._language = "lv"
    rendered = {n: composer.frame_text("labels.enclosure", count=n) for n in NUMBERS}
    assert rendered == {n: f"FORM{GNU_LV_FORMS[n]}:" for n in NUMBERS}
    # GNU gettext itself, through a catalog msgfmt compiled, picks the same forms.
    if MSGFMT:
        mo = tmp_path / "lv.mo"
        subprocess.run([MSGFMT, "--use-fuzzy", "-o", str(mo), str(po)], check=True)
        with mo.open("rb") as handle:
            gnu = gettext.GNUTranslations(handle)
        for n in NUMBERS:
            assert gnu.npgettext("labels.enclosure", "Enclosure:", "Enclosures:", n) == rendered[n]


def test_a_whole_letter_follows_its_catalog(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Latvian, one enclosure: the singular, whichever rule the installed Babel has."""
    letter = project / "letter_templates/pact-implementation/letter.yaml"
    text = letter.read_text("utf-8")
    # Keep annex 1 only, so the letter has one enclosure.
    start = text.index("  - id: annex-2")
    end = text.find("\n  - id:", start + 1)
    letter.write_text(text[:start] + (text[end + 1:] if end > 0 else ""), "utf-8")
    set_plural_header(project / FRAME_PO.format("lv"), GNU_LV)
    set_enclosure_forms(project / FRAME_PO.format("lv"), ["Pielikums:", "Pielikumi:", "Pielikumi:"])
    out = project / "out"
    assert run_cli(project, "merge", "pact-implementation", "--to", "LV", "--parts", "letter",
                   "--format", "html", "--out", str(out)) == 0, capsys.readouterr()
    html = next(out.rglob("*letter.html")).read_text("utf-8")
    assert "Pielikums:" in html and "Pielikumi:" not in html


def test_cldr_difference_is_a_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("fr")
    set_plural_header(po, "nplurals=2; plural=(n > 1);")
    text = po.read_text("utf-8")
    text, count = re.subn(r'\nmsgstr\[2\] ""\n(?:"[^\n]*"\n)+', "\n", text)
    assert count == 1
    po.write_text(text, "utf-8")
    frame = project / FRAME_PO.format("fr")
    set_plural_header(frame, "nplurals=2; plural=(n > 1);")
    set_enclosure_forms(frame, ["Pièce jointe :", "Pièces jointes :"])
    assert run_cli(project, "check") == 0
    out = capsys.readouterr().out
    assert re.search(r"locale/fr\.po:\d+: warning: Plural-Forms differs from CLDR \d+ for fr "
                     r"\(n = 2 takes form 1 here, form 2 in CLDR\)", out), out
    assert "nplurals=3" in out  # the hint gives CLDR's rule


def test_a_form_without_the_count_for_many_numbers(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Hungarian 'for the Member State concerned' above a 27-row table is refused."""
    po = project / LETTER_PO.format("hu")
    replace_in(po, '"Az alábbi táblázat mind a %(count)s tagállam tekintetében',
               '"Az alábbi táblázat az érintett tagállam tekintetében')
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    m = re.search(r"locale/hu\.po:(\d+): placeholders differ .*%\(count\)s of the source is missing from "
                  r"msgstr\[1\] \(this form is chosen for n = 0, 2, 3, 4, …\)", out)
    assert m, out
    assert po.read_text("utf-8").splitlines()[int(m.group(1)) - 1].startswith("msgstr[1]")


# --- parity with GNU msgfmt --check -------------------------------------------------------------

def _entry_text(text: str, msgid_start: str) -> tuple[int, int]:
    """Return the [start, end) character span of the entry whose msgid starts so."""
    start = text.index(msgid_start)
    start = text.rfind("\n\n", 0, start) + 2
    end = text.find("\n\n", start)
    return start, end if end > 0 else len(text)


def _break(text: str, how: str) -> str:
    s, e = _entry_text(text, 'msgid ""\n"The table below gives')
    plural_entry = text[s:e]
    if how == "missing msgstr[1]":
        cut = plural_entry.index("msgstr[1]")
        return text[:s] + plural_entry[:cut].rstrip("\n") + text[e:]
    if how == "garbage plural=":
        return re.sub(r"plural=\(n != 1\);", "plural=(n !=! 1 +);", text, count=1)
    if how == "plural= beyond nplurals":
        return re.sub(r"plural=\(n != 1\);", "plural=(n > 1 ? 2 : 0);", text, count=1)
    if how == "no Plural-Forms":
        return re.sub(r'"Plural-Forms: .*?\\n"\n', "", text, count=1, flags=re.S)
    if how == "gap in msgstr[n]":
        return text[:s] + plural_entry.replace("msgstr[1]", "msgstr[2]") + text[e:]
    if how == "a lone %":
        return text.replace("zum %(date)s an die", "zum %(date)s zu 100% an die", 1)
    if how == "%(date)d for %(date)s":
        return text.replace("zum %(date)s an die", "zum %(date)d an die", 1)
    if how == "a dropped placeholder":
        return text.replace("zum %(date)s an die", "bald an die", 1)
    if how == "an added placeholder":
        return text.replace("zum %(date)s an die", "zum %(date)s in %(place)s an die", 1)
    if how == "duplicate of a wrapped msgid":
        return text + "\n" + plural_entry + "\n"
    if how == "invalid UTF-8":
        return text  # made on the bytes below
    raise AssertionError(how)


BREAKS = ["missing msgstr[1]", "garbage plural=", "plural= beyond nplurals", "no Plural-Forms",
          "gap in msgstr[n]", "a lone %", "%(date)d for %(date)s", "a dropped placeholder",
          "an added placeholder", "duplicate of a wrapped msgid", "invalid UTF-8"]


def msgfmt_errors(po: Path) -> list[set[int]]:
    """Return msgfmt --check's fatal errors on ``po``, each as the set of lines it names."""
    proc = subprocess.run([MSGFMT, "--check", "--use-fuzzy", "-o", "/dev/null", str(po)],
                          capture_output=True, text=True)
    groups: list[set[int]] = []
    for line in proc.stderr.splitlines():
        m = re.match(rf"{re.escape(str(po))}:(\d+)(?::\d+)?: (.*)$", line)
        if not m or m.group(2).startswith("warning:"):
            continue
        if m.group(2).startswith("...") and groups:
            groups[-1].add(int(m.group(1)))
        else:
            groups.append({int(m.group(1))})
    assert (proc.returncode != 0) == bool(groups), proc.stderr
    return groups


@needs_msgfmt
def test_the_project_catalogs_pass_msgfmt() -> None:
    for po in sorted((ROOT / "letter_templates").glob("*/locale/*.po")):
        assert msgfmt_errors(po) == [], po


@needs_msgfmt
@pytest.mark.parametrize("how", BREAKS)
def test_check_reports_what_msgfmt_reports(how: str, project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    po = project / LETTER_PO.format("de")
    data = _break(po.read_text("utf-8"), how).encode("utf-8")
    if how == "invalid UTF-8":
        data = data.replace("Länderteams".encode(), b"L\xe4nderteams", 1)
    po.write_bytes(data)
    expected = msgfmt_errors(po)
    assert expected, f"msgfmt finds nothing wrong with {how}"
    assert run_cli(project, "check") == 1
    out = capsys.readouterr().out
    shown = str(po.relative_to(Path.cwd())) if po.is_relative_to(Path.cwd()) else str(po)
    found = {int(m.group(1)) for m in re.finditer(rf"^{re.escape(shown)}:(\d+): (?!warning)", out, re.M)}
    for lines in expected:
        assert lines & found, f"{how}: msgfmt names line(s) {sorted(lines)}, pactdocs {sorted(found)}\n{out}"
