"""The workflow staff would otherwise use, measured beside pactdocs in the same run.

docxtpl renders one Word template per part (the same letter, annexes and texts pactdocs
composes), then LibreOffice converts every DOCX to PDF in batched calls, as a secretariat would
script it. LibreOffice may exit 0 having converted only some of the files it was given, so the
outputs are counted and the missing ones given to another call.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LETTER = "pact-implementation"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _templates(folder: Path) -> dict[str, Path]:
    """Write the three Word templates a docxtpl user would keep, with Jinja tags in them."""
    from docx import Document

    paths = {}
    letter = Document()
    for tag in ("{{ letterhead_0 }}", "{{ letterhead_1 }}", "{{ letterhead_2 }}", "{{ place_date }}",
                "{{ reference }}", "{{ salutation }}"):
        letter.add_paragraph(tag)
    letter.add_paragraph("{%p for paragraph in body %}")
    letter.add_paragraph("{{ paragraph }}")
    letter.add_paragraph("{%p endfor %}")
    for tag in ("{{ closing }}", "{{ signature }}"):
        letter.add_paragraph(tag)
    for block in ("enclosures", "cc", "addressee"):
        letter.add_paragraph(f"{{%p for line in {block} %}}")
        letter.add_paragraph("{{ line }}")
        letter.add_paragraph("{%p endfor %}")
    paths["letter"] = folder / "letter.docx"
    letter.save(paths["letter"])
    annex = Document()
    for tag in ("{{ letterhead_0 }}", "{{ letterhead_1 }}", "{{ heading }}", "{{ subheading }}"):
        annex.add_paragraph(tag)
    annex.add_paragraph("{%p for paragraph in body %}")
    annex.add_paragraph("{{ paragraph }}")
    annex.add_paragraph("{%p endfor %}")
    table = annex.add_table(rows=3, cols=3)
    table.rows[0].cells[0].text = "{%tr for row in rows %}"
    for i in range(3):
        table.rows[1].cells[i].text = f"{{{{ row[{i}] }}}}"
    table.rows[2].cells[0].text = "{%tr endfor %}"
    paths["annex"] = folder / "annex.docx"
    annex.save(paths["annex"])
    return paths


def _contexts(languages: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (file stem, template, context) for every document, from pactdocs' own texts."""
    from pactdocs.compose import Composer, Project
    from pactdocs.model import Paragraph, Table

    project = Project(ROOT)
    letter = project.letter(LETTER)
    registry = project.registry()
    composer = Composer(project, letter, registry)
    items = []
    for language in languages:
        for code in registry.member_states:
            for part in letter.parts:
                doc = composer.compose(part, code if part.id == "letter" else None, language)
                body = [" ".join(r.text for r in b.runs) for b in doc.body if isinstance(b, Paragraph)]
                rows = [[" ".join(r.text for r in c.runs) for c in row]
                        for b in doc.body if isinstance(b, Table) for row in b.rows]
                context = {f"letterhead_{i}": line for i, line in enumerate(doc.letterhead)}
                context.update(place_date=doc.place_date, reference=doc.reference,
                               salutation=doc.salutation, body=body, closing=doc.closing,
                               signature=" ".join(doc.signature), enclosures=list(doc.enclosures),
                               cc=list(doc.cc), addressee=list(doc.addressee), heading=doc.heading,
                               subheading=doc.subheading, rows=rows)
                items.append((f"{code}-{language}-{part.id}",
                              "letter" if part.id == "letter" else "annex", context))
    return items


def convert_all(files: list[Path], out: Path, batch: int, profile: Path) -> tuple[int, int]:
    """Convert ``files`` to PDF with LibreOffice, ``batch`` per call; return (converted, calls)."""
    assert SOFFICE is not None
    calls = 0
    for attempt in range(3):
        missing = [f for f in files if not (out / f.with_suffix(".pdf").name).exists()]
        if not missing:
            break
        for start in range(0, len(missing), batch):
            calls += 1
            subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                            "--convert-to", "pdf", "--outdir", str(out),
                            *map(str, missing[start:start + batch])],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        del attempt
    converted = sum(1 for f in files if (out / f.with_suffix(".pdf").name).exists())
    return converted, calls


def _render_docx(job: tuple[dict[str, Path], list[tuple[str, str, dict[str, Any]]], Path]) -> list[Path]:
    """docxtpl: render one share of the documents (run in a process of its own)."""
    from docxtpl import DocxTemplate

    templates, items, folder = job
    files = []
    for stem, template, context in items:
        document = DocxTemplate(templates[template])
        document.render(context)
        path = folder / f"{stem}.docx"
        document.save(path)
        files.append(path)
    return files


def measure_peer(languages: list[str], batch: int = 200, parallel: int = 1) -> dict[str, Any]:
    """Return wall and CPU seconds of docxtpl + LibreOffice for the letters in ``languages``.

    ``parallel``: how many docxtpl processes and LibreOffice batches run side by side (each
    LibreOffice with its own profile), as a user with that many cores could script it.
    """
    import concurrent.futures
    import threading

    if SOFFICE is None:
        return {"skipped": "LibreOffice is not installed (Debian package libreoffice-writer-nogui)"}
    work = Path(tempfile.mkdtemp(prefix="pactdocs-peer-"))
    try:
        templates = _templates(work)
        items = _contexts(languages)  # the texts are given to the peer: it does no translation
        docx_dir, pdf_dir = work / "docx", work / "pdf"
        docx_dir.mkdir()
        pdf_dir.mkdir()
        children = _children_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        shares = [(templates, items[i::parallel], docx_dir) for i in range(parallel)]
        if parallel == 1:
            files = _render_docx(shares[0])
        else:
            with concurrent.futures.ProcessPoolExecutor(parallel) as pool:
                files = [f for share in pool.map(_render_docx, shares) for f in share]
        docxtpl_s = time.perf_counter() - started
        docxtpl_cpu = time.process_time() - cpu + _children_cpu() - children
        children = _children_cpu()
        started = time.perf_counter()
        results: list[tuple[int, int]] = [(0, 0)] * parallel

        def stream(i: int) -> None:
            results[i] = convert_all(files[i::parallel], pdf_dir, batch, work / f"profile-{i}")

        threads = [threading.Thread(target=stream, args=(i,)) for i in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        converted, calls = sum(r[0] for r in results), sum(r[1] for r in results)
        libreoffice_s, libreoffice_cpu = time.perf_counter() - started, _children_cpu() - children
        return {"documents": len(files), "pdf_converted": converted, "libreoffice_calls": calls,
                "parallel": parallel, "docxtpl_s": docxtpl_s, "libreoffice_s": libreoffice_s,
                "wall_s": docxtpl_s + libreoffice_s, "cpu_s": docxtpl_cpu + libreoffice_cpu}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_pactdocs(languages: list[str], jobs: int | None = None) -> dict[str, Any]:
    """Return wall and CPU seconds of pactdocs for the same documents, PDF and DOCX, cold."""
    out = Path(tempfile.mkdtemp(prefix="pactdocs-peer-out-"))
    try:
        children = _children_cpu()
        started = time.perf_counter()
        args = [sys.executable, "-m", "pactdocs.cli", "--project", str(ROOT), "merge", LETTER,
                "--lang", ",".join(languages), "--out", str(out / "run"), "--quiet"]
        if jobs:
            args += ["--jobs", str(jobs)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        documents = sum(1 for _ in (out / "run").rglob("*.pdf"))
        return {"documents": documents, "wall_s": wall, "cpu_s": _children_cpu() - children}
    finally:
        shutil.rmtree(out, ignore_errors=True)
