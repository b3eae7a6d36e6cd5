"""Merge: plan (recipient × language × part × format), render in worker processes, write
atomically, skip what did not change, and record everything in ``manifest.json``."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import __version__
from ..errors import CatalogError, Interrupted, PactdocsError, UsageError, did_you_mean
from ..model import manifest_json
from ..sources.files import MAX_CATALOG_BYTES, inside, read_inside
from ..sources.languages import parse_languages
from ..sources.letters import FRAME_DIR, STYLE_DIR, Letter, pinned_timestamp
from ..sources.project import Project
from ..sources.registry import Registry
from ..writers import WRITERS, get_writer
from . import walk as walking
from .outdir import (
    MANIFEST_NAME,
    REGISTRY_NAME,
    STATE_NAME,
    TMP_SUFFIX,
    OutputError,
    OutputFolder,
    cannot_write,
    check_output_folder,
    is_pactdocs_manifest,
    write_atomic,
)
from .walk import FolderWalk, owned_estimate, second_core

if TYPE_CHECKING:
    # Imported where a run composes (Jinja2, Babel): a rerun with nothing to render never does.
    from ..compose import Composer

__all__ = ["TMP_SUFFIX", "Options", "Summary", "merge", "plan", "write_atomic"]

# The address space one worker may use (a worker rendering PDF and DOCX peaks near 300 MB).
DEFAULT_MEMORY_MB = 1536
# The largest file the inputs hash reads (house style, templates).
_MAX_HASHED = 64 * 1024 * 1024
# Libraries whose version changes the bytes of what is written.
_RENDERING_PACKAGES = ("weasyprint", "pydyf", "python-docx", "lxml", "babel", "jinja2",
                       "markupsafe", "fonttools", "tinycss2", "cssselect2")


class Job(NamedTuple):
    """One file the run was asked for (a tuple: 16,000 of them are made in a plan)."""

    recipient: str
    language: str
    part: str
    format: str
    path: str  # relative to the output folder
    inputs: str  # hash of everything the file depends on
    # The recipient's correspondence language when the letter is not in it and the document
    # is in the letter's fallback language instead (``--lang auto``).
    fallback_from: str | None = None


@dataclass
class Unit:
    """One Document to compose, and the files it becomes (a shared annex has many)."""

    part: str
    recipient: str | None
    language: str
    jobs: list[Job] = field(default_factory=list)


@dataclass(slots=True)
class Result:
    path: str
    sha256: str | None
    size: int
    status: str  # written, unchanged, failed
    error: str | None = None
    signature: str | None = None  # the file's stat signature once on disk


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
    wait: bool = False  # wait for another run holding the output folder instead of refusing
    memory: int = DEFAULT_MEMORY_MB  # address space of one worker, in MB
    verify: bool = False  # hash every file, even one whose stat signature did not change
    clean: bool = False  # remove the files the inventory flags as no longer belonging
    command: str = "merge"  # how the run was started, kept in the state DB and the manifest


@dataclass
class Summary:
    out: Path
    manifest: dict[str, Any]
    counts: dict[str, int]
    seconds: float
    notices: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # what --clean removed

    @property
    def fallbacks(self) -> dict[str, str]:
        """Return recipient → correspondence language of every recipient whose documents are in
        the letter's fallback language, because the letter is not in theirs."""
        return {d["recipient"]: d["fallback_from"] for d in self.manifest.get("documents", ())
                if d.get("fallback_from")}

    @property
    def exit_code(self) -> int:
        return 1 if self.counts.get("failed") else 0


def _digest(*chunks: bytes | str) -> str:
    return _hashed(hashlib.sha256(), *chunks).hexdigest()


def _hashed(h: Any, *chunks: bytes | str) -> Any:
    """Return the sha256 ``h`` fed ``chunks``, each after its length (so that no two lists of
    chunks feed the same bytes); a copy of a fed hash goes on where it stopped."""
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h


def _tree_digest(folder: Path, pattern: str = "*") -> str:
    """Return the digest of the files below ``folder``; a link out is hashed as a link, unread."""
    files = sorted(p for p in folder.rglob(pattern) if p.is_file() and "locale" not in p.parts
                   and not p.name.endswith((".pyc", ".py")))
    chunks = []
    for p in files:
        head = f"{p.relative_to(folder)}\0".encode()
        if p.is_symlink() and not inside(p, folder):
            chunks.append(head + b"link-out\0" + os.readlink(p).encode())
        else:
            chunks.append(head + read_inside(p, folder, _MAX_HASHED))
    return _digest(*chunks)


def _rendering_digest() -> str:
    """Return the digest of what renders besides the inputs: pactdocs' code, library versions."""
    package = Path(__file__).resolve().parents[1]
    code = [f"{p.relative_to(package)}\0".encode() + p.read_bytes()
            for p in sorted(package.rglob("*.py"))]
    found = installed_versions(_RENDERING_PACKAGES)
    versions = [f"{name}={found.get(name, '-')}" for name in _RENDERING_PACKAGES]
    return _digest(*code, ",".join(versions))


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """Return name → version of each installed distribution of ``names``, as
    ``importlib.metadata.version`` gives it (the ``Version`` of the first ``*.dist-info`` found
    along ``sys.path``), without importing ``importlib.metadata`` and searching once for each
    (together 70 ms of a command that does little else, such as a rerun with nothing to do)."""
    wanted = {_normalized(name): name for name in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as listing:
                folders = sorted(e.name for e in listing if e.name.endswith(".dist-info"))
        except OSError:
            continue
        for folder in folders:
            name = wanted.get(_normalized(folder[:-len(".dist-info")].rpartition("-")[0]))
            if name is None or name in found:
                continue
            version = _metadata_version(Path(entry or ".") / folder / "METADATA")
            if version is not None:
                found[name] = version
    return found


def _normalized(name: str) -> str:
    """A distribution's name as packaging compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata_version(path: Path) -> str | None:
    """The ``Version`` field of a distribution's METADATA file (in its header), or None."""
    try:
        with path.open("rb") as handle:
            for raw in handle:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    return None  # the header ends: the long description follows
                if line.lower().startswith("version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


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
    # Everything that changes the bytes: the inputs, the pinned timestamp (SOURCE_DATE_EPOCH),
    # draft or final, pactdocs' code and the versions of the libraries that render.
    common = _digest(__version__, _tree_digest(letter.root), _tree_digest(project.frame_dir),
                     _tree_digest(project.templates / STYLE_DIR),
                     "final" if options.final else "draft", pinned_timestamp(letter),
                     _rendering_digest())
    # Each job's inputs hash is _digest(common, catalogs, registry data, part, format), fed in
    # that order: the hash fed the first two is kept per language, a letter's jobs go on from
    # it fed their recipient's data once, and a shared annex's jobs (the same for every
    # recipient) are hashed once.
    base: dict[str, Any] = {}
    shared: dict[tuple[str, str, str], str] = {}

    def catalogs_of(language: str) -> str:
        parts = []
        for owner in (FRAME_DIR, letter.name):
            path = project.catalog_path(owner, language)
            parts.append(read_inside(path, path.parent, MAX_CATALOG_BYTES, CatalogError)
                         if os.path.lexists(path) else b"")
        return _digest(*parts)

    def fed(language: str, reg: str) -> Any:
        if language not in base:
            base[language] = _hashed(hashlib.sha256(), common, catalogs_of(language))
        return _hashed(base[language].copy(), reg)

    letter_registry = registry.digest("agencies", "signatories", "groups")
    shared_registry = _digest(registry.digest("contacts", "signatories", "groups"),
                              ",".join(registry.member_states))
    units: dict[tuple[str, str | None, str], Unit] = {}
    for code in recipients:
        state = registry.recipients.get(code)
        fallback_from = None
        if options.lang == "auto":
            if state is None:
                langs = [letter.source_language]
            elif state.language in letter.languages:
                langs = [state.language]
            else:
                # One language per document: the whole letter, frame and body, in the fallback.
                langs, fallback_from = [letter.fallback_language], state.language
        else:
            langs = languages
        fingerprint = state.fingerprint if state else "broken"
        for language in langs:
            for part in parts:
                # A broken recipient's documents all fail with its registry error, shared ones too.
                owner = code if part.per_recipient or state is None else None
                key = (part.id, owner, language)
                unit = units.setdefault(key, Unit(part.id, owner, language))
                prefix = (fed(language, _digest(fingerprint, letter_registry))
                          if part.per_recipient else None)
                for fmt in options.formats:
                    if prefix is not None:
                        inputs = _hashed(prefix.copy(), part.id, fmt).hexdigest()
                    elif (language, part.id, fmt) in shared:
                        inputs = shared[language, part.id, fmt]
                    else:
                        inputs = _hashed(fed(language, shared_registry), part.id, fmt).hexdigest()
                        shared[language, part.id, fmt] = inputs
                    path = document_path(letter.name, code, language, part.id, fmt)
                    unit.jobs.append(Job(code, language, part.id, fmt, path, inputs,
                                         fallback_from))
    return list(units.values())


# --- the worker side ---------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}
# Up to this many files a run syncs each as it is written, beyond it all at once at the end.
SYNC_EACH_UP_TO = 64


def prepare_workers(project: Project, letter: Letter, composer: Composer, out: Path, *,
                    final: bool, formats: tuple[str, ...], languages: Iterable[str],
                    workers: int) -> None:
    """Do the fixed work of every worker once, here, before the workers fork.

    The workers inherit all of it (copy-on-write): the registry and templates the ``composer``
    already holds, the catalogs and locale data of ``languages``, the writers of ``formats`` with
    their libraries imported, fonts and styles loaded (a PDF writer's FontConfiguration is
    shared). A worker then only opens its output folder
    (:func:`worker_start`).

    Hyphenation patterns are loaded here when there are no more languages than ``workers``
    (each language would be loaded by several workers); with more, each worker keeps to one
    language at a time (the pool's affinity) and loads the patterns of the languages it gets,
    in parallel with the others, which costs the same CPU and less time.
    """
    chosen = sorted(set(languages))
    warm = _WORKER.get("warm") == (project.templates, tuple(formats))  # prepare_writers did it
    writers = _WORKER.get("writers", {}) if warm else {}
    _WORKER.clear()
    _WORKER.update(project=project, letter=letter, composer=composer, out=Path(out), final=final,
                   writers=writers, prepared_by=os.getpid())
    composer.prepare(chosen)
    if not warm:
        _warm_up(letter, formats)
    if len(chosen) <= workers:
        for fmt in formats:
            prepare = getattr(_writer(fmt), "prepare", None)
            if prepare is not None:
                prepare([composer.languages[code].tag for code in chosen
                         if code in composer.languages])


def prepare_writers(project: Project, letter: Letter, formats: tuple[str, ...]) -> None:
    """Set up the writers of ``formats`` (libraries imported, fonts and styles loaded), ahead
    of :func:`prepare_workers` in the same run, which then keeps them."""
    _WORKER.clear()
    _WORKER.update(project=project, writers={})
    _warm_up(letter, formats)
    _WORKER["warm"] = (project.templates, tuple(formats))


def worker_start(memory_mb: int) -> None:
    """In a freshly forked worker: what a process cannot share (its own output folder handles)."""
    _WORKER["folder"] = OutputFolder(_WORKER["out"])
    _WORKER["memory"] = memory_mb


def _warm_up(letter: Letter, formats: tuple[str, ...]) -> None:
    # The first document a writer renders also loads fonts and styles (half a second for PDF):
    # done on a one-line page, so no document pays for it, nor its time limit.
    from ..model import Document, Paragraph, Run

    warm_up = Document(kind="annex", language="en", title="-", author="-", subject="-",
                       created=pinned_timestamp(letter), letterhead=("-",),
                       body=(Paragraph((Run("-"),)),), heading="-", subheading="-")
    for fmt in formats:
        try:
            _writer(fmt).write(warm_up)
        except Exception:  # noqa: BLE001 - a writer that fails shows it on a real document
            pass


def _writer(fmt: str) -> Any:
    writers = _WORKER["writers"]
    if fmt not in writers:
        writers[fmt] = get_writer(fmt, _WORKER["project"].templates / STYLE_DIR)
    return writers[fmt]


def run_unit(unit: Unit) -> Iterator[list[Result]]:
    """Compose one Document, write every file it becomes, and yield each file's result as soon
    as it is on disk (a worker stopped halfway has reported what it wrote); never raise for
    bad input: the files not yet reported fail with the reason."""
    composer: Composer = _WORKER["composer"]
    letter: Letter = _WORKER["letter"]
    folder: OutputFolder = _WORKER["folder"]
    # Fault injection for the test suite: a worker that dies or hangs on one chosen document.
    fault = os.environ.get("PACTDOCS_TEST_FAULT", "")
    if fault.partition(":")[2] == f"{unit.recipient}/{unit.language}/{unit.part}":
        if fault.startswith("crash:"):
            os._exit(70)
        if fault.startswith("hang:"):
            time.sleep(3600)
    reported: set[str] = set()
    try:
        document = composer.compose(letter.part(unit.part), unit.recipient, unit.language,
                                    final=_WORKER["final"])
        rendered: dict[str, bytes | PactdocsError] = {}
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
                result = Result(job.path, None, 0, "failed", data.one_line())
            else:
                sha = hashlib.sha256(data).hexdigest()
                status = "written"
                if folder.digest(job.path) == (len(data), sha):
                    status = "unchanged"
                else:
                    folder.write(job.path, data, durable=_WORKER.get("durable_each", True))
                result = Result(job.path, sha, len(data), status,
                                signature=folder.signature(job.path))
            reported.add(job.path)
            yield [result]
    except PactdocsError as exc:
        reason = exc.one_line()
    except MemoryError:
        limit = _WORKER.get("memory")
        reason = ("ran out of memory" + (f" (a worker may use {limit} MB; see --memory)"
                                         if limit else "") + " and was stopped")
    except OSError as exc:
        reason = f"cannot write: {exc}"
    except Exception as exc:  # a bug: keep going, but say where
        last = traceback.extract_tb(exc.__traceback__)[-1]
        reason = " ".join(f"internal error: {type(exc).__name__}: {exc} "
                          f"({Path(last.filename).name}:{last.lineno})".split())
    else:
        return
    yield [Result(j.path, None, 0, "failed", reason) for j in unit.jobs
           if j.path not in reported]


# --- the run -----------------------------------------------------------------------------------

def refused_languages(project: Project, letter: Letter, languages: Iterable[str]) -> dict[str, str]:
    """Return language → reason for every language not ready for final output."""
    from ..compose import load_templates_of
    from ..locale.catalogs import load_catalog, unfinished

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


class CatalogsRefused(UsageError):
    """``merge`` refuses languages whose catalogs have errors; ``problems`` lists them all."""

    category = "catalog"

    def __init__(self, problems: list[PactdocsError], languages: list[str]) -> None:
        super().__init__(f"{len(problems)} catalog error(s) in {', '.join(languages)}: "
                         "nothing was written",
                         hint="fix them (pactdocs check lists them too), then merge again")
        self.problems = problems


def catalog_errors(project: Project, letter: Letter, languages: Iterable[str]
                   ) -> list[PactdocsError]:
    """Return the errors (not warnings) of the frame's and the letter's catalogs of ``languages``."""
    from ..compose import load_templates_of
    from ..locale.catalogs import catalog_problems

    found: list[PactdocsError] = []
    for language in sorted(set(languages)):
        if language == letter.source_language:
            continue
        for owner in (FRAME_DIR, letter.name):
            path = project.catalog_path(owner, language)
            if not os.path.lexists(path):
                continue
            try:
                problems = catalog_problems(path, language, load_templates_of(project, owner))
            except PactdocsError as exc:
                problems = [CatalogError(exc.message, exc.location, exc.hint)]
            found.extend(p for p in problems if p.severity == "error")
    return found


def refuse_bad_catalogs(project: Project, letter: Letter, languages: Iterable[str]) -> None:
    """Raise :class:`CatalogsRefused` when a catalog of ``languages`` has errors."""
    languages = set(languages)
    bad_catalogs = catalog_errors(project, letter, languages)
    if bad_catalogs:
        refused_names = sorted({lang for lang in languages for p in bad_catalogs
                                if p.location and p.location.path.endswith(f"/{lang}.po")})
        raise CatalogsRefused(bad_catalogs, refused_names or sorted(languages))


def unvouched_languages(units: Iterable[Unit], known: dict[str, Any]) -> set[str]:
    """Return the languages whose catalogs must be checked in this run.

    A document recorded with the same inputs hash as its job now was written by a run that
    checked the same bytes of its language's catalogs with the same pactdocs code (the hash holds
    both, and a run with catalog errors writes nothing): that language passed the check already.
    Every other language is checked. One such document is enough: the jobs of a language are
    looked at only until one is found.
    """
    vouched: set[str] = set()
    languages: set[str] = set()
    for unit in units:
        languages.add(unit.language)
        if unit.language in vouched:
            continue
        for job in unit.jobs:
            record = known.get(job.path)
            if record is not None and record[0] == job.inputs:
                vouched.add(unit.language)
                break
    return languages - vouched


def worker_count(requested: int, units: int) -> tuple[int, str | None]:
    """Return the number of workers for ``units`` units, and a notice when it is lower than asked.

    Never more than the units of work or the cores: more only compete for the same cores.
    """
    cores = os.cpu_count() or 1
    jobs = max(1, min(requested or cores, cores, units or 1))
    if requested and requested > jobs:
        why = f"{units} unit(s) of work" if units < min(requested, cores) else f"{cores} core(s)"
        return jobs, f"notice: --jobs {requested} lowered to {jobs} ({why})"
    return jobs, None


def merge(project: Project, options: Options,
          progress: Callable[[int, int], None] | None = None,
          walk: FolderWalk | None = None) -> Summary:
    """Run a merge; raise PactdocsError only for bad arguments or configuration.

    ``walk``: the look at the output folder's files the caller started (:class:`~.walk.
    FolderWalk`, for the same options); taken only if it is of the folder the run writes to.
    """
    started = time.perf_counter()
    letter = project.letter(options.letter)
    out = check_output_folder(options.out or project.output_folder(letter.name),
                              [project.templates, project.recipients])
    _WORKER.clear()  # nothing of an earlier run in this process is used
    if walk is not None and not walk.of(out):
        walk.discard()
        walk = None
    signatures = walk or FolderWalk.start(out, jobs=options.jobs, dry_run=options.dry_run,
                                          force=options.force, verify=options.verify)
    try:
        return _merge(project, letter, options, out, progress, started, signatures)
    finally:
        if signatures is not None:
            signatures.discard()


def _merge(project: Project, letter: Letter, options: Options, out: Path,
           progress: Callable[[int, int], None] | None, started: float,
           signatures: FolderWalk | None) -> Summary:
    registry, keep, ahead = _registry(project, letter, out, options)
    new_folder = not os.path.lexists(out / STATE_NAME)
    # In a new folder everything is to be rendered, and a dry run shows what would be: the
    # templates are checked before anything is touched. A rerun checks them once it finds
    # something to render (_run): when it finds nothing, every template is what the runs that
    # rendered those files checked (the inputs hash covers each one).
    composer = _checked_composer(project, letter, registry) if new_folder or options.dry_run \
        else None
    units = ahead.units if ahead is not None else plan(project, letter, registry, options)
    jobs = [job for unit in units for job in unit.jobs]
    languages = {u.language for u in units}
    refused = refused_languages(project, letter, languages) if options.final else {}

    checked: set[str] = set()
    if options.dry_run or new_folder:
        # Nothing here can vouch for a catalog: check them all before the folder is touched.
        if ahead is None or not ahead.catalogs_clean:
            refuse_bad_catalogs(project, letter, languages)
        checked = languages
    if options.dry_run:
        return _dry_run(out, units, jobs, refused, options, started)

    notices: list[str] = []
    try:
        return _locked_run(project, letter, options, out, units, jobs, refused, progress,
                           notices, started, registry, composer, checked, keep, signatures)
    except OSError as exc:
        raise cannot_write(out, exc) from None
    except sqlite3.DatabaseError as exc:
        raise OutputError(f"the state DB {out / STATE_NAME} cannot be used: {exc}",
                          hint="remove it: the next run rebuilds it from manifest.json and "
                               "the files") from None


def _locked_run(project: Project, letter: Letter, options: Options, out: Path,
                units: list[Unit], jobs: list[Job], refused: dict[str, str],
                progress: Callable[[int, int], None] | None, notices: list[str],
                started: float, registry: Registry, composer: Composer | None,
                checked: set[str], keep: bytes | None = None,
                signatures: FolderWalk | None = None) -> Summary:
    from .pool import run_pool
    from .store import Store

    folder = OutputFolder(out)
    try:
        folder.lock(options.wait)
        if not folder.was_tidy:
            folder.sweep()
        if keep is not None:
            # Not synced: bytes a crash leaves torn are not a registry, and the next run loads
            # the files instead.
            folder.write(REGISTRY_NAME, keep, durable=False)
        # Room for the manifest (about 400 bytes an entry), taken before anything is rendered.
        folder.reserve(600 * (len(jobs) + owned_estimate(out)) + 65536)
        manifest_path = out / MANIFEST_NAME
        store = Store(out)
        # Parsed only when the state DB is to be rebuilt from it; otherwise it is written again
        # at the end and only its ends are looked at (a torn file is worth a notice).
        manifest_ok = (is_pactdocs_manifest(manifest_path) if store.created
                       else _looks_whole(folder))
        if store.notice:
            notices.append(store.notice)
        if store.created and not options.force and (manifest_ok or store.notice):
            taken = store.rebuild(manifest_path, folder.digest)
            if not store.notice:
                notices.append(f"notice: the state DB was missing; rebuilt from {MANIFEST_NAME} "
                               f"({taken} file(s) still match)")
        if os.path.lexists(manifest_path) and not manifest_ok:
            notices.append(f"notice: {MANIFEST_NAME} was unreadable; it is written again")
        summary = _run(project, letter, options, out, folder, store, units, jobs, refused,
                       progress, run_pool, notices, registry=registry, composer=composer,
                       checked=checked, signatures=signatures)
    finally:
        folder.release()
        folder.close()
    summary.seconds = time.perf_counter() - started
    return summary


# A kept registry larger than this is not read (the registry files are 2 MB each at most).
_MAX_KEPT_REGISTRY = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Ahead:
    """What the child that loaded the registry also worked out, from it: the run's plan, and
    whether the catalogs of its languages are free of errors."""

    units: list[Unit]
    catalogs_clean: bool


def _registry(project: Project, letter: Letter, out: Path, options: Options
              ) -> tuple[Registry, bytes | None, _Ahead | None]:
    """Return the registry, the bytes to keep in the output folder for the next run (None:
    already kept there), and what was worked out from the registry ahead of time (or None).

    Read back from the output folder when the registry files are as the last run there found
    them. Otherwise loaded from its files: on two cores aside, in a forked child
    (:class:`~.aside.Aside`), while this process sets up the writers, which a run that must
    load the registry will almost always need. The child then plans the run and checks the
    catalogs of its languages as well, which this process would do next; it hands back the
    plan and only whether the catalogs are clean (if not, this process checks them again and
    reports the errors as always), and anything it could not do is done here.
    """
    from ..sources import registry as registry_module
    from ..sources import registry_cache

    root = project.recipients
    key = registry_cache.registry_key(root)
    restored = registry_cache.restore(_kept_registry(out), key)
    if restored is not None:
        return restored, None, None
    if key is not None and not options.dry_run and second_core(options.jobs):
        from .aside import Aside, pickled, unpickled

        def aside_work() -> bytes:
            registry = registry_module.load_registry(root)
            data = registry_cache.dump(registry, key)
            ahead = None
            try:
                units = plan(project, letter, registry, options)
                clean = not catalog_errors(project, letter, {u.language for u in units})
                ahead = pickled(_Ahead(units, clean))
            except Exception:  # noqa: BLE001 - the parent plans and checks, and reports
                ahead = b""
            return len(data).to_bytes(8, "big") + data + ahead

        aside = Aside(aside_work)
        prepare_writers(project, letter, options.formats)
        handed = aside.result() or b""
        size = int.from_bytes(handed[:8], "big")
        data, ahead_data = handed[8:8 + size], handed[8 + size:]
        restored = registry_cache.restore(data, key) if len(handed) >= 8 + size else None
        if restored is not None:
            ahead = unpickled(ahead_data, _Ahead)
            return restored, data, ahead
    # Here, as the only way or because the child failed: a bad registry raises its own error.
    loaded = registry_module.load_registry(root)
    return loaded, (registry_cache.dump(loaded, key) if key is not None else None), None


def _refused_early(folder: OutputFolder, check: Callable[..., Any], *args: Any) -> Any:
    """Return ``check(*args)``; when it refuses the run (a catalog or template error, before
    anything is written), the folder is left marked tidy, as the lock found or swept it, so
    the next run need not walk it for temporary files."""
    try:
        return check(*args)
    except PactdocsError:
        folder.mark_tidy()
        raise


def _checked_composer(project: Project, letter: Letter, registry: Registry) -> Composer:
    """Return the composer of the run, its templates checked (the first error is raised)."""
    from ..compose import Composer

    composer = Composer(project, letter, registry)
    syntax = composer.check_templates()
    if syntax:
        raise syntax[0]
    return composer


def _kept_registry(out: Path) -> bytes | None:
    """Return the registry bytes the last run kept in ``out``, or None."""
    folder = OutputFolder.reader(out) if os.path.lexists(out / STATE_NAME) else None
    if folder is None:
        return None
    kept = None
    try:
        handle = folder.open(REGISTRY_NAME)
        if handle is not None:
            with handle:
                kept = handle.read(_MAX_KEPT_REGISTRY + 1)
    except OSError:
        kept = None
    finally:
        folder.close()
    return kept if kept is not None and len(kept) <= _MAX_KEPT_REGISTRY else None


def _looks_whole(folder: OutputFolder) -> bool:
    """Return whether the manifest in ``folder`` begins and ends as pactdocs writes one (a
    link is not followed)."""
    try:
        handle = folder.open(MANIFEST_NAME)
        if handle is None:
            return False
        with handle:
            head = handle.read(len(_MANIFEST_HEAD))
            handle.seek(-2, os.SEEK_END)
            return head == _MANIFEST_HEAD and handle.read() == b"}\n"
    except OSError:
        return False


_MANIFEST_HEAD = b'{\n  "letter": '


def _run(project: Project, letter: Letter, options: Options, out: Path, folder: OutputFolder,
         store: Any, units: list[Unit], jobs: list[Job], refused: dict[str, str],
         progress: Callable[[int, int], None] | None, run_pool: Any,
         notices: list[str], *, registry: Registry, composer: Composer | None,
         checked: set[str], signatures: FolderWalk | None = None) -> Summary:
    from .interrupt import as_stop, held

    # path → [inputs, sha256, size, signature, draft, run], as recorded (kept up to date by the
    # store as this run records and verifies files).
    recorded = store.rows()
    unvouched = unvouched_languages(units, recorded) - checked
    if unvouched:
        _refused_early(folder, refuse_bad_catalogs, project, letter, unvouched)
    known = {} if options.force else recorded
    trust_signatures = not (options.verify or options.force)
    results: dict[str, Result] = {}
    todo: list[Unit] = []

    on_disk: set[str] = set()  # files found unchanged here need no second look at the end
    # Every file's signature as a child found it while this process planned, before this
    # run took the lock: a file another run or a hand changed since differs from its record
    # all the same and is hashed, one it removed has no record left. Else each is looked at
    # here.
    found = None
    if signatures is not None:
        if known and 2 * len(jobs) >= walking.WALK_FROM:
            found = signatures.result()
        signatures.discard()  # not left running (nor handed to the workers) when not taken
    signature_of = found.get if found is not None else folder.signature

    def fresh(job: Job) -> bool:
        record = known.get(job.path)
        if record is None or record[0] != job.inputs:
            return False
        signature = signature_of(job.path)
        if signature is not None and trust_signatures and signature == record[3]:
            on_disk.add(job.path)
            return True
        if _fresh(folder, job, record):
            if signature is not None:
                store.verified(job.path, signature)
            return True
        return False

    for unit in units:
        if unit.language in refused:
            for job in unit.jobs:
                results[job.path] = Result(job.path, None, 0, "failed", refused[unit.language])
            continue
        stale = []
        for job in unit.jobs:
            if fresh(job):
                record = known[job.path]
                results[job.path] = Result(job.path, record[1], record[2], "unchanged")
            else:
                stale.append(job)
        if stale:
            todo.append(Unit(unit.part, unit.recipient, unit.language, stale))
    if todo and composer is None:
        composer = _refused_early(folder, _checked_composer, project, letter, registry)
    run_id = store.begin_run(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), options.final,
                             options.command)

    inputs_of = {job.path: job.inputs for job in jobs}
    unrecorded: list[str] = []
    total = sum(len(u.jobs) for u in todo)
    done = 0

    def on_results(batch: list[Result]) -> None:
        nonlocal done
        for result in batch:
            results[result.path] = result
            if result.status != "failed" and result.sha256:
                wrote = result.status == "written"
                try:
                    store.record(result.path, inputs_of[result.path], result.sha256,
                                 result.size, result.signature,
                                 draft=not options.final,
                                 run=run_id if wrote else None)
                except sqlite3.OperationalError as exc:
                    # A full disk: the file is there, the manifest will say so; a rerun
                    # hashes it and finds it unchanged.
                    unrecorded.append(f"{result.path}: {exc}")
        done += len(batch)
        if progress:
            progress(done, total)

    def start_worker() -> None:
        worker_start(options.memory)

    def unit_failed(unit: Unit, reason: str) -> list[Result]:
        # Only the files its worker had not reported: one it wrote before it died is on disk.
        return [Result(j.path, None, 0, "failed", reason) for j in unit.jobs
                if j.path not in results]

    workers, notice = worker_count(options.jobs, len(todo))
    if notice:
        notices.append(notice)
    # Shared annexes first: they fan out to many files, and they are few.
    todo.sort(key=lambda u: u.recipient is not None)
    stop = None
    # Durable files: a few are each synced as they are written (a file-system-wide sync would
    # also wait for whatever else is being written on the disk); many are synced together at
    # the end, before the manifest names them (2-4 ms a file saved).
    durable_each = sum(len(u.jobs) for u in todo) <= SYNC_EACH_UP_TO
    try:
        if todo:
            assert composer is not None  # made above
            prepare_workers(project, letter, composer, out, final=options.final,
                            formats=options.formats, languages={u.language for u in todo},
                            workers=workers)
            _WORKER["durable_each"] = durable_each
        run_pool(todo, on_results, start=start_worker, run=run_unit, failed=unit_failed,
                 jobs=workers, timeout=options.timeout, memory_mb=options.memory,
                 affinity=_language_of)
    except KeyboardInterrupt as exc:
        # The pool has ended its workers; what they finished is in the state DB.
        stop = as_stop(exc)
    # Winding down is not cut short by a second Ctrl-C or SIGTERM.
    with held():
        try:
            if todo:
                folder.sweep()  # a worker stopped by its time limit leaves its temporary file
            manifest, removed = _inventory(registry, letter, options, folder, store, jobs,
                                           results, run_id, stop.name if stop else None,
                                           on_disk)
        finally:
            store.close()
        _keep_signatures(out, manifest)
        folder.release()
        if todo and not durable_each:
            folder.sync()  # the documents on disk before the manifest names them
        folder.write(MANIFEST_NAME, manifest_json(manifest))
        folder.mark_tidy()
    counts = {"written": 0, "unchanged": 0, "failed": 0, "kept": 0, "stale": 0}
    for entry in manifest["documents"]:
        counts[entry["status"]] += 1
        counts["stale"] += 1 if entry.get("stale") else 0
    full = [d for d in manifest["documents"] if d["status"] == "failed"
            and f"[Errno {errno.ENOSPC}]" in (d["error"] or "")]
    if full or unrecorded:
        raise OutputError(f"no space left in {out}: {len(full)} document(s) could not be "
                          f"written; {MANIFEST_NAME} lists what is there",
                          hint="free some space, then run again: finished documents are kept")
    if stop is not None:
        raise Interrupted(f"stopped by {stop.name}: {counts['written']} document(s) written, "
                          f"{len(jobs) - counts['written'] - counts['unchanged']} left "
                          f"→ {out / MANIFEST_NAME}",
                          stop.exit_code, hint="run the same command again to finish the rest")
    return Summary(out, manifest, counts, 0.0, notices, removed)


def _inventory(registry: Registry, letter: Letter, options: Options, folder: OutputFolder,
               store: Any, jobs: list[Job], results: dict[str, Result], run_id: int,
               interrupted: str | None, on_disk: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Return the manifest of the whole folder, and the files --clean removed. ``on_disk``:
    files this run found unchanged (by their stat signature), not looked at again."""
    from .inventory import Belonging, Owned, inventory, stale_paths

    owned = {}
    for path, (_, sha, size, _, draft, run) in list(store.rows().items()):
        if path not in on_disk and folder.signature(path) is None:
            # removed by hand: no longer pactdocs' file
            store.forget(path)
            continue
        owned[path] = Owned(path, sha, size, None if draft is None else bool(draft), run)
    belonging = Belonging(letter.name, frozenset(registry.resolve(None, letter.recipients)),
                          frozenset(letter.languages), frozenset(p.id for p in letter.parts),
                          frozenset(WRITERS), options.final)
    asked = _manifest(letter, jobs, results, draft=not options.final)["documents"]
    manifest = inventory(belonging, asked, owned, run_id, store.runs(), interrupted)
    removed: list[str] = []
    if options.clean and interrupted is None:
        for path in stale_paths(manifest):
            if path in owned and folder.remove(path):
                store.forget(path)
                removed.append(path)
        gone = set(removed)
        manifest["documents"] = [d for d in manifest["documents"]
                                 if d["path"] not in gone or d["status"] == "failed"]
        for entry in manifest["documents"]:
            if entry["path"] in gone:
                entry.pop("on_disk", None)
                entry.pop("stale", None)
    return manifest, removed


def _language_of(unit: Unit) -> str:
    return unit.language


def _fresh(folder: OutputFolder, job: Job, known: tuple[str, str, int] | None) -> bool:
    """Return whether the file of ``job`` is on disk as recorded: same inputs, same sha256.

    The file is hashed, not only measured: an edit that keeps the size is found and undone.
    (A merge hashes only files whose stat signature changed since pactdocs wrote or last
    hashed them: any write changes the ctime, which cannot be set back.)
    """
    if known is None or known[0] != job.inputs:
        return False
    return folder.digest(job.path) == (known[2], known[1])


def _manifest(letter: Letter, jobs: list[Job], results: dict[str, Result],
              draft: bool) -> dict[str, Any]:
    # ``draft``: rendered without --final, so it may hold fuzzy or untranslated text; the
    # inputs hash holds the mode, so an unchanged file was rendered in the same mode.
    documents = []
    for job in jobs:
        result = results.get(job.path) or Result(
            job.path, None, 0, "failed", "not rendered: the run was stopped before it")
        entry = {
            "recipient": job.recipient, "language": job.language, "part": job.part,
            "format": job.format, "path": job.path, "sha256": result.sha256,
            "status": result.status, "error": result.error, "bytes": result.size,
            "inputs": job.inputs, "draft": draft}
        if job.fallback_from:
            entry["fallback_from"] = job.fallback_from
        documents.append(entry)
    return {"letter": letter.name, "pactdocs": __version__, "documents": documents}


def _keep_signatures(out: Path, manifest: dict[str, Any]) -> None:
    """Carry each ``signed`` record (pactdocs sign) of the previous manifest over to a PDF that
    is still the same file and whose signed copy is still the one recorded."""
    try:
        data = (out / "manifest.json").read_bytes()
        if b'"signed"' not in data:  # nothing was signed: no need to read 16,000 entries
            return
        previous = json.loads(data)
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
    import sqlite3

    from .store import Store

    known: dict[str, tuple[str, str, int]] = {}
    state = out / Store.FILENAME
    if state.is_file() and not state.is_symlink() and not options.force:
        try:
            db = sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)
            try:
                rows = db.execute("SELECT path, inputs, sha256, size FROM documents").fetchall()
            finally:
                db.close()
            known = {path: (inputs, sha, size) for path, inputs, sha, size in rows}
        except sqlite3.DatabaseError:
            known = {}
    folder = OutputFolder.reader(out)
    documents = []
    counts = {"would write": 0, "unchanged": 0, "refused": 0}
    for job in jobs:
        if job.language in refused:
            status = "refused"
        elif folder is not None and _fresh(folder, job, known.get(job.path)):
            status = "unchanged"
        else:
            status = "would write"
        counts[status] += 1
        documents.append({**job._asdict(), "status": status})
    manifest = {"letter": options.letter, "documents": documents,
                "renders": sum(1 for u in units
                               if any(folder is None or not _fresh(folder, j, known.get(j.path))
                                      for j in u.jobs))}
    if folder is not None:
        folder.close()
    return Summary(out, manifest, counts, time.perf_counter() - started)
