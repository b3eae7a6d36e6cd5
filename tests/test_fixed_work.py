"""The fixed work of a run is done once, in the parent, before the workers fork.

Each hook below appends the id of the process that called it to a log file, so calls made in
forked workers are counted as well as the parent's own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from readback import SOFT_HYPHEN_SHOWN, docx_text, pdf_text

import pactdocs
from pactdocs.batch import merge as merge_module
from pactdocs.batch import walk as walking
from pactdocs.batch.pool import _Queue, run_pool

LETTER = "pact-implementation"


def _logging(log: Path, what: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def logged(*args: Any, **kwargs: Any) -> Any:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {what}\n")
        return fn(*args, **kwargs)
    return logged


def _calls(log: Path) -> list[tuple[int, str]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [(int(pid), what) for pid, what in (line.split(" ", 1) for line in lines)]


def test_workers_inherit_registry_templates_catalogs_and_patterns(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    import pyphen

    from pactdocs import compose
    from pactdocs.sources import registry

    log = tmp_path / "calls.log"
    monkeypatch.setattr(registry, "load_registry", _logging(log, "registry", registry.load_registry))
    monkeypatch.setattr(compose, "load_catalog", _logging(log, "catalog", compose.load_catalog))
    monkeypatch.setattr(compose.Composer, "__init__",
                        _logging(log, "composer", compose.Composer.__init__))
    from pactdocs.writers.hyphenation import QuickHyphDict

    # pactdocs opens hyphenation dictionaries as QuickHyphDict (pyphen.HyphDict once installed).
    monkeypatch.setattr(QuickHyphDict, "__init__",
                        _logging(log, "hyphenation", QuickHyphDict.__init__))
    monkeypatch.setattr(ctypes.util, "find_library",
                        _logging(log, "find_library", ctypes.util.find_library))
    monkeypatch.setattr(merge_module, "run_unit", _logging(log, "unit", merge_module.run_unit))
    monkeypatch.setattr(merge_module, "plan", _logging(log, "plan", merge_module.plan))
    monkeypatch.setattr(merge_module, "catalog_errors",
                        _logging(log, "catalogs checked", merge_module.catalog_errors))
    # Babel's locale data (a language's first date), the C parser behind cffi's type names
    # (WeasyPrint's font subsetting) and Jinja's compiler: never needed again in a worker.
    import babel.localedata
    import jinja2
    import pycparser

    monkeypatch.setattr(babel.localedata, "load", _logging(log, "locale data", babel.localedata.load))
    monkeypatch.setattr(pycparser.CParser, "parse", _logging(log, "C parser", pycparser.CParser.parse))
    monkeypatch.setattr(jinja2.Environment, "compile",
                        _logging(log, "template compiled", jinja2.Environment.compile))
    # Data another test loaded in this process would hide a load: Babel keeps it twice.
    babel.localedata._cache.clear()
    getattr(babel.localedata, "_dict_cache", {}).clear()
    pyphen.hdcache.clear()  # patterns another test loaded in this process would hide a load

    out = tmp_path / "out"
    summary = pactdocs.merge(pactdocs.Project(project),
                             pactdocs.Options(letter=LETTER, to="AT,DE", lang="de", out=out,
                                              jobs=2))
    # 2 recipients x 3 parts x PDF + DOCX (each shared annex is rendered once, written twice)
    assert summary.counts == {"written": 12, "unchanged": 0, "failed": 0, "kept": 0, "stale": 0}

    calls = _calls(log)
    parent = os.getpid()
    workers = {pid for pid, what in calls if what == "unit"}
    # The documents were rendered by two worker processes, not by this one.
    assert len(workers) == 2 and parent not in workers
    assert sum(1 for _, what in calls if what == "unit") == 4  # 2 letters, 2 shared annexes
    # Everything else happened here, once: the registry loaded once, one composer, each of the
    # two German catalogs once, the German hyphenation patterns once, no library look-up in a
    # worker.
    # The registry is the exception: a run in a new folder loads it in a child forked at the
    # start (while this process sets up the writers), never in a worker; that child also plans
    # the run and checks the catalogs, which are then not done again here.
    elsewhere = [(pid, what) for pid, what in calls if pid != parent and what != "unit"]
    assert [what for _, what in elsewhere] == ["registry", "plan", "catalogs checked"]
    assert len({pid for pid, _ in elsewhere}) == 1 and elsewhere[0][0] not in workers
    assert [what for _, what in calls].count("registry") == 1
    assert [what for _, what in calls].count("plan") == 1
    assert [what for _, what in calls].count("catalogs checked") == 1
    assert [what for _, what in calls].count("composer") == 1
    assert [what for _, what in calls].count("catalog") == 2
    assert [what for _, what in calls].count("hyphenation") == 1
    assert "locale data" in {what for _, what in calls}
    assert "template compiled" in {what for _, what in calls}
    # What the workers wrote is the German letter, hyphenated with the inherited patterns.
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    letter = next(d for d in manifest["documents"]
                  if d["recipient"] == "DE" and d["part"] == "letter" and d["format"] == "pdf")
    text = pdf_text(out / letter["path"], hyphenated=True)
    assert "Deutschland" in text and SOFT_HYPHEN_SHOWN in text


def test_a_rerun_with_nothing_to_do_prepares_nothing(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    options = pactdocs.Options(letter=LETTER, to="AT", lang="de", out=out, parts=("letter",),
                               formats=("docx",), jobs=1)
    pactdocs.merge(pactdocs.Project(project), options)
    log = tmp_path / "calls.log"
    monkeypatch.setattr(merge_module, "prepare_workers",
                        _logging(log, "prepare", merge_module.prepare_workers))
    summary = pactdocs.merge(pactdocs.Project(project), options)
    assert summary.counts["unchanged"] == 1
    assert _calls(log) == []


def test_a_rerun_with_nothing_to_render_loads_no_template_engine(
        project: Path, tmp_path: Path) -> None:
    """A rerun that finds every file up to date never imports Jinja2 or Babel, nor compiles a
    template; the first run, which renders, does."""
    import subprocess
    import sys

    out = tmp_path / "out"
    script = ("import atexit, sys\nfrom pactdocs import cli\n"
              "atexit.register(lambda: print('loaded:', sorted(m for m in ('jinja2', "
              "'babel.dates', 'babel.messages') if m in sys.modules)))\n"
              "sys.argv[0] = 'pactdocs'\ncli.run()\n")
    args = [sys.executable, "-c", script, "--project", str(project), "merge", LETTER, "--to",
            "AT", "--lang", "de", "--format", "docx", "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.run(args, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert "loaded: ['babel.dates', 'babel.messages', 'jinja2']" in first.stdout
    again = subprocess.run(args, capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert "3 unchanged" in again.stdout and "loaded: []" in again.stdout


def test_a_rerun_stats_the_files_in_a_child_while_it_plans(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pactdocs.batch.outdir import OutputFolder

    out = tmp_path / "out"
    options = pactdocs.Options(letter=LETTER, to="AT,BE", lang="de", out=out,
                               formats=("docx",), jobs=2)
    pactdocs.merge(pactdocs.Project(project), options)
    # As a folder of thousands of files would be (the manifest gives their number).
    monkeypatch.setattr(walking, "WALK_FROM", 2)
    log = tmp_path / "calls.log"
    monkeypatch.setattr(OutputFolder, "signature",
                        _logging(log, "signature", OutputFolder.signature))
    monkeypatch.setattr(OutputFolder, "signatures",
                        _logging(log, "signatures", OutputFolder.signatures))
    summary = pactdocs.merge(pactdocs.Project(project), options)
    assert summary.counts["unchanged"] == 6
    calls = _calls(log)
    assert [what for _, what in calls] == ["signatures"] and calls[0][0] != os.getpid()
    # A file changed by hand since is found all the same (its signature differs), and made
    # again; one removed is written again.
    docx = sorted(out.rglob("*.docx"))
    data = docx[0].read_bytes()
    docx[0].write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    docx[1].unlink()
    summary = pactdocs.merge(pactdocs.Project(project), options)
    assert summary.counts == {"written": 2, "unchanged": 4, "failed": 0, "kept": 0, "stale": 0}
    # With one worker (or one core), or a folder of fewer files, each is looked at here.
    for jobs, walk_from in ((1, 2), (2, 2000)):
        log.unlink()
        monkeypatch.setattr(walking, "WALK_FROM", walk_from)
        pactdocs.merge(pactdocs.Project(project), pactdocs.Options(
            letter=LETTER, to="AT,BE", lang="de", out=out, formats=("docx",), jobs=jobs))
        assert {(pid, what) for pid, what in _calls(log)} == {(os.getpid(), "signature")}


def test_the_command_starts_the_walk_before_merge_is_imported_and_the_run_takes_it(
        project: Path, tmp_path: Path) -> None:
    """`pactdocs merge` into a large folder starts the look at its files before it imports
    merge; the run takes that walk (none of its own) when it is of the folder it writes to,
    however the path was written, and never one of another folder."""
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "out"
    pactdocs.merge(pactdocs.Project(project), pactdocs.Options(
        letter=LETTER, to="AT,BE", lang="de", out=out, formats=("docx",), jobs=2))
    log = tmp_path / "walk.log"
    script = textwrap.dedent(f"""
        import os, sys
        from pactdocs import cli
        from pactdocs.batch import outdir, walk

        def note(what):
            with open({str(log)!r}, "a", encoding="utf-8") as f:
                f.write(f"{{os.getpid()}} {{what}}\\n")

        walk.WALK_FROM = 2  # as a folder of thousands of files would be
        start, signatures = walk.FolderWalk.start.__func__, outdir.OutputFolder.signatures
        def started(cls, *args, **kwargs):
            note("start merge-imported=" + str("pactdocs.batch.merge" in sys.modules))
            return start(cls, *args, **kwargs)
        def walked(self):
            note("signatures")
            return signatures(self)
        walk.FolderWalk.start = classmethod(started)
        outdir.OutputFolder.signatures = walked
        sys.argv[0] = "pactdocs"
        cli.run()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", script, "--project", str(project), "merge", LETTER, "--to",
            "AT,BE", "--lang", "de", "--format", "docx", "--jobs", "2"]
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "same").symlink_to(out)
    for where, cwd in (("out", tmp_path), ("same", tmp_path / "elsewhere")):
        log.unlink(missing_ok=True)
        done = subprocess.run([*args, "--out", where], capture_output=True, text=True,
                              env=env, cwd=cwd)
        assert done.returncode == 0 and "6 unchanged" in done.stdout, done.stderr
        calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
        assert calls[0] == [calls[0][0], "start merge-imported=False"] and len(calls) == 2
        assert calls[1][1] == "signatures" and calls[1][0] != calls[0][0]
    # A walk of another folder is not taken: the run looks at its own folder.
    other = tmp_path / "other"
    pactdocs.merge(pactdocs.Project(project), pactdocs.Options(
        letter=LETTER, to="AT,BE", lang="de", out=other, formats=("docx",), jobs=2))
    from pactdocs.batch import merge as merging

    walking.WALK_FROM = 2
    try:
        wrong = walking.FolderWalk.start(out, jobs=2)
        assert wrong is not None and not wrong.of(other) and wrong.of(out)
        summary = merging.merge(pactdocs.Project(project), pactdocs.Options(
            letter=LETTER, to="AT,BE", lang="de", out=other, formats=("docx",), jobs=2),
            walk=wrong)
        assert summary.counts["unchanged"] == 6
    finally:
        walking.WALK_FROM = 2000


def test_the_folder_walk_gives_each_document_its_signature_and_enters_no_link(
        tmp_path: Path) -> None:
    from pactdocs.batch.outdir import OutputFolder

    out = tmp_path / "out"
    for relative in ("AT/de/a.pdf", "AT/de/b.docx", "BE/fr/c.pdf", "top.pdf", "AT/x.pdf",
                     "AT/de/deeper/d.pdf"):
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_bytes(relative.encode())
    outside = tmp_path / "outside"
    (outside / "de").mkdir(parents=True)
    (outside / "de" / "e.pdf").write_bytes(b"elsewhere")
    (out / "LINKED").symlink_to(outside)  # a linked folder
    (out / "BE" / "nl").symlink_to(outside / "de")  # a linked language folder
    (out / "BE" / "fr" / "f.pdf").symlink_to(outside / "de" / "e.pdf")  # a linked file
    os.mkfifo(out / "BE" / "fr" / "g.pdf")  # not a regular file
    folder = OutputFolder(out)
    try:
        found = folder.signatures()
        assert sorted(found) == ["AT/de/a.pdf", "AT/de/b.docx", "BE/fr/c.pdf"]
        assert found == {path: folder.signature(path) for path in found}
        for path in ("LINKED/de/e.pdf", "BE/nl/e.pdf", "BE/fr/f.pdf", "BE/fr/g.pdf"):
            assert folder.signature(path) is None
    finally:
        folder.close()


def test_a_worker_keeps_to_one_key_while_it_has_units() -> None:
    units = [("de", 1), ("de", 2), ("fr", 1), ("fr", 2), ("hu", 1)]
    queue = _Queue(units, affinity=lambda unit: unit[0])
    # A fresh worker takes the first key; another fresh one the first key nobody holds.
    assert queue.take(None, set()) == ("de", ("de", 1))
    assert queue.take(None, {"de"}) == ("fr", ("fr", 1))
    # Each keeps to its own key, in the given order.
    assert queue.take("fr", {"de"}) == ("fr", ("fr", 2))
    assert queue.take("de", {"fr"}) == ("de", ("de", 2))
    # A worker whose key ran out takes a key nobody holds, and shares one only when none is left.
    assert queue.take("de", {"fr"}) == ("hu", ("hu", 1))
    assert not queue
    plain = _Queue(units, affinity=None)
    assert [plain.take(None, set())[1] for _ in units] == units


def test_a_second_run_reads_the_registry_back_until_a_registry_file_changes(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pactdocs.sources import registry

    log = tmp_path / "calls.log"
    monkeypatch.setattr(registry, "load_registry", _logging(log, "registry", registry.load_registry))
    out = tmp_path / "out"
    options = pactdocs.Options(letter=LETTER, to="AT", lang="de", out=out, parts=("letter",),
                               formats=("docx",), jobs=1)
    pactdocs.merge(pactdocs.Project(project), options)
    assert (out / ".pactdocs-registry").is_file()
    loads = lambda: [what for _, what in _calls(log)].count("registry")  # noqa: E731
    assert loads() == 1
    pactdocs.merge(pactdocs.Project(project), pactdocs.Options(
        letter=LETTER, to="AT", lang="de", out=out, parts=("letter",), formats=("docx",),
        jobs=1, force=True))
    assert loads() == 1  # read back: the registry files are as the first run found them
    # The ambassador's surname changes: the files are loaded again, and the letter says so.
    states = project / "recipients" / "member_states.yaml"
    text = states.read_text("utf-8")
    assert "Oberreiter" in text
    states.write_text(text.replace("Oberreiter", "Obermayr"), "utf-8")
    summary = pactdocs.merge(pactdocs.Project(project), options)
    assert loads() == 2 and summary.counts["written"] == 1
    body = docx_text(next(out.rglob("*-letter.docx")))
    assert "Obermayr" in body and "Oberreiter" not in body


def test_kept_registry_bytes_that_name_anything_else_are_ignored_not_run(
        project: Path, tmp_path: Path) -> None:
    import pickle

    from pactdocs.sources import registry_cache

    root = project / "recipients"
    key = registry_cache.registry_key(root)
    assert key is not None
    from pactdocs.sources.registry import load_registry

    loaded = load_registry(root)
    kept = registry_cache.dump(loaded, key)
    assert kept.startswith(registry_cache.FORMAT + key.encode())
    restored = registry_cache.restore(kept, key)
    assert restored is not None and restored.recipients == loaded.recipients
    assert restored.problems == loaded.problems and restored.groups == loaded.groups
    for sections in (("agencies", "signatories", "groups"), ("contacts", "people")):
        assert restored.digest(*sections) == loaded.digest(*sections)

    class Planted:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    planted = registry_cache.FORMAT + key.encode() + pickle.dumps(Planted())
    assert registry_cache.restore(planted, key) is None
    assert not (tmp_path / "ran").exists()
    # Bytes kept under another key, cut short, or not pickled at all are not a registry either.
    assert registry_cache.restore(kept, "0" * 64) is None
    assert registry_cache.restore(kept[:len(kept) // 2], key) is None
    assert registry_cache.restore(registry_cache.FORMAT + key.encode() + b"junk", key) is None


def test_a_kept_registry_that_is_a_link_is_not_followed(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    options = pactdocs.Options(letter=LETTER, to="AT", lang="de", out=out, parts=("letter",),
                               formats=("docx",), jobs=1)
    pactdocs.merge(pactdocs.Project(project), options)
    kept = out / ".pactdocs-registry"
    outside = tmp_path / "elsewhere"
    kept.rename(outside)
    kept.symlink_to(outside)
    assert merge_module._kept_registry(out) is None  # not read through the link
    # The next run writes its own file in place of the link; the file it pointed to is as it was.
    before = outside.read_bytes()
    pactdocs.merge(pactdocs.Project(project), options)
    assert not kept.is_symlink() and kept.is_file() and outside.read_bytes() == before


def test_a_registry_the_child_cannot_load_is_loaded_here_and_its_error_reported(
        project: Path, tmp_path: Path) -> None:
    from pactdocs.errors import RegistryError

    states = project / "recipients" / "member_states.yaml"
    states.write_text(states.read_text("utf-8") + "  - [unclosed\n", "utf-8")
    with pytest.raises(RegistryError) as raised:
        pactdocs.merge(pactdocs.Project(project), pactdocs.Options(
            letter=LETTER, to="AT", lang="de", out=tmp_path / "out", jobs=2))
    assert "member_states.yaml" in str(raised.value.one_line())
    assert not (tmp_path / "out" / "AT").exists()


def test_the_aside_child_hands_back_bytes_or_nothing() -> None:
    from pactdocs.batch.aside import Aside

    assert Aside(lambda: b"x" * 3_000_000).result() == b"x" * 3_000_000  # past a pipe's buffer

    def fails() -> bytes:
        raise ValueError("no")

    assert Aside(fails).result() is None

    def hangs() -> bytes:
        import time

        time.sleep(60)
        return b""

    slow = Aside(hangs)
    assert slow.result(timeout=0.5) is None
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(slow.pid, 0)


def test_a_registry_with_problems_is_kept_with_them(project: Path, tmp_path: Path) -> None:
    from conftest import GOOD_PERSON

    from pactdocs.sources import registry_cache
    from pactdocs.sources.registry import load_registry

    people = project / "recipients" / "people.yaml"
    people.write_text(people.read_text("utf-8") + GOOD_PERSON.replace(
        "berg@example.org", "berg(at)example.org"), "utf-8")
    root = project / "recipients"
    loaded = load_registry(root)
    assert loaded.problems
    key = registry_cache.registry_key(root)
    assert key is not None
    restored = registry_cache.restore(registry_cache.dump(loaded, key), key)
    assert restored is not None
    # Each problem comes back with its file, line and hint.
    assert [p.one_line() for p in restored.problems] == [p.one_line() for p in loaded.problems]
    assert any("people.yaml:" in p.one_line() for p in restored.problems)


def test_the_command_starts_with_the_collector_off_and_works_with_it_on(
        project: Path, tmp_path: Path) -> None:
    """`pactdocs` keeps the cyclic garbage collector off while it starts (imports and the fixed
    work make objects that live as long as the process), and on for the work itself: at once
    for a command that is not a merge; for a merge in its workers, and in the run itself once
    they are forked."""
    import subprocess
    import sys
    import textwrap

    log = tmp_path / "collector.log"
    script = textwrap.dedent(f"""
        import atexit, gc, os, sys
        from pactdocs import cli
        from pactdocs.batch import merge

        def note(what):
            with open({str(log)!r}, "a", encoding="utf-8") as f:
                f.write(f"{{os.getpid()}} {{what}} {{gc.isenabled()}}\\n")

        atexit.register(lambda: note("exit"))
        for name in ("prepare_workers", "run_unit"):
            def hooked(*args, _original=getattr(merge, name), _name=name, **kwargs):
                note(_name)
                return _original(*args, **kwargs)
            setattr(merge, name, hooked)
        sys.argv[0] = "pactdocs"
        cli.run()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "out"
    merged = subprocess.run([sys.executable, "-c", script, "--project", str(project), "merge",
                             LETTER, "--to", "AT", "--lang", "de", "--format", "docx",
                             "--jobs", "2", "--out", str(out)],
                            capture_output=True, text=True, env=env)
    assert merged.returncode == 0, merged.stderr
    calls = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    parent = {pid for pid, what, _ in calls if what == "prepare_workers"}
    assert [(what, on) for pid, what, on in calls if pid in parent] == [
        ("prepare_workers", "False"), ("exit", "True")]
    workers = [(pid, on) for pid, what, on in calls if what == "run_unit"]
    assert len(workers) == 3 and {on for _, on in workers} == {"True"}
    assert not parent & {pid for pid, _ in workers}
    log.unlink()
    listed = subprocess.run([sys.executable, "-c", script, "--project", str(project), "list",
                             "recipients"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[1:] for line in log.read_text(encoding="utf-8").splitlines()] == [
        ["exit", "True"]]


def _halfway(unit: str) -> Any:
    yield [f"{unit}-first"]
    if unit == "b":
        os._exit(70)  # dies between its two files
    yield [f"{unit}-second"]


def test_a_worker_that_dies_halfway_has_reported_what_it_finished() -> None:
    """A unit's results reach the run as the worker yields them: a worker that dies after its
    first file has reported it, and only the rest of its unit is failed."""
    got: list[str] = []
    run_pool(["a", "b", "c"], got.extend, start=lambda: None, run=_halfway,
             failed=lambda unit, reason: [f"{unit}-failed"], jobs=2, timeout=30)
    assert sorted(got) == ["a-first", "a-second", "b-failed", "b-first", "c-first", "c-second"]
