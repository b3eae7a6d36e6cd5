"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, recording every envelope.

It can refuse chosen addresses (550), answer 421 to one DATA, and hold a session so that a
test can kill the client at a known point.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    session: Any


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # RCPT answered 550
    tempfail_data_at: int | None = None  # the DATA of this message (0-based) gets one 421
    hold_mail_after: int | None = None  # MAIL waits once this many messages are received
    hold_data_after: int | None = None  # DATA records the message, then waits before 250
    released: threading.Event = field(default_factory=threading.Event)
    sessions: set[Any] = field(default_factory=set)  # the client's (address, port) per connection
    _tempfailed: bool = False

    async def _hold(self) -> None:
        for _ in range(200):
            if self.released.is_set():
                return
            await asyncio.sleep(0.05)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        self.sessions.add(tuple(session.peer))
        if self.hold_mail_after is not None and len(self.received) >= self.hold_mail_after:
            await self._hold()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.tempfail_data_at == len(self.received) and not self._tempfailed:
            self._tempfailed = True
            return "421 4.3.2 busy, try again later"
        data = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data),
                                      tuple(session.peer)))
        if self.hold_data_after is not None and len(self.received) > self.hold_data_after:
            await self._hold()
        return f"250 2.0.0 queued as {len(self.received)}"

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.received)} of {count} messages arrived")
            time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(recorder: Recorder | None = None) -> Iterator[tuple[Recorder, int]]:
    """Run a recording SMTP server on 127.0.0.1 for the block; yield (recorder, port)."""
    recorder = recorder or Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    try:
        yield recorder, port
    finally:
        recorder.released.set()
        controller.stop()


def self_signed(folder: Any) -> tuple[Any, Any]:
    """Write a certificate for 127.0.0.1 and its key into ``folder``; return (cert, key) paths."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pactdocs test server")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def tls_smtp_server(folder: Any, user: str, password: str,
                    recorder: Recorder | None = None) -> Iterator[tuple[Recorder, int, Any]]:
    """A server that requires STARTTLS and then a login; yield (recorder, port, its cert)."""
    import ssl

    from aiosmtpd.smtp import AuthResult

    recorder = recorder or Recorder()
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, data_size_limit=0,
                            tls_context=context, require_starttls=True, auth_required=True,
                            authenticator=authenticate)
    controller.start()
    try:
        yield recorder, port, cert
    finally:
        recorder.released.set()
        controller.stop()
