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


_Parser: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # libyaml when PyYAML has it


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAP_START, _SEQ_START = yaml.MappingStartEvent, yaml.SequenceStartEvent
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_scalar(value: str, where: Location, error_cls: type[PactdocsError],
                  check_private: bool) -> None:
    if len(value) > MAX_SCALAR:
        raise error_cls(f"a value of {len(value):,} characters is too long "
                        f"(the limit is {MAX_SCALAR:,})", where)
    if check_private:
        found = _PRIVATE.search(value)
        if found:
            raise error_cls(f"the private-use character U+{ord(found.group()):04X} is "
                            "not allowed", where,
                            "remove it: pactdocs reserves these characters for itself")


def _tree(events: Any, path: str, error_cls: type[PactdocsError], check_length: bool,
          check_private: bool) -> Any:
    """Build the document of a YAML event stream: strings, :class:`Node` and :class:`Seq`.

    Built from the parser's events in one loop (no recursion, whatever the nesting), refusing
    aliases and anchors, nesting past :data:`MAX_DEPTH`, duplicate keys and keys that are not
    plain names as they come; with ``check_length`` (a text long enough to hold one) values
    over :data:`MAX_SCALAR` characters, with ``check_private`` (a text that holds one, and
    may not) private-use characters.
    """
    stack: list[Any] = []  # open containers
    keys: list[tuple[str, int] | None] = []  # beside each: a mapping's key awaiting its value
    root: Any = None
    documents = 0
    event: Any
    for event in events:
        kind = type(event)
        if kind is _SCALAR:  # most events: handled here in full, a value's line never read
            if event.anchor is not None:
                raise error_cls(f"YAML anchor '&{event.anchor}' is not allowed",
                                Location(path, _line(event)),
                                "write the value out in full: registries take no references")
            value: Any = event.value
            if (check_length and len(value) > MAX_SCALAR) or (
                    check_private and _PRIVATE.search(value)):
                _check_scalar(value, Location(path, _line(event)), error_cls, check_private)
            if not stack:
                root = value
            elif keys[-1] is not None:  # the value of a mapping's key
                key, key_line = keys[-1]
                top = stack[-1]
                top[key] = value
                top.key_lines[key] = key_line
                keys[-1] = None
            elif type(stack[-1]) is Seq:
                stack[-1].append(value)
                stack[-1].item_lines.append(event.start_mark.line + 1)
            else:  # a key
                top = stack[-1]
                if value in top:
                    raise error_cls(f"duplicate key '{value}' (first on line "
                                    f"{top.key_lines[value]})", Location(path, _line(event)),
                                    "remove one of the two entries")
                keys[-1] = (value, event.start_mark.line + 1)
            continue
        elif kind is _MAP_START or kind is _SEQ_START:
            where = Location(path, _line(event))
            if event.anchor is not None:
                raise error_cls(f"YAML anchor '&{event.anchor}' is not allowed", where,
                                "write the value out in full: registries take no references")
            if len(stack) >= MAX_DEPTH:
                raise error_cls(f"nesting deeper than {MAX_DEPTH} levels", where,
                                "registries and letters need only a few levels")
            if stack and keys[-1] is None and type(stack[-1]) is Node:
                raise error_cls("a key must be a plain name", where)
            container: Any
            if kind is _MAP_START:
                container = Node()
                container.key_lines = {}
            else:
                container = Seq()
                container.item_lines = []
            container.location = where
            stack.append(container)
            keys.append(None)
            continue
        elif kind in _ENDS:
            keys.pop()
            value = stack.pop()
            line = value.location.line
        elif kind is _ALIAS:
            raise error_cls(f"YAML alias '*{event.anchor}' is not allowed",
                            Location(path, _line(event)),
                            "write the value out in full: registries take no references")
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise error_cls("a file holds one YAML document, this one more",
                                Location(path, _line(event)),
                                "remove the '---' line and what follows it, or merge the two")
            continue
        else:
            continue  # stream start and end, document end
        if not stack:
            root = value
            continue
        top = stack[-1]
        if type(top) is Seq:
            top.append(value)
            top.item_lines.append(line)
        else:  # the value of the pending key: a container is never a key (refused at its start)
            pending = keys[-1]
            assert pending is not None
            key, key_line = pending
            top[key] = value
            top.key_lines[key] = key_line
            keys[-1] = None
    return root


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
        # Most files hold no long value and no private-use character: their scalars need no look.
        check_private = not allow_private and _PRIVATE.search(text) is not None
        return _tree(yaml.parse(text, Loader=_Parser), shown, error_cls,
                     len(text) > MAX_SCALAR, check_private)
    except PactdocsError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        if "nesting depth" in problem:  # libyaml's own limit, past ours
            raise error_cls(f"nesting deeper than {MAX_DEPTH} levels",
                            Location(shown, mark.line + 1 if mark else 0),
                            "registries and letters need only a few levels") from None
        raise error_cls(
            f"malformed YAML: {problem}",
            Location(shown, mark.line + 1 if mark else 0),
            "check the indentation and quote values containing ':' or '#'",
        ) from None
    except yaml.YAMLError as exc:
        raise error_cls(f"malformed YAML: {exc}", Location(shown)) from None
