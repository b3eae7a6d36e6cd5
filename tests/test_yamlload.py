"""The YAML loader of registries and letters: strings only, lines kept, references refused,
every rule an error naming the file and line (read with libyaml, built without recursion)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pactdocs.errors import PactdocsError
from pactdocs.sources.yamlload import MAX_DEPTH, MAX_SCALAR, Node, Seq, load_yaml


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "data.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml(path)


def test_values_are_strings_and_remember_their_lines(tmp_path: Path) -> None:
    data = load(tmp_path, "a: NO\nb: 01234\nc:\n  - true\n  - {d: 1.5, e: [x, ~]}\nf:\n")
    assert isinstance(data, Node)
    assert data == {"a": "NO", "b": "01234", "c": ["true", {"d": "1.5", "e": ["x", "~"]}],
                    "f": ""}
    assert data.where("c").line == 3 and data.where("f").line == 6
    items = data["c"]
    assert isinstance(items, Seq) and items.where(1).line == 5
    assert isinstance(items[1], Node) and items[1].where("e").line == 5


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a: &x 1\nb: *x\n", 1, "YAML anchor '&x' is not allowed"),
    ("a: 1\nb: *x\n", 2, "YAML alias '*x' is not allowed"),
    ("a: &m {b: 1}\n", 1, "YAML anchor '&m' is not allowed"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1)"),
    ("? [a, b]\n: 1\n", 1, "a key must be a plain name"),
    ("a: 1\n---\nb: 2\n", 2, "a file holds one YAML document, this one more"),
    ("a: \"\ue000\"\n", 1, "the private-use character U+E000 is not allowed"),
    ("a: [1, 2\n", 2, "malformed YAML"),
    ("a:\n\t- b\n", 2, "malformed YAML"),
])
def test_each_rule_names_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(PactdocsError) as caught:
        load(tmp_path, text)
    assert caught.value.location is not None
    assert caught.value.location.path.endswith("data.yaml")
    assert caught.value.location.line == line
    assert message in caught.value.message


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50_000])
def test_deep_nesting_is_refused_without_recursion(tmp_path: Path, depth: int) -> None:
    with pytest.raises(PactdocsError, match=f"nesting deeper than {MAX_DEPTH} levels"):
        load(tmp_path, "[" * depth + "]" * depth + "\n")
    assert load(tmp_path, "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")


def test_a_value_over_the_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PactdocsError, match="too long"):
        load(tmp_path, "a: b\nc: " + "x" * (MAX_SCALAR + 1) + "\n")
    assert load(tmp_path, "c: " + "x" * 1000 + "\n") == {"c": "x" * 1000}


def test_an_empty_file_holds_nothing(tmp_path: Path) -> None:
    assert load(tmp_path, "") is None
    assert load(tmp_path, "# only a comment\n") is None
