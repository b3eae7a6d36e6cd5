"""pactdocs: one official letter, many recipients, 24 languages, PDF and DOCX.

The public API, importable from here (loaded on first use, so ``import pactdocs`` stays cheap)::

    import pactdocs
    project = pactdocs.Project(Path("."))
    summary = pactdocs.merge(project, pactdocs.Options(letter="pact-implementation", to="AT"))
    problems = pactdocs.check_project(project)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "Project": "pactdocs.sources.project",
    "Composer": "pactdocs.compose",
    "merge": "pactdocs.batch.merge",
    "Options": "pactdocs.batch.merge",
    "Summary": "pactdocs.batch.merge",
    "check_project": "pactdocs.check",
    "write_reviews": "pactdocs.translation.review",
    "export_xliff": "pactdocs.translation.xliff",
    "import_xliff": "pactdocs.translation.xliff",
    "new_letter": "pactdocs.authoring.scaffold",
    "send": "pactdocs.dispatch.send",
    "SendOptions": "pactdocs.dispatch.send",
    "Register": "pactdocs.register.store",
    "PactdocsError": "pactdocs.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'pactdocs' has no attribute {name!r}")
