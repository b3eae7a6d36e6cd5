"""Import WeasyPrint once, quickly.

On import WeasyPrint opens GLib, Pango, HarfBuzz and Fontconfig through cffi, trying several
names for each library (Windows and macOS names first). Each name that is not a file name makes
cffi ask ``ctypes.util.find_library``, which on Linux runs ``ldconfig -p`` and then ``gcc`` and
``ld``: some twenty programs started, a quarter of a second before the first letter. During the
import :func:`load` answers those questions from the linker's own folders instead (the same
answer: a library named ``lib<name>.so…`` in a folder the dynamic linker searches, or none), and
should the import fail that way it is tried again with the standard look-up. It also makes
Pyphen open hyphenation dictionaries with :class:`~pactdocs.writers.hyphenation.QuickHyphDict`.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")


@functools.cache
def _linker_dirs() -> tuple[Path, ...]:
    """The folders the dynamic linker searches: LD_LIBRARY_PATH, ld.so.conf, the defaults."""
    found: list[str] = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    conf_dir = Path("/etc/ld.so.conf.d")
    try:
        confs = sorted(conf_dir.glob("*.conf"))
    except OSError:
        confs = []
    for conf in confs:
        try:
            lines = conf.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        found += [line.strip() for line in lines if line.strip().startswith("/")]
    found += _DEFAULT_DIRS
    return tuple(dict.fromkeys(Path(d) for d in found if Path(d).is_dir()))


@functools.cache
def _listing(folder: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(folder)))
    except OSError:
        return ()


def find_in_linker_path(name: str) -> str | None:
    """Return the file name of the shared library ``name`` (``lib<name>.so.N``), or None."""
    wanted = re.compile(rf"lib{re.escape(name)}\.so(\.[0-9]+)*")
    for folder in _linker_dirs():
        matches = [entry for entry in _listing(folder) if wanted.fullmatch(entry)]
        if matches:
            # ldconfig reports the soname: one version number (libpango-1.0.so.0), else the
            # shortest name there is.
            sonames = [m for m in matches if m.count(".so.") == 1
                       and m.rpartition(".so.")[2].isdigit()]
            return min(sonames or matches, key=len)
    return None


def load() -> None:
    """Import WeasyPrint (once per process) and install the quick hyphenation patterns."""
    from . import hyphenation

    hyphenation.install()
    if "weasyprint" in sys.modules:
        return
    import ctypes.util

    standard = ctypes.util.find_library
    ctypes.util.find_library = find_in_linker_path
    try:
        import weasyprint  # noqa: F401
    except OSError:
        for module in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[module]
        ctypes.util.find_library = standard
        import weasyprint  # noqa: F401
    finally:
        ctypes.util.find_library = standard
