"""Header and address safety: every header value built from data is checked here first.

Python 3.11.7 still has CVE-2024-6923: the ``email`` generator can fold a header holding an
encoded word (``=?``) or a line break so that a second header (say ``Bcc:``) appears. So any
CR, LF, other control character or ``=?`` in a value is refused, before a message is built;
every address is validated by email-validator; and the built message is parsed back and its
headers compared with what was meant (:func:`pactdocs.dispatch.message.verify`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from ..errors import PactdocsError


class HeaderError(PactdocsError):
    category = "header"


@dataclass(frozen=True)
class Mailbox:
    """A checked address with its display name; ``address`` is the ASCII form to send to."""

    name: str
    address: str

    @property
    def local(self) -> str:
        return self.address.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


def safe_value(value: str, what: str) -> str:
    """Return ``value`` when it may stand in a header; raise HeaderError naming ``what``."""
    for ch in value:
        if ch in "\r\n":
            raise HeaderError(f"{what} contains a line break", None,
                              "a header value is one line: remove CR/LF (header injection)")
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\t":
            raise HeaderError(f"{what} contains the control character U+{ord(ch):04X}", None,
                              "remove it")
    if "=?" in value:
        raise HeaderError(f"{what} contains '=?', the start of an encoded word", None,
                          "encoded words in data can smuggle headers (CVE-2024-6923): remove '=?'")
    if len(value) > 900:
        raise HeaderError(f"{what} is longer than 900 characters", None, "shorten it")
    return value


def check_address(address: str, what: str) -> str:
    """Return the normalised ASCII form of ``address``; raise HeaderError when it is not valid."""
    safe_value(address, what)
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise HeaderError(f"{what} '{address}' is not a valid e-mail address: {exc}", None,
                          "fix it in the registry") from None
    if checked.ascii_email is None:
        raise HeaderError(f"{what} '{address}' needs SMTPUTF8 (a non-ASCII local part)", None,
                          "give an ASCII address")
    return checked.ascii_email


def mailbox(name: str, address: str, what: str) -> Mailbox:
    """Return a checked Mailbox; the display name is checked like any header value."""
    return Mailbox(safe_value(name, f"the display name of {what}"), check_address(address, what))


def parse_mailbox(text: str, what: str) -> Mailbox:
    """Return the Mailbox of ``Name <addr>`` or a bare ``addr`` (as written in settings)."""
    safe_value(text, what)
    text = text.strip()
    if text.endswith(">") and "<" in text:
        name, _, rest = text[:-1].rpartition("<")
        return mailbox(name.strip().strip('"').strip(), rest.strip(), what)
    return mailbox("", text, what)
