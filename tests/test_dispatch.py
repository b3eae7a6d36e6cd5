"""pactdocs send: 27 messages to a real SMTP server (aiosmtpd on 127.0.0.1), the outbox, the
ledger that keeps a message from going out twice, and header safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, replace_in, run_cli
from smtpserver import Received, Recorder, smtp_server

from pactdocs.locale.catalogs import load_catalog
from pactdocs.register.store import Register
from pactdocs.sources.letters import load_letter
from pactdocs.sources.registry import load_registry

LETTER = "pact-implementation"
REFERENCE = load_letter(ROOT / "letter_templates", LETTER).reference


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Render the letter once for the module: (project copy, output folder), PDF only."""
    base = tmp_path_factory.mktemp("rendered")
    project = copy_project(base / "project")
    out = base / "out"
    assert run_cli(project, "merge", LETTER, "--format", "pdf", "--out", str(out),
                   "--quiet") == 0
    return project, out


@pytest.fixture
def work(rendered: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the rendered project and output folder for one test."""
    project, out = rendered
    shutil.copytree(project, tmp_path / "project")
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "project", tmp_path / "out"


def send(project: Path, out: Path, *args: str) -> int:
    return run_cli(project, "send", LETTER, "--out", str(out), "--allow-draft",
                   "--retry-wait", "0.05", *args)


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def addresses(msg: EmailMessage, header: str) -> list[str]:
    value = msg[header]
    return [a.addr_spec for a in value.addresses] if value is not None else []


def expected_texts(project: Path, language: str, date: str) -> tuple[str, str]:
    """Return (subject, cover) of a language as its catalogs give them, filled in."""
    frame_subject = "Letter %(reference)s: %(subject)s"
    frame_cover = ("Please find attached our letter of %(date)s, reference %(reference)s, "
                   "and its enclosures.")
    subject = "Putting the Pact on Migration and Asylum into operation"
    if language != "en":
        frame = load_catalog(project / "letter_templates/_frame/locale" / f"{language}.po",
                             language)
        letter = load_catalog(project / f"letter_templates/{LETTER}/locale/{language}.po",
                              language)
        frame_subject = frame.get("mail.subject", frame_subject).strings[0]  # type: ignore[union-attr]
        frame_cover = frame.get("mail.cover", frame_cover).strings[0]  # type: ignore[union-attr]
        subject = letter.get("subject", subject).strings[0]  # type: ignore[union-attr]
    return (frame_subject % {"reference": REFERENCE, "subject": subject},
            frame_cover % {"date": date, "reference": REFERENCE})


def manifest_files(out: Path) -> dict[tuple[str, str], Path]:
    m = json.loads((out / "manifest.json").read_text())
    return {(d["recipient"], d["part"]): out / d["path"] for d in m["documents"]}


def by_recipient(received: list[Received]) -> dict[str, Received]:
    result = {}
    for r in received:
        letter = parse(r.data)["X-Pactdocs-Letter"]
        assert letter == LETTER
        code = str(parse(r.data)["Message-ID"]).split(".")[1].split("@")[0].upper()
        assert code not in result, f"{code} received twice"
        result[code] = r
    return result


def test_27_messages_to_a_real_smtp_server(work: tuple[Path, Path]) -> None:
    project, out = work
    registry = load_registry(project / "recipients")
    cc = [registry.agencies[a].head.email for a in registry.groups["jha-agencies"].members]
    files = manifest_files(out)
    with smtp_server() as (server, port):
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 0
        received = list(server.received)
        assert len(server.sessions) == 1, "one connection for the batch"
    assert len(received) == 27
    got = by_recipient(received)
    assert list(got) == list(registry.member_states)
    subjects = set()
    from pactdocs.compose import Composer, Project

    composer = Composer(Project(project), Project(project).letter(LETTER), registry)
    for code, r in got.items():
        state = registry.member_states[code]
        msg = parse(r.data)
        assert r.mail_from == "home-correspondence@ec.example"
        assert addresses(msg, "To") == [state.email]
        assert addresses(msg, "Cc") == cc
        assert r.rcpt_tos == addresses(msg, "To") + addresses(msg, "Cc")
        head = r.data.decode("ascii").split("\r\n\r\n")[0].lower().split("\r\n")
        assert "Bcc" not in msg and not any(line.startswith("bcc:") for line in head)
        language = state.correspondence_language
        assert msg["Content-Language"] == language
        composer.use_language(language)
        subject, cover = (composer.formatter.typeset(text) for text in  # French spacing, as sent
                          expected_texts(project, language, composer.formatter.date("2024-04-15")))
        assert str(msg["Subject"]) == subject
        body = msg.get_body(("plain",))
        assert body is not None and cover in body.get_content()
        subjects.add(subject)
        attached = list(msg.iter_attachments())
        assert [a.get_filename() for a in attached] == [
            files[(code, p)].name for p in ("letter", "annex-1", "annex-2")]
        for part, a in zip(("letter", "annex-1", "annex-2"), attached, strict=True):
            assert a.get_content_type() == "application/pdf"
            assert a.get_content() == files[(code, part)].read_bytes()
    # One subject per language the Member States read, each different.
    assert len(subjects) == len({s.correspondence_language for s in registry.member_states.values()})
    with Register(project / "register/outgoing.sqlite") as register:
        items = register.items()
    assert [i["recipient"] for i in items] == list(registry.member_states)
    assert all(i["state"] == "sent" for i in items)
    assert {i["message_id"] for i in items} == {str(parse(r.data)["Message-ID"]) for r in received}


def test_550_for_a_cc_and_421_mid_batch(work: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    project, out = work
    refused = "director@europol.example"
    recorder = Recorder(refuse={refused}, tempfail_data_at=10)
    with smtp_server(recorder) as (server, port):
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 1
        first = list(server.received)
        assert len(server.sessions) == 2  # the 421 closed the first session
        capsys.readouterr()
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 0
        assert "27 message(s) were handed over by an earlier run" in capsys.readouterr().out
        assert len(server.received) == 27
    got = by_recipient(first)
    assert len(got) == 27
    for r in first:
        assert refused not in r.rcpt_tos and len(r.rcpt_tos) == 6
    with Register(project / "register/outgoing.sqlite") as register:
        items = register.items()
        show = register.show(items[0]["number"])
    assert all(i["state"] == f"sent; failed: {refused}" for i in items)
    failed = [e for e in show["events"] if e["state"] == "failed"]
    assert [e["address"] for e in failed] == [refused] and failed[0]["detail"].startswith("550")


def test_kill_mid_batch_then_rerun_sends_no_message_twice(work: tuple[Path, Path]) -> None:
    project, out = work
    recorder = Recorder(hold_mail_after=9)
    with smtp_server(recorder) as (server, port):
        env = {**os.environ, "PACTDOCS_PROJECT": str(project)}
        child = subprocess.Popen(
            [sys.executable, "-m", "pactdocs.cli", "send", LETTER, "--out", str(out),
             "--allow-draft", "--smtp", f"127.0.0.1:{port}", "--tls", "none"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for(9)
            # Once the ninth reply is committed the client waits on MAIL of the tenth message.
            sent_in_ledger(out, 9)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        assert len(server.received) == 9
        server.released.set()
        recorder.hold_mail_after = None
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 0
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 0
        received = list(server.received)
    got = by_recipient(received)  # fails on any recipient received twice
    assert len(got) == 27 == len(received)


def sent_in_ledger(out: Path, count: int, timeout: float = 60.0) -> None:
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        db = sqlite3.connect(out / ".pactdocs-send.sqlite")
        try:
            done = db.execute("SELECT COUNT(*) FROM messages WHERE state = 'sent'").fetchone()[0]
        finally:
            db.close()
        if done >= count:
            return
        assert time.monotonic() < deadline, f"only {done} of {count} sent"
        time.sleep(0.02)


def test_a_kill_after_the_end_of_data_is_not_resent_unless_asked(
        work: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The window that remains: the server took message 3 but the client died before its reply
    was committed. The rerun says so and does not send it again; --resend-uncertain sends it
    with the same Message-ID, so the duplicate can be recognised."""
    project, out = work
    recorder = Recorder(hold_data_after=2)
    with smtp_server(recorder) as (server, port):
        env = {**os.environ, "PACTDOCS_PROJECT": str(project)}
        child = subprocess.Popen(
            [sys.executable, "-m", "pactdocs.cli", "send", LETTER, "--out", str(out),
             "--allow-draft", "--smtp", f"127.0.0.1:{port}", "--tls", "none", "--to", "BE,BG,CZ,DK"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for(3)
            time.sleep(0.3)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        server.released.set()
        recorder.hold_data_after = None
        capsys.readouterr()
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none",
                    "--to", "BE,BG,CZ,DK") == 1
        err = capsys.readouterr().err
        assert "uncertain: CZ" in err
        assert [parse(r.data)["Message-ID"].split(".")[1][:2] for r in server.received] == [
            "be", "bg", "cz", "dk"]
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none",
                    "--to", "CZ", "--resend-uncertain") == 0
        ids = [str(parse(r.data)["Message-ID"]) for r in server.received]
    assert len(ids) == 5 and ids[2] == ids[4]


def test_outbox_parses_back_to_the_same_headers_and_attachments(work: tuple[Path, Path]) -> None:
    project, out = work
    assert send(project, out) == 0
    emls = sorted((out / "outbox").glob("*.eml"))
    assert len(emls) == 27
    files = manifest_files(out)
    with Register(project / "register/outgoing.sqlite") as register:
        items = {i["message_id"]: register.show(i["number"]) for i in register.items()}
    for eml in emls:
        msg = parse(eml.read_bytes())
        item = items[str(msg["Message-ID"])]
        assert item["state"] == "outbox"
        assert msg["X-Unsent"] == "1"
        assert str(msg["Subject"]) == item["subject"]
        assert addresses(msg, "To") == [a["address"] for a in item["addressees"] if a["role"] == "to"]
        assert addresses(msg, "Cc") == [a["address"] for a in item["addressees"] if a["role"] == "cc"]
        assert "Bcc" not in msg
        attached = list(msg.iter_attachments())
        assert [a.get_filename() for a in attached] == [f["filename"] for f in item["attachments"]]
        for a, f, part in zip(attached, item["attachments"], ("letter", "annex-1", "annex-2"),
                              strict=True):
            assert a.get_content() == (out / f["path"]).read_bytes()
            assert files[(item["recipient"], part)] == out / f["path"]


@pytest.mark.parametrize("field, value, expected", [
    ("surname", '"Claes\\nBcc: victim@attacker.example"', "contains a line break"),
    ("surname", '"Claes =?utf-8?q?=0D=0ABcc:_victim@attacker.example?="', "contains '=?'"),
    ("email", "permrep@be.invalid", "is not a valid e-mail address"),
    ("email", "permrep@-be.example", "is not a valid e-mail address"),
])
def test_header_injection_and_bad_addresses_refused_before_anything_is_sent(
        work: tuple[Path, Path], capsys: pytest.CaptureFixture[str], field: str, value: str,
        expected: str) -> None:
    project, out = work
    states = project / "recipients/member_states.yaml"
    if field == "surname":
        replace_in(states, "surname: Claes", f"surname: {value}")
    else:
        replace_in(states, "email: permrep@be.example", f"email: {value}")
    with smtp_server() as (server, port):
        capsys.readouterr()
        assert send(project, out, "--smtp", f"127.0.0.1:{port}", "--tls", "none") == 2
        assert server.received == [] and server.sessions == set()
    err = capsys.readouterr().err
    # A bad address is refused when the registry is read, with its file and line; a header value
    # that would smuggle a header is refused when the message is built.
    where = "member_states.yaml:29:" if field == "email" else "refused: BE:"
    assert where in err and expected in err and "nothing sent" in err
    assert not (project / "register").exists() and not (out / ".pactdocs-send.sqlite").exists()


def test_injection_through_a_catalog_is_refused(work: tuple[Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    project, out = work
    po = project / "letter_templates/_frame/locale/de.po"
    replace_in(po, 'msgstr "Schreiben %(reference)s: %(subject)s"',
               'msgstr "Schreiben %(reference)s: %(subject)s =?utf-8?b?Qw==?="')
    assert send(project, out, "--to", "AT,DE") == 2
    err = capsys.readouterr().err
    assert "AT: " in err and "DE: " in err and "'=?'" in err
    assert not (out / "outbox").exists()


def test_refuses_drafts_and_changed_files(work: tuple[Path, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    project, out = work
    assert run_cli(project, "send", LETTER, "--out", str(out), "--to", "AT") == 2
    assert "is a draft (rendered without --final)" in capsys.readouterr().err
    pdf = manifest_files(out)[("AT", "annex-1")]
    pdf.write_bytes(pdf.read_bytes() + b"%")
    assert send(project, out, "--to", "AT,BE") == 2
    err = capsys.readouterr().err
    assert "AT/de/pact-implementation-AT-de-annex-1.pdf is not the file the manifest knows" in err
    assert "BE" not in err
    assert not (out / "outbox").exists()


def test_final_english_documents_need_no_allow_draft(work: tuple[Path, Path]) -> None:
    project, out = work
    assert run_cli(project, "merge", LETTER, "--to", "IE,MT", "--format", "pdf", "--final",
                   "--out", str(out), "--quiet") == 0
    assert run_cli(project, "send", LETTER, "--out", str(out), "--to", "IE,MT") == 0
    assert len(list((out / "outbox").glob("*.eml"))) == 2


def test_signed_pdf_is_attached_instead_of_the_unsigned_one(work: tuple[Path, Path],
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    import hashlib

    project, out = work
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = next(d for d in manifest["documents"] if d["recipient"] == "AT" and d["part"] == "letter")
    unsigned = out / entry["path"]
    signed = unsigned.with_name(unsigned.stem + ".signed.pdf")
    signed.write_bytes(unsigned.read_bytes() + b"\n% an appended signature revision\n")
    entry["signed"] = {"path": str(signed.relative_to(out)),
                       "sha256": hashlib.sha256(signed.read_bytes()).hexdigest()}
    manifest_path.write_text(json.dumps(manifest))
    assert send(project, out, "--to", "AT") == 0
    msg = parse(next((out / "outbox").glob("AT-*.eml")).read_bytes())
    first = next(msg.iter_attachments())
    assert first.get_filename() == signed.name
    assert first.get_content() == signed.read_bytes() != unsigned.read_bytes()
    # The register keeps both hashes: the file sent and the rendered file it was signed from.
    with sqlite3.connect(project / "register/outgoing.sqlite") as db:
        rows = db.execute("SELECT a.sha256, a.unsigned_sha256 FROM attachments a JOIN items i "
                          "ON a.item_id = i.id WHERE i.recipient = 'AT' AND a.filename = ?",
                          (signed.name,)).fetchall()
    assert rows == [(hashlib.sha256(signed.read_bytes()).hexdigest(), entry["sha256"])]
    # A signed file changed after signing is refused.
    signed.write_bytes(signed.read_bytes() + b" ")
    shutil.rmtree(out / "outbox")
    (out / ".pactdocs-send.sqlite").unlink()
    capsys.readouterr()
    assert send(project, out, "--to", "AT") == 2
    assert "signed.pdf is not the file the manifest knows" in capsys.readouterr().err


def test_dry_run_says_who_gets_what_and_sends_nothing(work: tuple[Path, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    project, out = work
    with smtp_server() as (server, port):
        assert send(project, out, "--dry-run", "--smtp", f"127.0.0.1:{port}", "--tls", "none",
                    "--attach", "pdf") == 0
        assert server.received == []
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "would send 27 message(s) (smtp); nothing sent:"
    at = next(line for line in lines if line.startswith("AT de [to send]"))
    size = manifest_files(out)[("AT", "letter")].stat().st_size
    assert f"pact-implementation-AT-de-letter.pdf ({size:,} bytes)" in at
    assert not (project / "register").exists() and not (out / ".pactdocs-send.sqlite").exists()


def test_no_clear_text_to_a_remote_server_and_credentials_stay_out_of_the_project(
        work: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    project, out = work
    assert send(project, out, "--to", "AT", "--smtp", "smtp.example.org:25", "--tls", "none") == 2
    assert "without STARTTLS" in capsys.readouterr().err
    secret = project / "smtp-credentials"
    secret.write_text("user\npassword\n")
    secret.chmod(0o600)
    with smtp_server() as (server, port):
        assert send(project, out, "--to", "AT", "--smtp", f"127.0.0.1:{port}", "--tls", "none",
                    "--credentials", str(secret)) == 2
        assert server.sessions == set()
    assert "is inside the project" in capsys.readouterr().err


# aiosmtpd 1.4 warns about its own use of Session.login_data on every successful AUTH.
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_starttls_and_login_from_the_environment(work: tuple[Path, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from smtpserver import tls_smtp_server

    project, out = work
    with tls_smtp_server(tmp_path, "home", "s3cret") as (server, port, cert):
        (project / "pactdocs.yaml").write_text(
            f'send:\n  from: "DG HOME <home-correspondence@ec.example>"\n  cafile: "{cert}"\n')
        monkeypatch.setenv("PACTDOCS_SMTP_USER", "home")
        monkeypatch.setenv("PACTDOCS_SMTP_PASSWORD", "wrong")
        assert send(project, out, "--to", "AT,BE", "--smtp", f"127.0.0.1:{port}") == 2
        assert "the server refused the login: 535" in capsys.readouterr().err
        assert server.received == []
        monkeypatch.setenv("PACTDOCS_SMTP_PASSWORD", "s3cret")
        assert send(project, out, "--to", "AT,BE", "--smtp", f"127.0.0.1:{port}") == 0
        # Protocol order: Belgium before Austria.
        assert [r.rcpt_tos[0] for r in server.received] == ["permrep@be.example",
                                                            "bruessel-ov@bmeia.gv.at"]
    # Without the private CA the server's certificate is not trusted: nothing is sent.
    with tls_smtp_server(tmp_path, "home", "s3cret") as (server, port, _cert):
        (project / "pactdocs.yaml").write_text('send:\n  from: "h@ec.example"\n')
        capsys.readouterr()
        assert send(project, out, "--to", "DE", "--smtp", f"127.0.0.1:{port}") == 2
        assert "STARTTLS with 127.0.0.1 failed" in capsys.readouterr().err
        assert server.received == []


def test_a_new_rendering_is_not_sent_to_someone_who_had_the_old_one(
        work: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    project, out = work
    assert send(project, out, "--to", "AT") == 0
    # The letter is rendered again with other bytes: the manifest knows the new file.
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = next(d for d in manifest["documents"] if d["recipient"] == "AT" and d["part"] == "letter")
    pdf = out / entry["path"]
    pdf.write_bytes(pdf.read_bytes() + b"\n% rendered again\n")
    entry["sha256"] = hashlib.sha256(pdf.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    capsys.readouterr()
    assert send(project, out, "--to", "AT") == 2
    err = capsys.readouterr().err
    assert "AT: HOME/" in err and "already sent AT this letter with other files" in err
    assert len(list((out / "outbox").glob("*.eml"))) == 1
    assert send(project, out, "--to", "AT", "--new-version") == 0
    with Register(project / "register/outgoing.sqlite") as register:
        items = register.items()
    assert [i["recipient"] for i in items] == ["AT", "AT"]
    assert items[0]["message_id"] != items[1]["message_id"]
    assert entry["sha256"] in items[1]["attachments"] and entry["sha256"] not in items[0]["attachments"]


def test_attach_pdf_and_docx(work: tuple[Path, Path]) -> None:
    project, out = work
    assert run_cli(project, "merge", LETTER, "--to", "AT", "--format", "pdf,docx", "--out",
                   str(out), "--quiet") == 0
    assert send(project, out, "--to", "AT", "--attach", "pdf,docx") == 0
    msg = parse(next((out / "outbox").glob("AT-*.eml")).read_bytes())
    attached = {a.get_filename(): a for a in msg.iter_attachments()}
    assert sorted(attached) == sorted(f"pact-implementation-AT-de-{p}.{f}"
                                      for p in ("letter", "annex-1", "annex-2")
                                      for f in ("pdf", "docx"))
    docx = attached["pact-implementation-AT-de-letter.docx"]
    assert docx.get_content_type() == ("application/"
                                       "vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert docx.get_content() == (out / "AT/de/pact-implementation-AT-de-letter.docx").read_bytes()


def test_rate_spaces_the_messages(work: tuple[Path, Path]) -> None:
    project, out = work
    with smtp_server() as (server, port):
        started = time.monotonic()
        assert send(project, out, "--to", "BE,BG,CZ", "--smtp", f"127.0.0.1:{port}", "--tls",
                    "none", "--rate", "300/min") == 0
        elapsed = time.monotonic() - started
        assert len(server.received) == 3
    assert elapsed >= 2 * 60 / 300  # two gaps of 0.2 s between three messages
