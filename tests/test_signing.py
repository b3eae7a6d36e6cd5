"""Signing and verifying: a throw-away CA made here, a real RFC 3161 server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from conftest import run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from readback import normalise, pdf_fonts, pdf_text, struct_elements

LETTER = "pact-implementation"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Institution"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool,
          usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                   encipher_only=False, decipher_only=False), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("pki")
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("Test Root CA", root_key, _name("Test Root CA"), root_key, ca=True)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = _cert("Beate Gminder", signer_key, root.subject, root_key, ca=False)
    tsa_key = rsa.generate_private_key(65537, 2048)  # pyHanko's time stamper signs with RSA
    tsa = _cert("Test Timestamp Unit", tsa_key, root.subject, root_key, ca=False,
                usage=ExtendedKeyUsageOID.TIME_STAMPING)
    pem = serialization.Encoding.PEM
    (folder / "root.pem").write_bytes(root.public_bytes(pem))
    (folder / "signer.pem").write_bytes(signer.public_bytes(pem))
    (folder / "signer.key").write_bytes(signer_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "signer.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"signer", signer_key, signer, [root],
        serialization.BestAvailableEncryption(b"s3cret passphrase")))
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _cert("Other Root", other_key, _name("Other Root"), other_key, ca=True)
    (folder / "other-root.pem").write_bytes(other.public_bytes(pem))
    return {"folder": folder, "root": root, "tsa": tsa, "tsa_key": tsa_key}


@pytest.fixture(scope="module")
def tsa_url(pki: dict[str, object]) -> Iterator[str]:
    """An RFC 3161 server on 127.0.0.1: HTTP in front of pyHanko's in-process time stamper."""
    from asn1crypto import keys, tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    tsa_cert = pki["tsa"]
    tsa_key = pki["tsa_key"]
    assert isinstance(tsa_cert, x509.Certificate) and isinstance(tsa_key, rsa.RSAPrivateKey)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa_cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())))
    requests: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            requests.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    server.shutdown()
    server.server_close()
    assert requests, "the timestamp server was never asked"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from conftest import copy_project

    base = tmp_path_factory.mktemp("signing")
    project = copy_project(base / "project")
    out = base / "out"
    assert run_cli(project, "merge", LETTER, "--to", "AT,CY", "--format", "pdf", "--out", str(out),
                   "--quiet") == 0
    return project, out


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from pactdocs.cli import main

    capsys.readouterr()
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_sign_b_t_with_pem_key_then_verify(rendered: tuple[Path, Path], pki: dict[str, object],
                                          tsa_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    project, out = rendered
    folder = pki["folder"]
    assert isinstance(folder, Path)
    before = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    unsigned = {d["path"]: (out / d["path"]).read_bytes() for d in before["documents"]}
    assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "CY",
                   "--key", str(folder / "signer.key"), "--cert", str(folder / "signer.pem"),
                   "--tsa", tsa_url) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    signed = [d for d in manifest["documents"] if "signed" in d]
    assert {d["recipient"] for d in signed} == {"CY"} and len(signed) == 3
    for entry in signed:
        record = entry["signed"]
        assert set(record) == {"path", "sha256", "signer", "signed_at", "level"}
        assert record["level"] == "B-T" and record["signer"] == "Beate Gminder"
        assert record["path"] == entry["path"].removesuffix(".pdf") + ".signed.pdf"
        data = (out / record["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
        # Signing appends: the rendered file is a byte prefix of the signed one, and unchanged.
        assert data.startswith(unsigned[entry["path"]]) and len(data) > len(unsigned[entry["path"]])
        assert (out / entry["path"]).read_bytes() == unsigned[entry["path"]]
        assert entry["sha256"] == hashlib.sha256(unsigned[entry["path"]]).hexdigest()
        dt.datetime.fromisoformat(record["signed_at"])
        # The visible line is in the letter's language (Greek for Cyprus), its font embedded.
        text = normalise(pdf_text(data, first=1, last=1))
        assert "Υπογράφηκε ηλεκτρονικά από Beate Gminder" in text
        assert all(font["embedded"] for font in pdf_fonts(data))
        with pikepdf.open(out / record["path"]) as pdf:
            meta = pdf.open_metadata()
            assert meta["pdfaid:part"] == "2" and meta["pdfuaid:part"] == "1"
            # The signature widget is printable, described, and tagged as a Form element.
            widget = pdf.pages[0].Annots[-1]
            assert widget.FT == "/Sig" and int(widget.F) & 4 and normalise(str(widget.TU)) in text
            forms = [e for e in struct_elements(pdf) if e.S == "/Form"]
            assert len(forms) == 1 and forms[0].K.Obj.objgen == widget.objgen
            assert int(widget.StructParent) in [int(n) for n in pdf.Root.StructTreeRoot
                                                .ParentTree.Nums[::2]]
        from pdfua import validate

        assert not validate(str(out / record["path"])).findings
    code, report = _verify(capsys, *(str(out / d["signed"]["path"]) for d in signed),
                           "--trust", str(folder / "root.pem"))
    assert code == 0, report
    assert report.count(": OK") == 3
    assert "intact: yes  valid: yes  trusted: yes" in report
    assert "Beate Gminder" in report and "timestamp: none" not in report


def test_sign_b_b_with_pkcs12_and_untrusted_root(rendered: tuple[Path, Path],
                                                 pki: dict[str, object],
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project, out = rendered
    folder = pki["folder"]
    assert isinstance(folder, Path)
    monkeypatch.setenv("SIGN_PASS", "s3cret passphrase")
    assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "AT", "--key",
                   str(folder / "signer.p12"), "--passphrase-env", "SIGN_PASS") == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    letter = next(d for d in manifest["documents"] if d["recipient"] == "AT" and d["part"] == "letter")
    assert letter["signed"]["level"] == "B-B"
    signed = out / letter["signed"]["path"]
    assert "Elektronisch unterzeichnet von Beate Gminder am" in normalise(pdf_text(signed, 1, 1))
    code, report = _verify(capsys, str(signed), "--trust", str(folder / "root.pem"))
    assert code == 0 and "timestamp: none" in report
    # Against another root it is intact and valid, but not trusted.
    code, report = _verify(capsys, str(signed), "--trust", str(folder / "other-root.pem"))
    assert code == 1 and "intact: yes" in report and "trusted: NO" in report
    # A wrong passphrase is a clear error.
    monkeypatch.setenv("SIGN_PASS", "wrong")
    assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "AT", "--key",
                   str(folder / "signer.p12"), "--passphrase-env", "SIGN_PASS") == 2


def test_a_byte_changed_after_signing_is_reported(rendered: tuple[Path, Path],
                                                  pki: dict[str, object], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    project, out = rendered
    folder = pki["folder"]
    assert isinstance(folder, Path)
    assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "AT", "--key",
                   str(folder / "signer.key"), "--cert", str(folder / "signer.pem")) == 0
    signed = out / "AT/de" / f"{LETTER}-AT-de-letter.signed.pdf"
    data = bytearray(signed.read_bytes())
    # Change one byte of the page text, inside the signed range.
    at = data.index(b"stream", 2000) + 20
    data[at] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    code, report = _verify(capsys, str(tampered), "--trust", str(folder / "root.pem"))
    assert code == 1 and "intact: NO" in report
    # Bytes appended after signing are reported too.
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(signed.read_bytes() + b"\n% appended later\n")
    code, report = _verify(capsys, str(appended), "--trust", str(folder / "root.pem"))
    assert code == 1 and "covers the whole file: NO" in report


def test_a_rerun_of_merge_keeps_the_signature_records(rendered: tuple[Path, Path],
                                                      pki: dict[str, object]) -> None:
    project, out = rendered
    folder = pki["folder"]
    assert isinstance(folder, Path)
    assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "CY", "--key",
                   str(folder / "signer.key"), "--cert", str(folder / "signer.pem")) == 0
    signed = {d["path"]: d["signed"] for d in json.loads(
        (out / "manifest.json").read_text(encoding="utf-8"))["documents"] if "signed" in d}
    assert run_cli(project, "merge", LETTER, "--to", "AT,CY", "--format", "pdf", "--out",
                   str(out), "--quiet") == 0
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    assert {d["path"]: d["signed"] for d in after if "signed" in d} == signed
    # A letter rendered anew (its inputs changed) loses the record of its old signature.
    catalog = project / "letter_templates/_frame/locale/el.po"
    original = catalog.read_text(encoding="utf-8")
    try:
        catalog.write_text(original.replace('msgstr "ΣΧΕΔΙΟ"', 'msgstr "ΠΡΟΣΧΕΔΙΟ"'),
                           encoding="utf-8")
        assert run_cli(project, "merge", LETTER, "--to", "AT,CY", "--format", "pdf", "--out",
                       str(out), "--quiet") == 0
        after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
        assert not any("signed" in d for d in after if d["recipient"] == "CY")
        assert all(d["status"] == "written" for d in after if d["recipient"] == "CY")
    finally:
        catalog.write_text(original, encoding="utf-8")
    assert run_cli(project, "merge", LETTER, "--to", "AT,CY", "--format", "pdf", "--out",
                   str(out), "--quiet") == 0


def test_a_pdf_changed_since_rendering_is_not_signed(rendered: tuple[Path, Path],
                                                     pki: dict[str, object]) -> None:
    project, out = rendered
    folder = pki["folder"]
    assert isinstance(folder, Path)
    target = out / "CY/el" / f"{LETTER}-CY-el-annex-1.pdf"
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"%")
        assert run_cli(project, "sign", LETTER, "--out", str(out), "--to", "CY", "--key",
                       str(folder / "signer.key"), "--cert", str(folder / "signer.pem")) == 2
    finally:
        target.write_bytes(original)
