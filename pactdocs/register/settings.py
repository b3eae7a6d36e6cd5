"""Project settings for sending and the register: ``pactdocs.yaml`` in the project folder.

Every key is optional. The file is read with the project's YAML loader, so a duplicate or
unknown key is an error with ``file:line``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from ..errors import Location, PactdocsError, did_you_mean, relpath
from ..sources.yamlload import Node, load_yaml

FILENAME = "pactdocs.yaml"
DEFAULT_NUMBER = "HOME/{year}/{seq:06d}"
DEFAULT_REGISTER = "register/outgoing.sqlite"
NUMBER_FIELDS = ("year", "seq", "letter")

_KEYS = {"send": ("from", "reply_to", "smtp", "tls", "cafile", "credentials"),
         "register": ("path", "number")}


class SettingsError(PactdocsError):
    category = "usage"


@dataclass(frozen=True)
class Settings:
    sender: str = ""
    reply_to: str = ""
    smtp: str = ""
    tls: str = "starttls"
    cafile: str = ""
    credentials: str = ""
    register_path: str = DEFAULT_REGISTER
    number: str = DEFAULT_NUMBER
    location: Location | None = None


def check_number_pattern(pattern: str, where: Location | None = None) -> None:
    """Raise SettingsError unless ``pattern`` makes a registration number from year and seq."""
    try:
        fields = [f for _lit, f, _spec, _conv in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise SettingsError(f"registration number pattern '{pattern}' is malformed ({exc})",
                            where, "e.g. HOME/{year}/{seq:06d}") from None
    for name in fields:
        if name not in NUMBER_FIELDS:
            raise SettingsError(f"unknown field '{{{name}}}' in the registration number pattern",
                                where, did_you_mean(name, NUMBER_FIELDS)
                                or f"fields: {', '.join(NUMBER_FIELDS)}")
    if "seq" not in fields:
        raise SettingsError("the registration number pattern has no {seq}", where,
                            "numbers must differ: add {seq}, e.g. HOME/{year}/{seq:06d}")
    try:
        pattern.format(year=2024, seq=1, letter="x")
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"registration number pattern '{pattern}' does not format ({exc})",
                            where, "e.g. {seq:06d}") from None


def load_settings(root: Path) -> Settings:
    """Return the settings of the project at ``root`` (defaults when there is no file)."""
    path = root / FILENAME
    if not path.is_file():
        return Settings()
    data = load_yaml(path, SettingsError)
    shown = relpath(path)
    if data is None:
        return Settings(location=Location(shown, 1))
    if not isinstance(data, Node):
        raise SettingsError(f"{FILENAME} must hold a mapping", Location(shown, 1))
    values: dict[str, str] = {}
    for section, node in data.items():
        if section not in _KEYS:
            raise SettingsError(f"unknown section '{section}'", data.where(section),
                                did_you_mean(section, list(_KEYS)) or "sections: send, register")
        if not isinstance(node, Node):
            raise SettingsError(f"'{section}' must be a mapping", data.where(section))
        for key, value in node.items():
            if key not in _KEYS[section]:
                raise SettingsError(f"unknown key '{key}' in '{section}'", node.where(key),
                                    did_you_mean(key, list(_KEYS[section]))
                                    or f"keys: {', '.join(_KEYS[section])}")
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"'{section}.{key}' must be a text", node.where(key))
            values[f"{section}.{key}"] = value
    number = values.get("register.number", DEFAULT_NUMBER)
    check_number_pattern(number, Location(shown, data["register"].where("number").line)
                         if "register.number" in values else None)
    register_path = values.get("register.path", DEFAULT_REGISTER)
    if Path(register_path).is_absolute() or ".." in Path(register_path).parts:
        raise SettingsError(f"register path '{register_path}' must stay inside the project",
                            Location(shown, data["register"].where("path").line),
                            "give a path relative to the project, e.g. register/outgoing.sqlite")
    tls = values.get("send.tls", "starttls")
    if tls not in ("starttls", "none"):
        raise SettingsError(f"send.tls '{tls}' is not starttls or none",
                            Location(shown, data["send"].where("tls").line))
    return Settings(sender=values.get("send.from", ""), reply_to=values.get("send.reply_to", ""),
                    smtp=values.get("send.smtp", ""), tls=tls,
                    cafile=values.get("send.cafile", ""),
                    credentials=values.get("send.credentials", ""),
                    register_path=register_path, number=number, location=Location(shown, 1))
