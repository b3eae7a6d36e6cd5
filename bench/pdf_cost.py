"""What tagging and PDF/A cost: the sample letter and its annexes rendered plain (untagged, as
before) and as the PDF writer renders them (PDF/A-2a, PDF/UA-1), and what signing costs.

    .venv/bin/python bench/pdf_cost.py [--runs N]

Prints the median of N runs per variant (one process, warmed up, fonts shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs

    from pactdocs.compose import Composer, Project
    from pactdocs.writers import pdf as pdf_writer

    project = Project(ROOT)
    letter = project.letter("pact-implementation")
    composer = Composer(project, letter, project.registry())
    documents = [composer.compose(letter.part(part), "AT" if part == "letter" else None, "de")
                 for part in ("letter", "annex-1", "annex-2")]
    archival = dict(pdf_writer.OPTIONS)
    plain = {"uncompressed_pdf": False, "optimize_images": False}

    def render(options: dict[str, object], tagged: bool) -> tuple[float, bytes]:
        pdf_writer.OPTIONS.clear()
        pdf_writer.OPTIONS.update(options)
        original = pdf_writer.finish_pdf
        if not tagged:
            pdf_writer.finish_pdf = lambda document, pdf: None  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            for document in documents:
                last = writer.write(document)
            return time.perf_counter() - started, last
        finally:
            pdf_writer.finish_pdf = original
            pdf_writer.OPTIONS.clear()
            pdf_writer.OPTIONS.update(archival)

    writer = pdf_writer.PdfWriter(ROOT / "letter_templates" / "_style")
    render(plain, False), render(archival, True)  # warm up
    # Alternate the variants so that the load of a shared machine falls on both alike.
    plain_times, archival_times, outputs = [], [], set()
    for _ in range(runs):
        plain_times.append(render(plain, False)[0])
        seconds, data = render(archival, True)
        archival_times.append(seconds)
        outputs.add(data)
    base, full = statistics.median(plain_times), statistics.median(archival_times)
    print(f"letter + 2 annexes, median of {runs}: plain {base * 1000:.0f} ms, "
          f"PDF/A-2a + PDF/UA-1 {full * 1000:.0f} ms ({(full / base - 1) * 100:+.1f} %), "
          f"byte-identical over the runs: {len(outputs) == 1}")
    sign_cost(data, max(3, runs // 3))


def sign_cost(pdf: bytes, runs: int) -> None:
    """Time a B-B signature (visible line included) with a throw-away self-signed key."""
    import datetime as dt
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from pactdocs.writers import signing

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    with tempfile.TemporaryDirectory() as folder:
        key_path, cert_path = Path(folder) / "key.pem", Path(folder) / "cert.pem"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        signer = signing.load_signer(key_path, cert_path)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        signing.sign_pdf(pdf, signer, "Electronically signed by Bench Signer on 1 May 2024", "en")
        times.append(time.perf_counter() - started)
    print(f"B-B signature of one PDF, median of {runs}: {statistics.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
