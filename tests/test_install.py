"""The environment is the lock: every locked package installed at its locked version."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from conftest import ROOT


def locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text("utf-8")
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.M)}


def test_installed_versions_are_the_locked_ones() -> None:
    pins = locked()
    assert {"babel", "weasyprint", "python-docx", "pypdf", "jinja2"} <= set(pins)
    wrong = {}
    for name, pinned in pins.items():
        try:
            found = version(name)
        except PackageNotFoundError:
            continue  # a platform-specific pin (e.g. colorama on Windows)
        if found != pinned:
            wrong[name] = (pinned, found)
    assert not wrong, f"installed versions differ from requirements.lock (run make setup): {wrong}"
    assert version("babel") == pins["babel"]


def test_every_lock_entry_has_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text("utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries and all("--hash=sha256:" in e for e in entries if "==" in e)
