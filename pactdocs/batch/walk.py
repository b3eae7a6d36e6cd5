"""A rerun's look at every file of a large output folder, in a forked child.

A rerun that finds most of its documents unchanged spends its largest part, at thousands of
documents, on a ``stat`` of each file (folder handles opened one by one, no link entered:
:meth:`~.outdir.OutputFolder.signatures`). On two cores that walk is done aside while the run
loads and plans, and the run takes its answer when it asks for most of those files. The command
line starts it before merge's own imports, which it does not need.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .outdir import MANIFEST_NAME, STATE_NAME, OutputFolder

# A rerun into a folder of at least this many files stats them in a child while it plans, and
# takes that child's answer when it asks for at least half as many (fewer are quicker here).
WALK_FROM = 2000


def owned_estimate(out: Path) -> int:
    """Return about how many files an earlier run recorded (the size of the last manifest)."""
    try:
        return (out / MANIFEST_NAME).lstat().st_size // 300
    except OSError:
        return 0


def second_core(jobs: int) -> bool:
    """Whether a run with ``--jobs jobs`` (0: as many as cores) may work aside, in a forked
    child, on another core."""
    return jobs != 1 and (os.cpu_count() or 1) > 1


class FolderWalk:
    """The signature of every file of an output folder, being found by a forked child."""

    def __init__(self, identity: tuple[int, int], aside: Any) -> None:
        self._identity = identity
        self._aside = aside

    @classmethod
    def start(cls, out: Path, *, jobs: int, dry_run: bool = False, force: bool = False,
              verify: bool = False) -> FolderWalk | None:
        """Start the walk of ``out`` for a run with these options, or return None when the run
        has no use for it: a dry run, ``--force`` or ``--verify`` (every file is hashed or
        rendered), one core or ``--jobs 1``, a new folder or one of fewer files."""
        if dry_run or force or verify or not second_core(jobs) \
                or not os.path.lexists(out / STATE_NAME) or owned_estimate(out) < WALK_FROM:
            return None
        try:
            info = os.stat(out)
        except OSError:
            return None
        from .aside import Aside, pickled

        def walk() -> bytes:
            folder = OutputFolder.reader(out)
            if folder is None:
                return b""
            try:
                return pickled(folder.signatures())
            finally:
                folder.close()

        return cls((info.st_dev, info.st_ino), Aside(walk))

    def of(self, out: Path) -> bool:
        """Return whether this is the walk of the folder ``out`` (however its path is written)."""
        try:
            info = os.stat(out)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._identity

    def result(self) -> dict[str, Any] | None:
        """Return the child's path → signature, or None when it could not say."""
        from .aside import unpickled

        return unpickled(self._aside.result(), dict)

    def discard(self) -> None:
        """End the child, if it still runs, and forget it."""
        self._aside.discard()
