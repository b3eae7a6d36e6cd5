"""Import WeasyPrint once, quickly.

On import WeasyPrint opens GLib, Pango, HarfBuzz and Fontconfig through cffi, trying several
names for each library (Windows and macOS names first). Each name that is not a file name makes
cffi ask ``ctypes.util.find_library``, which on Linux runs ``ldconfig -p`` and then ``gcc`` and
``ld``: some twenty programs started, a quarter of a second before the first letter. During the
import :func:`load` answers those questions from the linker's own folders instead (the same
answer: a library named ``lib<name>.so…`` in a folder the dynamic linker searches, or none), and
should the import fail that way it is tried again with the standard look-up. It also makes
Pyphen open hyphenation dictionaries with :class:`~pactdocs.writers.hyphenation.QuickHyphDict`,
gives WeasyPrint's font subsetting its glyph arrays without a C parser (:class:`GlyphArrays`),
and leaves the parts of fontTools WeasyPrint needs only for what pactdocs does not do (subsetting
without HarfBuzz, variable fonts) to be imported when first used (:func:`_deferred_font_tools`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _forget_weasyprint() -> None:
    """Forget a WeasyPrint import that failed half-way, so that it can be tried again."""
    for module in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
        del sys.modules[module]


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
    from . import hyphenation, weasyffi

    hyphenation.install()
    if "weasyprint" in sys.modules:
        return
    import ctypes.util

    standard = ctypes.util.find_library
    quick, tables = True, True
    while True:
        ctypes.util.find_library = find_in_linker_path if quick else standard
        try:
            with _deferred_font_tools(), \
                    (weasyffi.prebuilt() if tables else contextlib.nullcontext()):
                import weasyprint  # noqa: F401
            break
        except weasyffi.Mismatch:  # tables of another WeasyPrint: its declarations are parsed
            _forget_weasyprint()
            tables = False
        except OSError:
            if not quick:
                raise
            _forget_weasyprint()
            quick = False
        finally:
            ctypes.util.find_library = standard
    from weasyprint.pdf import fonts

    if not isinstance(fonts.ffi, GlyphArrays):
        fonts.ffi = GlyphArrays(fonts.ffi)


# What WeasyPrint's PDF fonts take from fontTools only to subset fonts without HarfBuzz (pactdocs
# installs HarfBuzz's subsetter) and to make a variable font static: 110 of the 145 fontTools
# modules, a quarter of the import.
_SUBSET = "fontTools.subset"
_INSTANCER = "fontTools.varLib.instancer"


@contextlib.contextmanager
def _deferred_font_tools() -> Iterator[None]:
    """While WeasyPrint is imported, let its ``from fontTools import subset`` and ``from
    fontTools.varLib.instancer import instantiateVariableFont`` bind stand-ins that import the
    real module when first used; the stand-ins leave ``sys.modules`` before this returns, so that
    any other import of those modules gets the real ones."""
    if _SUBSET in sys.modules or _INSTANCER in sys.modules:
        yield
        return
    subset = types.ModuleType(_SUBSET)
    subset.__getattr__ = lambda name: getattr(importlib.import_module(_SUBSET), name)  # type: ignore[method-assign]
    instancer = types.ModuleType(_INSTANCER)

    def instantiate_variable_font(*args: Any, **kwargs: Any) -> Any:
        return importlib.import_module(_INSTANCER).instantiateVariableFont(*args, **kwargs)

    instancer.instantiateVariableFont = instantiate_variable_font  # type: ignore[attr-defined]
    sys.modules[_SUBSET], sys.modules[_INSTANCER] = subset, instancer
    try:
        yield
    finally:
        for name, stand_in in ((_SUBSET, subset), (_INSTANCER, instancer)):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


_FIXED_ARRAY = re.compile(r"hb_codepoint_t\[([0-9]+)\]")


class GlyphArrays:
    """WeasyPrint's cffi handle as its font subsetting sees it, with one change.

    The subsetting asks for arrays of glyph ids by a C declaration that names their length
    (``hb_codepoint_t[57]``). cffi keeps each declaration it has parsed, but parses every new
    one with pycparser, preceded by all the type names WeasyPrint declared: about 10 ms for each
    new length, and the first one also builds the C parser (50 ms), so a worker's first PDF
    paid some 60 ms. Such an array is the same memory and values when it is made from the one
    open array type (``hb_codepoint_t[]``) and its values; everything else is cffi's own.
    """

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi
        self._open = ffi.typeof("hb_codepoint_t[]")

    def new(self, cdecl: Any, init: Any = None) -> Any:
        if isinstance(cdecl, str) and init is not None:
            fixed = _FIXED_ARRAY.fullmatch(cdecl)
            if fixed is not None and int(fixed[1]) == len(init):
                return self._ffi.new(self._open, init)
        return self._ffi.new(cdecl, init)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)
