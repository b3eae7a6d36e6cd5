"""Load YAML the safe way for registries and letter metadata.

Every scalar stays a string (YAML 1.1 would read ``NO`` as false and ``01234`` as octal), a
duplicate key is an error, and every mapping and value remembers the line it came from.

Registries need none of YAML's references, so anchors and aliases (``&a``, ``*a``, the way to
build a "billion laughs" bomb) are refused, as are files over
:data:`~pactdocs.sources.files.MAX_YAML_BYTES`, nesting deeper than :data:`MAX_DEPTH` and a
single value longer than :data:`MAX_SCALAR`. A file that leads outside its folder is not read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ..errors import Location, PactdocsError, relpath
from .files import MAX_YAML_BYTES, read_inside

MAX_DEPTH = 20
MAX_SCALAR = 100_000
# The private-use area, where compose keeps its own markers.
_PRIVATE = re.compile("[\ue000-\uf8ff]")


class Node(dict):
    """A YAML mapping with the line of the mapping and of each key."""

    location: Location
    key_lines: dict[str, int]

    def where(self, key: str | None = None) -> Location:
        """Return the location of ``key`` (or of the mapping itself)."""
        if key is not None and key in self.key_lines:
            return Location(self.location.path, self.key_lines[key])
        return self.location


class Seq(list):
    """A YAML sequence with the line of each item."""

    location: Location
    item_lines: list[int]

    def where(self, index: int | None = None) -> Location:
        if index is not None and 0 <= index < len(self.item_lines):
            return Location(self.location.path, self.item_lines[index])
        return self.location


def _loader_for(path: str, error_cls: type[PactdocsError],
                allow_private: bool) -> type[yaml.BaseLoader]:
    class Loader(yaml.BaseLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            where = Location(path, event.start_mark.line + 1)
            if isinstance(event, yaml.AliasEvent):
                raise error_cls(f"YAML alias '*{event.anchor}' is not allowed", where,
                                "write the value out in full: registries take no references")
            if getattr(event, "anchor", None) is not None:
                raise error_cls(f"YAML anchor '&{event.anchor}' is not allowed", where,
                                "write the value out in full: registries take no references")
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
                raise error_cls(f"a value of {len(event.value):,} characters is too long "
                                f"(the limit is {MAX_SCALAR:,})", where)
            if isinstance(event, yaml.ScalarEvent) and not allow_private:
                found = _PRIVATE.search(event.value)
                if found:
                    raise error_cls(f"the private-use character U+{ord(found.group()):04X} is "
                                    "not allowed", where,
                                    "remove it: pactdocs reserves these characters for itself")
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise error_cls(f"nesting deeper than {MAX_DEPTH} levels", where,
                                    "registries and letters need only a few levels")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode) -> Node:
        result = Node()
        result.location = Location(path, node.start_mark.line + 1)
        result.key_lines = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise error_cls(
                    "a key must be a plain name", Location(path, key_node.start_mark.line + 1)
                )
            key = loader.construct_scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in result:
                raise error_cls(
                    f"duplicate key '{key}' (first on line {result.key_lines[key]})",
                    Location(path, line),
                    "remove one of the two entries",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(loader: yaml.BaseLoader, node: yaml.SequenceNode) -> Seq:
        result = Seq(loader.construct_object(child, deep=True) for child in node.value)
        result.location = Location(path, node.start_mark.line + 1)
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_yaml(path: Path, error_cls: type[PactdocsError] = PactdocsError,
              root: Path | None = None, allow_private: bool = False) -> Any:
    """Return the content of the YAML file ``path``, strings and line-aware containers only.

    ``path`` must lie in ``root`` (its own folder by default) once links are followed. A
    private-use character is refused unless ``allow_private`` (the registries check each field
    themselves, so that one bad entry does not make the whole file unreadable).
    """
    shown = relpath(path)
    try:
        text = read_inside(path, root or path.parent, MAX_YAML_BYTES, error_cls).decode("utf-8")
    except FileNotFoundError:
        raise error_cls("file not found", Location(shown)) from None
    except UnicodeDecodeError as exc:
        raise error_cls(f"not UTF-8 text ({exc.reason})", Location(shown), "save the file as UTF-8") from None
    try:
        return yaml.load(text, Loader=_loader_for(shown, error_cls, allow_private))  # noqa: S506 - BaseLoader subclass
    except PactdocsError:
        raise
    except ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise error_cls(str(exc.problem), Location(shown, mark.line + 1 if mark else 0)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        raise error_cls(
            f"malformed YAML: {problem}",
            Location(shown, mark.line + 1 if mark else 0),
            "check the indentation and quote values containing ':' or '#'",
        ) from None
    except RecursionError:
        raise error_cls(f"nesting deeper than {MAX_DEPTH} levels", Location(shown)) from None
    except yaml.YAMLError as exc:
        raise error_cls(f"malformed YAML: {exc}", Location(shown)) from None
