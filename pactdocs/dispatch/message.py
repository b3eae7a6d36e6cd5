"""Build one e-mail per recipient with the ``email`` package, and check it by parsing it back."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime

from .headers import HeaderError, Mailbox, safe_value

MIME_TYPES = {"pdf": ("application", "pdf"),
              "docx": ("application",
                       "vnd.openxmlformats-officedocument.wordprocessingml.document")}
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")
# Every header a built message may carry; anything else found on parsing it back is refused.
ALLOWED_HEADERS = {"from", "to", "cc", "reply-to", "subject", "date", "message-id",
                   "mime-version", "content-type", "content-transfer-encoding", "x-unsent",
                   "x-pactdocs-letter", "content-language"}


@dataclass(frozen=True)
class File:
    """A file to attach, as the manifest knows it."""

    filename: str
    path: str  # relative to the output folder
    format: str
    sha256: str
    data: bytes
    unsigned_sha256: str | None = None  # a signed PDF: the sha256 of the file it was signed from

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Outgoing:
    """Everything one message says, checked, before it is built."""

    letter: str
    reference: str
    recipient: str
    language: str
    sender: Mailbox
    reply_to: Mailbox | None
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    subject: str
    body: str
    files: tuple[File, ...]
    message_id: str

    @property
    def envelope(self) -> list[str]:
        """Return the envelope recipients: exactly To then Cc, each once."""
        return list(dict.fromkeys(m.address for m in (*self.to, *self.cc)))


def message_id(letter: str, recipient: str, language: str, hashes: list[str], domain: str) -> str:
    """Return the Message-ID of a letter's message: the same for the same files, always."""
    digest = hashlib.sha256("\0".join([letter, recipient, language, *sorted(hashes)]).encode())
    return f"<{digest.hexdigest()[:40]}.{recipient.lower()}@{domain}>"


def check_filename(name: str) -> str:
    safe_value(name, "an attachment's file name")
    if not _FILENAME.fullmatch(name):
        raise HeaderError(f"attachment file name '{name}' has characters a mail client may "
                          "misread", None, "use letters, digits, '.', '-' and '_'")
    return name


def _address(m: Mailbox) -> Address:
    return Address(display_name=m.name, username=m.local, domain=m.domain)


# Python 3.11's folder splits a long non-ASCII header into adjacent encoded words and loses the
# space between two of them ("œuvre opérationnelle" reads back "œuvreopérationnelle"). Headers
# are allowed RFC 5322's 998 characters, so a subject folds only when it is very long; verify()
# refuses any header that still does not read back as written.
# cte_type 7bit: the text goes quoted-printable, so no server needs 8BITMIME.
POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")


def build(out: Outgoing, date: dt.datetime, *, unsent: bool = False) -> bytes:
    """Return the message as bytes (CRLF line ends, as SMTP sends them)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(out.sender)
    msg["To"] = tuple(_address(m) for m in out.to)
    if out.cc:
        msg["Cc"] = tuple(_address(m) for m in out.cc)
    if out.reply_to:
        msg["Reply-To"] = _address(out.reply_to)
    msg["Subject"] = safe_value(out.subject, "the subject")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = out.message_id
    msg["X-Pactdocs-Letter"] = out.letter
    if unsent:
        # Outlook opens a message with this header as one to send, not as one received.
        msg["X-Unsent"] = "1"
    msg.set_content(out.body, charset="utf-8")
    for f in out.files:
        maintype, subtype = MIME_TYPES[f.format]
        msg.add_attachment(f.data, maintype=maintype, subtype=subtype,
                           filename=check_filename(f.filename))
    # After the parts: set_content() and add_attachment() move Content-* headers about.
    msg["Content-Language"] = out.language
    return msg.as_bytes()


def verify(data: bytes, out: Outgoing) -> EmailMessage:
    """Parse ``data`` back and check that its headers and attachments are exactly ``out``'s.

    Raise HeaderError on any difference: an extra header (a smuggled Bcc), a changed address
    list, a subject that does not read back the same, an attachment that is not byte-equal.
    """
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    names = [k.lower() for k in parsed.keys()]
    where = f"the message to {out.recipient}"
    for name in names:
        if name not in ALLOWED_HEADERS:
            raise HeaderError(f"{where} has an unexpected header '{name}' after building", None,
                              "a header value smuggled a header: refused")
    for name, wanted in (("from", 1), ("to", 1), ("cc", 1 if out.cc else 0), ("subject", 1),
                         ("message-id", 1), ("date", 1), ("reply-to", 1 if out.reply_to else 0)):
        if names.count(name) != wanted:
            raise HeaderError(f"{where} has {names.count(name)} '{name}' header(s), not {wanted}")

    def addresses(header: str) -> list[str]:
        value = parsed[header]
        return [a.addr_spec for a in value.addresses] if value is not None else []

    for header, expected in (("To", out.to), ("Cc", out.cc), ("From", (out.sender,))):
        if addresses(header) != [m.address for m in expected]:
            raise HeaderError(f"{where}: {header} reads back as {addresses(header)}, not "
                              f"{[m.address for m in expected]}")
        value = parsed[header]
        names_back = [a.display_name for a in value.addresses] if value is not None else []
        if names_back != [m.name for m in expected]:
            raise HeaderError(f"{where}: the display names of {header} read back differently")
    if str(parsed["Subject"]) != out.subject:
        raise HeaderError(f"{where}: the subject reads back as {str(parsed['Subject'])!r}")
    if str(parsed["Message-ID"]).strip() != out.message_id:
        raise HeaderError(f"{where}: the Message-ID reads back differently")
    attached = list(parsed.iter_attachments())
    if len(attached) != len(out.files):
        raise HeaderError(f"{where} has {len(attached)} attachments, not {len(out.files)}")
    for part, f in zip(attached, out.files, strict=True):
        if part.get_filename() != f.filename or part.get_content() != f.data:
            raise HeaderError(f"{where}: attachment {f.filename} does not read back byte-equal")
    body = parsed.get_body(("plain",))
    if body is None or body.get_content().replace("\r\n", "\n").rstrip("\n") != \
            out.body.rstrip("\n"):
        raise HeaderError(f"{where}: the cover text does not read back the same")
    return parsed
