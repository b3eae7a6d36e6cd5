"""Shared fixtures: a private copy of the project per test, and the CLI driven in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Return a copy of the project's letters and registries that a test may change."""
    target = tmp_path / "project"
    target.mkdir()
    shutil.copytree(ROOT / "letter_templates", target / "letter_templates")
    shutil.copytree(ROOT / "recipients", target / "recipients")
    shutil.copy(ROOT / "pactdocs.yaml", target / "pactdocs.yaml")
    return target


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
