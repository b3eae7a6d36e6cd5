"""Read input files only from inside the project's own folders, and only up to a size.

A registry, template or catalog may be a symbolic link (a checkout on another disk, a shared
catalog); what counts is where it leads. A file whose real path lies outside the folder it is
read for is refused before a byte of it is read, so no error message and no output can carry
its content.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Location, PactdocsError, relpath

# Limits on what one input file may hold (the sample project's largest file is 40 KB).
MAX_YAML_BYTES = 2 * 1024 * 1024
MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_CATALOG_BYTES = 8 * 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


# The project's input folders: a file below one of them must stay below it.
INPUT_FOLDERS = ("letter_templates", "recipients")


def _area(folder: Path) -> Path:
    """Return the input folder ``folder`` belongs to (``letter_templates/``), or ``folder``."""
    absolute = Path(os.path.abspath(folder))
    for candidate in (absolute, *absolute.parents):
        if candidate.name in INPUT_FOLDERS:
            return candidate
    return absolute


def inside(path: Path, folder: Path) -> bool:
    """Return whether ``path``, all links followed, lies in ``folder`` (links followed too).

    Below an input folder the real path must also stay in that input folder, so that a letter
    folder or a ``locale/`` folder that is itself a link out does not carry its files along.
    """
    try:
        real = path.resolve(strict=True)
        real.relative_to(folder.resolve(strict=True))
        real.relative_to(_area(folder).resolve(strict=True))
    except (OSError, ValueError, RuntimeError):
        return False
    return True


def check_inside(path: Path, folder: Path, error_cls: type[PactdocsError] = PactdocsError) -> None:
    """Raise ``error_cls`` when ``path`` leads outside ``folder``; a missing file passes."""
    if not os.path.lexists(path):
        return
    if not inside(path, folder):
        if inside(path, _area(folder)):
            bound = folder
        else:
            bound = _area(folder)
        raise error_cls(
            f"refusing to read {relpath(path)}: it is a link that leads outside "
            f"{relpath(bound)}", Location(relpath(path)),
            "pactdocs reads only files inside the project; copy the file in instead of linking it")


def read_inside(path: Path, folder: Path, limit: int,
                error_cls: type[PactdocsError] = PactdocsError) -> bytes:
    """Return the bytes of ``path`` after checking that it stays in ``folder`` and under ``limit``.

    Raise FileNotFoundError for a missing file (callers word that themselves).
    """
    if not os.path.lexists(path):
        raise FileNotFoundError(str(path))
    check_inside(path, folder, error_cls)
    with open(path.resolve(), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error_cls(f"file is too large ({_megabytes(size)}, the limit is "
                            f"{_megabytes(limit)})", Location(relpath(path)),
                            "split it, or check that it is the file you meant")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error_cls(f"file is too large (more than {_megabytes(limit)})",
                        Location(relpath(path)))
    return data
