"""The package layout is the architecture: each module in its wing, no import from a lower wing up."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "pactdocs"
# Lowest first. A module may import from its own wing and from wings below it, never above.
WINGS = ["errors", "sources", "locale", "core", "writers", "batch", "translation", "authoring",
         "register", "dispatch", "top"]
# The package's own __init__ holds the version and a lazy map of the public API: it imports nothing
# when loaded, so every wing may read __version__ from it.
WING_OF = {"errors": "errors", "__init__": "errors", "model": "core", "compose": "core", "check": "top",
           "cli": "top"}


def wing(module: str) -> str:
    """Return the wing of a dotted module name below ``pactdocs``."""
    first = module.split(".")[0]
    return WING_OF.get(first, first)


def imports(path: Path) -> list[tuple[int, str]]:
    """Return (line, dotted module below pactdocs) for every pactdocs import in ``path``."""
    here = list(path.relative_to(PACKAGE).with_suffix("").parts)
    package = here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # from . import x: a module, or a name of the package itself
                    found += [(node.lineno, ".".join([*base, a.name]) if base else "__init__")
                              for a in node.names]
                    continue
            elif node.module and node.module.startswith("pactdocs."):
                target = node.module.removeprefix("pactdocs.")
            else:
                continue
            found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.removeprefix("pactdocs.")) for a in node.names
                      if a.name.startswith("pactdocs.")]
    return found


def test_every_module_sits_in_a_known_wing() -> None:
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        assert wing(module) in WINGS, f"{path}: not in a wing of the layout ({WINGS})"


def test_no_lower_wing_imports_a_higher_one() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        mine = WINGS.index(wing(module))
        for line, target in imports(path):
            if target and WINGS.index(wing(target)) > mine:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {wing(module)} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_pool_knows_nothing_of_merge() -> None:
    targets = {t for _line, t in imports(PACKAGE / "batch" / "pool.py")}
    assert targets == {"errors"}, targets


def test_public_api_from_the_package() -> None:
    import pactdocs
    from pactdocs.batch.merge import merge

    assert pactdocs.merge is merge
    for name in pactdocs.__all__:
        assert getattr(pactdocs, name) is not None


def test_readme_layout_table_names_every_wing() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme[readme.index("## Layout"):]
    for entry in PACKAGE.iterdir():
        if entry.is_dir() and (entry / "__init__.py").exists():
            assert f"`pactdocs/{entry.name}/`" in table, entry.name
