"""Letter definitions: ``letter_templates/<letter>/letter.yaml`` and its parts."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import Location, TemplateError, did_you_mean, relpath
from .languages import DATE_ROLES, OFFICIAL
from .yamlload import Node, load_yaml

FRAME_DIR = "_frame"
STYLE_DIR = "_style"


@dataclass(frozen=True)
class Part:
    id: str  # "letter", "annex-1", ...
    template: str
    title: str | None  # source-language title of an annex
    per_recipient: bool
    number: int  # annex number, 0 for the letter


@dataclass(frozen=True)
class Letter:
    name: str
    root: Path
    subject: str
    reference: str
    date: str
    place: str
    signatory: str
    recipients: str
    cc: str
    source_language: str
    languages: tuple[str, ...]
    parts: tuple[Part, ...]
    location: Location
    # Merge fields a Markdown part may use: name → text, or an ISO date with its role in the
    # sentence ("on", "by", …), formatted in each language.
    fields: tuple[tuple[str, FieldValue], ...] = ()
    fallback_language: str = "en"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _v in self.fields)

    @property
    def annexes(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.id != "letter")

    def part(self, part_id: str) -> Part:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(part_id)


_FIELDS = {"subject", "reference", "date", "place", "signatory", "recipients", "cc",
           "source_language", "languages", "parts", "fields", "fallback_language"}
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class FieldValue:
    """A merge field's value: plain text, or a date (ISO) with its role in the sentence."""

    text: str | None = None
    date: str | None = None
    role: str = "default"


def _iso_date(value: object, where: Location, what: str) -> str:
    text = str(value) if isinstance(value, str) else ""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise TemplateError(f"{what} '{value}' is not a date written YYYY-MM-DD", where,
                            "write the date as e.g. 2024-05-06, in quotes") from None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise TemplateError(f"{what} '{value}' is not a date written YYYY-MM-DD", where,
                            "write the date as e.g. 2024-05-06, in quotes")
    return text


def _fields(data: Node) -> tuple[tuple[str, FieldValue], ...]:
    if "fields" not in data:
        return ()
    node = data["fields"]
    if not isinstance(node, Node):
        raise TemplateError("fields must be a mapping of name: value", data.where("fields"))
    result = []
    for name, value in node.items():
        where = node.where(name)
        if not _FIELD_NAME.fullmatch(str(name)):
            raise TemplateError(f"'{name}' is not a valid field name", where,
                                "use lower-case letters, digits and _, starting with a letter")
        if isinstance(value, Node):
            unknown = set(value) - {"date", "role"}
            if unknown or "date" not in value:
                raise TemplateError(f"field '{name}' is a date: give date: and optionally role:", where,
                                    "e.g. deadline: {date: \"2024-04-29\", role: by}")
            role = str(value.get("role", "default"))
            if role not in DATE_ROLES:
                raise TemplateError(f"unknown date role '{role}' for field '{name}'", value.where("role"),
                                    did_you_mean(role, DATE_ROLES) or f"use one of {', '.join(DATE_ROLES)}")
            result.append((str(name), FieldValue(date=_iso_date(value["date"], value.where("date"),
                                                                f"the date of field '{name}'"),
                                                 role=role)))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            result.append((str(name), FieldValue(text=str(value))))
        else:
            raise TemplateError(f"field '{name}' must be a text or a date", where,
                                "quote the text, e.g. period: \"2021-2027\"")
    return tuple(result)
_PART_FIELDS = {"id", "template", "title", "per_recipient"}


def list_letters(templates: Path) -> list[str]:
    """Return the names of the letters under ``templates``."""
    return sorted(p.parent.name for p in templates.glob("*/letter.yaml"))


def _require(node: Node, key: str, path: str) -> str:
    if key not in node:
        raise TemplateError(f"missing field '{key}'", node.where(), f"add '{key}:' to {path}")
    value = node[key]
    if not isinstance(value, str):
        raise TemplateError(f"'{key}' must be text", node.where(key))
    return value


def load_letter(templates: Path, name: str) -> Letter:
    """Return the letter ``name``; raise TemplateError naming file and line when it is wrong."""
    root = templates / name
    path = root / "letter.yaml"
    if not path.exists() or name.startswith("_") or "/" in name or name in ("", ".", ".."):
        raise TemplateError(f"unknown letter '{name}'", Location(relpath(templates)),
                            did_you_mean(name, list_letters(templates))
                            or f"letters: {', '.join(list_letters(templates)) or 'none'}")
    data = load_yaml(path, TemplateError)
    if not isinstance(data, Node):
        raise TemplateError("letter.yaml must be a mapping", Location(relpath(path), 1))
    shown = relpath(path)
    for key in data:
        if key not in _FIELDS:
            raise TemplateError(f"unknown field '{key}'", data.where(key),
                                did_you_mean(key, _FIELDS))
    languages = data.get("languages", list(OFFICIAL))
    for i, code in enumerate(languages):
        if code not in OFFICIAL:
            raise TemplateError(f"unknown language '{code}'", languages.where(i),
                                did_you_mean(code, OFFICIAL))
    parts: list[Part] = []
    annex = 0
    for i, item in enumerate(data.get("parts", [])):
        if not isinstance(item, Node):
            raise TemplateError("a part is a mapping with id and template", data["parts"].where(i))
        for key in item:
            if key not in _PART_FIELDS:
                raise TemplateError(f"unknown field '{key}'", item.where(key),
                                    did_you_mean(key, _PART_FIELDS))
        part_id = _require(item, "id", shown)
        template = _require(item, "template", shown)
        if not (root / template).is_file() or "/" in template or template.startswith("."):
            raise TemplateError(f"template '{template}' not found in {relpath(root)}",
                                item.where("template"))
        if part_id != "letter":
            annex += 1
            if part_id != f"annex-{annex}":
                raise TemplateError(f"part '{part_id}' should be 'annex-{annex}'", item.where("id"),
                                    "number annexes in order: annex-1, annex-2, ...")
            if "title" not in item:
                raise TemplateError(f"annex '{part_id}' needs a title", item.where(),
                                    "add 'title:' with the annex's title")
        flag = item.get("per_recipient", "yes")
        if flag not in ("yes", "no"):
            raise TemplateError("per_recipient must be yes or no", item.where("per_recipient"))
        parts.append(Part(part_id, template, item.get("title"), flag == "yes",
                          0 if part_id == "letter" else annex))
    if not parts or parts[0].id != "letter":
        raise TemplateError("the first part must be the letter (id: letter)",
                            data.where("parts"))
    date = _iso_date(_require(data, "date", shown), data.where("date"), "the letter's date")
    source = data.get("source_language", "en")
    fallback = data.get("fallback_language", source)
    if fallback != source and fallback not in languages:
        raise TemplateError(f"fallback language '{fallback}' is not one of the letter's languages",
                            data.where("fallback_language"),
                            did_you_mean(str(fallback), tuple(languages)) or "add it to languages:")
    return Letter(
        name=name, root=root, subject=_require(data, "subject", shown),
        reference=_require(data, "reference", shown), date=date,
        place=_require(data, "place", shown), signatory=_require(data, "signatory", shown),
        recipients=_require(data, "recipients", shown), cc=_require(data, "cc", shown),
        source_language=source, languages=tuple(languages),
        parts=tuple(parts), location=Location(shown, 1), fields=_fields(data),
        fallback_language=str(fallback),
    )


def pinned_timestamp(letter: Letter) -> str:
    """Return the timestamp written into files: SOURCE_DATE_EPOCH, else the letter's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat()
    return dt.datetime.fromisoformat(letter.date).replace(tzinfo=dt.UTC).isoformat()
