"""An operator on a deadline: every ordinary mistake is one line and exit 2, SIGINT and SIGTERM
stop a run cleanly, and ``manifest.json`` is the inventory of the whole output folder."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import copy_project, merge_command, replace_in, run_cli, start_merge, wait_for_files

LETTER = "pact-implementation"
SMALL = ("--to", "AT", "--format", "pdf", "--parts", "letter", "--quiet")


def one_line_exit_2(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> str:
    """Run the CLI, assert exit 2 and a single line without a traceback; return the line."""
    code = run_cli(project, *args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def files_of(out: Path) -> dict[str, str]:
    """Return relative path → sha256 of the documents below ``out``."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in out.rglob("*") if p.is_file() and p.suffix in (".pdf", ".docx")}


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """Return a small file system of its own (400 kB), unmounted afterwards."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


# --- options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("--timeout", "0"), "--timeout"), (("--timeout", "-1"), "--timeout"),
    (("--timeout", "nan"), "--timeout"), (("--timeout", "inf"), "--timeout"),
    (("--format", "pdf,pdf"), "given twice"), (("--format", ""), "empty format"),
    (("--format", "pdf,"), "empty format"), (("--format", "odt"), "pdf, docx, html"),
    (("--parts", "letter,letter"), "given twice"), (("--jobs", "0"), "--jobs"),
    (("--memory", "12"), "--memory"), (("--out", ""), "--out"),
])
def test_senseless_options_are_refused_with_the_choices(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...], expected: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        run_cli(project, "merge", LETTER, "--out", str(out), *args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not out.exists()


# --- operator mistakes -----------------------------------------------------------------------

def test_out_that_is_a_file(project: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    line = one_line_exit_2(capsys, project, "merge", LETTER, *SMALL, "--out", str(target))
    assert "is not a folder" in line
    line = one_line_exit_2(capsys, project, "merge", LETTER, *SMALL, "--out",
                           str(target / "sub"))
    assert "not a folder" in line and str(target) in line
    assert target.read_text() == "x"


def test_out_that_cannot_be_made(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_exit_2(capsys, project, "merge", LETTER, *SMALL, "--out", "/proc/pactdocs")
    assert "cannot write into the output folder /proc/pactdocs" in line


def test_out_on_a_read_only_file_system(project: Path, tmpfs: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # Immutable: the same refusal as a read-only mount (chattr +i is not available on tmpfs).
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    line = one_line_exit_2(capsys, project, "merge", LETTER, *SMALL, "--out",
                           str(tmpfs / "out"))
    assert "Read-only file system" in line and "read-only" in line


def test_a_full_disk_keeps_the_manifest(project: Path, tmpfs: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmpfs / "out"
    line = one_line_exit_2(capsys, project, "merge", LETTER, "--to", "AT,BE", "--quiet",
                           "--out", str(out))
    assert line.startswith(f"pactdocs: no space left in {out}")
    manifest = manifest_of(out)
    statuses = [d["status"] for d in manifest["documents"]]
    assert "written" in statuses and "failed" in statuses
    for entry in manifest["documents"]:
        if entry["status"] == "written":
            data = (out / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert not [p for p in out.rglob("*") if "pactdocs-tmp" in p.name or "reserve" in p.name]
    # Full before the run starts: refused at once.
    filler = tmpfs / "filler"
    try:
        with open(filler, "wb") as handle:
            while True:
                handle.write(b"x" * 4096)
                handle.flush()
    except OSError:
        pass
    line = one_line_exit_2(capsys, project, "merge", LETTER, "--to", "AT,BE", "--quiet",
                           "--out", str(out), "--force")
    assert "No space left on device" in line


def test_a_state_db_that_is_a_folder(project: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, *SMALL, "--out", str(out)) == 0
    (out / ".pactdocs.sqlite").unlink()
    (out / ".pactdocs.sqlite").mkdir()
    line = one_line_exit_2(capsys, project, "merge", LETTER, *SMALL, "--out", str(out))
    assert "state DB" in line and "remove it" in line


def test_input_mistakes_name_file_line_and_field(project: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out")
    groups = project / "recipients" / "groups.yaml"
    saved = groups.read_bytes()
    groups.write_text("x: " + "[" * 50000 + "\n", encoding="utf-8")
    assert "groups.yaml:1: nesting deeper than 20" in one_line_exit_2(
        capsys, project, "merge", LETTER, *SMALL, "--out", out)
    groups.write_bytes(saved)

    letter = project / "letter_templates" / LETTER / "letter.yaml"
    replace_in(letter, 'date: "2024-04-15"', 'date: "2024-02-30"')
    assert "letter.yaml:7: the letter's date '2024-02-30'" in one_line_exit_2(
        capsys, project, "merge", LETTER, *SMALL, "--out", out)
    replace_in(letter, 'date: "2024-02-30"', 'date: "2024-04-15"')

    catalog = project / "letter_templates" / "_frame" / "locale" / "de.po"
    with catalog.open("ab") as handle:
        handle.write(b'\nmsgid "x\xff"\nmsgstr "y"\n')
    code = run_cli(project, "merge", LETTER, *SMALL, "--out", out)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "de.po:" in err and "invalid UTF-8 (byte 0xff)" in err


def test_a_registry_field_of_the_wrong_kind(project: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / "recipients" / "member_states.yaml", "email: bruessel-ov@bmeia.gv.at",
               "email: [bruessel-ov@bmeia.gv.at]")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, *SMALL, "--out", str(out)) == 1
    error = manifest_of(out)["documents"][0]["error"]
    assert "member_states.yaml:" in error and "'email' must be a text, not a list" in error


# --- interrupts ------------------------------------------------------------------------------

SELECTION = ("--to", "member-states", "--parts", "letter", "--format", "pdf,docx", "--quiet")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("whole")
    project = copy_project(base / "project")
    out = base / "out"
    assert run_cli(project, "merge", LETTER, *SELECTION, "--out", str(out)) == 0
    return project, out


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_cleanly_and_a_rerun_finishes(
        uninterrupted: tuple[Path, Path], tmp_path: Path, signum: int, code: int) -> None:
    project, whole = uninterrupted
    out = tmp_path / "stopped"
    command = merge_command(project, out, LETTER, *SELECTION, "--jobs", "2")
    process = start_merge(command, quiet_output=False)
    wait_for_files(out, "*.pdf", 6)
    # Ctrl-C reaches the whole process group; SIGTERM (timeout, systemd) the parent only.
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < 3
    assert process.returncode == code, stderr
    err = stderr.decode()
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0, err
    assert err.startswith(f"pactdocs: stopped by {signal.Signals(signum).name}")
    # What the folder says is what is on disk: every finished file recorded, no temp file.
    assert not [p for p in out.rglob("*") if "pactdocs-tmp" in p.name or "reserve" in p.name]
    manifest = manifest_of(out)
    assert manifest["interrupted"] == signal.Signals(signum).name
    on_disk = files_of(out)
    written = {d["path"]: d["sha256"] for d in manifest["documents"] if d["status"] == "written"}
    assert written and written == on_disk
    assert len(written) < len(files_of(whole))
    # The rerun finishes the rest and renders nothing twice.
    rerun = subprocess.run(command, capture_output=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert files_of(out) == files_of(whole)
    statuses = {d["path"]: d["status"] for d in manifest_of(out)["documents"]}
    assert all(statuses[p] == "unchanged" for p in written)


# --- the folder's inventory ------------------------------------------------------------------

def test_the_manifest_lists_the_whole_folder(project: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT,BE", "--format", "pdf", "--quiet",
                   "--out", str(out)) == 0
    (out / "AT" / "de" / f"{LETTER}-AT-de-letter.pdf").unlink()
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--parts", "letter,annex-1",
                   "--format", "pdf", "--quiet", "--out", str(out)) == 0
    manifest = manifest_of(out)
    entries = {d["path"]: d for d in manifest["documents"]}
    assert set(entries) == set(files_of(out)) and len(entries) == 6
    letter = entries[f"AT/de/{LETTER}-AT-de-letter.pdf"]
    annex = entries[f"BE/fr/{LETTER}-BE-fr-annex-2.pdf"]
    assert (letter["status"], letter["run"]) == ("written", 2)
    shared = entries[f"AT/de/{LETTER}-AT-de-annex-1.pdf"]
    assert (shared["status"], shared["run"]) == ("unchanged", 1)  # made by run 1, kept
    assert (annex["status"], annex["run"], annex["draft"]) == ("kept", 1, True)
    assert manifest["run"] == 2 and set(manifest["runs"]) == {"1", "2"}
    assert "--parts letter,annex-1" in manifest["runs"]["2"]["command"]
    assert all(d["sha256"] == files_of(out)[p] for p, d in entries.items())
    assert not any(d.get("stale") for d in entries.values())


def test_drafts_left_by_a_refused_final_run_are_flagged_and_cleaned(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT,IE", "--format", "pdf", "--quiet",
                   "--out", str(out)) == 0
    # German has fuzzy strings, English (Ireland) is the source language: AT is refused.
    assert run_cli(project, "merge", LETTER, "--to", "AT,IE", "--format", "pdf", "--quiet",
                   "--out", str(out), "--final") == 1
    entries = {d["path"]: d for d in manifest_of(out)["documents"]}
    drafts = [p for p in entries if p.startswith("AT/")]
    assert len(drafts) == 3
    for path in drafts:
        assert entries[path]["status"] == "failed"
        assert "draft" in entries[path]["stale"]
        assert entries[path]["on_disk"]["draft"] is True and (out / path).exists()
    assert all(entries[p]["draft"] is False and not entries[p].get("stale")
               for p in entries if p.startswith("IE/"))
    # A file of a part the letter no longer has is flagged too; a planted link is never touched.
    (out / "IE" / "en" / "link.pdf").symlink_to(out / "IE" / "en" / f"{LETTER}-IE-en-letter.pdf")
    capsys.readouterr()
    assert run_cli(project, "merge", LETTER, "--to", "AT,IE", "--format", "pdf", "--quiet",
                   "--out", str(out), "--final", "--clean") == 1
    said = capsys.readouterr().out
    assert all(f"removed: {p}" in said for p in drafts)
    assert not any((out / p).exists() for p in drafts)
    assert (out / "IE" / "en" / "link.pdf").is_symlink()
    entries = {d["path"]: d for d in manifest_of(out)["documents"]}
    assert not any(d.get("stale") or d.get("on_disk") for d in entries.values())
    assert set(files_of(out)) == {p for p, d in entries.items() if d["status"] != "failed"} \
        | {"IE/en/link.pdf"}


def test_files_of_a_part_the_letter_lost_are_stale(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--format", "pdf", "--quiet",
                   "--out", str(out)) == 0
    letter = project / "letter_templates" / LETTER / "letter.yaml"
    text = letter.read_text(encoding="utf-8")
    assert "annex-2" in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "id: annex-2" in line)
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    letter.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--format", "pdf", "--quiet",
                   "--out", str(out)) == 0
    entries = {d["path"]: d for d in manifest_of(out)["documents"]}
    stale = {p: d["stale"] for p, d in entries.items() if d.get("stale")}
    assert stale == {f"AT/de/{LETTER}-AT-de-annex-2.pdf":
                     "the letter has no part 'annex-2' any more"}
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--format", "pdf", "--quiet",
                   "--out", str(out), "--clean") == 0
    assert set(files_of(out)) == {f"AT/de/{LETTER}-AT-de-letter.pdf",
                                  f"AT/de/{LETTER}-AT-de-annex-1.pdf"}


# --- house style from the project ------------------------------------------------------------

def test_the_projects_house_style_is_used(project: Path, tmp_path: Path) -> None:
    import pikepdf

    css = project / "letter_templates" / "_style" / "letter.css"
    css.write_text(css.read_text(encoding="utf-8")
                   + "\n/* house-mark-7f3a */\n@page { size: 148mm 210mm; }\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--parts", "letter", "--format",
                   "pdf,html", "--quiet", "--out", str(out)) == 0
    html = (out / "AT" / "de" / f"{LETTER}-AT-de-letter.html").read_text(encoding="utf-8")
    assert "house-mark-7f3a" in html
    with pikepdf.open(out / "AT" / "de" / f"{LETTER}-AT-de-letter.pdf") as pdf:
        width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (148, 210)


def test_a_regular_install_renders_the_project(project: Path, tmp_path: Path) -> None:
    import zipfile

    from conftest import ROOT

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", str(ROOT), "-w", str(wheels)], check=True,
                   capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("pactdocs-*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    assert not (installed / "letter_templates").exists()
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = tmp_path / "out"
    probe = subprocess.run([sys.executable, "-c", "import pactdocs; print(pactdocs.__file__)"],
                           env=env, capture_output=True, text=True, cwd=tmp_path, check=True)
    assert probe.stdout.startswith(str(installed))
    done = subprocess.run([sys.executable, "-m", "pactdocs.cli", "--project", str(project),
                           "merge", LETTER, "--to", "AT", "--format", "pdf,docx,html",
                           "--quiet", "--out", str(out)], env=env, capture_output=True,
                          text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert len(files_of(out)) == 6
    review = subprocess.run([sys.executable, "-m", "pactdocs.cli", "--project", str(project),
                             "review", LETTER, "--lang", "fr", "--parts", "letter",
                             "--format", "pdf,docx", "--out", str(tmp_path / "review")],
                            env=env, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert review.returncode == 0, review.stderr
    assert len(list((tmp_path / "review").glob("*"))) == 2


def test_the_command_ends_with_its_code_its_whole_output_and_its_exit_functions(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pactdocs` ends without the interpreter's teardown: what it printed is all there, its
    exit code is kept, and an exit function registered while it ran still runs."""
    assert run_cli(project, "list", "recipients") == 0
    expected = capsys.readouterr().out
    marker = tmp_path / "exit-function-ran"
    script = ("import atexit, sys\nfrom pactdocs import cli\n"
              f"atexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
              "sys.argv[0] = 'pactdocs'\ncli.run()\n")
    listed = subprocess.run([sys.executable, "-c", script, "--project", str(project), "list",
                             "recipients"], capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout == expected and len(expected) > 2000
    assert marker.exists()
    refused = subprocess.run([sys.executable, "-m", "pactdocs.cli", "--project", str(project),
                              "merge", "no-such-letter", "--out", str(tmp_path / "out")],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "no-such-letter" in refused.stderr
    assert not (tmp_path / "out").exists()
