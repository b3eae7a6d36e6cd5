"""The register of outgoing correspondence: one SQLite file, append-only.

Each message sent (or left in the outbox) is one *item* with a registration number, the
addressees and copies as written that day, the subject, the language, each attached file with
its sha256 and the Message-ID. Triggers refuse any UPDATE or DELETE of a registered row, in
every table: what happens later (handed to the server, refused, bounced) is a new *event* row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PactdocsError
from .settings import DEFAULT_NUMBER, check_number_pattern

TABLES = ("items", "addressees", "attachments", "events")

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    year INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    registered TEXT NOT NULL,
    letter TEXT NOT NULL,
    reference TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    UNIQUE (year, seq)
);
CREATE TABLE IF NOT EXISTS addressees (
    item_id INTEGER NOT NULL REFERENCES items(id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('to', 'cc')),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (item_id, position)
);
CREATE TABLE IF NOT EXISTS attachments (
    item_id INTEGER NOT NULL REFERENCES items(id),
    position INTEGER NOT NULL,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    unsigned_sha256 TEXT,  -- a signed PDF: the sha256 of the rendered file it was signed from
    PRIMARY KEY (item_id, position)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('registered', 'outbox', 'sent', 'failed', 'bounced')),
    address TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
"""

_TRIGGERS = "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'the register is append-only: a registered row cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'the register is append-only: a registered row cannot be deleted'); END;
""" for table in TABLES) + "".join(
    # INSERT OR REPLACE deletes the row it collides with without firing DELETE triggers (unless a
    # connection turns on recursive_triggers): refuse any insert that collides with a row.
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {collision})
BEGIN SELECT RAISE(ABORT, 'the register is append-only: a registered row cannot be changed'); END;
""" for table, collision in (
        ("items", "id = NEW.id OR number = NEW.number OR message_id = NEW.message_id "
                  "OR (year = NEW.year AND seq = NEW.seq)"),
        ("addressees", "item_id = NEW.item_id AND position = NEW.position"),
        ("attachments", "item_id = NEW.item_id AND position = NEW.position"),
        ("events", "id = NEW.id")))

# What `register list` shows and `register export --csv` writes, in this order.
COLUMNS = ("number", "registered", "letter", "reference", "recipient", "language", "to", "cc",
           "subject", "attachments", "message_id", "state")


class RegisterError(PactdocsError):
    category = "register"


@dataclass(frozen=True)
class Addressee:
    role: str  # to, cc
    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    path: str
    sha256: str
    size: int
    unsigned_sha256: str | None = None  # a signed PDF: the rendered file's hash


@dataclass(frozen=True)
class Entry:
    """What is registered for one message."""

    letter: str
    reference: str
    sender: str
    recipient: str
    language: str
    subject: str
    message_id: str
    addressees: tuple[Addressee, ...]
    attachments: tuple[Attachment, ...]


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Register:
    """The register in one SQLite file (created on first use)."""

    def __init__(self, path: Path, number_pattern: str = DEFAULT_NUMBER) -> None:
        check_number_pattern(number_pattern)
        self.path = path
        self.pattern = number_pattern
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA + _TRIGGERS)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(attachments)")}
        if "unsigned_sha256" not in columns:  # a register made before signing was recorded
            self.db.execute("ALTER TABLE attachments ADD COLUMN unsigned_sha256 TEXT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------

    def item_of(self, message_id: str) -> str | None:
        """Return the registration number of the item sent as ``message_id``, or None."""
        row = self.db.execute("SELECT number FROM items WHERE message_id = ?",
                              (message_id,)).fetchone()
        return row[0] if row else None

    def handed_over(self, letter: str, recipient: str) -> list[tuple[str, str]]:
        """Return (number, message_id) of the items of ``letter`` sent or put in the outbox
        for ``recipient``, oldest first."""
        return [(n, m) for n, m in self.db.execute(
            "SELECT number, message_id FROM items WHERE letter = ? AND recipient = ? AND EXISTS "
            "(SELECT 1 FROM events WHERE events.item_id = items.id AND state IN ('sent', 'outbox'))"
            " ORDER BY id", (letter, recipient))]

    def register(self, entries: Iterable[Entry], when: str | None = None) -> dict[str, str]:
        """Register each entry not yet registered; return message_id → number for all."""
        when = when or now()
        year = int(when[:4])
        numbers: dict[str, str] = {}
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for entry in entries:
                known = self.item_of(entry.message_id)
                if known:
                    numbers[entry.message_id] = known
                    continue
                seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM items WHERE year = ?",
                                      (year,)).fetchone()[0]
                number = self.pattern.format(year=year, seq=seq, letter=entry.letter)
                cur = self.db.execute(
                    "INSERT INTO items (number, year, seq, registered, letter, reference, sender, "
                    "recipient, language, subject, message_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (number, year, seq, when, entry.letter, entry.reference, entry.sender,
                     entry.recipient, entry.language, entry.subject, entry.message_id))
                item = cur.lastrowid
                self.db.executemany(
                    "INSERT INTO addressees (item_id, position, role, name, address) "
                    "VALUES (?,?,?,?,?)",
                    [(item, i, a.role, a.name, a.address) for i, a in enumerate(entry.addressees)])
                self.db.executemany(
                    "INSERT INTO attachments (item_id, position, filename, path, sha256, bytes, "
                    "unsigned_sha256) VALUES (?,?,?,?,?,?,?)",
                    [(item, i, a.filename, a.path, a.sha256, a.size, a.unsigned_sha256)
                     for i, a in enumerate(entry.attachments)])
                self.db.execute("INSERT INTO events (item_id, at, state) VALUES (?, ?, 'registered')",
                                (item, when))
                numbers[entry.message_id] = number
            self.db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self.db.execute("ROLLBACK")
            raise RegisterError(f"the register refused an entry: {exc}", None,
                                f"check {self.path}") from None
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return numbers

    def record(self, message_id: str, state: str, address: str = "", detail: str = "",
               when: str | None = None) -> None:
        """Append an event to the item sent as ``message_id``."""
        row = self.db.execute("SELECT id FROM items WHERE message_id = ?", (message_id,)).fetchone()
        if row is None:
            raise RegisterError(f"no register item has the Message-ID {message_id}")
        self.db.execute("INSERT INTO events (item_id, at, state, address, detail) "
                        "VALUES (?, ?, ?, ?, ?)", (row[0], when or now(), state, address, detail))

    # --- reading -------------------------------------------------------------------------------

    def items(self, letter: str | None = None) -> list[dict[str, str]]:
        """Return one row per item (the COLUMNS, as text), in registration order."""
        query = "SELECT * FROM items" + (" WHERE letter = ?" if letter else "") + " ORDER BY id"
        self.db.row_factory = sqlite3.Row
        try:
            rows = self.db.execute(query, (letter,) if letter else ()).fetchall()
            result = []
            for row in rows:
                people = self.db.execute("SELECT role, name, address FROM addressees WHERE "
                                         "item_id = ? ORDER BY position", (row["id"],)).fetchall()
                files = self.db.execute("SELECT filename, sha256 FROM attachments WHERE "
                                        "item_id = ? ORDER BY position", (row["id"],)).fetchall()
                result.append({
                    "number": row["number"], "registered": row["registered"],
                    "letter": row["letter"], "reference": row["reference"],
                    "recipient": row["recipient"], "language": row["language"],
                    "to": "; ".join(p["address"] for p in people if p["role"] == "to"),
                    "cc": "; ".join(p["address"] for p in people if p["role"] == "cc"),
                    "subject": row["subject"],
                    "attachments": "; ".join(f"{f['filename']} sha256:{f['sha256']}" for f in files),
                    "message_id": row["message_id"], "state": self._state(row["id"]),
                })
            return result
        finally:
            self.db.row_factory = None

    def _state(self, item: int) -> str:
        """Return the delivery state in a word, with the addresses that failed."""
        events = self.db.execute("SELECT state, address FROM events WHERE item_id = ? ORDER BY id",
                                 (item,)).fetchall()
        handed = [s for s, _a in events if s in ("sent", "outbox")]
        failed = sorted({a for s, a in events if s in ("failed", "bounced") and a})
        bounced = any(s == "bounced" for s, _a in events)
        state = handed[-1] if handed else "registered"
        if any(s == "failed" and not a for s, a in events) and not handed:
            state = "failed"
        if failed:
            word = "bounced" if bounced else "failed"
            state += f"; {word}: {', '.join(failed)}"
        return state

    def show(self, number: str) -> dict[str, Any]:
        """Return everything registered about the item ``number``."""
        self.db.row_factory = sqlite3.Row
        try:
            row = self.db.execute("SELECT * FROM items WHERE number = ?", (number,)).fetchone()
            if row is None:
                known = [r[0] for r in self.db.execute("SELECT number FROM items ORDER BY id DESC "
                                                       "LIMIT 3")]
                raise RegisterError(f"no register item numbered '{number}'", None,
                                    f"latest: {', '.join(known)}" if known else "the register is empty")
            item = {k: row[k] for k in row.keys() if k not in ("id", "year", "seq")}
            item["addressees"] = [dict(r) for r in self.db.execute(
                "SELECT role, name, address FROM addressees WHERE item_id = ? ORDER BY position",
                (row["id"],))]
            item["attachments"] = [dict(r) for r in self.db.execute(
                "SELECT filename, path, sha256, bytes, unsigned_sha256 FROM attachments WHERE item_id = ? "
                "ORDER BY position", (row["id"],))]
            item["events"] = [dict(r) for r in self.db.execute(
                "SELECT at, state, address, detail FROM events WHERE item_id = ? ORDER BY id",
                (row["id"],))]
            item["state"] = self._state(row["id"])
            return item
        finally:
            self.db.row_factory = None

    def export_csv(self, letter: str | None = None) -> str:
        """Return the items as CSV text, a header row first (the COLUMNS)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for row in self.items(letter):
            writer.writerow({k: _csv_safe(v) for k, v in row.items()})
        return out.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets; a leading apostrophe is
    # what they show as text. Registered values never start so, but data is data.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
