"""Merge: plan (recipient × language × part × format), render in worker processes, write
atomically, skip what did not change, and record everything in ``manifest.json``."""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..compose import Composer, Project, load_templates_of
from ..errors import PactdocsError, UsageError, did_you_mean
from ..locale.catalogs import load_catalog, unfinished
from ..sources.languages import parse_languages
from ..sources.letters import FRAME_DIR, STYLE_DIR, Letter
from ..sources.registry import Registry
from ..writers import WRITERS, get_writer

TMP_SUFFIX = ".pactdocs-tmp"


@dataclass(frozen=True)
class Job:
    """One file the run was asked for."""

    recipient: str
    language: str
    part: str
    format: str
    path: str  # relative to the output folder
    inputs: str  # hash of everything the file depends on


@dataclass
class Unit:
    """One Document to compose, and the files it becomes (a shared annex has many)."""

    part: str
    recipient: str | None
    language: str
    jobs: list[Job] = field(default_factory=list)


@dataclass
class Result:
    path: str
    sha256: str | None
    size: int
    status: str  # written, unchanged, failed
    error: str | None = None


@dataclass
class Options:
    letter: str
    to: str | None = None
    lang: str = "auto"
    formats: tuple[str, ...] = ("pdf", "docx")
    parts: tuple[str, ...] = ()  # empty: every part of the letter
    out: Path | None = None
    jobs: int = 0
    final: bool = False
    force: bool = False
    dry_run: bool = False
    timeout: float = 120.0


@dataclass
class Summary:
    out: Path
    manifest: dict[str, Any]
    counts: dict[str, int]
    seconds: float

    @property
    def exit_code(self) -> int:
        return 1 if self.counts.get("failed") else 0


def _digest(*chunks: bytes | str) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _tree_digest(folder: Path, pattern: str = "*") -> str:
    files = sorted(p for p in folder.rglob(pattern) if p.is_file() and "locale" not in p.parts
                   and not p.name.endswith((".pyc", ".py")))
    return _digest(*(f"{p.relative_to(folder)}\0".encode() + p.read_bytes() for p in files))


def document_path(letter: str, recipient: str, language: str, part: str, fmt: str) -> str:
    return f"{recipient}/{language}/{letter}-{recipient}-{language}-{part}.{fmt}"


def plan(project: Project, letter: Letter, registry: Registry, options: Options) -> list[Unit]:
    """Return the units of work for ``options``, every job with its inputs hash."""
    for fmt in options.formats:
        if fmt not in WRITERS:
            raise UsageError(f"unknown format '{fmt}'",
                             hint=did_you_mean(fmt, list(WRITERS)) or f"formats: {', '.join(WRITERS)}")
    known_parts = [p.id for p in letter.parts]
    for part_id in options.parts:
        if part_id not in known_parts:
            raise UsageError(f"unknown part '{part_id}'",
                             hint=did_you_mean(part_id, known_parts) or f"parts: {', '.join(known_parts)}")
    parts = [p for p in letter.parts if not options.parts or p.id in options.parts]
    recipients = registry.resolve(options.to, letter.recipients)
    if options.lang != "auto":
        languages = parse_languages(options.lang, letter.languages)
    common = _digest(__version__, _tree_digest(letter.root), _tree_digest(project.frame_dir),
                     _tree_digest(project.templates / STYLE_DIR),
                     "final" if options.final else "draft")
    catalog_digest: dict[str, str] = {}

    def catalogs_of(language: str) -> str:
        if language not in catalog_digest:
            parts = []
            for owner in (FRAME_DIR, letter.name):
                path = project.catalog_path(owner, language)
                parts.append(path.read_bytes() if path.exists() else b"")
            catalog_digest[language] = _digest(*parts)
        return catalog_digest[language]

    letter_registry = registry.digest("agencies", "signatories", "groups")
    shared_registry = _digest(registry.digest("contacts", "signatories", "groups"),
                              ",".join(registry.member_states))
    units: dict[tuple[str, str | None, str], Unit] = {}
    for code in recipients:
        state = registry.member_states.get(code)
        if options.lang == "auto":
            if state is None:
                langs = [letter.source_language]
            else:
                langs = [state.correspondence_language]
        else:
            langs = languages
        fingerprint = state.fingerprint if state else "broken"
        for language in langs:
            for part in parts:
                # A broken recipient's documents all fail with its registry error, shared ones too.
                owner = code if part.per_recipient or state is None else None
                key = (part.id, owner, language)
                unit = units.setdefault(key, Unit(part.id, owner, language))
                reg = _digest(fingerprint, letter_registry) if part.per_recipient else shared_registry
                for fmt in options.formats:
                    inputs = _digest(common, catalogs_of(language), reg, part.id, fmt)
                    path = document_path(letter.name, code, language, part.id, fmt)
                    unit.jobs.append(Job(code, language, part.id, fmt, path, inputs))
    return list(units.values())


# --- the worker side ---------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def worker_init(root: str, letter: str, out: str, final: bool) -> None:
    """Load everything a worker needs once: registry, templates, catalogs, writers."""
    project = Project(Path(root))
    definition = project.letter(letter)
    registry = project.registry()
    _WORKER.update(project=project, letter=definition,
                   composer=Composer(project, definition, registry),
                   out=Path(out), final=final, writers={})


def _writer(fmt: str) -> Any:
    writers = _WORKER["writers"]
    if fmt not in writers:
        writers[fmt] = get_writer(fmt, _WORKER["project"].templates / STYLE_DIR)
    return writers[fmt]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def run_unit(unit: Unit) -> list[Result]:
    """Compose one Document, write every file it becomes; never raise for bad input."""
    composer: Composer = _WORKER["composer"]
    letter: Letter = _WORKER["letter"]
    out: Path = _WORKER["out"]
    # Fault injection for the test suite: a worker that dies or hangs on one chosen document.
    fault = os.environ.get("PACTDOCS_TEST_FAULT", "")
    if fault.partition(":")[2] == f"{unit.recipient}/{unit.language}/{unit.part}":
        if fault.startswith("crash:"):
            os._exit(70)
        if fault.startswith("hang:"):
            time.sleep(3600)
    try:
        document = composer.compose(letter.part(unit.part), unit.recipient, unit.language,
                                    final=_WORKER["final"])
        rendered: dict[str, bytes | PactdocsError] = {}
        results = []
        for job in unit.jobs:
            if job.format not in rendered:
                # A writer's refusal (say a house-style URL outside _style) fails that format
                # only: the document's other formats are still written.
                try:
                    rendered[job.format] = _writer(job.format).write(document)
                except PactdocsError as exc:
                    rendered[job.format] = exc
            data = rendered[job.format]
            if isinstance(data, PactdocsError):
                results.append(Result(job.path, None, 0, "failed", data.one_line()))
                continue
            sha = hashlib.sha256(data).hexdigest()
            target = out / job.path
            status = "written"
            if target.exists() and target.stat().st_size == len(data) and \
                    hashlib.sha256(target.read_bytes()).hexdigest() == sha:
                status = "unchanged"
            else:
                write_atomic(target, data)
            results.append(Result(job.path, sha, len(data), status))
        return results
    except PactdocsError as exc:
        return [Result(j.path, None, 0, "failed", exc.one_line()) for j in unit.jobs]
    except OSError as exc:
        return [Result(j.path, None, 0, "failed", f"cannot write: {exc}") for j in unit.jobs]
    except Exception as exc:  # a bug: keep going, but say where
        last = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"internal error: {type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"
        return [Result(j.path, None, 0, "failed", " ".join(reason.split())) for j in unit.jobs]


# --- the run -----------------------------------------------------------------------------------

def refused_languages(project: Project, letter: Letter, languages: Iterable[str]) -> dict[str, str]:
    """Return language → reason for every language not ready for final output."""
    reasons: dict[str, str] = {}
    for language in sorted(set(languages)):
        if language == letter.source_language:
            continue
        missing = []
        for owner in (FRAME_DIR, letter.name):
            catalog = load_catalog(project.catalog_path(owner, language), language)
            missing += unfinished(catalog, load_templates_of(project, owner))
        if missing:
            fuzzy = sum(1 for s, _ in missing if s == "fuzzy")
            untranslated = len(missing) - fuzzy
            first = "; ".join(f"{s}: '{m[:40]}'" for s, m in missing[:3])
            reasons[language] = (f"{language} is not final: {fuzzy} fuzzy, {untranslated} "
                                 f"untranslated ({first}{'; …' if len(missing) > 3 else ''})")
    return reasons


def merge(project: Project, options: Options,
          progress: Callable[[int, int], None] | None = None) -> Summary:
    """Run a merge; raise PactdocsError only for bad arguments or configuration."""
    from .pool import run_pool

    started = time.perf_counter()
    letter = project.letter(options.letter)
    registry = project.registry()
    composer = Composer(project, letter, registry)
    syntax = composer.check_templates()
    if syntax:
        raise syntax[0]
    units = plan(project, letter, registry, options)
    out = options.out or project.root / "output" / letter.name
    jobs = [job for unit in units for job in unit.jobs]
    refused = refused_languages(project, letter, {u.language for u in units}) if options.final else {}

    if options.dry_run:
        return _dry_run(out, units, jobs, refused, options, started)

    out.mkdir(parents=True, exist_ok=True)
    _sweep_temporary(out)
    from .store import Store

    store = Store(out)
    known = {} if options.force else store.known()
    results: dict[str, Result] = {}
    todo: list[Unit] = []
    for unit in units:
        if unit.language in refused:
            for job in unit.jobs:
                results[job.path] = Result(job.path, None, 0, "failed", refused[unit.language])
            continue
        stale = [job for job in unit.jobs if not _fresh(out, job, known.get(job.path))]
        for job in unit.jobs:
            if job not in stale:
                inputs, sha, size = known[job.path]
                results[job.path] = Result(job.path, sha, size, "unchanged")
        if stale:
            todo.append(Unit(unit.part, unit.recipient, unit.language, stale))

    inputs_of = {job.path: job.inputs for job in jobs}
    total = sum(len(u.jobs) for u in todo)
    done = 0

    def on_results(batch: list[Result]) -> None:
        nonlocal done
        for result in batch:
            results[result.path] = result
            if result.status != "failed" and result.sha256:
                store.record(result.path, inputs_of[result.path], result.sha256, result.size)
        done += len(batch)
        if progress:
            progress(done, total)

    def start_worker() -> None:
        worker_init(root=str(project.root), letter=letter.name, out=str(out), final=options.final)

    def unit_failed(unit: Unit, reason: str) -> list[Result]:
        return [Result(j.path, None, 0, "failed", reason) for j in unit.jobs]

    # Shared annexes first: they fan out to many files, and they are few.
    todo.sort(key=lambda u: u.recipient is not None)
    try:
        run_pool(todo, on_results, start=start_worker, run=run_unit, failed=unit_failed,
                 jobs=options.jobs or os.cpu_count() or 1, timeout=options.timeout)
    finally:
        store.close()
    manifest = _manifest(letter, jobs, results, draft=not options.final)
    _keep_signatures(out, manifest)
    write_atomic(out / "manifest.json",
                 (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    counts = {"written": 0, "unchanged": 0, "failed": 0}
    for entry in manifest["documents"]:
        counts[entry["status"]] += 1
    return Summary(out, manifest, counts, time.perf_counter() - started)


def _fresh(out: Path, job: Job, known: tuple[str, str, int] | None) -> bool:
    if known is None or known[0] != job.inputs:
        return False
    try:
        return (out / job.path).stat().st_size == known[2]
    except OSError:
        return False


def _sweep_temporary(out: Path) -> None:
    """Remove temporary files a killed run left behind."""
    for tmp in out.rglob(f"*{TMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def _manifest(letter: Letter, jobs: list[Job], results: dict[str, Result],
              draft: bool) -> dict[str, Any]:
    # ``draft``: rendered without --final, so it may hold fuzzy or untranslated text; the
    # inputs hash holds the mode, so an unchanged file was rendered in the same mode.
    documents = []
    for job in jobs:
        result = results.get(job.path) or Result(job.path, None, 0, "failed", "not rendered")
        documents.append({
            "recipient": job.recipient, "language": job.language, "part": job.part,
            "format": job.format, "path": job.path, "sha256": result.sha256,
            "status": result.status, "error": result.error, "bytes": result.size,
            "inputs": job.inputs, "draft": draft,
        })
    return {"letter": letter.name, "pactdocs": __version__, "documents": documents}


def _keep_signatures(out: Path, manifest: dict[str, Any]) -> None:
    """Carry each ``signed`` record (pactdocs sign) of the previous manifest over to a PDF that
    is still the same file and whose signed copy is still the one recorded."""
    try:
        previous = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        old = {d["path"]: d for d in previous.get("documents", []) if isinstance(d, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    root = out.resolve()
    for entry in manifest["documents"]:
        before = old.get(entry["path"])
        signed = before.get("signed") if before else None
        if not isinstance(signed, dict) or before is None or not entry["sha256"] \
                or before.get("sha256") != entry["sha256"]:
            continue
        target = (out / str(signed.get("path", ""))).resolve()
        if target.is_relative_to(root) and target.is_file() and \
                hashlib.sha256(target.read_bytes()).hexdigest() == signed.get("sha256"):
            entry["signed"] = signed


def _dry_run(out: Path, units: list[Unit], jobs: list[Job], refused: dict[str, str],
             options: Options, started: float) -> Summary:
    from .store import Store

    known: dict[str, tuple[str, str, int]] = {}
    if (out / Store.FILENAME).exists() and not options.force:
        store = Store(out)
        known = store.known()
        store.close()
    documents = []
    counts = {"would write": 0, "unchanged": 0, "refused": 0}
    for job in jobs:
        if job.language in refused:
            status = "refused"
        elif _fresh(out, job, known.get(job.path)):
            status = "unchanged"
        else:
            status = "would write"
        counts[status] += 1
        documents.append({**asdict(job), "status": status})
    manifest = {"letter": options.letter, "documents": documents,
                "renders": sum(1 for u in units if any(not _fresh(out, j, known.get(j.path))
                                                       for j in u.jobs))}
    return Summary(out, manifest, counts, time.perf_counter() - started)
