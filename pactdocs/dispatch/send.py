"""``pactdocs send``: one message per recipient, from what ``pactdocs merge`` wrote.

Everything is checked before anything is handed over: the manifest's files against their
sha256, drafts, every address and header value, every built message parsed back. Then each
message is registered, planned in the ledger and either written to the outbox or sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch.merge import write_atomic
from ..compose import Composer, Project
from ..errors import Location, PactdocsError, UsageError, relpath
from ..register.settings import load_settings
from ..register.store import Addressee, Attachment, Entry, Register
from ..sources.letters import Letter
from ..sources.registry import Registry
from .headers import HeaderError, Mailbox, mailbox, parse_mailbox, safe_value
from .ledger import Ledger
from .message import MIME_TYPES, File, Outgoing, build, message_id, verify
from .smtp import Outcome, Transport, TransportError, parse_hostport, read_credentials

OUTBOX = "outbox"


class SendRefused(PactdocsError):
    """Nothing was sent: every problem found is in ``problems``."""

    category = "send"

    def __init__(self, problems: list[PactdocsError]) -> None:
        super().__init__(f"nothing sent: {len(problems)} problem(s)",
                         hint="fix them and run the same command again")
        self.problems = problems


@dataclass
class SendOptions:
    letter: str
    to: str | None = None
    attach: tuple[str, ...] = ("pdf",)
    out: Path | None = None
    smtp: str | None = None
    tls: str | None = None
    credentials: str | None = None
    rate: float = 0.0  # messages per minute; 0: no limit
    allow_draft: bool = False
    dry_run: bool = False
    resend_uncertain: bool = False
    new_version: bool = False
    register: Path | None = None
    retry_wait: float = 5.0
    tries: int = 4


@dataclass
class Planned:
    outgoing: Outgoing
    data: bytes
    status: str = "to send"  # to send, already sent, uncertain, failed earlier
    number: str = ""


@dataclass
class SendReport:
    mode: str
    planned: list[Planned]
    sent: list[str] = field(default_factory=list)  # recipient codes handed over this run
    refused: dict[str, str] = field(default_factory=dict)  # address -> final reply
    deferred: dict[str, str] = field(default_factory=dict)  # address -> last 4xx
    uncertain: list[str] = field(default_factory=list)
    outbox: list[Path] = field(default_factory=list)
    connections: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.refused or self.deferred or self.uncertain else 0


def parse_rate(text: str | None) -> float:
    if not text:
        return 0.0
    number = text.removesuffix("/min").strip()
    try:
        rate = float(number)
    except ValueError:
        raise UsageError(f"--rate '{text}' is not N/min", hint="e.g. --rate 30/min") from None
    if rate <= 0:
        raise UsageError("--rate must be more than 0 messages a minute")
    return rate


def load_manifest(out: Path, letter: str) -> dict[str, Any]:
    path = out / "manifest.json"
    if not path.is_file():
        raise UsageError(f"no manifest in {relpath(out)}",
                         hint=f"render the letter first: pactdocs merge {letter}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the manifest cannot be read: {exc}", Location(relpath(path))) from None
    if not isinstance(data, dict) or data.get("letter") != letter or \
            not isinstance(data.get("documents"), list):
        raise UsageError(f"{relpath(path)} is not the manifest of '{letter}'", Location(relpath(path)))
    return data


def _inside(out: Path, rel: Any) -> Path:
    """Return OUT/rel when it is a plain relative path that stays in OUT (no symlink out)."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or \
            ".." in Path(rel).parts:
        raise UsageError(f"manifest path {rel!r} leaves the output folder")
    path = out / rel
    if not path.resolve().is_relative_to(out.resolve()):
        raise UsageError(f"manifest path {rel} leads out of the output folder (symlink)")
    return path


def _file(out: Path, entry: dict[str, Any], allow_draft: bool) -> File:
    """Return the file of a manifest entry (its signed copy when there is one), checked."""
    rel, sha = entry.get("path"), entry.get("sha256")
    if entry.get("status") not in ("written", "unchanged", "kept") or not sha:
        raise UsageError(f"{rel} was not rendered ({entry.get('status')}: {entry.get('error')})",
                         hint="run pactdocs merge again")
    if entry.get("draft", True) and not allow_draft:
        raise UsageError(f"{rel} is a draft (rendered without --final)",
                         hint="render with pactdocs merge --final, or send with --allow-draft")
    signed = entry.get("signed")
    unsigned: str | None = None
    if entry.get("format") == "pdf" and signed is not None:
        if not isinstance(signed, dict):
            raise UsageError(f"the manifest's 'signed' of {rel} is not a mapping")
        unsigned = str(sha)
        rel, sha = signed.get("path"), signed.get("sha256")
    path = _inside(out, rel)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {rel}: {exc.strerror}", hint="run pactdocs merge again") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise UsageError(f"{rel} is not the file the manifest knows (sha256 differs)",
                         hint="it changed after rendering: render it again or find out why")
    return File(Path(str(rel)).name, str(rel), str(entry["format"]), str(sha), data, unsigned)


class Builder:
    """Make the Outgoing message of each recipient: addresses, texts, files."""

    def __init__(self, project: Project, letter: Letter, registry: Registry, out: Path,
                 manifest: dict[str, Any], options: SendOptions, sender: Mailbox,
                 reply_to: Mailbox | None) -> None:
        self.project, self.letter, self.registry, self.out = project, letter, registry, out
        self.options, self.sender, self.reply_to = options, sender, reply_to
        self.composer = Composer(project, letter, registry)
        self.entries: dict[str, list[dict[str, Any]]] = {}
        for entry in manifest["documents"]:
            if isinstance(entry, dict):
                self.entries.setdefault(str(entry.get("recipient")), []).append(entry)
        group = registry.groups.get(letter.cc)
        self.cc: list[Mailbox] = []
        for agency_id in (group.members if group else ()):
            head = registry.agencies[agency_id].head
            if not head.email:
                raise UsageError(f"the head of {agency_id} (cc group '{letter.cc}') has no e-mail "
                                 "address", hint="add head.email in recipients/agencies.yaml")
            name = f"{head.display_name} ({registry.agencies[agency_id].short_name})"
            self.cc.append(mailbox(name, head.email, f"the cc address of {agency_id}"))

    def language(self, code: str) -> str:
        recipient = self.registry.recipients[code]
        rendered = {e.get("language") for e in self.entries.get(code, []) if e.get("part") == "letter"}
        if recipient.language in rendered:
            return recipient.language
        if len(rendered) == 1:
            return str(next(iter(rendered)))
        if not rendered:
            raise UsageError(f"nothing was rendered for {code}",
                             hint=f"pactdocs merge {self.letter.name} --to {code}")
        raise UsageError(f"{code} has letters in {', '.join(sorted(map(str, rendered)))}, none in "
                         f"its correspondence language {recipient.language}")

    def outgoing(self, code: str) -> Outgoing:
        if code in self.registry.broken:
            raise self.registry.broken[code]
        if code not in self.registry.recipients:
            raise UsageError(f"unknown recipient '{code}'", hint="run pactdocs check")
        recipient = self.registry.recipients[code]
        language = self.language(code)
        files = []
        for part in self.letter.parts:
            for fmt in self.options.attach:
                found = [e for e in self.entries.get(code, []) if e.get("language") == language
                         and e.get("part") == part.id and e.get("format") == fmt]
                if not found:
                    raise UsageError(f"no {fmt} of {part.id} for {code} in {language} in the "
                                     "manifest", hint=f"pactdocs merge {self.letter.name} --to "
                                     f"{code} --format {fmt}")
                files.append(_file(self.out, found[0], self.options.allow_draft))
        person = recipient.person
        state = self.registry.member_states.get(code)
        if state is not None:
            to = [mailbox(person.display_name, state.email, f"the address of {code}")]
            if person.email and person.email.lower() != state.email.lower():
                to.append(mailbox(person.display_name, person.email, f"the address of {code}'s "
                                  "representative"))
        elif recipient.emails:
            to = [mailbox(person.display_name, e, f"the address of {code}")
                  for e in recipient.emails]
        else:
            raise UsageError(f"{code} has no e-mail address",
                             hint="add one in its registry entry (agencies.yaml head.email)")
        cc = [m for m in self.cc if m.address not in {t.address for t in to}]
        c = self.composer
        c.use_language(language)
        form = f"forms_of_address.{person.form_of_address}.{person.gender}"
        letter_subject = c.translate(self.letter.name, "subject", self.letter.subject, None, None,
                                     {})[0]
        subject = c.frame_text("mail.subject", reference=self.letter.reference,
                               subject=letter_subject)
        signatory = self.registry.signatories[self.letter.signatory]
        body = "\n\n".join([
            c.frame_text(f"{form}.salutation"),
            c.frame_text("mail.cover", date=c.formatter.date(self.letter.date),
                         reference=self.letter.reference),
            c.frame_text(f"{form}.closing"),
            "\n".join([signatory.person.signature_name,
                       c.frame_item("functions", signatory.function),
                       c.frame_item("letterhead", self.composer.frame["letterhead"][1])]),
        ]) + "\n"
        unfinished = [s for s in c.segments if s.status != "translated"]
        if unfinished and not self.options.allow_draft:
            raise UsageError(f"the e-mail text for {code} in {language} is not approved "
                             f"({unfinished[0].status}: '{unfinished[0].source[:40]}')",
                             hint="approve the frame's mail.* messages, or send with --allow-draft")
        safe_value(subject, f"the subject for {code}")
        mid = message_id(self.letter.name, code, language, [f.sha256 for f in files],
                         self.sender.domain)
        return Outgoing(self.letter.name, self.letter.reference, code, language, self.sender, self.reply_to,
                        tuple(to), tuple(cc), subject, body, tuple(files), mid)


def prepare(project: Project, options: SendOptions) -> tuple[list[Planned], Path, Any]:
    """Build and check every message; raise SendRefused listing every problem found."""
    settings = load_settings(project.root)
    for fmt in options.attach:
        if fmt not in MIME_TYPES:
            raise UsageError(f"cannot attach '{fmt}'", hint="--attach pdf, docx or pdf,docx")
    letter = project.letter(options.letter)
    registry = project.registry()
    out = options.out or project.output_folder(letter.name)
    manifest = load_manifest(out, letter.name)
    codes = registry.resolve(options.to, letter.recipients)
    signatory = registry.signatories[letter.signatory]
    if settings.sender:
        sender = parse_mailbox(settings.sender, "send.from in pactdocs.yaml")
    elif signatory.person.email:
        sender = mailbox(signatory.person.display_name, signatory.person.email, "the sender")
    else:
        raise UsageError("no sender address", hint="set send.from in pactdocs.yaml")
    reply_to = parse_mailbox(settings.reply_to, "send.reply_to") if settings.reply_to else None
    builder = Builder(project, letter, registry, out, manifest, options, sender, reply_to)
    problems: list[PactdocsError] = []
    planned: list[Planned] = []
    date = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for code in codes:
        try:
            outgoing = builder.outgoing(code)
            data = build(outgoing, date, unsent=not _smtp_of(options, settings))
            verify(data, outgoing)
            planned.append(Planned(outgoing, data))
        except PactdocsError as exc:
            if isinstance(exc, HeaderError | UsageError) and not exc.message.startswith(code):
                exc.message = f"{code}: {exc.message}"
            problems.append(exc)
    if problems:
        raise SendRefused(problems)
    return planned, out, settings


def _smtp_of(options: SendOptions, settings: Any) -> str:
    return options.smtp or settings.smtp


def send(project: Project, options: SendOptions,
         log: Callable[[str], None] = lambda _line: None) -> SendReport:
    """Send (or write to the outbox) every message of ``options`` not handed over before."""
    started = time.perf_counter()
    planned, out, settings = prepare(project, options)
    smtp = _smtp_of(options, settings)
    mode = "smtp" if smtp else "outbox"
    report = SendReport(mode, planned)
    if options.dry_run:
        ledger_file = out / Ledger.FILENAME
        if ledger_file.exists():
            ledger = Ledger(out)
            for p in planned:
                known = ledger.state(p.outgoing.message_id)
                p.status = _status(known, options) if known else "to send"
            ledger.close()
        return report
    transport = None
    if smtp:
        host, port = parse_hostport(smtp)
        transport = Transport(host, port, tls=options.tls or settings.tls, cafile=settings.cafile,
                              credentials=read_credentials(options.credentials
                                                           or settings.credentials, project.root))
    ledger = Ledger(out)
    register: Register | None = None
    try:
        for p in planned:
            known = ledger.state(p.outgoing.message_id)
            p.status = _status(known, options) if known else "to send"
            if p.status == "uncertain":
                report.uncertain.append(p.outgoing.recipient)
        todo = [p for p in planned if p.status == "to send"]
        register = Register(options.register or project.root / settings.register_path,
                            settings.number)
        if not options.new_version:
            _refuse_new_versions(register, todo)
        if transport is not None and todo:
            # Connect and log in before anything is registered: a refused login registers nothing.
            try:
                transport.connect()
            except (OSError, smtplib.SMTPException) as exc:
                raise TransportError(f"cannot reach {transport.host}:{transport.port}: {exc}",
                                     hint="check --smtp; nothing was sent") from None
        numbers = register.register([_entry(p.outgoing) for p in todo])
        for p in todo:
            p.number = numbers[p.outgoing.message_id]
            ledger.plan(p.outgoing.message_id, p.outgoing.letter, p.outgoing.recipient,
                        p.outgoing.language, mode, p.number, p.outgoing.envelope)
        if transport is None:
            _outbox(out, todo, ledger, register, report, log)
        else:
            _smtp(transport, todo, ledger, register, report, options, log)
            report.connections = transport.connections
    finally:
        if transport is not None:
            transport.close()
        ledger.close()
        if register is not None:
            register.close()
    report.seconds = time.perf_counter() - started
    return report


def _refuse_new_versions(register: Register, todo: list[Planned]) -> None:
    """Refuse to send a recipient other files of a letter it was already sent."""
    problems: list[PactdocsError] = []
    for p in todo:
        o = p.outgoing
        earlier = [n for n, mid in register.handed_over(o.letter, o.recipient) if mid != o.message_id]
        if earlier:
            problems.append(UsageError(
                f"{o.recipient}: {earlier[-1]} already sent {o.recipient} this letter with other "
                "files (it was rendered again since)",
                hint="pactdocs register show " + earlier[-1] + "; --new-version sends the new "
                     "files as a new item"))
    if problems:
        raise SendRefused(problems)


def _status(known: tuple[str, str, str], options: SendOptions) -> str:
    state = known[0]
    if state == "sent":
        return "already sent"
    if state == "failed":
        return "failed earlier"
    if state == "sending":
        return "to send" if options.resend_uncertain else "uncertain"
    return "to send"


def _entry(o: Outgoing) -> Entry:
    sender = f"{o.sender.name} <{o.sender.address}>" if o.sender.name else o.sender.address
    return Entry(
        letter=o.letter, reference=o.reference, sender=sender, recipient=o.recipient, language=o.language,
        subject=o.subject, message_id=o.message_id,
        addressees=tuple([Addressee("to", m.name, m.address) for m in o.to]
                         + [Addressee("cc", m.name, m.address) for m in o.cc]),
        attachments=tuple(Attachment(f.filename, f.path, f.sha256, f.size, f.unsigned_sha256)
                          for f in o.files))


def _outbox(out: Path, todo: list[Planned], ledger: Ledger, register: Register,
            report: SendReport, log: Callable[[str], None]) -> None:
    folder = out / OUTBOX
    for p in todo:
        o = p.outgoing
        path = folder / f"{o.recipient}-{o.language}-{o.message_id[1:13]}.eml"
        write_atomic(path, p.data)
        rel = str(path.relative_to(out))
        ledger.settle(o.message_id, o.envelope, {}, f"outbox: {rel}", done=True)
        ledger.mark(o.message_id, "sent", f"outbox: {rel}", eml=rel)
        register.record(o.message_id, "outbox", detail=rel)
        report.sent.append(o.recipient)
        report.outbox.append(path)
        log(f"outbox: {o.recipient} ({o.language}) {p.number} → {rel}")


def _smtp(transport: Transport, todo: list[Planned], ledger: Ledger, register: Register,
          report: SendReport, options: SendOptions, log: Callable[[str], None]) -> None:
    interval = 60.0 / options.rate if options.rate else 0.0
    last = 0.0
    for p in todo:
        o = p.outgoing
        pending = ledger.pending(o.message_id)
        tries = 0
        outcome = Outcome()
        while pending:
            wait = last + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            def before_end(mid: str = o.message_id) -> None:
                ledger.mark(mid, "sending")

            outcome = transport.deliver(o.sender.address, pending, p.data, before_end)
            tries += 1
            _settle(o, outcome, ledger, register, report)
            if outcome.uncertain:
                report.uncertain.append(o.recipient)
                log(f"uncertain: {o.recipient}: the connection broke after the message's end; "
                    "not sent again (--resend-uncertain)")
                break
            if outcome.closed:
                transport.close()
            pending = list(outcome.retry)
            if pending and tries >= options.tries:
                report.deferred.update(outcome.retry)
                log(f"deferred: {o.recipient}: {', '.join(pending)} ({outcome.retry[pending[0]]});"
                    " run again later")
                break
            if pending:
                time.sleep(options.retry_wait * 2 ** (tries - 1))
        if outcome.accepted:
            report.sent.append(o.recipient)
            log(f"sent: {o.recipient} ({o.language}) {p.number} {o.message_id}"
                + (f"; refused: {', '.join(outcome.refused)}" if outcome.refused else ""))
        elif outcome.refused:
            log(f"failed: {o.recipient}: {'; '.join(f'{a}: {r}' for a, r in outcome.refused.items())}")


def _settle(o: Outgoing, outcome: Outcome, ledger: Ledger, register: Register,
            report: SendReport) -> None:
    done = not outcome.retry
    if outcome.uncertain:
        return  # the ledger keeps 'sending': whether the server took it is unknown
    ledger.settle(o.message_id, outcome.accepted, outcome.refused, outcome.reply, done=done)
    if outcome.accepted:
        register.record(o.message_id, "sent", detail=f"{outcome.reply} to "
                        f"{', '.join(outcome.accepted)}")
    for address, reply in outcome.refused.items():
        register.record(o.message_id, "failed", address, reply)
        report.refused[address] = reply
