"""A loaded registry kept as bytes, so that a run whose registry files have not changed since the
last run need not parse and validate them again.

Loading the registry of 2,700 people costs about half a second (YAML, then every record through
its schema, e-mail addresses included) and the schemas' import a tenth more; a kept registry is
read back in a few milliseconds per hundred recipients. The bytes begin with a key: the sha256 of
every registry file as read now (through the same guarded reader as the loader, so nothing
outside ``recipients/`` is read), the code that loads and checks a registry, and the folder paths
in messages are shown relative to. Any difference, and the registry is loaded from its files.

The records are pickled, and read back by an unpickler that builds only the registry's own
records (a fixed list of classes): bytes that name anything else are not a registry and are
ignored, never run. Whoever keeps the bytes (the batch keeps them in the output folder, beside its
state DB) decides which documents a run believes are up to date anyway.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import errors
from . import files, registry
from .registry import OPTIONAL_SECTIONS, SECTIONS, Registry

# Bumped when the layout of the kept bytes changes.
FORMAT = b"pactdocs-registry-1\n"
_KEY_BYTES = 64  # the hex sha256 after FORMAT

# The classes a kept registry is built of; nothing else is ever looked up.
_ALLOWED = {
    ("pactdocs.sources.registry", name) for name in (
        "Registry", "MemberState", "Agency", "Seat", "Recipient", "Person", "Address", "Contact",
        "Signatory", "Group")
} | {
    ("pactdocs.errors", "Location"), ("pactdocs.errors", "RegistryError"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"),
}
# The code whose change changes what a load returns, and the packages it checks records with.
_HERE = Path(__file__).resolve().parent
_CODE = tuple(_HERE / f"{name}.py" for name in (
    "registry", "schemas", "vocabulary", "yamlload", "files")) + (_HERE.parent / "errors.py",)
_CHECKERS = ("pydantic", "pydantic_core", "email_validator", "yaml")


def registry_key(root: Path) -> str | None:
    """Return the key of the registry in ``root`` as its files are now, or None when a file
    cannot be read (the loader then says why)."""
    digest = hashlib.sha256(FORMAT)
    try:
        here = os.getcwd()
    except OSError:  # the working folder was removed: messages show absolute paths
        here = ""
    digest.update(here.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(str(root).encode("utf-8", "surrogateescape") + b"\0")
    for code in _CODE:
        try:
            digest.update(code.read_bytes())
        except OSError:
            return None
    for package in _CHECKERS:  # a new release of what checks the records: stat, not import
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            return None
        stat = os.stat(spec.origin)
        digest.update(f"{package}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    for section in SECTIONS:
        path = root / f"{section}.yaml"
        digest.update(section.encode() + b"\0")
        if section in OPTIONAL_SECTIONS and not path.exists() and not path.is_symlink():
            digest.update(b"absent\0")
            continue
        try:
            data = files.read_inside(path, root, files.MAX_YAML_BYTES, errors.RegistryError)
        except (OSError, errors.PactdocsError):
            return None
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def dump(loaded: Registry, key: str) -> bytes:
    """Return ``loaded`` as bytes under ``key``; its raw sections are kept as their canonical
    JSON (all that :meth:`Registry.digest` reads of them)."""
    kept = replace(loaded, sections={}, section_json={
        section: registry.canonical(loaded.sections.get(section)) for section in SECTIONS})
    return FORMAT + key.encode("ascii") + pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)


def restore(data: bytes | None, key: str | None) -> Registry | None:
    """Return the registry kept in ``data`` when it was kept under ``key``, else None."""
    if not data or key is None:
        return None
    head = FORMAT + key.encode("ascii")
    if not data.startswith(head):
        return None
    try:
        loaded = _Unpickler(io.BytesIO(data[len(head):])).load()
    except Exception:  # noqa: BLE001 - damaged or foreign bytes: load from the files
        return None
    return loaded if isinstance(loaded, Registry) else None


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a registry")
        return super().find_class(module, name)
