"""PAdES signatures over rendered PDFs (pyHanko), and their check.

Signing appends an incremental update, so the unsigned file is a byte prefix of the signed one.
The visible signature line is a small page WeasyPrint renders in the letter's language with the
house font embedded (pyHanko's own stamp font is not embedded, which PDF/A forbids), imported
into the signature's appearance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

from ..errors import PactdocsError, UsageError
from ..model import manifest_json

FIELD_NAME = "Signature1"
# The signature line: on page 1, in the bottom margin, left of the page number (PDF points).
SIGNATURE_BOX = (71, 14, 420, 34)


class SigningError(PactdocsError):
    category = "signing"


@dataclass(frozen=True)
class SignedFile:
    path: str  # relative to the output folder
    sha256: str
    signer: str
    signed_at: str
    level: str  # B-B or B-T


@dataclass
class Verdict:
    """What ``verify`` found in one file."""

    path: str
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    whole_file: bool = False
    signer: str | None = None
    signed_at: str | None = None
    timestamp: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.whole_file and not self.problems


def load_signer(key: Path, cert: Path | None = None, chain: tuple[Path, ...] = (),
                passphrase: bytes | None = None) -> Any:
    """Return a pyHanko signer from a PKCS#12 file, or from a PEM/DER key and certificate."""
    from pyhanko.sign import signers

    if not key.is_file():
        raise UsageError(f"no key file '{key}'", hint="--key FILE.p12 or --key key.pem --cert cert.pem")
    for path in (cert, *chain):
        if path is not None and not path.is_file():
            raise UsageError(f"no certificate file '{path}'")
    try:
        if key.suffix.lower() in (".p12", ".pfx"):
            signer = signers.SimpleSigner.load_pkcs12(str(key), passphrase=passphrase,
                                                      ca_chain_files=tuple(map(str, chain)))
        else:
            if cert is None:
                raise UsageError("a PEM key needs its certificate", hint="--cert cert.pem")
            signer = signers.SimpleSigner.load(str(key), str(cert),
                                               ca_chain_files=tuple(map(str, chain)),
                                               key_passphrase=passphrase)
    except PactdocsError:
        raise
    except Exception as exc:
        raise UsageError(f"cannot read the key or certificate: {exc}",
                         hint="a wrong passphrase? see --passphrase-env") from None
    if signer is None:
        raise UsageError(f"cannot read the key or certificate in '{key}'",
                         hint="a wrong passphrase? see --passphrase-env")
    return signer


def signer_name(signer: Any) -> str:
    """Return the signing certificate's common name (or its whole subject)."""
    subject = signer.signing_cert.subject
    return str(subject.native.get("common_name") or subject.human_friendly)


def stamp_pdf(line: str, language: str) -> bytes:
    """Return a one-line PDF page holding ``line`` in the house font, fonts embedded."""
    from . import weasy

    weasy.load()
    from weasyprint import HTML

    width = SIGNATURE_BOX[2] - SIGNATURE_BOX[0]
    height = SIGNATURE_BOX[3] - SIGNATURE_BOX[1]
    style = (f"@page {{ size: {width}pt {height}pt; margin: 0 }} "
             f'body {{ margin: 0; font: 9pt "Liberation Sans"; color: #1f3a93; '
             f"line-height: {height}pt; white-space: nowrap }}")
    page = (f'<html lang="{escape(language)}"><head><style>{style}</style></head>'
            f"<body>{escape(line)}</body></html>")
    data = HTML(string=page).write_pdf()
    assert data is not None
    return bytes(data)


def _stamp_style(stamp: bytes) -> Any:
    import binascii
    import uuid

    from pyhanko.pdf_utils import content, layout
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.stamp import StaticStampStyle

    class RenderedPage(content.PdfContent):
        """A page given as bytes, imported as a form XObject."""

        def render(self) -> bytes:
            writer = self._ensure_writer
            xobject = writer.import_page_as_xobject(PdfFileReader(BytesIO(stamp)), page_ix=0)
            name = "/Stamp" + binascii.hexlify(uuid.uuid4().bytes).decode("ascii")
            self.resources.xobject[name] = xobject
            x1, y1, x2, y2 = xobject.get_object()["/BBox"]
            self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
            return name.encode("ascii") + b" Do"

    # The page has the box's size: drawn at 1:1, no margins (pyHanko's default scales it to half).
    fit = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MIN,
                                     y_align=layout.AxisAlignment.ALIGN_MID,
                                     margins=layout.Margins.uniform(0),
                                     inner_content_scaling=layout.InnerScaling.NO_SCALING)
    return StaticStampStyle(background=RenderedPage(), border_width=0, background_opacity=1.0,
                            background_layout=fit)


def sign_pdf(data: bytes, signer: Any, line: str, language: str, tsa: str | None = None) -> bytes:
    """Return ``data`` with a PAdES signature appended (B-T when ``tsa`` is given)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    timestamper = None
    if tsa:
        from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper

        timestamper = HTTPTimeStamper(tsa, timeout=10)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, use_pades_lta=False)
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    fields.append_signature_field(writer, fields.SigFieldSpec(FIELD_NAME, on_page=0,
                                                              box=SIGNATURE_BOX))
    _tag_signature_field(writer, line)
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper,
                                   stamp_style=_stamp_style(stamp_pdf(line, language)))
    out = BytesIO()
    try:
        pdf_signer.sign_pdf(writer, output=out)
    except Exception as exc:
        where = f" (timestamp server {tsa})" if tsa else ""
        raise SigningError(f"could not sign{where}: {type(exc).__name__}: {exc}") from None
    return out.getvalue()


def _tag_signature_field(writer: Any, line: str) -> None:
    """Put the signature widget in the structure tree (a Form element after the rest of page
    1) with ``line`` as its description, as PDF/UA asks of every annotation."""
    from pyhanko.pdf_utils import generic

    name = generic.NameObject
    root = writer.root
    widget_ref = next(f for f in root["/AcroForm"]["/Fields"]
                      if f.get_object().get("/T") == FIELD_NAME)
    widget = widget_ref.get_object()
    widget["/TU"] = generic.TextStringObject(line)
    widget["/Contents"] = generic.TextStringObject(line)
    page_ref = widget.raw_get("/P")
    tree_ref = root.raw_get("/StructTreeRoot")
    tree = tree_ref.get_object()
    kids = tree["/K"]
    document_ref = kids.raw_get(0) if isinstance(kids, generic.ArrayObject) else tree.raw_get("/K")
    document = document_ref.get_object()
    parent_tree = tree["/ParentTree"]
    nums = parent_tree["/Nums"]
    key = max([int(nums[i]) for i in range(0, len(nums), 2)], default=-1) + 1
    key = max(key, int(tree.get("/ParentTreeNextKey", 0)))
    element = generic.DictionaryObject({
        name("/Type"): name("/StructElem"), name("/S"): name("/Form"),
        name("/P"): document_ref, name("/Pg"): page_ref,
        name("/Alt"): generic.TextStringObject(line),
        name("/K"): generic.DictionaryObject({name("/Type"): name("/OBJR"),
                                              name("/Obj"): widget_ref, name("/Pg"): page_ref})})
    element_ref = writer.add_object(element)
    order = document["/K"]
    last = max((i for i in range(len(order))
                if order[i].get_object().raw_get("/Pg") == page_ref), default=len(order) - 1)
    order.insert(last + 1, element_ref)
    nums.append(generic.NumberObject(key))
    nums.append(element_ref)
    tree["/ParentTreeNextKey"] = generic.NumberObject(key + 1)
    widget["/StructParent"] = generic.NumberObject(key)
    page = page_ref.get_object()
    page["/Tabs"] = name("/S")
    for container in (tree, document, parent_tree, widget, page):
        writer.update_container(container)


def sign_letter(out: Path, signer: Any, line_for: Any, tsa: str | None = None,
                recipients: set[str] | None = None,
                clock: Any = None) -> list[SignedFile]:
    """Sign every rendered PDF listed in ``out/manifest.json`` (those of ``recipients`` only,
    when given), after checking its sha256; write ``<stem>.signed.pdf`` beside it and record it
    in the manifest. ``line_for(language, name, date)`` returns the visible signature line."""
    manifest_path = out / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {manifest_path}: {exc}",
                         hint="run pactdocs merge first") from None
    name = signer_name(signer)
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    root = out.resolve()
    done: list[SignedFile] = []
    documents = manifest.get("documents") if isinstance(manifest, dict) else None
    if not isinstance(documents, list) or not all(
            isinstance(d, dict) and isinstance(d.get("path"), str)
            and isinstance(d.get("language"), str) for d in documents):
        raise UsageError(f"{manifest_path} is not a pactdocs manifest",
                         hint="run pactdocs merge again")
    todo = [d for d in documents
            if d.get("format") == "pdf" and d.get("status") in ("written", "unchanged", "kept")
            and (recipients is None or d.get("recipient") in recipients)]
    if not todo:
        raise UsageError("no rendered PDF to sign in the manifest", hint="run pactdocs merge first")
    for entry in todo:
        path = (out / entry["path"]).resolve()
        if not path.is_relative_to(root) or path.suffix != ".pdf":
            raise SigningError(f"manifest path '{entry['path']}' leads out of {out}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise SigningError(f"{entry['path']} changed since it was rendered (sha256 differs "
                               "from the manifest)", hint="run pactdocs merge again")
        line = line_for(entry["language"], name, now.date().isoformat())
        signed = sign_pdf(data, signer, line, entry["language"], tsa)
        target = path.with_name(path.stem + ".signed.pdf")
        write_atomic(target, signed)
        record = SignedFile(str(target.relative_to(root)), hashlib.sha256(signed).hexdigest(),
                            name, now.replace(microsecond=0).isoformat(), "B-T" if tsa else "B-B")
        entry["signed"] = {"path": record.path, "sha256": record.sha256, "signer": record.signer,
                           "signed_at": record.signed_at, "level": record.level}
        done.append(record)
    write_atomic(manifest_path, manifest_json(manifest))
    return done


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.pactdocs-tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def signature_lines(project: Any, letter: str) -> Any:
    """Return ``line(language, name, date)``: the visible signature line of ``letter`` in a
    language, from the frame catalog (``labels.signed``) with the date in that language."""
    from ..compose import Composer

    definition = project.letter(letter)
    composer = Composer(project, definition, project.registry())

    def line(language: str, name: str, date: str) -> str:
        return composer.frame_message(language, "labels.signed", name=name,
                                      date=composer.format_date(language, date))

    return line


def verify_pdf(path: Path, trust: tuple[Path, ...]) -> Verdict:
    """Check every signature of the PDF at ``path`` against the ``trust`` root certificates."""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    verdict = Verdict(str(path))
    roots = []
    for cert_path in trust:
        raw = cert_path.read_bytes()
        if pem.detect(raw):
            raw = pem.unarmor(raw)[2]
        roots.append(x509.Certificate.load(raw))
    context = ValidationContext(trust_roots=roots, allow_fetching=False,
                                revocation_mode="soft-fail")
    try:
        with path.open("rb") as handle:
            reader = PdfFileReader(handle, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                verdict.problems.append("no signature")
                return verdict
            for signature in signatures:
                status = validate_pdf_signature(signature, context)
                verdict.intact = status.intact
                verdict.valid = status.valid
                verdict.trusted = status.trusted
                verdict.whole_file = (status.coverage is not None
                                      and status.coverage.name == "ENTIRE_FILE")
                if not verdict.whole_file:
                    verdict.problems.append("the file was changed after it was signed")
                verdict.signer = str(status.signing_cert.subject.human_friendly)
                if status.signer_reported_dt:
                    verdict.signed_at = status.signer_reported_dt.isoformat()
                ts = status.timestamp_validity
                if ts is not None:
                    verdict.timestamp = ts.timestamp.isoformat()
                    if not (ts.intact and ts.valid):
                        verdict.problems.append("the timestamp is not valid")
    except PactdocsError:
        raise
    except Exception as exc:
        verdict.problems.append(f"unreadable: {type(exc).__name__}: {exc}")
    return verdict


def passphrase_from_env(name: str | None) -> bytes | None:
    if not name:
        return None
    if name not in os.environ:
        raise UsageError(f"environment variable {name} is not set", hint="--passphrase-env VAR")
    return os.environ[name].encode("utf-8")


