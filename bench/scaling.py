"""Benchmark groups about fixed work and scaling: workers' CPU, letters and table rows.

What scales here:

  workers   the same run with --jobs 1 and --jobs 2, from the shell: wall and CPU-seconds (this
            process's children: the CLI and its workers) for one Member State and for the full
            matrix. A second worker must add no CPU beyond its share of the documents.
  letters   N letters composed and written (DOCX) in one process, N = 27, 270, 2,700, taking the
            (Member State, language) pairs of the registry in turn (27 x 24 = 648 distinct pairs,
            so 2,700 letters visit each pair four or five times): CPU-seconds per letter.
  recipients  27, 270 and 2,700 generated people (people.yaml) in a copy of the project, every
            part in PDF and DOCX in each one's language, from the shell: cold and no-op rerun.
  rows      annex 2 (one row per Member State) with its rows repeated to 27, 270, 2,700 rows,
            written as DOCX and PDF: CPU-seconds per row.

Linear within 5 %: per-item cost at 2,700 over per-item cost at 27 (and at 270) within 1.05.
"""

from __future__ import annotations

import dataclasses
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LETTER = "pact-implementation"
SIZES = (27, 270, 2700)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def shell_merge(args: list[str], out: Path, project: Path = ROOT,
                fresh: bool = True) -> dict[str, float]:
    """Run `pactdocs merge` from the shell (into a fresh ``out`` unless not ``fresh``); wall
    and CPU-seconds of the command and its workers, and the documents in ``out``."""
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
        # Removing thousands of files leaves the file system work to do (journal, discards)
        # that would land on the run measured next: done first.
        os.sync()
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pactdocs.cli", "--project", str(project), "merge",
                           LETTER, *args, "--out", str(out), "--quiet"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"pactdocs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    documents = sum(1 for p in out.rglob("*") if p.suffix in (".pdf", ".docx"))
    return {"wall_s": wall, "cpu_s": _children_cpu() - cpu, "documents": documents}


def _medians(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "documents": runs[0]["documents"], "runs": runs}


def workers(repeat: int, work: Path, full_matrix: bool = True) -> dict[str, Any]:
    """--jobs 1 vs --jobs 2: one Member State in one language, and the full matrix."""
    result: dict[str, Any] = {}
    cases = [("one_member_state", ["--to", "AT", "--lang", "de"], repeat)]
    if full_matrix:
        cases.append(("full_matrix", ["--lang", "all"], max(1, repeat - 2)))
    for name, args, times in cases:
        one, two = [], []
        for _ in range(times):  # interleaved, so that a noisy neighbour hits both alike
            one.append(shell_merge([*args, "--jobs", "1"], work / "w1"))
            two.append(shell_merge([*args, "--jobs", "2"], work / "w2"))
        a, b = _medians(one), _medians(two)
        result[name] = {"jobs1": a, "jobs2": b, "speedup_wall": a["wall_s"] / b["wall_s"],
                        "cpu_ratio_jobs2_vs_jobs1": b["cpu_s"] / a["cpu_s"],
                        "cpu_s_per_document_jobs1": a["cpu_s"] / a["documents"],
                        "cpu_s_per_document_jobs2": b["cpu_s"] / b["documents"]}
        print(f"  {name} ({a['documents']} documents): jobs 1 {a['wall_s']:.2f} s "
              f"({a['cpu_s']:.2f} CPU-s), jobs 2 {b['wall_s']:.2f} s ({b['cpu_s']:.2f} CPU-s): "
              f"{result[name]['speedup_wall']:.2f}x wall, "
              f"{result[name]['cpu_ratio_jobs2_vs_jobs1']:.3f}x CPU", flush=True)
    return result


def loop_s() -> float:
    """CPU-seconds of a fixed pure-Python loop: the machine's speed at the moment."""
    started = _self_cpu()
    total = 0
    for i in range(3_000_000):
        total += i
    return _self_cpu() - started


def _per_item(samples: int, count: int, fn: Callable[[], None]) -> float:
    """Median CPU-seconds per item of ``fn`` (which handles ``count`` items)."""
    values = []
    for _ in range(samples):
        cpu = _self_cpu()
        fn()
        values.append((_self_cpu() - cpu) / count)
    return statistics.median(values)


def _linearity(per_item: dict[int, float]) -> dict[str, float]:
    small, middle, large = (per_item[n] for n in SIZES)
    return {"per_item_270_vs_27": middle / small, "per_item_2700_vs_270": large / middle,
            "per_item_2700_vs_27": large / small,
            "cost_2700_vs_270": (large * 2700) / (middle * 270)}


def scaling(repeat: int) -> dict[str, Any]:
    """CPU-seconds per letter at 27, 270, 2,700 letters, and per annex 2 row at 27 ... 2,700 rows."""
    from pactdocs.compose import Composer, Project
    from pactdocs.model import Table
    from pactdocs.writers import get_writer

    project = Project(ROOT)
    letter = project.letter(LETTER)
    registry = project.registry()
    composer = Composer(project, letter, registry)
    languages = list(composer.languages)
    pairs = [(code, lang) for lang in languages for code in registry.member_states]
    style = project.templates / "_style"
    docx, pdf = get_writer("docx", style), get_writer("pdf", style)
    part = letter.part("letter")
    composer.prepare(languages)
    docx.write(composer.compose(part, "AT", "de"))  # warm up

    def letters(n: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(n):
                code, lang = pairs[i % len(pairs)]
                docx.write(composer.compose(part, code, lang))
        return go

    per_letter = {n: _per_item(repeat, n, letters(n)) for n in SIZES}
    result: dict[str, Any] = {
        "scaled": "letters composed + written as DOCX in one process, cycling the 648 "
                  "(Member State, language) pairs; annex 2 rows repeated from the 27 Member States",
        "letters_cpu_s_per_letter": {str(n): v for n, v in per_letter.items()},
        "letters_linearity": _linearity(per_letter)}
    print("  letters (compose + DOCX): " + ", ".join(
        f"{n}: {v * 1000:.2f} ms" for n, v in per_letter.items())
        + f"; 2,700 cost {result['letters_linearity']['cost_2700_vs_270']:.3f}x of 270 "
          "(10x is linear)", flush=True)

    annex = letter.part("annex-2")
    base = composer.compose(annex, None, "en")
    index = next(i for i, b in enumerate(base.body) if isinstance(b, Table))
    table = base.body[index]
    assert isinstance(table, Table)

    def with_rows(n: int) -> Any:
        rows = tuple(table.rows[i % len(table.rows)] for i in range(n))
        body = (*base.body[:index], dataclasses.replace(table, rows=rows), *base.body[index + 1:])
        return dataclasses.replace(base, body=body)

    def writing(writer: Any, document: Any) -> Callable[[], None]:
        return lambda: writer.write(document)

    for name, writer, samples in (("docx", docx, repeat), ("pdf", pdf, max(1, repeat - 2))):
        per_row = {}
        for n in SIZES:
            per_row[n] = _per_item(samples, n, writing(writer, with_rows(n)))
        result[f"annex2_{name}_cpu_s_per_row"] = {str(n): v for n, v in per_row.items()}
        result[f"annex2_{name}_linearity"] = _linearity(per_row)
        print(f"  annex 2 {name.upper()} per row: " + ", ".join(
            f"{n}: {v * 1000:.3f} ms" for n, v in per_row.items())
            + f"; 2,700 rows cost {result[f'annex2_{name}_linearity']['cost_2700_vs_270']:.3f}x "
              "of 270", flush=True)
    return result


def project_with_people(count: int, work: Path) -> Path:
    """A copy of the project whose registry adds ``count`` generated people (SAMPLE data, in
    the 24 languages in turn: bench/many_people.py) and a group ``bench`` of them."""
    from many_people import write_people

    root = work / f"people-{count}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "letter_templates", root / "letter_templates")
    shutil.copytree(ROOT / "recipients", root / "recipients")
    shutil.copy(ROOT / "pactdocs.yaml", root / "pactdocs.yaml")
    write_people(root / "recipients", count)
    members = ", ".join(f"person-{i:05d}-sample" for i in range(count))
    with (root / "recipients" / "groups.yaml").open("a", encoding="utf-8") as groups:
        groups.write(f"\n  bench:\n    kind: recipients\n    members: [{members}]\n")
    return root


def recipients(repeat: int, work: Path, sizes: tuple[int, int, int] = SIZES) -> dict[str, Any]:
    """27, 270 and 2,700 real recipients (people.yaml), every part in PDF and DOCX, each in its
    own language, from the shell: cold run and no-op rerun, wall and CPU-seconds."""
    result: dict[str, Any] = {}
    small, middle, large = sizes
    for count in sizes:
        project = project_with_people(count, work)
        args = ["--to", "bench", "--format", "pdf,docx"]
        times = repeat if count < large else max(1, repeat - 2)
        cold = []
        for _ in range(times):
            # The machine's speed just before and after (a fixed Python loop), so that a
            # figure can be read at the speed it was taken at.
            before = loop_s()
            cold.append(shell_merge(args, work / "recipients-out", project))
            cold[-1]["python_loop_s"] = (before + loop_s()) / 2
        reruns = [shell_merge(args, work / "recipients-out", project, fresh=False)
                  for _ in range(repeat)]
        result[str(count)] = {"cold": _medians(cold), "rerun": _medians(reruns)}
        result[str(count)]["rerun_instructions"] = rerun_instructions(
            project, work / "recipients-out", args)
        c, r = result[str(count)]["cold"], result[str(count)]["rerun"]
        print(f"  {count} recipients ({c['documents']} documents): cold {c['wall_s']:.1f} s "
              f"({c['cpu_s']:.1f} CPU-s, {c['cpu_s'] / c['documents'] * 1000:.1f} ms a document), "
              f"no-op rerun {r['wall_s']:.2f} s ({r['cpu_s']:.2f} CPU-s)", flush=True)
        shutil.rmtree(project, ignore_errors=True)
    cpu = {n: result[str(n)]["cold"]["cpu_s"] for n in sizes}
    # The same, at one machine speed: CPU-seconds over the loop's seconds of the same run.
    speed = {n: statistics.median(r["python_loop_s"] for r in result[str(n)]["cold"]["runs"])
             for n in sizes}
    norm = {n: cpu[n] / speed[n] for n in sizes}
    result["loop_normalised_marginal_ratio"] = (
        ((norm[large] - norm[middle]) / (large - middle))
        / ((norm[middle] - norm[small]) / (middle - small)))
    result["python_loop_s"] = {str(n): speed[n] for n in sizes}
    wall = {n: result[str(n)]["cold"]["wall_s"] for n in sizes}
    result["cpu_middle_vs_small"] = cpu[middle] / cpu[small]
    result["cpu_large_vs_middle"] = cpu[large] / cpu[middle]
    result["wall_large_vs_middle"] = wall[large] / wall[middle]
    # What one more recipient costs, between the small and middle run and between the middle
    # and large one: the fixed work of a run (start-up, the shared annexes in each language)
    # drops out. Linear: equal.
    result["cpu_s_per_recipient_small_to_middle"] = (cpu[middle] - cpu[small]) / (middle - small)
    result["cpu_s_per_recipient_middle_to_large"] = (cpu[large] - cpu[middle]) / (large - middle)
    result["marginal_ratio"] = (result["cpu_s_per_recipient_middle_to_large"]
                                / result["cpu_s_per_recipient_small_to_middle"])
    counts = {n: result[str(n)]["rerun_instructions"] for n in sizes}
    if all(counts.values()):
        # The no-op rerun's cost of one more recipient, in instructions (machine-independent).
        result["rerun_instructions_marginal_ratio"] = (
            ((counts[large] - counts[middle]) / (large - middle))
            / ((counts[middle] - counts[small]) / (middle - small)))
        print(f"  no-op rerun, instructions: {counts[small] / 1e9:.2f} / "
              f"{counts[middle] / 1e9:.2f} / {counts[large] / 1e9:.2f} G; one more recipient "
              f"costs {result['rerun_instructions_marginal_ratio']:.3f}x as much between "
              f"{middle:,} and {large:,} as between {small} and {middle:,}", flush=True)
    print(f"  {large:,} recipients cost {result['cpu_large_vs_middle']:.2f}x the CPU of "
          f"{middle:,} ({result['wall_large_vs_middle']:.2f}x the time; "
          f"{large // middle}x is linear, less is fixed work spread); {middle:,} cost "
          f"{result['cpu_middle_vs_small']:.2f}x of {small}; one more recipient costs "
          f"{result['cpu_s_per_recipient_small_to_middle'] * 1000:.1f} ms CPU between {small} and "
          f"{middle:,}, {result['cpu_s_per_recipient_middle_to_large'] * 1000:.1f} ms between "
          f"{middle:,} and {large:,} ({result['marginal_ratio']:.3f}x; at one machine speed "
          f"{result['loop_normalised_marginal_ratio']:.3f}x)", flush=True)
    return result


def rerun(repeat: int, work: Path) -> dict[str, float]:
    """A no-op rerun of the full matrix from the shell (the largest run the registry allows)."""
    first = shell_merge(["--lang", "all"], work / "rerun")
    runs = []
    for _ in range(repeat):
        cpu = _children_cpu()
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pactdocs.cli", "--project", str(ROOT), "merge",
                        LETTER, "--lang", "all", "--out", str(work / "rerun"), "--quiet"],
                       check=True, capture_output=True)
        runs.append({"wall_s": time.perf_counter() - started, "cpu_s": _children_cpu() - cpu})
    return {"documents": first["documents"],
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs)}


def shell(repeat: int, work: Path) -> dict[str, Any]:
    """One Member State in one language (3 parts, PDF + DOCX) from the shell: into a new
    folder (the registry loaded from its files), and into the folder of an earlier run with
    --force (the registry read back, every document rendered again: a letter edited on a
    deadline); and the floor, Python starting and importing pactdocs' command line."""
    args = ["--to", "AT", "--lang", "de"]
    out = work / "shell"
    fresh, again, floor = [], [], []
    for _ in range(repeat):  # interleaved, so that the machine's moods fall on all three
        fresh.append(shell_merge(args, out))
        again.append(shell_merge([*args, "--force"], out, fresh=False))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pactdocs.cli"], check=True)
        floor.append(time.perf_counter() - started)
    result = {"new_folder": _medians(fresh), "earlier_folder_force": _medians(again),
              "python_and_cli_import_s": statistics.median(floor)}
    print(f"  new folder {result['new_folder']['wall_s']:.2f} s "
          f"({result['new_folder']['cpu_s']:.2f} CPU-s); earlier run's folder, --force "
          f"{result['earlier_folder_force']['wall_s']:.2f} s "
          f"({result['earlier_folder_force']['cpu_s']:.2f} CPU-s); Python + import of the "
          f"command line {result['python_and_cli_import_s']:.2f} s", flush=True)
    return result


def rerun_instructions(project: Path, out: Path, args: list[str]) -> int | None:
    """Return the instructions a no-op rerun executes, counted by valgrind (callgrind): the
    same count whatever else the machine is doing. None without valgrind. With ``--jobs 1``:
    all the work in the one process counted (on two cores a rerun stats the files in a forked
    child, which callgrind would count apart, from the fork on)."""
    if shutil.which("valgrind") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             sys.executable, "-m", "pactdocs.cli", "--project", str(project), "merge", LETTER,
             *args, "--jobs", "1", "--out", str(out), "--quiet"], capture_output=True,
            text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None or "0 written" not in proc.stdout:
        return None
    return int(found.group(1))


def tmp_work() -> Path:
    return Path(tempfile.mkdtemp(prefix="pactdocs-bench-scaling-"))
