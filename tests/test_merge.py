"""The main job end to end: merge through the real CLI, files read back."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import replace_in, run_cli
from readback import docx_text, normalise, pdf_pages, pdf_text, words

LETTER = "pact-implementation"


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def files_in(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".pdf", ".docx"))


@pytest.fixture
def austria(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--out", str(out),
                   "--quiet") == 0
    return out


def test_one_recipient_writes_letter_and_annexes_in_both_formats(austria: Path) -> None:
    m = manifest(austria)
    assert m["letter"] == LETTER
    entries = {(d["part"], d["format"]): d for d in m["documents"]}
    assert set(entries) == {(p, f) for p in ("letter", "annex-1", "annex-2") for f in ("pdf", "docx")}
    for entry in entries.values():
        assert entry["status"] == "written" and entry["error"] is None
        path = austria / entry["path"]
        assert path.is_file()
        import hashlib

        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert not list(austria.rglob("*tmp*"))


def test_pdf_and_docx_read_back_to_the_same_words(austria: Path) -> None:
    for part in ("letter", "annex-1", "annex-2"):
        base = austria / "AT" / "en" / f"{LETTER}-AT-en-{part}"
        # Same words; sorted, because the PDF reads the page-1 footer (addressee) where page 1
        # ends while the DOCX keeps it in its first-page footer.
        # A table's header row repeats on every PDF page: those words may appear more often.
        pdf_words = Counter(words(pdf_text(base.with_suffix(".pdf"))))
        docx_words = Counter(words(docx_text(base.with_suffix(".docx"))))
        assert pdf_words and not docx_words - pdf_words, part
        assert set(pdf_words - docx_words) <= set(HEADER_WORDS), part


HEADER_WORDS = "Member State Senior contact point Functional mailbox".split()


def test_annex_table_header_repeats_on_every_page(austria: Path) -> None:
    pdf = austria / "AT" / "en" / f"{LETTER}-AT-en-annex-2.pdf"
    pages = pdf_pages(pdf)
    assert pages >= 2
    for page in range(1, pages + 1):
        assert "Member State Senior contact point Functional mailbox" in normalise(
            pdf_text(pdf, first=page, last=page))
    from docx import Document as open_docx

    table = open_docx(str(pdf.with_suffix(".docx"))).tables[0]
    assert table.rows[0]._tr.xpath("./w:trPr/w:tblHeader")
    assert len(table.rows) == 28


def test_austrian_letter_has_every_part_in_order(austria: Path) -> None:
    pdf = austria / "AT" / "en" / f"{LETTER}-AT-en-letter.pdf"
    text = normalise(pdf_text(pdf))
    page1 = normalise(pdf_text(pdf, first=1, last=1))
    ordered = [
        "EUROPEAN COMMISSION",
        "DIRECTORATE-GENERAL FOR MIGRATION AND HOME AFFAIRS",
        "The Director-General (acting)",
        "Brussels, 15 April 2024",
        "Dear Ambassador,",
        "On 15 March 2024 the Commissioner for Home Affairs wrote",
        "I look forward to our continued cooperation",
        "Yours sincerely,",
        "Beate GMINDER",
        "Enclosures: Annex 1: Draft building blocks of the Common Implementation Plan",
        "Annex 2: DG HOME contact points by Member State",
        "c.c.:",
        "Ms Montserrat Marín López (CEPOL);",
        "Mr Alexis Goosdeel (EMCDDA);",
        "Ms Catherine De Bolle (Europol);",
        "Ms Nina Gregori (EUAA);",
        "Ms Agnès Diallo (eu-LISA);",
        "Mr Hans Leijtens (Frontex).",
    ]
    positions = [text.find(item) for item in ordered]
    assert -1 not in positions, [o for o, p in zip(ordered, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    # The addressee block stands at the foot of page 1, in this order.
    addressee = ["Mr Thomas Oberreiter",
                 "Permanent Representative of Austria to the European Union",
                 "Avenue de Cortenbergh 30", "1040 Brussels, Belgium",
                 "E-mail: bruessel-ov@bmeia.gv.at"]
    where = [page1.find(line) for line in addressee]
    assert -1 not in where and where == sorted(where)
    assert page1.find("Dear Ambassador,") < where[0]


def test_broken_recipient_fails_alone(project: Path, tmp_path: Path) -> None:
    replace_in(project / "recipients" / "member_states.yaml", "bruessel-ov@bmeia.gv.at",
               "bruessel-ov(at)bmeia.gv.at")
    out = tmp_path / "out"
    code = run_cli(project, "merge", LETTER, "--format", "docx", "--out", str(out), "--quiet")
    assert code == 1
    docs = manifest(out)["documents"]
    failed = [d for d in docs if d["status"] == "failed"]
    # Austria fails alone, except for annex 2, which lists every Member State: built without
    # Austria it would be wrong for everyone, so every copy of it fails with Austria's error.
    assert {d["recipient"] for d in failed if d["part"] != "annex-2"} == {"AT"}
    assert {d["recipient"] for d in failed} == {d["recipient"] for d in docs}
    assert all(d["part"] == "annex-2" for d in failed if d["recipient"] != "AT")
    assert all("member_states.yaml" in d["error"] and "e-mail" in d["error"].lower() for d in failed)
    written = {d["recipient"] for d in docs if d["status"] == "written"}
    assert len(written) == 26 and "AT" not in written
    assert all(d["part"] != "annex-2" for d in docs if d["status"] == "written")
    assert not (out / "AT").exists()
    for d in docs:
        if d["status"] == "written":
            assert (out / d["path"]).is_file()


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("<p>{{ no_such_variable }}</p>", "undefined variable"),
        ("<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>", "sandbox"),
        ('<p><a href="file:///etc/passwd">x</a></p>', "file:///etc/passwd"),
        ('<p><img src="file:///etc/passwd"></p>', "file:///etc/passwd"),
    ],
)
def test_bad_template_fails_clearly_and_writes_nothing(project: Path, tmp_path: Path,
                                                       snippet: str, expected: str) -> None:
    body = project / "letter_templates" / LETTER / "letter.html.j2"
    body.write_text(body.read_text(encoding="utf-8") + "\n" + snippet + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--out", str(out),
                   "--quiet")
    assert code == 1
    letters = [d for d in manifest(out)["documents"] if d["part"] == "letter"]
    assert letters and all(d["status"] == "failed" for d in letters)
    assert all(expected in d["error"] and "letter.html.j2" in d["error"] for d in letters)
    assert not [p for p in files_in(out) if "letter." in p.name]


def test_template_syntax_error_stops_before_the_batch(project: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    body = project / "letter_templates" / LETTER / "annex-1.html.j2"
    body.write_text("<p>fine</p>\n<p>{% if %}</p>\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--out", str(out), "--quiet") == 2
    assert "annex-1.html.j2:2:" in capsys.readouterr().err
    assert not out.exists()


def test_a_rerun_after_a_template_broke_stops_before_any_file_changes(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rerun checks the templates once it finds something to render: a template broken since
    the last run stops it with the error, and every file and the manifest stay as they were
    (the state DB and the lock file are pactdocs' own)."""
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "de", "--format", "docx",
                   "--out", str(out), "--quiet") == 0
    def files() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in out.rglob("*")
                if p.is_file() and not p.name.startswith(".pactdocs.")}

    before = files()
    body = project / "letter_templates" / LETTER / "annex-1.html.j2"
    body.write_text("<p>fine</p>\n<p>{% if %}</p>\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "de", "--format", "docx",
                   "--out", str(out), "--quiet") == 2
    assert "annex-1.html.j2:2:" in capsys.readouterr().err
    assert files() == before
    # Refused before anything was written: the lock file says so, and no walk is owed.
    assert (out / ".pactdocs.lock").read_text().endswith(" tidy\n")


def test_bad_arguments_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "merge", "pact-implementaton", "--quiet") == 2
    assert "did you mean 'pact-implementation'" in capsys.readouterr().err
    assert run_cli(project, "merge", LETTER, "--to", "AX", "--quiet") == 2
    assert run_cli(project, "merge", LETTER, "--lang", "xx", "--quiet") == 2
    with pytest.raises(SystemExit) as refused:  # argparse: the choices, exit 2
        run_cli(project, "merge", LETTER, "--format", "odt", "--quiet")
    assert refused.value.code == 2
    assert "choose from pdf, docx, html" in capsys.readouterr().err


def test_a_failed_render_never_replaces_a_good_file(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--format", "pdf",
                   "--out", str(out), "--quiet") == 0
    good = out / "AT" / "en" / f"{LETTER}-AT-en-letter.pdf"
    before = good.read_bytes()
    body = project / "letter_templates" / LETTER / "letter.html.j2"
    body.write_text(body.read_text(encoding="utf-8") + "<p>{{ missing }}</p>\n", encoding="utf-8")
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "en", "--format", "pdf",
                   "--out", str(out), "--quiet") == 1
    assert good.read_bytes() == before


def test_check_and_list_commands(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, "check") == 0
    assert run_cli(project, "list", "recipients") == 0
    listing = capsys.readouterr().out
    assert listing.index("BE ") < listing.index("AT ") < listing.index("SE ")
    assert run_cli(project, "list", "groups") == 0
    assert "member-states" in capsys.readouterr().out


def test_dates_follow_the_language_of_each_render(project: Path, tmp_path: Path) -> None:
    """One worker renders several languages: a date in the body must not keep the first one's."""
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--lang", "de,en", "--parts", "letter",
                   "--format", "docx", "--jobs", "1", "--out", str(out), "--quiet") == 0
    en = normalise(docx_text(out / "AT/en" / f"{LETTER}-AT-en-letter.docx"))
    assert "On 15 March 2024" in en and "29 April 2024" in en


def test_the_versions_in_the_inputs_hash_are_importlib_metadata_s(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """The library versions a document's inputs hash holds are read from the dist-info folders
    themselves, as importlib.metadata reads them: the same answer, the first along sys.path."""
    from importlib import metadata

    from pactdocs.batch.merge import _RENDERING_PACKAGES, installed_versions

    names = (*_RENDERING_PACKAGES, "PyYAML", "pydantic_core", "no-such-distribution")
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    assert installed_versions(names) == expected and "weasyprint" in expected
    # A folder earlier on the path wins; a METADATA without a Version is not a version.
    early = tmp_path / "early"
    (early / "WeasyPrint-99.0.dist-info").mkdir(parents=True)
    (early / "WeasyPrint-99.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: WeasyPrint\nVersion: 99.0\n\nVersion: 1\n")
    (early / "pydyf-1.0.dist-info").mkdir()
    (early / "pydyf-1.0.dist-info" / "METADATA").write_text("Name: pydyf\n\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(early))
    found = installed_versions(("weasyprint", "pydyf"))
    assert found == {"weasyprint": "99.0", "pydyf": expected["pydyf"]}
