"""The one exception family pactdocs raises for bad input, each carrying where and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in an input file: path and 1-based line (0 when unknown)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class PactdocsError(Exception):
    """Bad input or configuration: printed as ``path:line: message (hint)`` without a traceback.

    ``category`` groups errors for the CLI and the manifest (``registry``, ``template``,
    ``catalog``, ``render``, ``usage``, ``io``).
    """

    category = "error"
    severity = "error"

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        hint: str | None = None,
        category: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        if category:
            self.category = category

    def __str__(self) -> str:
        message = f"warning: {self.message}" if self.severity == "warning" else self.message
        text = f"{self.location}: {message}" if self.location else message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def one_line(self) -> str:
        """Return the error on a single line, for the manifest."""
        return " ".join(str(self).split())


class RegistryError(PactdocsError):
    category = "registry"


class TemplateError(PactdocsError):
    category = "template"


class CatalogError(PactdocsError):
    category = "catalog"


class CatalogWarning(CatalogError):
    """A catalog oddity that is valid and renders as it is: reported, never refused."""

    severity = "warning"


class RenderError(PactdocsError):
    category = "render"


class UsageError(PactdocsError):
    category = "usage"


def relpath(path: Path | str) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def nearest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """Return the valid name closest to ``name``, or None when nothing is close."""
    import difflib

    found = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    if not found:
        lowered = {c.lower(): c for c in choices}
        if name.lower() in lowered:
            return lowered[name.lower()]
        return None
    return found[0]


def did_you_mean(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """Return a ``did you mean 'x'?`` hint, or None."""
    best = nearest(name, choices)
    return f"did you mean '{best}'?" if best else None


class Interrupted(PactdocsError):
    """A run stopped by SIGINT or SIGTERM after recording what it finished.

    ``exit_code`` is the shell's convention for a process ended by that signal (130, 143).
    """

    category = "interrupted"

    def __init__(self, message: str, exit_code: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code
