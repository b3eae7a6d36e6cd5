"""An SMTP client for one batch: one connection, STARTTLS, per-address replies.

The message's data goes out in two steps so the ledger can tell the moment the server may
have taken it: ``before_end`` is called after the data and before the final ``.``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import smtplib
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PactdocsError, UsageError

ENV_USER, ENV_PASSWORD = "PACTDOCS_SMTP_USER", "PACTDOCS_SMTP_PASSWORD"


class TransportError(PactdocsError):
    category = "smtp"


@dataclass
class Outcome:
    """The server's answer for one message: accepted, refused for good (5xx), or retry (4xx)."""

    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    retry: dict[str, str] = field(default_factory=dict)
    reply: str = ""
    closed: bool = False  # the server ended the session (421 or a dropped connection)
    uncertain: bool = False  # the connection broke after the end of the data went out


def parse_hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"'{text}' is not HOST:PORT", hint="e.g. --smtp smtp.example.org:587")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_credentials(path: str | None, project: Path) -> tuple[str, str] | None:
    """Return (user, password) from the environment or a file outside the project, or None."""
    if os.environ.get(ENV_USER):
        return os.environ[ENV_USER], os.environ.get(ENV_PASSWORD, "")
    if not path:
        return None
    file = Path(path).expanduser().resolve()
    if file.is_relative_to(project.resolve()):
        raise UsageError(f"the credentials file {path} is inside the project",
                         hint="keep passwords out of the repository: move it, e.g. to "
                              "~/.config/pactdocs/smtp")
    try:
        mode = file.stat().st_mode
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the credentials file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(f"the credentials file {path} can be read by others",
                         hint=f"chmod 600 {path}")
    if len(lines) < 2 or not lines[0].strip():
        raise UsageError(f"the credentials file {path} must hold the user on line 1 and the "
                         "password on line 2")
    return lines[0].strip(), lines[1]


def _refused_all(outcome: Outcome, smtp: smtplib.SMTP, addresses: list[str], code: int,
                 text: bytes | str) -> Outcome:
    """Record a reply to a whole-message command (MAIL, DATA) against every address.

    A 5xx refuses them, anything else is for a retry; after a 421 the server has closed the
    connection, otherwise the transaction is reset for the next message.
    """
    bucket = outcome.refused if code >= 500 else outcome.retry
    for address in addresses:
        bucket[address] = _reply(code, text)
    outcome.closed = code == 421
    if not outcome.closed:
        smtp.rset()
    return outcome


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"


class Transport:
    """One SMTP session for the batch, reopened when the server drops it."""

    def __init__(self, host: str, port: int, *, tls: str = "starttls", cafile: str = "",
                 credentials: tuple[str, str] | None = None, timeout: float = 60.0,
                 local_hostname: str | None = None) -> None:
        if tls not in ("starttls", "none"):
            raise UsageError(f"unknown --tls '{tls}'", hint="starttls or none")
        if tls == "none" and not is_loopback(host):
            raise UsageError(f"refusing to send to {host} without STARTTLS",
                             hint="--tls none is only for a server on this machine (127.0.0.1)")
        self.host, self.port, self.tls, self.cafile = host, port, tls, cafile
        self.credentials, self.timeout, self.local_hostname = credentials, timeout, local_hostname
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0

    def connect(self) -> None:
        """Open the session: EHLO, STARTTLS, EHLO again, login. OSError when unreachable."""
        self.close()
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout,
                            local_hostname=self.local_hostname)
        try:
            smtp.ehlo()
            if self.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TransportError(f"{self.host}:{self.port} does not offer STARTTLS",
                                         hint="use a server that does; nothing was sent")
                smtp.starttls(context=ssl.create_default_context(cafile=self.cafile or None))
                smtp.ehlo()
            if self.credentials:
                smtp.login(*self.credentials)
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise TransportError(
                f"the server refused the login: {_reply(exc.smtp_code, exc.smtp_error)}",
                hint=f"check {ENV_USER}/{ENV_PASSWORD} or the credentials file") from None
        except ssl.SSLError as exc:
            smtp.close()
            raise TransportError(f"STARTTLS with {self.host} failed: {exc}",
                                 hint="check the server's certificate (send.cafile)") from None
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        self.connections += 1

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def deliver(self, sender: str, recipients: list[str], data: bytes,
                before_end: Callable[[], None]) -> Outcome:
        """Offer one message to ``recipients``; return what the server said about each."""
        outcome = Outcome()
        ended = False
        try:
            if self.smtp is None:
                self.connect()
            smtp = self.smtp
            assert smtp is not None
            code, text = smtp.mail(sender)
            if code != 250:
                return _refused_all(outcome, smtp, recipients, code, text)
            ok = []
            for r in recipients:
                code, text = smtp.rcpt(r)
                if code in (250, 251):
                    ok.append(r)
                elif code >= 500:
                    outcome.refused[r] = _reply(code, text)
                else:
                    outcome.retry[r] = _reply(code, text)
                    if code == 421:
                        outcome.closed = True
                        for rest in recipients[recipients.index(r) + 1:]:
                            outcome.retry[rest] = _reply(code, text)
                        return outcome
            if not ok:
                smtp.rset()
                return outcome
            code, text = smtp.docmd("DATA")
            if code != 354:
                return _refused_all(outcome, smtp, ok, code, text)
            body = re.sub(rb"(?m)^\.", b"..", data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            smtp.send(body)
            before_end()
            ended = True
            smtp.send(b".\r\n")
            code, text = smtp.getreply()
            outcome.reply = _reply(code, text)
            if code == 250:
                outcome.accepted = ok
            else:
                bucket = outcome.refused if code >= 500 else outcome.retry
                for r in ok:
                    bucket[r] = outcome.reply
                outcome.closed = code == 421
            return outcome
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            self.smtp = None
            outcome.uncertain = ended
            for r in recipients:
                if r not in outcome.accepted and r not in outcome.refused:
                    outcome.retry[r] = f"connection lost: {exc}"
            outcome.closed = True
            return outcome
