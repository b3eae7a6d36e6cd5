"""WeasyPrint's C declarations, parsed once when pactdocs is set up rather than at each import.

WeasyPrint declares the Pango, HarfBuzz, Fontconfig and GObject functions it calls as C source
handed to cffi (``ffi.cdef``), and cffi parses that source with pycparser at every import: the
parser's own import and the parse are a fifth of the time WeasyPrint takes to import, paid by
every pactdocs command that writes a PDF. cffi can also build the same handle from the tables
it would derive from that source (its "out-of-line" mode, the form ``cffi.recompiler`` writes
for a module), without a C parser.

:func:`build` (``python -m pactdocs.writers.weasyffi``, run by ``make setup``) imports WeasyPrint
the usual way and keeps those tables, with the SHA-256 of the declarations they came from, in
:data:`TABLES` inside the environment pactdocs is installed in. :func:`prebuilt` then makes the
import of WeasyPrint use them, for exactly those declarations: a different WeasyPrint (other
declarations), a missing or unreadable file, each means the usual parse, and nothing is written
at run time. Library look-ups behave as cffi's own (a bare name is tried with
``ctypes.util.find_library`` when the dynamic linker does not know it), and C type names are
then read by cffi's built-in parser, which also makes each new array length cheap.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Where :func:`build` keeps the tables: the environment's own data folder (``.venv/share``).
TABLES = Path(sys.prefix) / "share" / "pactdocs" / "weasyprint-ffi.marshal"
_FORMAT = 1  # the layout of the file; a file of another layout is not used
_MAX_SIZE = 4 * 1024 * 1024


class Mismatch(Exception):
    """The tables were built from other declarations than the ones WeasyPrint gives."""


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def read_tables(path: Path | None = None) -> dict[str, Any] | None:
    """Return the tables kept at ``path`` (default :data:`TABLES`), or None when there are none
    usable there."""
    tables = read_kept(TABLES if path is None else path, _MAX_SIZE, _FORMAT)
    if tables is None \
            or not isinstance(tables.get("sha256"), str) \
            or not isinstance(tables.get("ffi"), dict):
        return None
    return tables


def read_kept(path: Path, limit: int, layout: int) -> dict[str, Any] | None:
    """Return the dict marshalled at ``path`` (what pactdocs kept there when it was set up)
    when it is at most ``limit`` bytes and of the ``layout`` given (its ``format``); else None,
    for a missing, torn, foreign or other file alike."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            return None
        kept = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return kept if isinstance(kept, dict) and kept.get("format") == layout else None


def keep(path: Path, kept: dict[str, Any]) -> None:
    """Marshal ``kept`` to ``path`` (read back by :func:`read_kept`), replacing the file whole:
    written beside it first, so that no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(marshal.dumps(kept))
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _handle_class() -> type:
    import ctypes.util

    import _cffi_backend

    class PrebuiltFFI(_cffi_backend.FFI):
        """cffi's handle built from the tables, checking that they fit WeasyPrint's source."""

        expected = ""

        def cdef(self, source: str, override: bool = False, packed: bool = False,
                 pack: int | None = None) -> None:
            if _digest(source) != self.expected:
                raise Mismatch("WeasyPrint's C declarations are not those the tables hold")

        def dlopen(self, name: Any, flags: int = 0) -> Any:
            try:
                return super().dlopen(name, flags)
            except OSError:
                # As cffi's FFI.dlopen: a name the dynamic linker does not know is looked up.
                if not isinstance(name, str) or "/" in name:
                    raise
                found = ctypes.util.find_library(name)
                if found is None:
                    raise
                return super().dlopen(found, flags)

    return PrebuiltFFI


@contextlib.contextmanager
def prebuilt(path: Path | None = None) -> Iterator[bool]:
    """While WeasyPrint is imported, let its first ``cffi.FFI()`` be the handle built from the
    kept tables; yields whether there are tables to use. The import raises :class:`Mismatch` if
    WeasyPrint's declarations are not the ones the tables were built from."""
    tables = read_tables(path)
    if tables is None:
        yield False
        return
    import cffi

    standard = cffi.FFI
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs or made:
            return standard(*args, **kwargs)
        handle_class = _handle_class()
        handle = handle_class(tables["name"], **tables["ffi"])
        handle.expected = tables["sha256"]
        made.append(handle)
        return handle

    cffi.FFI = make
    try:
        yield True
    finally:
        cffi.FFI = standard


def build(path: Path | None = None) -> Path:
    """Import WeasyPrint with cffi's parser, and keep the tables of its declarations at
    ``path`` (default :data:`TABLES`), replacing the file whole. Returns the path."""
    path = TABLES if path is None else path
    import cffi
    import cffi.recompiler

    sources: list[str] = []
    standard_cdef = cffi.FFI.cdef

    def recording(self: Any, source: str, *args: Any, **kwargs: Any) -> Any:
        sources.append(source)
        return standard_cdef(self, source, *args, **kwargs)

    if "weasyprint" in sys.modules:
        raise RuntimeError("build() needs a process that has not imported WeasyPrint yet")
    cffi.FFI.cdef = recording
    try:
        from weasyprint.text import ffi as declared
    finally:
        cffi.FFI.cdef = standard_cdef
    if len(sources) != 1:
        raise RuntimeError(f"WeasyPrint declared its C functions in {len(sources)} parts, not 1")
    name = "pactdocs_weasyprint_ffi"
    with tempfile.TemporaryDirectory() as scratch:
        module = Path(scratch) / f"{name}.py"
        cffi.recompiler.make_py_source(declared.ffi, name, str(module))
        tree = ast.parse(module.read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and node.func.attr == "FFI"]
    if len(calls) != 1 or [ast.literal_eval(a) for a in calls[0].args] != [name]:
        raise RuntimeError("cffi wrote its tables in a form pactdocs does not know")
    tables = {"format": _FORMAT, "sha256": _digest(sources[0]), "name": name,
              "ffi": {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords
                      if k.arg is not None}}
    keep(path, tables)
    return path


if __name__ == "__main__":
    print(f"WeasyPrint's C declarations kept as tables in {build()}")
