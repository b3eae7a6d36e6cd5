"""Shared fixtures: a private copy of the project per test, and the CLI driven in-process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# One entry of people.yaml that every schema rule accepts (a test breaks one field of it).
GOOD_PERSON = """\
  - id: berg-sample
    title: Ms
    first_name: Anna
    surname: Berg
    gender: female
    form_of_address: minister
    language: en
    organisation: Ministry (SAMPLE)
    address:
      street: "Street 1"
      postcode: "0150"
      city: Oslo
      country: "NO"
    email: berg@example.org
    sample: "yes"
"""


def copy_project(target: Path) -> Path:
    """Copy the project's letters, registries and settings to ``target`` (made here)."""
    target.mkdir()
    shutil.copytree(ROOT / "letter_templates", target / "letter_templates")
    shutil.copytree(ROOT / "recipients", target / "recipients")
    shutil.copy(ROOT / "pactdocs.yaml", target / "pactdocs.yaml")
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a copy of the project's letters and registries that a test may change."""
    return copy_project(tmp_path / "project")


def merge_command(project: Path, out: Path, *args: str) -> list[str]:
    """The shell command of ``pactdocs merge ARGS --out OUT`` for ``project``."""
    return [sys.executable, "-m", "pactdocs.cli", "--project", str(project), "merge", *args,
            "--out", str(out)]


def start_merge(command: list[str], quiet_output: bool = True) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group (to be signalled as Ctrl-C signals a
    terminal's)."""
    pipe = subprocess.DEVNULL if quiet_output else subprocess.PIPE
    return subprocess.Popen(command, stdout=pipe, stderr=pipe, start_new_session=True)


def wait_for_files(out: Path, pattern: str, count: int, seconds: float = 60) -> None:
    """Wait until ``out`` holds ``count`` files matching ``pattern`` (or ``seconds`` pass)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(list(out.rglob(pattern))) < count:
        time.sleep(0.02)


def run_cli(project: Path, *args: str) -> int:
    from pactdocs.cli import main

    return main(["--project", str(project), *args])


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new`` in a file, failing loudly when ``old`` is absent."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def only_first_letter(project: Path) -> Path:
    """Remove the second sample letter from a project copy, for tests of what a project with one
    letter allows (``i18n export`` without ``--letter``, one language link per letter)."""
    shutil.rmtree(project / "letter_templates" / "agency-coordination")
    return project
