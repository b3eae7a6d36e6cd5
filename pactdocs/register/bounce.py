"""Read a delivery status notification (RFC 3464) and record it against its register item."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path

from ..errors import Location, relpath
from .store import Register, RegisterError

MAX_BYTES = 20 * 1024 * 1024
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")


@dataclass(frozen=True)
class Bounce:
    number: str
    message_id: str
    failures: tuple[tuple[str, str], ...]  # (address, status and diagnostic)


def _fields(block: Message) -> dict[str, str]:
    return {k.lower(): " ".join(str(v).split()) for k, v in block.items()}


def read_bounce(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Return (Message-IDs the report names, [(failed address, reason)]) of a DSN file."""
    where = Location(relpath(path))
    if not path.is_file():
        raise RegisterError(f"no file {relpath(path)}")
    if path.stat().st_size > MAX_BYTES:
        raise RegisterError("the bounce is larger than 20 MB", where, "is it really a DSN?")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    if message.get_content_type() != "multipart/report" or \
            message.get_param("report-type") != "delivery-status":
        raise RegisterError(f"not a delivery status notification ({message.get_content_type()})",
                            where, "give the multipart/report message the server sent back")
    ids: list[str] = []
    failures: list[tuple[str, str]] = []
    status_seen = False
    for part in message.iter_parts():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            status_seen = True
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                raise RegisterError("the delivery-status part cannot be read", where)
            for block in blocks[1:]:  # the first block is about the reporting server
                if not isinstance(block, Message):
                    continue
                f = _fields(block)
                action = f.get("action", "").lower()
                if action not in ("failed", "delayed"):
                    continue
                recipient = f.get("final-recipient") or f.get("original-recipient") or ""
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                reason = " ".join(x for x in (f.get("status", ""), f.get("diagnostic-code", ""))
                                  if x)
                if action == "failed" and address:
                    failures.append((address, reason or "failed"))
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            if kind == "message/rfc822":
                inner = part.get_payload()
                headers = inner[0] if isinstance(inner, list) and inner else None
                found = str(headers.get("Message-ID", "")) if isinstance(headers, Message) else ""
            else:
                text = part.get_content() if hasattr(part, "get_content") else ""
                inner_msg = BytesParser(policy=policy.default).parsebytes(
                    text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text),
                    headersonly=True)
                found = str(inner_msg.get("Message-ID", ""))
            ids += _MESSAGE_ID.findall(found)
    if not status_seen:
        raise RegisterError("the report has no message/delivery-status part", where)
    for header in ("In-Reply-To", "References"):
        ids += _MESSAGE_ID.findall(str(message.get(header, "")))
    return list(dict.fromkeys(ids)), failures


def record_bounce(register: Register, path: Path) -> Bounce:
    """Record the failures a DSN file reports against the item whose Message-ID it names."""
    ids, failures = read_bounce(path)
    where = Location(relpath(path))
    if not failures:
        raise RegisterError("the report names no failed recipient", where,
                            "only Action: failed is recorded")
    matches = [(i, register.item_of(i)) for i in ids]
    known = [(i, n) for i, n in matches if n]
    if not known:
        raise RegisterError("the report names no message of the register"
                            + (f" ({', '.join(ids)})" if ids else " (no Message-ID found)"),
                            where, "was it sent from another register?")
    message_id, number = known[0]
    assert number is not None
    addresses = {a["address"].lower() for a in register.show(number)["addressees"]}
    strangers = [a for a, _r in failures if a not in addresses]
    if strangers:
        raise RegisterError(f"the report names {', '.join(strangers)}, not an addressee of "
                            f"{number}", where, "check that the bounce belongs to this message")
    for address, reason in failures:
        register.record(message_id, "bounced", address, f"{reason} ({path.name})")
    return Bounce(number, message_id, tuple(failures))
