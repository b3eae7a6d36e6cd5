"""Hostile and careless input: nothing leaks, nothing is written outside the output folder, one
bad entry never changes the others' documents, the manifest and state DB stay true, and every
resource limit holds. Each test makes its bad input in ``tmp_path``."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import replace_in, run_cli
from readback import pdf_text

LETTER = "pact-implementation"


# --- helpers ---------------------------------------------------------------------------------

def make_secret(tmp_path: Path) -> tuple[str, Path]:
    """Return a random token and a file outside the project holding it."""
    token = f"SECRET-{secrets.token_hex(12)}"
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"{token}\n<p>{token}</p>\nmsgid \"{token}\"\n", encoding="utf-8")
    return token, path


def tree(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Return relative path → sha256 (or link target) of everything below ``root``."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        if skip is not None and (here == skip or skip in here.parents):
            dirs[:] = []
            continue
        for name in dirs + files:
            path = here / name
            if skip is not None and path == skip:
                continue
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = "link:" + os.readlink(path)
            elif path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[key] = "dir"
    return found


def assert_no_leak(token: str, out: Path, *texts: str) -> None:
    """Assert that ``token`` is in no file below ``out`` (raw, PDF text, DOCX XML) nor ``texts``."""
    for text in texts:
        assert token not in text
    if not out.exists():
        return
    for folder, _dirs, files in os.walk(out, followlinks=False):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            data = path.read_bytes()
            assert token.encode() not in data, path
            if name.endswith(".pdf"):
                assert token not in pdf_text(data), path
            if name.endswith(".docx"):
                with zipfile.ZipFile(path) as docx:
                    for part in docx.namelist():
                        assert token.encode() not in docx.read(part), (path, part)


def documents(out: Path) -> list[dict[str, object]]:
    """Return the manifest entries of the last run's documents (not the files it kept)."""
    return [d for d in json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
            if d["status"] != "kept"]


def shas(out: Path) -> dict[str, str]:
    """Return path → sha256 of every document file on disk below ``out``."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in out.rglob("*") if p.is_file() and not p.is_symlink()
            and p.suffix in (".pdf", ".docx", ".html")}


def merge(project: Path, out: Path, *extra: str) -> int:
    return run_cli(project, "merge", LETTER, "--out", str(out), "--quiet", *extra)


# --- leaks and writes outside ------------------------------------------------------------------

@pytest.mark.parametrize("what", ["included template", "catalog", "catalog folder", "registry"])
def test_links_out_of_the_project_are_never_read(project: Path, tmp_path: Path,
                                                 capfd: pytest.CaptureFixture[str],
                                                 what: str) -> None:
    token, secret = make_secret(tmp_path)
    letter = project / "letter_templates" / LETTER
    if what == "included template":
        (letter / "extra.html.j2").symlink_to(secret)
        replace_in(letter / "letter.html.j2", "<p>", '{% include "extra.html.j2" %}\n<p>')
        expected_code, shown = 1, "extra.html.j2"
    elif what == "catalog":
        (letter / "locale" / "de.po").unlink()
        (letter / "locale" / "de.po").symlink_to(secret)
        expected_code, shown = 2, "de.po"
    elif what == "catalog folder":
        moved = tmp_path / "outside" / "locale"
        (letter / "locale").rename(moved)
        (moved / "de.po").write_text(secret.read_text("utf-8"), encoding="utf-8")
        (letter / "locale").symlink_to(moved, target_is_directory=True)
        expected_code, shown = 2, "de.po"
    else:
        (project / "recipients" / "signatories.yaml").unlink()
        (project / "recipients" / "signatories.yaml").symlink_to(secret)
        expected_code, shown = 2, "signatories.yaml"
    before = tree(tmp_path, skip=tmp_path / "out")
    out = tmp_path / "out"
    code = merge(project, out, "--to", "AT", "--parts", "letter", "--format", "pdf,docx")
    captured = capfd.readouterr()
    assert code == expected_code
    message = captured.err
    if expected_code == 1:
        message += " ".join(str(d["error"]) for d in documents(out))
        assert all(d["status"] == "failed" for d in documents(out))
    assert f"refusing to read {shown}" in message.replace(str(project) + "/", "") or \
        "refusing to read" in message and shown in message
    assert "leads outside" in message
    assert_no_leak(token, out, captured.out, captured.err)
    assert tree(tmp_path, skip=tmp_path / "out") == before


def test_output_folder_must_be_pactdocs_own(project: Path, tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    args = ("--to", "AT", "--parts", "letter", "--format", "html")
    before = tree(tmp_path)
    for bad, reason in [("/", "root of the file system"),
                        (project / "recipients", "inside the input folder"),
                        (project / "letter_templates" / LETTER, "inside the input folder"),
                        (project, "holds the input folder"), (tmp_path, "holds the input folder")]:
        assert merge(project, Path(bad), *args) == 2
        assert reason in capfd.readouterr().err
    assert not Path("/AT").exists()
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not a letter")
    assert merge(project, foreign, *args) == 2
    assert "not empty and no pactdocs run wrote it" in capfd.readouterr().err
    assert sorted(os.listdir(foreign)) == ["holiday.jpg"]
    (foreign / "holiday.jpg").unlink()
    foreign.rmdir()
    assert tree(tmp_path) == before


def test_links_inside_the_output_folder_are_not_followed(project: Path, tmp_path: Path,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Temporary-file names outside OUT, reachable only through a link, and a look-alike inside.
    (elsewhere / ".victim.pdf.123.pactdocs-tmp").write_text("keep me")
    (out / "trap").symlink_to(elsewhere, target_is_directory=True)
    (out / "notes.pactdocs-tmp").write_text("not ours: no pid in the name")
    (out / "BE" / "en").mkdir(parents=True, exist_ok=True)
    stale = out / "BE" / "fr" / ".x.pdf.999.pactdocs-tmp"
    stale.write_text("left by a killed run")
    for path in (out / "AT").rglob("*"):
        if path.is_file():
            path.unlink()
    for folder in sorted((out / "AT").rglob("*"), reverse=True):
        folder.rmdir()
    (out / "AT").rmdir()
    (out / "AT").symlink_to(elsewhere, target_is_directory=True)
    before_outside = tree(tmp_path, skip=out)
    assert merge(project, out, *args, "--force") == 1
    err = capfd.readouterr().err
    docs = documents(out)
    at = [d for d in docs if d["recipient"] == "AT"]
    assert at and all(d["status"] == "failed" and "symbolic link" in str(d["error"]) for d in at)
    assert "symbolic link" in err
    assert all(d["status"] in ("written", "unchanged") for d in docs if d["recipient"] == "BE")
    assert {p: s for p, s in shas(out).items() if p.startswith("BE/")} == \
        {p: s for p, s in good.items() if p.startswith("BE/")}
    assert tree(tmp_path, skip=out) == before_outside
    assert sorted(os.listdir(elsewhere)) == [".victim.pdf.123.pactdocs-tmp"]
    assert (out / "notes.pactdocs-tmp").exists() and not stale.exists()


def test_registry_values_never_become_links(project: Path, tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "annex-2", "--format", "html")
    assert merge(project, out, *args) == 0
    html = (out / "AT" / "de" / f"{LETTER}-AT-de-annex-2.html").read_text("utf-8")
    assert 'href="mailto:pact-implementation@at.example"' in html
    good = shas(out)
    contacts = project / "recipients" / "contacts.yaml"
    replace_in(contacts, "mailbox: pact-implementation@at.example",
               "mailbox: pact-implementation@at.example?bcc=spy%40evil.example")
    line = contacts.read_text("utf-8").splitlines().index(
        "    mailbox: pact-implementation@at.example?bcc=spy%40evil.example") + 1
    assert merge(project, out, *args) == 1
    err = capfd.readouterr().err
    docs = documents(out)
    assert all(d["status"] == "failed" for d in docs)
    assert all(f"recipients/contacts.yaml:{line}" in str(d["error"])
               and "not a valid e-mail address" in str(d["error"]) for d in docs)
    assert_no_leak("evil.example", out / "AT", err.replace(
        "pact-implementation@at.example?bcc=spy%40evil.example", ""))
    assert shas(out) == good


def test_data_cannot_forge_internal_markers(project: Path, tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    states = project / "recipients" / "member_states.yaml"
    replace_in(states, "surname: Oberreiter", "surname: \"Ober\\ue0000\\ue001reiter\"")
    line = next(i for i, text in enumerate(states.read_text("utf-8").splitlines(), 1)
                if "Ober\\ue000" in text)
    assert merge(project, out, *args) == 1
    docs = documents(out)
    at = [d for d in docs if d["recipient"] == "AT"]
    assert all(f"member_states.yaml:{line}" in str(d["error"])
               and "private-use character U+E000" in str(d["error"]) for d in at)
    assert shas(out) == good
    # From a catalog: the German text of the letter's first paragraph.
    replace_in(states, "surname: \"Ober\\ue0000\\ue001reiter\"", "surname: Oberreiter")
    replace_in(project / "letter_templates" / LETTER / "locale" / "de.po",
               '"am %(date)s hat', '"am \ue0001\ue001%(date)s hat')
    assert merge(project, out, *args) == 2
    err = capfd.readouterr().err
    assert "private-use character U+E000" in err and "de.po" in err
    # From a template's own text.
    replace_in(project / "letter_templates" / LETTER / "locale" / "de.po",
               '"am \ue0001\ue001%(date)s hat', '"am %(date)s hat')
    replace_in(project / "letter_templates" / LETTER / "letter.html.j2", "<p>", "<p>\ue001", 1)
    assert merge(project, out, *args) == 2
    err = capfd.readouterr().err
    assert "letter.html.j2:" in err and "private-use character U+E001" in err
    assert shas(out) == good


# --- one bad entry --------------------------------------------------------------------------------

def test_a_broken_entry_fails_its_documents_and_the_shared_annex(
        project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE,DE", "--parts", "letter,annex-2", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    states = project / "recipients" / "member_states.yaml"
    replace_in(states, "bruessel-ov@bmeia.gv.at", "bruessel-ov(at)bmeia.gv.at")
    line = next(i for i, text in enumerate(states.read_text("utf-8").splitlines(), 1)
                if "bruessel-ov(at)" in text)
    assert merge(project, out, *args) == 1
    capfd.readouterr()
    docs = {(d["recipient"], d["part"]): d for d in documents(out)}
    assert docs[("AT", "letter")]["status"] == "failed"
    for code in ("AT", "BE", "DE"):
        annex = docs[(code, "annex-2")]
        assert annex["status"] == "failed"
        assert f"member_states.yaml:{line}" in str(annex["error"])
        assert "lists every Member State" in str(annex["error"]) or code == "AT"
    assert docs[("BE", "letter")]["status"] == "unchanged"
    assert shas(out) == good  # no file rewritten, none shrunk to 26 Member States


@pytest.mark.parametrize("damage", ["empty file", "bad entry"])
def test_missing_contact_data_is_an_error(project: Path, tmp_path: Path,
                                          capfd: pytest.CaptureFixture[str], damage: str) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter,annex-2", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    contacts = project / "recipients" / "contacts.yaml"
    if damage == "empty file":
        contacts.write_text("", encoding="utf-8")
        expected = "recipients/contacts.yaml:1"
    else:
        replace_in(contacts, "      surname: Janssens\n", "")
        line = contacts.read_text("utf-8").splitlines().index("    contact_point:") + 1
        expected = f"recipients/contacts.yaml:{line}"
    assert merge(project, out, *args) == 1
    capfd.readouterr()
    docs = {(d["recipient"], d["part"]): d for d in documents(out)}
    for code in ("AT", "BE"):
        error = str(docs[(code, "annex-2")]["error"])
        assert docs[(code, "annex-2")]["status"] == "failed"
        assert expected in error and "field 'contact'" in error
        assert docs[(code, "letter")]["status"] == "unchanged"
    assert shas(out) == good


def test_two_entries_for_one_member_state(project: Path, tmp_path: Path,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    states = project / "recipients" / "member_states.yaml"
    text = states.read_text("utf-8")
    start = text.index('  - code: "AT"')
    end = text.index("  - code:", start + 5)
    states.write_text(text + text[start:end].replace("Oberreiter", "Impostor"), encoding="utf-8")
    lines = [i for i, t in enumerate(states.read_text("utf-8").splitlines(), 1)
             if t == '  - code: "AT"']
    out = tmp_path / "out"
    assert merge(project, out, "--to", "AT,BE", "--parts", "letter", "--format", "html") == 1
    capfd.readouterr()
    docs = {d["recipient"]: d for d in documents(out)}
    error = str(docs["AT"]["error"])
    assert docs["AT"]["status"] == "failed" and docs["BE"]["status"] == "written"
    assert f"member_states.yaml:{lines[1]}" in error
    assert f"first on line {lines[0]}" in error and f"again on line {lines[1]}" in error
    assert not (out / "AT").exists()


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('"zum %(date)s an', '"zum an', "%(date)s of the source is missing"),
    ('"am %(date)s hat', '"am %(date)s hat <a href=\\"https://evil.example\\">hier</a>',
     "adds markup"),
    ('"am %(date)s hat', '"Am %(date)s (100 %!) hat', "lone '%'"),
    ('"am %(date)s hat', '"Am %(date)d hat', "format of %(date) differs"),
])
def test_merge_refuses_a_language_whose_catalog_has_errors(
        project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        old: str, new: str, expected: str) -> None:
    po = project / "letter_templates" / LETTER / "locale" / "de.po"
    replace_in(po, old, new)
    lines = po.read_text("utf-8").splitlines()
    at = next(i for i, t in enumerate(lines) if new in t)
    line = next(i for i in range(at, 0, -1) if lines[i].startswith("msgstr")) + 1
    out = tmp_path / "out"
    assert merge(project, out, "--to", "AT,BE", "--parts", "letter", "--format", "html") == 2
    err = capfd.readouterr().err
    assert f"de.po:{line}" in err and expected in err
    assert "nothing was written" in err
    assert not out.exists()
    assert run_cli(project, "check") == 1
    assert f"de.po:{line}" in capfd.readouterr().out


def test_a_rerun_checks_only_catalogs_no_document_vouches_for(
        project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A document recorded with today's inputs hash was written after its catalogs passed the
    check: a rerun checks no catalog again; a catalog changed since is checked, and its errors
    refuse the run with the earlier documents untouched."""
    import pactdocs.locale.catalogs as catalogs

    # Kept in a file: a run in a new folder checks them in the child that loads the registry.
    log = tmp_path / "checked.log"
    real = catalogs.catalog_problems

    def counting(path: Path, *args: object) -> object:
        with open(log, "a", encoding="utf-8") as f:
            f.write(Path(path).name + "\n")
        return real(path, *args)

    def checked() -> list[str]:
        names = sorted(log.read_text("utf-8").split()) if log.exists() else []
        log.unlink(missing_ok=True)
        return names

    monkeypatch.setattr(catalogs, "catalog_problems", counting)
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--lang", "de,fr", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    assert checked() == ["de.po", "de.po", "fr.po", "fr.po"]  # frame and letter, each once
    before = {p: p.read_bytes() for p in out.rglob("*.html")}
    assert merge(project, out, *args) == 0
    assert checked() == []
    po = project / "letter_templates" / LETTER / "locale" / "de.po"
    replace_in(po, '"zum %(date)s an', '"zum an')
    capfd.readouterr()
    assert merge(project, out, *args) == 2
    assert checked() == ["de.po", "de.po"]
    err = capfd.readouterr().err
    assert "%(date)s of the source is missing" in err and "nothing was written" in err
    assert {p: p.read_bytes() for p in out.rglob("*.html")} == before


def test_check_finds_a_duplicate_of_a_wrapped_msgid(project: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    po = project / "letter_templates" / LETTER / "locale" / "de.po"
    text = po.read_text("utf-8")
    start = text.index('msgid ""\n"On %(date)s the Commissioner')
    end = text.index("\n\n", start)
    po.write_text(text + "\n" + text[start:end] + "\n", encoding="utf-8")
    first = text[:start].count("\n") + 1
    assert run_cli(project, "check") == 1
    out = capfd.readouterr().out
    assert f"duplicate message 'On %(date)s the Commissioner for Home Af' (first on line {first})" \
        in out


# --- manifest and state DB ---------------------------------------------------------------------

def test_a_same_size_edit_is_found_and_undone(project: Path, tmp_path: Path,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter", "--format", "html,docx")
    assert merge(project, out, *args) == 0
    good = shas(out)
    target = out / "AT" / "de" / f"{LETTER}-AT-de-letter.html"
    data = target.read_bytes()
    edited = data.replace(b"Oberreiter", b"Oberreitex")
    assert len(edited) == len(data) and edited != data
    stat = target.stat()
    target.write_bytes(edited)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert merge(project, out, *args) == 0
    docs = {d["path"]: d for d in documents(out)}
    assert docs[str(target.relative_to(out))]["status"] == "written"
    assert sum(d["status"] == "unchanged" for d in docs.values()) == len(docs) - 1
    assert shas(out) == good
    capfd.readouterr()


def test_source_date_epoch_is_in_the_inputs_hash(project: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT", "--parts", "letter", "--format", "docx")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert merge(project, out, *args) == 0
    before = shas(out)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")  # 2025-01-01
    assert merge(project, out, *args) == 0
    assert {d["status"] for d in documents(out)} == {"written"}
    after = shas(out)
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in after)
    with zipfile.ZipFile(out / "AT" / "de" / f"{LETTER}-AT-de-letter.docx") as docx:
        assert b"2025-01-01T00:00:00" in docx.read("docProps/core.xml")


def test_a_killed_runs_temporary_file_goes_even_on_a_run_with_nothing_to_do(
        project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A run that ends normally marks the lock file tidy (no temporary file left), so the next
    run need not walk the folder; a run killed mid-write leaves its own PID unmarked, and the
    next run, even with nothing to render, sweeps what it left. Send (and sign) take the lock."""
    out = tmp_path / "out"
    args = ("--to", "AT", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    assert (out / ".pactdocs.lock").read_bytes().endswith(b" tidy\n")
    stale = out / "AT" / "de" / ".x.html.999.pactdocs-tmp"
    stale.write_text("left by a killed run")
    (out / ".pactdocs.lock").write_bytes(b"999\n")  # what a run killed mid-write leaves
    assert merge(project, out, *args) == 0
    assert {d["status"] for d in documents(out)} == {"unchanged"}
    assert not stale.exists()
    assert (out / ".pactdocs.lock").read_bytes().endswith(b" tidy\n")
    capfd.readouterr()
    with open(out / ".pactdocs.lock", "r+b") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert run_cli(project, "send", LETTER, "--out", str(out), "--dry-run") == 2
        assert "another pactdocs run" in capfd.readouterr().err


def test_the_output_folder_is_locked(project: Path, tmp_path: Path,
                                     capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    with open(out / ".pactdocs.lock", "r+b") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write(b"4242\n")
        holder.flush()
        assert merge(project, out, *args, "--force") == 2
        err = capfd.readouterr().err
        assert "another pactdocs run (process 4242) is writing into" in err and "--wait" in err
        assert "database is locked" not in err
        threading.Timer(1.0, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        assert merge(project, out, *args, "--force", "--wait") == 0
        assert time.monotonic() - started >= 0.9
    assert shas(out) == good


@pytest.mark.parametrize("damage", ["corrupt DB", "deleted DB", "corrupt manifest",
                                    "both deleted"])
def test_a_lost_state_db_or_manifest_is_rebuilt(project: Path, tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str],
                                                damage: str) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter", "--format", "html")
    assert merge(project, out, *args) == 0
    good = shas(out)
    capfd.readouterr()
    db = out / ".pactdocs.sqlite"
    if damage == "corrupt DB":
        for side in out.glob(".pactdocs.sqlite-*"):
            side.unlink()
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "deleted DB":
        for side in out.glob(".pactdocs.sqlite*"):
            side.unlink()
    elif damage == "corrupt manifest":
        (out / "manifest.json").write_text('{"letter": ', encoding="utf-8")
    else:
        for side in out.glob(".pactdocs.sqlite*"):
            side.unlink()
        (out / "manifest.json").unlink()
    assert merge(project, out, *args) == 0
    err = capfd.readouterr().err
    notices = [line for line in err.splitlines() if "notice:" in line]
    assert "Traceback" not in err
    if damage != "both deleted":
        assert len(notices) == 1
        assert ("rebuilt" in notices[0]) if "DB" in damage else ("written again" in notices[0])
    expected = {"unchanged"}
    assert {d["status"] for d in documents(out)} == expected
    assert shas(out) == good
    assert merge(project, out, *args) == 0
    assert "notice" not in capfd.readouterr().err


# --- resource limits ---------------------------------------------------------------------------

def test_the_time_limit_holds_with_one_worker(project: Path, tmp_path: Path,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    annex = project / "letter_templates" / LETTER / "annex-1.html.j2"
    annex.write_text(annex.read_text("utf-8") + "\n{% for i in range(99999) %}{% for j in "
                     "range(99999) %}{% endfor %}{% endfor %}\n", encoding="utf-8")
    out = tmp_path / "out"
    started = time.monotonic()
    assert merge(project, out, "--to", "AT", "--parts", "letter,annex-1", "--format", "html",
                 "--jobs", "1", "--timeout", "8") == 1
    assert time.monotonic() - started < 60
    capfd.readouterr()
    docs = {d["part"]: d for d in documents(out)}
    assert docs["annex-1"]["status"] == "failed"
    assert "longer than 8 s" in str(docs["annex-1"]["error"])
    assert docs["letter"]["status"] == "written"


def test_memory_limits(project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    contacts = project / "recipients" / "contacts.yaml"
    original = contacts.read_text("utf-8")
    bomb = "".join(f"x{i}: &x{i} [*x{i - 1}, *x{i - 1}, *x{i - 1}]\n" for i in range(1, 30))
    contacts.write_text("x0: &x0 lol\n" + bomb + original, encoding="utf-8")
    out = tmp_path / "out"
    args = ("--to", "AT", "--parts", "letter,annex-1", "--format", "html", "--jobs", "1")
    assert merge(project, out, *args) == 2
    err = capfd.readouterr().err
    assert "recipients/contacts.yaml:1: YAML anchor '&x0' is not allowed" in err
    assert "MemoryError" not in err and not out.exists()
    contacts.write_text(original, encoding="utf-8")
    annex = project / "letter_templates" / LETTER / "annex-1.html.j2"
    text = annex.read_text("utf-8")
    annex.write_text(text + '\n<p>{{ "x" * 10**9 }}</p>\n', encoding="utf-8")
    assert merge(project, out, *args) == 1
    docs = {d["part"]: d for d in documents(out)}
    assert "repeating a text or list 1,000,000,000 times" in str(docs["annex-1"]["error"])
    assert docs["letter"]["status"] == "written"
    annex.write_text(text + '\n<p>{{ "x"|center(3000000000) }}</p>\n', encoding="utf-8")
    assert merge(project, out, *args, "--memory", "1024") == 1
    err = capfd.readouterr().err
    docs = {d["part"]: d for d in documents(out)}
    assert docs["annex-1"]["status"] == "failed"
    assert "ran out of memory (a worker may use 1024 MB" in str(docs["annex-1"]["error"])
    assert docs["letter"]["status"] == "unchanged"
    assert "Traceback" not in err


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_end_when_the_run_is_killed(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PACTDOCS_TEST_FAULT": "hang:AT/de/letter"}
    run = subprocess.Popen(
        [sys.executable, "-m", "pactdocs.cli", "--project", str(project), "merge", LETTER,
         "--to", "AT", "--parts", "letter", "--format", "html", "--jobs", "1", "--timeout",
         "600", "--out", str(out), "--quiet"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while time.monotonic() < deadline and not workers:
            time.sleep(0.2)
            workers = _children(run.pid)
        assert workers, "no worker started"
        time.sleep(1.0)
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def test_size_limits(project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ("--to", "AT,BE", "--parts", "letter", "--format", "html")
    agencies = project / "recipients" / "agencies.yaml"
    original = agencies.read_text("utf-8")
    agencies.write_text(original + "#" + "x" * (3 * 1024 * 1024) + "\n", encoding="utf-8")
    assert merge(project, out, *args) == 2
    err = capfd.readouterr().err
    assert "recipients/agencies.yaml: file is too large" in err and "limit is 2 MB" in err
    agencies.write_text(original, encoding="utf-8")
    states = project / "recipients" / "member_states.yaml"
    replace_in(states, "surname: Oberreiter", "surname: " + "O" * 20_000)
    line = next(i for i, t in enumerate(states.read_text("utf-8").splitlines(), 1)
                if "OOOOOOOO" in t)
    assert merge(project, out, *args, "--jobs", "1000") == 1
    err = capfd.readouterr().err
    assert "--jobs 1000 lowered to" in err
    docs = {d["recipient"]: d for d in documents(out)}
    assert docs["BE"]["status"] == "written" and docs["AT"]["status"] == "failed"
    assert f"member_states.yaml:{line}" in str(docs["AT"]["error"])
    assert "20,000 characters long (the limit is 1,000)" in str(docs["AT"]["error"])
    deep = project / "recipients" / "groups.yaml"
    deep.write_text("groups:\n  x: " + "[" * 50 + "]" * 50 + "\n" + deep.read_text("utf-8")[8:],
                    encoding="utf-8")
    assert merge(project, out, *args) == 2
    assert "recipients/groups.yaml:2: nesting deeper than 20 levels" in capfd.readouterr().err


def test_manifest_lines_are_what_json_writes_whatever_their_fields(
        project: Path, tmp_path: Path) -> None:
    """Each document's line in manifest.json is exactly ``json.dumps`` of its entry, for the
    usual entries of a real run and for every shape or type the short way does not take."""
    from pactdocs.model import manifest_json

    out = tmp_path / "out"
    assert merge(project, out, "--to", "AT,BE", "--lang", "de,el,ga", "--format", "docx") == 0
    real = json.loads((out / "manifest.json").read_bytes())["documents"]
    assert len(real) == 2 * 3 * 3
    usual = real[0]
    odd = [
        {**usual, "error": 'refused: "x" \\ \n\t\x01 ü € 𝄞 \u2028'},  # escapes, non-ASCII kept
        {**usual, "sha256": None, "inputs": None, "draft": None, "run": None, "status": "failed"},
        {**usual, "bytes": True},  # a bool where a number is
        {**usual, "draft": 1},  # a number where a bool is
        {**usual, "run": 2.5},
        {**usual, "recipient": None},  # null where text is
        {**usual, "path": ["a", "b"]},
        {**usual, "fallback_from": "lb"},  # one field more
        {k: v for k, v in usual.items() if k != "run"},  # one less
        dict(reversed(list(usual.items()))),  # another order
        {**usual, "on_disk": {"sha256": "x", "bytes": 1, "draft": False, "run": 3}},
    ]
    written = manifest_json({"letter": LETTER, "documents": real + odd}).decode("utf-8")
    lines = written.split("\n")[3:-3]  # not splitlines(): U+2028 is no line end here
    assert lines == ["    " + json.dumps(d, ensure_ascii=False) + ","
                     for d in real + odd[:-1]] + ["    " + json.dumps(odd[-1], ensure_ascii=False)]
    assert json.loads(written)["documents"] == real + odd
