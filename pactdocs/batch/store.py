"""What a merge run remembers between runs: one SQLite file in the output folder.

Each finished document is committed as soon as it is on disk, so a run killed at any point
resumes without redoing finished work. ``manifest.json`` is written from it at the end.

A state DB that is unreadable (corrupt, not SQLite, a link) is set aside and made again; a
missing one is rebuilt from ``manifest.json`` for the files whose sha256 still matches. Either
way the run says so in one line and goes on: at worst it renders again what it cannot vouch for.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    inputs TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    signature TEXT,
    draft INTEGER,
    run INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    final INTEGER NOT NULL,
    command TEXT NOT NULL
);
"""


class Store:
    """The record of documents written into one output folder."""

    FILENAME = ".pactdocs.sqlite"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILENAME
        self.notice: str | None = None
        for suffix in ("-wal", "-shm", "-journal"):
            # SQLite opens these beside the DB, following links: a planted one is removed.
            side = folder / (self.FILENAME + suffix)
            if side.is_symlink():
                side.unlink()
        existed = os.path.lexists(self.path)
        if existed and not self.path.is_symlink() and not self.path.is_file():
            raise sqlite3.DatabaseError("it is not a file")
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            self._discard()
            self.db = self._open()
            self.notice = (f"notice: the state DB {self.path.name} was unreadable ({exc}); it is "
                           "rebuilt from the files")
            existed = False
        self.created = not existed
        self._pending = 0
        self._rows: dict[str, list[Any]] | None = None

    def _open(self) -> sqlite3.Connection:
        if self.path.is_symlink():
            raise sqlite3.DatabaseError("it is a symbolic link")
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
            # A state DB from an earlier version: the columns it lacks are added, empty.
            for name, kind in (("signature", "TEXT"), ("draft", "INTEGER"), ("run", "INTEGER")):
                if name not in columns:
                    db.execute(f"ALTER TABLE documents ADD COLUMN {name} {kind}")
            check = db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else '?'}")
            db.execute("SELECT path, inputs, sha256, size FROM documents LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(str(self.path) + suffix)
            except FileNotFoundError:
                pass

    def rebuild(self, manifest: Path, digest: Callable[[str], tuple[int, str] | None]) -> int:
        """Fill a new DB from ``manifest`` for every file whose size and sha256 still match.

        ``digest`` returns (size, sha256) of a file below the output folder. Return the number
        of documents taken over.
        """
        try:
            data = json.loads(manifest.read_text(encoding="utf-8")) \
                if manifest.is_file() and not manifest.is_symlink() else None
        except (OSError, ValueError):
            data = None
        documents = data.get("documents") if isinstance(data, dict) else None
        taken = 0
        for entry in documents if isinstance(documents, list) else ():
            if not isinstance(entry, dict) or entry.get("status") not in ("written", "unchanged"):
                continue
            path, inputs, sha = entry.get("path"), entry.get("inputs"), entry.get("sha256")
            if not (isinstance(path, str) and isinstance(inputs, str) and isinstance(sha, str)):
                continue
            found = digest(path)
            if found is not None and found[1] == sha:
                draft = entry.get("draft")
                run = entry.get("run")
                self.record(path, inputs, sha, found[0],
                            draft=draft if isinstance(draft, bool) else None,
                            run=run if isinstance(run, int) and not isinstance(run, bool)
                            else None)
                taken += 1
        self.flush()
        return taken

    def rows(self) -> dict[str, list[Any]]:
        """Return path → [inputs, sha256, size, signature, draft, run] of every recorded
        document: read from the table once, then kept up to date as this Store changes it
        (read it, do not change it)."""
        if self._rows is None:
            self._rows = {row[0]: list(row[1:]) for row in self.db.execute(
                "SELECT path, inputs, sha256, size, signature, draft, run FROM documents")}
        return self._rows

    def runs(self) -> dict[int, dict[str, object]]:
        """Return run id → when it started, whether it was final, and its command."""
        rows = self.db.execute("SELECT id, started, final, command FROM runs")
        return {rid: {"started": started, "final": bool(final), "command": command}
                for rid, started, final, command in rows}

    def begin_run(self, started: str, final: bool, command: str) -> int:
        """Record a new run and return its number."""
        self.flush()
        cursor = self.db.execute("INSERT INTO runs (started, final, command) VALUES (?, ?, ?)",
                                 (started, int(final), command))
        return int(cursor.lastrowid or 0)

    def forget(self, path: str) -> None:
        """Remove ``path`` from the record (its file was removed)."""
        self.flush()
        self.db.execute("DELETE FROM documents WHERE path = ?", (path,))
        if self._rows is not None:
            self._rows.pop(path, None)

    def record(self, path: str, inputs: str, sha256: str, size: int,
               signature: str | None = None, draft: bool | None = None,
               run: int | None = None) -> None:
        if self._pending == 0:
            self.db.execute("BEGIN")
        # An unchanged file keeps the run that made it: only a write names a new run.
        self.db.execute(
            "INSERT INTO documents (path, inputs, sha256, size, signature, draft, run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET inputs = excluded.inputs,"
            " sha256 = excluded.sha256, size = excluded.size, signature = excluded.signature,"
            " draft = coalesce(excluded.draft, draft), run = coalesce(excluded.run, run)",
            (path, inputs, sha256, size, signature,
             None if draft is None else int(draft), run))
        if self._rows is not None:
            old = self._rows.get(path)
            self._rows[path] = [inputs, sha256, size, signature,
                                int(draft) if draft is not None else old[4] if old else None,
                                run if run is not None else old[5] if old else None]
        self._pending += 1
        if self._pending >= 50:
            self.flush()

    def verified(self, path: str, signature: str) -> None:
        """Record that the file at ``path`` was hashed and matched, with its current signature."""
        if self._pending == 0:
            self.db.execute("BEGIN")
        self.db.execute("UPDATE documents SET signature = ? WHERE path = ?", (signature, path))
        if self._rows is not None and path in self._rows:
            self._rows[path][3] = signature
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
