"""OmegaT (Debian's 3.6) in console mode on the project folder pactdocs writes for it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import only_first_letter, run_cli
from lxml import etree

from pactdocs.locale.pofile import read_po
from pactdocs.translation.xliff import NS, flatten_inline, omegat_text


@pytest.fixture
def project(project: Path) -> Path:
    """A copy of the project with the first sample letter only (see conftest.only_first_letter)."""
    return only_first_letter(project)

pytestmark = pytest.mark.skipif(shutil.which("omegat") is None,
                                reason="OmegaT is not installed (the set-up installs Debian's omegat)")

LETTER = "pact-implementation"
X = {"x": NS}
MALE = "forms_of_address.ambassador.male.salutation"
FEMALE = "forms_of_address.ambassador.female.salutation"


def omegat(folder: Path, mode: str, *extra: str) -> None:
    done = subprocess.run(["omegat", str(folder), f"--mode={mode}", "--disable-project-locking",
                           "--quiet", *extra], capture_output=True, text=True, timeout=240,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(folder.parent)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def units(path: Path) -> list[etree._Element]:
    return list(etree.parse(str(path)).iterfind(".//x:trans-unit", X))


def text(unit: etree._Element, tag: str) -> str:
    element = unit.find(f"x:{tag}", X)
    return flatten_inline(element, {}) if element is not None else ""


def entry(po: Path, context: str | None, msgid: str):  # type: ignore[no-untyped-def]
    return next(e for e in read_po(po).entries if e.context == context and e.msgid == msgid)


def test_omegat_offers_every_unit_in_english_and_its_confirmations_import_as_approved(
        project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "omegat-fr"
    assert run_cli(project, "i18n", "export", "--lang", "fr", "--for", "omegat",
                   "--out", str(folder)) == 0
    source = folder / "source" / f"{LETTER}.fr.xlf"
    exported = units(source)
    # Every unit: what OmegaT offers as the text to translate is the English source.
    omegat(folder, "console-createpseudotranslatetmx",
           f"--pseudotranslatetmx={tmp_path / 'offered.tmx'}", "--pseudotranslatetype=equal")
    offered = {"".join(seg.itertext()) for seg in
               etree.parse(str(tmp_path / "offered.tmx")).iterfind(".//tuv[1]/seg")}
    english = {omegat_text(text(u, "source")) for u in exported}
    assert offered == english
    stats = (folder / "omegat" / "project_stats.txt").read_text(encoding="utf-8")
    total = next(line for line in stats.splitlines() if line.startswith("Total:")).split()
    assert int(total[1]) == len(exported)  # no unit skipped, the same-source variants included
    # The French drafts (all fuzzy in the sample) travel as matches in tm/, not as the source.
    drafts = etree.parse(str(folder / "tm" / f"{LETTER}.fr-drafts.tmx"))
    assert len(drafts.findall(".//tu")) > 40

    # The translator confirms two gendered variants (one English text) and one sentence with a
    # placeholder; OmegaT keeps confirmed translations in project_save.tmx, keyed by unit id.
    by_context = {u.get("resname"): u for u in exported}
    male, female = by_context[MALE], by_context[FEMALE]
    assert text(male, "source") == text(female, "source")
    place = next(u for u in exported if text(u, "source") == "%(place)s, %(date)s")
    save = folder / "omegat" / "project_save.tmx"
    tree = etree.parse(str(save))
    body = tree.find("body")
    assert body is not None
    for unit, french in ((male, "Monsieur l'Ambassadeur,"), (female, "Madame l'Ambassadrice,"),
                         (place, "<p0/>, le <d1/>")):
        tu = etree.SubElement(body, "tu")
        etree.SubElement(tu, "prop", type="file").text = source.name
        etree.SubElement(tu, "prop", type="id").text = unit.get("id")
        for lang, seg in (("en-GB", omegat_text(text(unit, "source"))), ("fr-FR", french)):
            tuv = etree.SubElement(tu, "tuv", {"{http://www.w3.org/XML/1998/namespace}lang": lang})
            etree.SubElement(tuv, "seg").text = seg
    tree.write(str(save), xml_declaration=True, encoding="UTF-8")
    omegat(folder, "console-translate")
    # Exporting again into the same folder would overwrite the translator's work: refused.
    kept = save.read_bytes()
    assert run_cli(project, "i18n", "export", "--lang", "fr", "--for", "omegat",
                   "--out", str(folder)) == 2
    assert save.read_bytes() == kept
    translated = folder / "target" / source.name
    po = project / "letter_templates" / "_frame" / "locale" / "fr.po"
    letter_po = project / "letter_templates" / LETTER / "locale" / "fr.po"
    first = exported[0]
    untouched = entry(letter_po, first.get("resname"), text(first, "source"))
    assert run_cli(project, "i18n", "import", str(translated)) == 0
    assert (entry(po, MALE, text(male, "source")).strings[0],
            entry(po, MALE, text(male, "source")).fuzzy) == ("Monsieur l'Ambassadeur,", False)
    assert (entry(po, FEMALE, text(female, "source")).strings[0],
            entry(po, FEMALE, text(female, "source")).fuzzy) == ("Madame l'Ambassadrice,", False)
    placed = entry(po, place.get("resname"), "%(place)s, %(date)s")
    assert (placed.strings[0], placed.fuzzy) == ("%(place)s, le %(date)s", False)
    # What the translator did not confirm came back as the English copy: unchanged, still fuzzy.
    again = entry(letter_po, untouched.context, untouched.msgid)
    assert (again.strings, again.fuzzy) == (untouched.strings, untouched.fuzzy)
    assert again.fuzzy
