"""The send ledger: what was handed over, per message and per address, in the output folder.

A message is ``planned`` when the run has built it, ``sending`` from the moment the end of its
data goes to the server until the server's reply is committed here, then ``sent`` (the reply
and the Message-ID are kept) or ``failed``. Each address has its own row: accepted, refused
(5xx, final) or pending. A rerun sends only to pending addresses; a message left ``sending``
by a killed run may have been accepted, so it is not sent again unless asked for
(``--resend-uncertain``), and the run says so.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..register.store import now

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    letter TEXT NOT NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('planned', 'sending', 'sent', 'failed')),
    reply TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL DEFAULT '',
    eml TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS addresses (
    message_id TEXT NOT NULL REFERENCES messages(message_id),
    address TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'refused')),
    reply TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, address)
);
"""


class Ledger:
    FILENAME = ".pactdocs-send.sqlite"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / self.FILENAME
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def state(self, message_id: str) -> tuple[str, str, str] | None:
        """Return (state, mode, reply) of a message, or None when it was never planned."""
        row = self.db.execute("SELECT state, mode, reply FROM messages WHERE message_id = ?",
                              (message_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def pending(self, message_id: str) -> list[str]:
        """Return the addresses of a message not yet accepted nor finally refused."""
        return [a for (a,) in self.db.execute(
            "SELECT address FROM addresses WHERE message_id = ? AND state = 'pending' "
            "ORDER BY rowid", (message_id,))]

    def addresses(self, message_id: str) -> dict[str, tuple[str, str]]:
        return {a: (s, r) for a, s, r in self.db.execute(
            "SELECT address, state, reply FROM addresses WHERE message_id = ?", (message_id,))}

    def plan(self, message_id: str, letter: str, recipient: str, language: str, mode: str,
             number: str, envelope: list[str]) -> None:
        """Record a message as planned (a message already known keeps its state)."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT OR IGNORE INTO messages (message_id, letter, recipient, language, mode, state, "
            "number, updated) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?)",
            (message_id, letter, recipient, language, mode, number, now()))
        self.db.executemany(
            "INSERT OR IGNORE INTO addresses (message_id, address, state) VALUES (?, ?, 'pending')",
            [(message_id, a) for a in envelope])
        self.db.execute("COMMIT")

    def mark(self, message_id: str, state: str, reply: str = "", eml: str = "") -> None:
        self.db.execute("UPDATE messages SET state = ?, reply = ?, updated = ?, "
                        "eml = CASE WHEN ? = '' THEN eml ELSE ? END WHERE message_id = ?",
                        (state, reply, now(), eml, eml, message_id))

    def settle(self, message_id: str, accepted: list[str], refused: dict[str, str], reply: str,
               *, done: bool) -> None:
        """Record the server's answer for some addresses in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("UPDATE addresses SET state = 'accepted', reply = ? WHERE "
                            "message_id = ? AND address = ?",
                            [(reply, message_id, a) for a in accepted])
        self.db.executemany("UPDATE addresses SET state = 'refused', reply = ? WHERE "
                            "message_id = ? AND address = ?",
                            [(r, message_id, a) for a, r in refused.items()])
        if done:
            left = self.db.execute("SELECT COUNT(*) FROM addresses WHERE message_id = ? AND "
                                   "state = 'accepted'", (message_id,)).fetchone()[0]
            self.db.execute("UPDATE messages SET state = ?, reply = ?, updated = ? "
                            "WHERE message_id = ?",
                            ("sent" if left else "failed", reply, now(), message_id))
        else:
            self.db.execute("UPDATE messages SET state = 'planned', updated = ? "
                            "WHERE message_id = ?", (now(), message_id))
        self.db.execute("COMMIT")
