"""``manifest.json`` as the inventory of the output folder.

The manifest lists every file pactdocs owns in the folder, not only those the last command
asked for: what this run wrote or kept (``written``, ``unchanged``, ``failed``), and what earlier
runs wrote and this one did not touch (``kept``). Each file says whether it is a draft and which
run made it. A file that no longer belongs to the letter carries ``stale`` with the reason, and
``merge --clean`` removes it (only files pactdocs recorded, never through a link).

A file belongs while the letter still has its recipient, language, part and format; under
``--final``, a draft file of a language the run refused or could not render does not: shipping
the folder would ship it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import __version__


class Owned(NamedTuple):
    """A file the state DB records: what pactdocs wrote into the folder."""

    path: str
    sha256: str
    size: int
    draft: bool | None
    run: int | None


def parse_path(letter: str, path: str) -> tuple[str, str, str, str] | None:
    """Return (recipient, language, part, format) of a document path, or None.

    >>> parse_path("pact", "AT/de/pact-AT-de-annex-1.pdf")
    ('AT', 'de', 'annex-1', 'pdf')
    """
    pieces = path.split("/")
    if len(pieces) != 3:
        return None
    recipient, language, name = pieces
    stem, dot, fmt = name.rpartition(".")
    prefix = f"{letter}-{recipient}-{language}-"
    if not dot or not stem.startswith(prefix) or len(stem) == len(prefix):
        return None
    return recipient, language, stem[len(prefix):], fmt


@dataclass(frozen=True)
class Belonging:
    """What the letter has now: the inventory measures every owned file against it."""

    letter: str
    recipients: frozenset[str]
    languages: frozenset[str]
    parts: frozenset[str]
    formats: frozenset[str]
    final: bool

    def stale(self, path: str, draft: bool | None, failed: bool) -> str | None:
        """Return why the file at ``path`` no longer belongs to the letter, or None."""
        fields = parse_path(self.letter, path)
        if fields is None:
            return "not a document path of this letter"
        recipient, language, part, fmt = fields
        for value, known, what in ((recipient, self.recipients, "recipient"),
                                   (language, self.languages, "language"),
                                   (part, self.parts, "part"), (fmt, self.formats, "format")):
            if value not in known:
                return f"the letter has no {what} '{value}' any more"
        if self.final and failed and draft is not False:
            return "a draft left by an earlier run; this --final run did not replace it"
        return None


def inventory(belonging: Belonging, asked: Iterable[dict[str, Any]],
              owned: dict[str, Owned], this_run: int, runs: dict[int, dict[str, Any]],
              interrupted: str | None = None) -> dict[str, Any]:
    """Return the manifest: the documents this run was ``asked`` for, then every other
    ``owned`` file, each with its draft flag, the run that made it and ``stale`` when it no
    longer belongs. The ``asked`` entries become the manifest's (they are completed in place)."""
    documents = []
    seen = set()
    for entry in asked:
        path = entry["path"]
        seen.add(path)
        record = owned.get(path)
        failed = entry["status"] == "failed"
        if failed and record is not None:
            # The job failed, but an earlier run's file is still there: say what it is.
            entry["on_disk"] = {"sha256": record.sha256, "bytes": record.size,
                                "draft": record.draft, "run": record.run}
        if record is not None and not failed:
            entry["draft"] = record.draft if record.draft is not None else entry["draft"]
            entry["run"] = record.run if record.run is not None else this_run
        elif not failed:
            entry["run"] = this_run
        else:
            entry["run"] = None
        reason = (belonging.stale(path, record.draft, True)
                  if failed and record is not None else None)
        if reason:
            entry["stale"] = reason
        documents.append(entry)
    for path in sorted(set(owned) - seen):
        record = owned[path]
        fields = parse_path(belonging.letter, path) or ("", "", "", "")
        entry = {"recipient": fields[0], "language": fields[1], "part": fields[2],
                 "format": fields[3], "path": path, "sha256": record.sha256,
                 "status": "kept", "error": None, "bytes": record.size, "inputs": None,
                 "draft": record.draft, "run": record.run}
        reason = belonging.stale(path, record.draft, False)
        if reason:
            entry["stale"] = reason
        documents.append(entry)
    used = {d["run"] for d in documents if d.get("run") is not None} | {this_run}
    used |= {d["on_disk"]["run"] for d in documents if d.get("on_disk", {}).get("run")}
    manifest: dict[str, Any] = {
        "letter": belonging.letter, "pactdocs": __version__, "run": this_run,
        "runs": {str(r): runs[r] for r in sorted(used) if r in runs},
        "documents": documents,
    }
    if interrupted:
        manifest["interrupted"] = interrupted
    return manifest


def stale_paths(manifest: dict[str, Any]) -> list[str]:
    """Return the paths of the files the manifest flags as no longer belonging."""
    return [d["path"] for d in manifest["documents"] if d.get("stale")]
