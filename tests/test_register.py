"""The register of outgoing correspondence: append-only, numbered, exported, bounces recorded."""

from __future__ import annotations

import csv
import io
import sqlite3
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import run_cli

from pactdocs.register.settings import SettingsError, load_settings
from pactdocs.register.store import COLUMNS, Addressee, Attachment, Entry, Register


def entry(n: int, recipient: str = "AT") -> Entry:
    return Entry(
        letter="pact-implementation", reference="HOME.C.3/2024/0415", sender="DG HOME <h@ec.example>",
        recipient=recipient, language="de", subject=f"Schreiben Nr. {n}: Umsetzung, „Pakt“",
        message_id=f"<{n:040x}.{recipient.lower()}@ec.example>",
        addressees=(Addressee("to", "Mr Thomas Oberreiter", "permrep@at.example"),
                    Addressee("cc", "Ms Catherine De Bolle (EUROPOL)", "director@europol.example"),
                    Addressee("cc", "Mr Hans Leijtens (Frontex)", "director@frontex.example")),
        attachments=(Attachment("letter.pdf", "AT/de/letter.pdf", "ab" * 32, 1234),
                     Attachment("annex-1.pdf", "AT/de/annex-1.pdf", "cd" * 32, 5678)))


@pytest.fixture
def register(tmp_path: Path) -> Register:
    reg = Register(tmp_path / "register" / "outgoing.sqlite")
    reg.register([entry(1), entry(2, "BE"), entry(3, "BG")], when="2024-04-15T10:00:00+00:00")
    reg.record(entry(1).message_id, "sent", detail="250 2.0.0 queued")
    reg.record(entry(1).message_id, "failed", "director@frontex.example", "550 5.1.1 unknown")
    return reg


def test_numbers_follow_the_pattern_and_a_message_is_registered_once(register: Register) -> None:
    items = register.items()
    assert [i["number"] for i in items] == ["HOME/2024/000001", "HOME/2024/000002",
                                           "HOME/2024/000003"]
    again = register.register([entry(2, "BE"), entry(4, "CZ")], when="2024-05-01T09:00:00+00:00")
    assert again == {entry(2, "BE").message_id: "HOME/2024/000002",
                     entry(4, "CZ").message_id: "HOME/2024/000004"}
    # A new year starts at 1 again.
    new_year = register.register([entry(5, "DK")], when="2025-01-02T09:00:00+00:00")
    assert list(new_year.values()) == ["HOME/2025/000001"]
    assert items[0]["state"] == "sent; failed: director@frontex.example"
    assert items[1]["state"] == "registered"


def test_a_configured_pattern(tmp_path: Path) -> None:
    (tmp_path / "pactdocs.yaml").write_text('register:\n  number: "OUT-{letter}/{year}-{seq:04d}"\n')
    settings = load_settings(tmp_path)
    with Register(tmp_path / "r.sqlite", settings.number) as reg:
        numbers = reg.register([entry(1)], when="2024-04-15T10:00:00+00:00")
    assert list(numbers.values()) == ["OUT-pact-implementation/2024-0001"]
    for bad, message in (('"HOME/{year}"', "has no {seq}"), ('"HOME/{yaer}/{seq}"', "did you mean"),
                         ('"HOME/{seq:06q}"', "does not format"), ('"{seq"', "malformed")):
        (tmp_path / "pactdocs.yaml").write_text(f"register:\n  number: {bad}\n")
        with pytest.raises(SettingsError) as caught:
            load_settings(tmp_path)
        assert message in str(caught.value) and "pactdocs.yaml:2" in str(caught.value)
    (tmp_path / "pactdocs.yaml").write_text("register:\n  path: ../elsewhere.sqlite\n")
    with pytest.raises(SettingsError, match="must stay inside the project"):
        load_settings(tmp_path)


@pytest.mark.parametrize("table", ["items", "addressees", "attachments", "events"])
def test_registered_rows_cannot_be_changed_or_deleted(register: Register, table: str) -> None:
    path = register.path
    register.close()
    db = sqlite3.connect(path)
    before = db.execute(f"SELECT * FROM {table}").fetchall()
    assert before
    column = {"items": "subject", "addressees": "address", "attachments": "sha256",
              "events": "detail"}[table]
    with pytest.raises(sqlite3.DatabaseError, match="append-only: a registered row cannot be changed"):
        db.execute(f"UPDATE {table} SET {column} = 'forged'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only: a registered row cannot be deleted"):
        db.execute(f"DELETE FROM {table}")
    with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):
        db.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}")
    db.commit()
    assert db.execute(f"SELECT * FROM {table}").fetchall() == before
    db.close()


def test_export_csv_round_trips(register: Register, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = register.path
    rows = register.items()
    register.close()
    target = tmp_path / "register.csv"
    assert run_cli(project, "register", "export", "--csv", "--register", str(path),
                   "--output", str(target)) == 0
    with open(target, newline="", encoding="utf-8") as handle:
        back = list(csv.DictReader(handle))
    assert back == rows
    assert list(back[0]) == list(COLUMNS)
    assert back[0]["cc"] == "director@europol.example; director@frontex.example"


def test_list_and_show_from_the_command_line(register: Register, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = str(register.path)
    register.close()
    capsys.readouterr()
    assert run_cli(tmp_path, "register", "list", "--register", path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 item(s)" and out[0].startswith("HOME/2024/000001  2024-04-15  AT")
    assert run_cli(tmp_path, "register", "show", "HOME/2024/000001", "--register", path) == 0
    shown = capsys.readouterr().out
    assert "cc:         Mr Hans Leijtens (Frontex) <director@frontex.example>" in shown
    assert f"file:       letter.pdf 1234 bytes sha256:{'ab' * 32}" in shown
    assert "failed director@frontex.example 550 5.1.1 unknown" in shown
    assert run_cli(tmp_path, "register", "show", "HOME/2024/999999", "--register", path) == 2
    assert "no register item numbered 'HOME/2024/999999'" in capsys.readouterr().err


def dsn(message_id: str, failed: str, tmp_path: Path, name: str = "bounce.eml") -> Path:
    """Build a delivery status notification (RFC 3464) as a mail server sends it back."""
    report = EmailMessage()
    report["From"] = "Mail Delivery System <mailer-daemon@mx.europol.example>"
    report["To"] = "h@ec.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.set_content("Your message could not be delivered to one or more recipients.\n")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    status = EmailMessage()
    status.set_type("message/delivery-status")
    status.set_payload(  # type: ignore[arg-type]
        [_block({"Reporting-MTA": "dns; mx.europol.example"}),
         _block({"Final-Recipient": f"rfc822; {failed}", "Action": "failed",
                 "Status": "5.1.1", "Diagnostic-Code": "smtp; 550 5.1.1 user unknown"})])
    report.attach(status)
    original = EmailMessage()
    original.set_type("text/rfc822-headers")
    original.set_payload(f"Message-ID: {message_id}\r\nSubject: Schreiben\r\n")
    report.attach(original)
    path = tmp_path / name
    path.write_bytes(report.as_bytes())
    return path


def _block(fields: dict[str, str]) -> EmailMessage:
    block = EmailMessage()
    for k, v in fields.items():
        block[k] = v
    return block


def test_a_bounce_is_recorded_against_its_item(register: Register, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = str(register.path)
    target = entry(2, "BE").message_id
    register.close()
    eml = dsn(target, "director@europol.example", tmp_path)
    capsys.readouterr()
    assert run_cli(tmp_path, "register", "bounce", str(eml), "--register", path) == 0
    assert capsys.readouterr().out.startswith("HOME/2024/000002: bounced: director@europol.example: 5.1.1")
    with Register(Path(path)) as reg:
        item = reg.show("HOME/2024/000002")
        assert item["state"] == "registered; bounced: director@europol.example"
        assert item["events"][-1]["state"] == "bounced"
        assert reg.show("HOME/2024/000001")["state"] == "sent; failed: director@frontex.example"


@pytest.mark.parametrize("case, message", [
    ("unknown id", "names no message of the register"),
    ("stranger", "not an addressee of HOME/2024/000002"),
    ("not a dsn", "not a delivery status notification"),
])
def test_a_bounce_that_does_not_fit_is_refused(register: Register, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str], case: str,
                                               message: str) -> None:
    path = str(register.path)
    register.close()
    if case == "unknown id":
        eml = dsn("<nobody@else.example>", "director@europol.example", tmp_path)
    elif case == "stranger":
        eml = dsn(entry(2, "BE").message_id, "someone@else.example", tmp_path)
    else:
        eml = tmp_path / "plain.eml"
        eml.write_bytes(b"From: a@b.example\r\nSubject: hello\r\n\r\nhi\r\n")
    capsys.readouterr()
    assert run_cli(tmp_path, "register", "bounce", str(eml), "--register", path) == 2
    assert message in capsys.readouterr().err
    with Register(Path(path)) as reg:
        assert all("bounced" not in i["state"] for i in reg.items())


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(tmp_path: Path) -> None:
    with Register(tmp_path / "r.sqlite") as reg:
        e = entry(1)
        reg.register([Entry(**{**e.__dict__, "subject": "=HYPERLINK(\"http://x.example\")"})],
                     when="2024-04-15T10:00:00+00:00")
        text = reg.export_csv()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["subject"].startswith("'=HYPERLINK")
