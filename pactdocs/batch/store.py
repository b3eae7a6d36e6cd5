"""What a merge run remembers between runs: one SQLite file in the output folder.

Each finished document is committed as soon as it is on disk, so a run killed at any point
resumes without redoing finished work. ``manifest.json`` is written from it at the end.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    inputs TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""


class Store:
    """The record of documents written into one output folder."""

    FILENAME = ".pactdocs.sqlite"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILENAME
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._pending = 0

    def known(self) -> dict[str, tuple[str, str, int]]:
        """Return path → (inputs, sha256, size) for every recorded document."""
        rows = self.db.execute("SELECT path, inputs, sha256, size FROM documents")
        return {path: (inputs, sha, size) for path, inputs, sha, size in rows}

    def record(self, path: str, inputs: str, sha256: str, size: int) -> None:
        if self._pending == 0:
            self.db.execute("BEGIN")
        self.db.execute(
            "INSERT OR REPLACE INTO documents (path, inputs, sha256, size) VALUES (?, ?, ?, ?)",
            (path, inputs, sha256, size))
        self._pending += 1
        if self._pending >= 50:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.db.execute("COMMIT")
            self._pending = 0

    def close(self) -> None:
        self.flush()
        self.db.close()
