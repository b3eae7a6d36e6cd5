"""Batch runs: incremental, resumable, deterministic, fault-tolerant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import merge_command, replace_in, run_cli, start_merge, wait_for_files

LETTER = "pact-implementation"
SELECTION = ["--to", "AT,BE,DE,EL,FI,SE", "--lang", "en,fr,de,el"]


def statuses(out: Path) -> dict[str, str]:
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    return {d["path"]: d["status"] for d in docs}


def hashes(out: Path) -> dict[str, str]:
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    return {d["path"]: d["sha256"] for d in docs}


def merge(project: Path, out: Path, *extra: str) -> int:
    return run_cli(project, "merge", LETTER, *SELECTION, "--out", str(out), "--quiet", *extra)


@pytest.fixture
def first_run(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert merge(project, out) == 0
    assert set(statuses(out).values()) == {"written"}
    assert len(statuses(out)) == 6 * 4 * 3 * 2
    return out


def test_rerun_with_nothing_changed_rewrites_nothing(project: Path, first_run: Path) -> None:
    mtimes = {p: p.stat().st_mtime_ns for p in first_run.rglob("*.pdf")}
    assert merge(project, first_run) == 0
    assert set(statuses(first_run).values()) == {"unchanged"}
    assert {p: p.stat().st_mtime_ns for p in first_run.rglob("*.pdf")} == mtimes


def test_one_registry_entry_rerenders_only_that_recipient(project: Path, first_run: Path) -> None:
    replace_in(project / "recipients" / "member_states.yaml", "Oberreiter", "Oberreiter-Huber")
    assert merge(project, first_run) == 0
    changed = {path for path, status in statuses(first_run).items() if status == "written"}
    assert changed == {p for p in statuses(first_run) if p.startswith("AT/") and "-letter." in p}
    assert len(changed) == 4 * 2


def test_template_change_rerenders_what_depends_on_it(project: Path, first_run: Path) -> None:
    replace_in(project / "letter_templates" / LETTER / "annex-1.html.j2", "<ol>", "<h2>Blocks</h2>\n<ol>")
    assert merge(project, first_run) == 0
    written = {p for p, s in statuses(first_run).items() if s == "written"}
    assert written == {p for p in statuses(first_run) if "-annex-1." in p}


def test_force_rebuilds_all_and_dry_run_writes_nothing(project: Path, first_run: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    before = (first_run / "manifest.json").read_bytes()
    assert merge(project, first_run, "--dry-run", "--force") == 0
    out = capsys.readouterr().out
    assert "144 would be written" in out and "nothing written" in out
    assert (first_run / "manifest.json").read_bytes() == before
    assert merge(project, first_run, "--force") == 0
    # Rebuilt, but byte-identical, so the files are kept as they were.
    assert set(statuses(first_run).values()) == {"unchanged"}


def test_two_cold_runs_are_byte_identical(project: Path, first_run: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    assert merge(project, second, "--jobs", "1") == 0
    assert hashes(second) == hashes(first_run)
    for path, sha in hashes(first_run).items():
        import hashlib

        assert hashlib.sha256((second / path).read_bytes()).hexdigest() == sha


def test_kill_and_resume(project: Path, first_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = merge_command(project, out, LETTER, *SELECTION, "--quiet")
    process = start_merge(command)
    wait_for_files(out, "*.pdf", 20)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists(), "the run finished before it could be killed"
    assert subprocess.run(command, check=False).returncode == 0
    assert hashes(out) == hashes(first_run)
    assert not [p for p in out.rglob("*") if "tmp" in p.name]
    for path, sha in hashes(out).items():
        import hashlib

        assert hashlib.sha256((out / path).read_bytes()).hexdigest() == sha


def test_a_crashing_worker_costs_only_its_document(project: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTDOCS_TEST_FAULT", "crash:BE/fr/letter")
    out = tmp_path / "out"
    assert merge(project, out, "--jobs", "2") == 1
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    failed = [d for d in docs if d["status"] == "failed"]
    assert {(d["recipient"], d["language"], d["part"]) for d in failed} == {("BE", "fr", "letter")}
    assert all("worker process died" in d["error"] for d in failed)
    assert sum(d["status"] == "written" for d in docs) == len(docs) - 2


def test_a_hanging_document_is_stopped_at_the_time_limit(project: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACTDOCS_TEST_FAULT", "hang:AT/de/letter")
    out = tmp_path / "out"
    started = time.monotonic()
    # 15 s: far above a document's time (well under a second) even on a loaded 2-core machine,
    # and the hanging one would never end by itself.
    assert run_cli(project, "merge", LETTER, "--to", "AT,BE", "--lang", "de", "--jobs", "2",
                   "--timeout", "15", "--out", str(out), "--quiet") == 1
    assert time.monotonic() - started < 90
    docs = json.loads((out / "manifest.json").read_text("utf-8"))["documents"]
    failed = {(d["recipient"], d["part"]) for d in docs if d["status"] == "failed"}
    assert failed == {("AT", "letter")}
    assert all("longer than 15 s" in d["error"] for d in docs if d["status"] == "failed")
    assert sum(d["status"] == "written" for d in docs) == len(docs) - 2
