"""pactdocs benchmark: prints documents per second and the time of the full matrix.

Not a test: run it with `make bench` (or `python bench/bench.py [--repeat N]`). Each figure is the
median of N runs (default 3); the machine is noisy. Results go to bench/results.json.

Measures:
  cold      full matrix (27 Member States x 24 languages x 3 parts x PDF+DOCX) into an empty folder
  jobs1     the same with --jobs 1 (speed-up = jobs1 / cold)
  rerun     the same command again, nothing changed
  shell     one Member State, one language, both formats, from the shell: into a new folder,
            and into an earlier run's folder with --force (the registry read back)
  engines   WeasyPrint alone and python-docx alone on the same documents vs the pipeline
  review    translator tools from the shell: review documents of one language (3 parts x HTML,
            PDF, DOCX), XLIFF export, and the import of that file (nothing changed)

  send      pactdocs send from the shell: 27 messages with their 3 PDFs each to a local SMTP
            server (aiosmtpd on 127.0.0.1, started here), to the .eml outbox, and a rerun that
            finds everything sent

  workers   --jobs 1 vs --jobs 2 from the shell, wall and CPU-seconds: one Member State, full matrix
  scaling   CPU-seconds per letter at 27, 270, 2,700 letters and per annex 2 row at 27, 270, 2,700
            rows, in one process
  recipients 27, 270, 2,700 real recipients (generated people.yaml), every part in PDF and
            DOCX, from the shell: cold run and no-op rerun, wall and CPU-seconds
  rerun_cpu the no-op rerun of the full matrix, wall and CPU-seconds
  instructions  callgrind's instruction counts (the same on a busy machine): one letter at 27,
            270 and 2,700 recipients, and the dry run's cost of one more recipient

`--only review`, `--only send`, `--only workers`, `--only scaling`, `--only engines`,
`--only recipients`, `--only rerun` or `--only peers` runs that group alone and merges it into
results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
PACTDOCS = [sys.executable, "-m", "pactdocs.cli"]
LETTER = "pact-implementation"


def run(args: list[str], out: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([*PACTDOCS, "--project", str(ROOT), "merge", LETTER, *args,
                           "--out", str(out), "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"pactdocs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    return seconds, manifest


def median_of(repeat: int, fn) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    times = [fn() for _ in range(repeat)]
    return statistics.median(times), times


def engines(samples: int) -> dict[str, float]:
    """Return seconds per document: pipeline writers vs the engines alone on the same input."""
    from docx import Document as DocxDocument
    from weasyprint import HTML

    from pactdocs.compose import Composer, Project
    from pactdocs.writers import get_writer

    project = Project(ROOT)
    letter = project.letter(LETTER)
    composer = Composer(project, letter, project.registry())
    doc = composer.compose(letter.part("letter"), "AT", "de")
    style = ROOT / "letter_templates" / "_style"
    pdf, docx, html = (get_writer(f, style) for f in ("pdf", "docx", "html"))
    pdf.write(doc), docx.write(doc)  # warm up
    markup = html.write(doc).decode()

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        values = []
        for _ in range(samples):
            t = time.perf_counter()
            fn()
            values.append(time.perf_counter() - t)
        return statistics.median(values)

    def bare_docx() -> None:
        d = DocxDocument()
        for line in doc.plain_text().splitlines():
            d.add_paragraph(line)
        d.save(tempfile.SpooledTemporaryFile())

    base_url = str(ROOT / "letter_templates" / "_style") + "/"
    return {
        "compose_s": timed(lambda: composer.compose(letter.part("letter"), "AT", "de")),
        "pipeline_pdf_s": timed(lambda: pdf.write(doc)),
        "weasyprint_alone_s": timed(lambda: HTML(string=markup, base_url=base_url).write_pdf()),
        "pipeline_docx_s": timed(lambda: docx.write(doc)),
        "python_docx_alone_s": timed(bare_docx),
    }


def translator_tools(repeat: int, work: Path) -> dict[str, float]:
    """Return the median seconds of review, XLIFF export and XLIFF import, each a shell command."""

    def shell(*args: str) -> float:
        started = time.perf_counter()
        proc = subprocess.run([*PACTDOCS, "--project", str(ROOT), *args], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            sys.exit(f"pactdocs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return time.perf_counter() - started

    xlf = work / "fr.xlf"
    review_s, _ = median_of(repeat, lambda: shell("review", LETTER, "--lang", "el", "--to", "CY",
                                                  "--out", str(work / "review")))
    export_s, _ = median_of(repeat, lambda: shell("i18n", "export", "--lang", "fr", "--letter", LETTER,
                                                  "--out", str(xlf)))
    import_s, _ = median_of(repeat, lambda: shell("i18n", "import", str(xlf), "--dry-run"))
    return {"review_9_documents_s": review_s, "xliff_export_s": export_s, "xliff_import_s": import_s}


def peers(spec: str, repeat: int, parallel: int = 2) -> dict:
    """Measure pactdocs and docxtpl + LibreOffice on the same letters in the same run: the peer
    as one docxtpl process and one batched LibreOffice, and as ``parallel`` of each side by side
    (the stronger peer on a machine with that many cores); print the ratios."""
    from peers import measure_pactdocs, measure_peer

    from pactdocs.sources.languages import OFFICIAL

    languages = list(OFFICIAL) if spec == "all" else spec.split(",")
    ours, serial, side_by_side = [], [], []
    for _ in range(max(1, repeat - 2)):  # interleaved, so that a noisy neighbour hits all alike
        ours.append(measure_pactdocs(languages))
        serial.append(measure_peer(languages))
        if "skipped" in serial[0]:
            print(f"  peer skipped: {serial[0]['skipped']}")
            return {"languages": languages, "peer": serial[0]}
        if parallel > 1:
            side_by_side.append(measure_peer(languages, parallel=parallel))
    documents = ours[0]["documents"]

    def summary(runs: list[dict]) -> dict:
        cpu = statistics.median(r["cpu_s"] for r in runs)
        return {"wall_s": statistics.median(r["wall_s"] for r in runs), "cpu_s": cpu,
                "cpu_s_per_document": cpu / (2 * runs[0]["documents"]), "runs": runs}

    result: dict = {"languages": languages, "documents_per_format": documents,
                    "pactdocs": summary(ours), "docxtpl_libreoffice": summary(serial)}
    result["speedup_wall"] = result["docxtpl_libreoffice"]["wall_s"] / result["pactdocs"]["wall_s"]
    result["speedup_cpu"] = result["docxtpl_libreoffice"]["cpu_s"] / result["pactdocs"]["cpu_s"]
    print(f"  {documents} documents x PDF+DOCX: pactdocs {result['pactdocs']['wall_s']:.1f} s "
          f"({result['pactdocs']['cpu_s']:.1f} CPU-s), docxtpl + one LibreOffice batch "
          f"{result['docxtpl_libreoffice']['wall_s']:.1f} s "
          f"({result['docxtpl_libreoffice']['cpu_s']:.1f} CPU-s): "
          f"{result['speedup_wall']:.2f}x faster, {result['speedup_cpu']:.2f}x less CPU")
    if side_by_side:
        result["docxtpl_libreoffice_parallel"] = summary(side_by_side)
        par = result["docxtpl_libreoffice_parallel"]
        result["speedup_wall_vs_parallel"] = par["wall_s"] / result["pactdocs"]["wall_s"]
        result["speedup_cpu_vs_parallel"] = par["cpu_s"] / result["pactdocs"]["cpu_s"]
        print(f"  the same with {parallel} docxtpl processes and {parallel} LibreOffice batches "
              f"side by side: {par['wall_s']:.1f} s ({par['cpu_s']:.1f} CPU-s): pactdocs "
              f"{result['speedup_wall_vs_parallel']:.2f}x faster, "
              f"{result['speedup_cpu_vs_parallel']:.2f}x less CPU")
    return result


def sending(repeat: int, work: Path) -> dict[str, float]:
    """Return the median seconds of sending the 27 Member States their letters (PDF)."""
    from aiosmtpd.controller import Controller

    out = work / "send-out"
    run(["--format", "pdf"], out)
    received: list[int] = []

    class Count:
        async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
            received.append(len(envelope.content))
            return "250 2.0.0 queued"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()

    def shell(*args: str, fresh: bool = True) -> float:
        if fresh:
            for leftover in (out / ".pactdocs-send.sqlite", work / "register.sqlite"):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(out / "outbox", ignore_errors=True)
        started = time.perf_counter()
        proc = subprocess.run([*PACTDOCS, "--project", str(ROOT), "send", LETTER, "--out", str(out),
                               "--allow-draft", "--register", str(work / "register.sqlite"), *args],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"pactdocs send failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return time.perf_counter() - started

    try:
        smtp = ("--smtp", f"127.0.0.1:{port}", "--tls", "none")
        smtp_s, _ = median_of(repeat, lambda: shell(*smtp))
        if len(received) != 27 * repeat:
            sys.exit(f"the server received {len(received)} messages, not {27 * repeat}")
        rerun_s, _ = median_of(repeat, lambda: shell(*smtp, fresh=False))
        outbox_s, _ = median_of(repeat, lambda: shell())
    finally:
        controller.stop()
    return {"smtp_27_messages_s": smtp_s, "rerun_nothing_to_send_s": rerun_s,
            "outbox_27_messages_s": outbox_s,
            "mean_message_kb": sum(received) / len(received) / 1024}


def extra_group(name: str, repeat: int, work: Path, results: dict) -> dict:
    """Run one of the groups about fixed work and scaling (bench/scaling.py), print its ratios."""
    import scaling

    if name == "workers":
        print("--jobs 1 vs --jobs 2, wall and CPU-seconds ...", flush=True)
        return scaling.workers(repeat, work)
    if name == "scaling":
        print("scaling: 27, 270, 2,700 letters and annex 2 rows (CPU-seconds per item) ...",
              flush=True)
        return scaling.scaling(repeat)
    if name == "recipients":
        print("scaling: 27, 270, 2,700 recipients (people.yaml), cold and no-op rerun ...",
              flush=True)
        return scaling.recipients(repeat, work)
    if name == "instructions":
        import instructions

        print("instructions (callgrind): one letter and the run's bookkeeping at 27, 270, 2,700 "
              "recipients ...", flush=True)
        return instructions.measure(work)
    if name == "shell":
        print("one Member State, one language, from the shell (new folder; earlier run's "
              "folder with --force) ...", flush=True)
        return scaling.shell(repeat, work)
    if name == "rerun":
        print("no-op rerun of the full matrix (wall and CPU-seconds) ...", flush=True)
        r = scaling.rerun(repeat, work)
        print(f"  {r['documents']} documents unchanged in {r['wall_s']:.2f} s ({r['cpu_s']:.2f} CPU-s)")
        return r
    print("engines alone vs the pipeline (one 2-page letter) ...", flush=True)
    e = engines(samples=15)
    results["pdf_overhead_ratio"] = e["pipeline_pdf_s"] / e["weasyprint_alone_s"]
    results["docx_vs_bare_python_docx_ratio"] = e["pipeline_docx_s"] / e["python_docx_alone_s"]
    print(f"  compose {e['compose_s'] * 1000:.1f} ms, PDF {e['pipeline_pdf_s'] * 1000:.1f} ms vs "
          f"WeasyPrint alone {e['weasyprint_alone_s'] * 1000:.1f} ms "
          f"({results['pdf_overhead_ratio']:.2f}x), DOCX {e['pipeline_docx_s'] * 1000:.2f} ms vs "
          f"bare python-docx {e['python_docx_alone_s'] * 1000:.2f} ms "
          f"({results['docx_vs_bare_python_docx_ratio']:.2f}x)")
    return e


def machine_speed() -> float:
    """Seconds of CPU for a fixed pure-Python loop (median of 5): how fast this (shared, virtual)
    machine runs Python at the time. Read the other figures of the same run against it."""
    from scaling import loop_s

    return statistics.median(loop_s() for _ in range(5))


def installed_versions() -> dict:
    """Return the versions measured: every installed distribution and the lock file's hash."""
    import hashlib
    from importlib.metadata import distributions

    lock = ROOT / "requirements.lock"
    return {"requirements_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest()
            if lock.exists() else None,
            "packages": dict(sorted((d.metadata["Name"].lower(), d.version) for d in distributions()))}


def main() -> None:
    # pactdocs is timed as an installed copy runs: its bytecode cached in __pycache__ (an
    # environment that forbids writing it would compile every module at each start).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
    parser.add_argument("--skip-jobs1", action="store_true", help="skip the --jobs 1 run")
    parser.add_argument("--only", choices=["review", "peers", "send", "workers", "scaling",
                                           "engines", "rerun", "recipients", "shell",
                                           "instructions"],
                        help="run one group and merge it into the results")
    parser.add_argument("--peer-languages", default="de,fr",
                        help="languages of the side-by-side run with docxtpl + LibreOffice ('all': 24)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pactdocs-bench-"))
    if args.only:
        path = ROOT / "bench" / "results.json"
        results = json.loads(path.read_text()) if path.exists() else {}
        results["versions"] = installed_versions()
        results.setdefault("machine", {})["python_loop_s_" + args.only] = machine_speed()
        key = {"review": "translator_tools", "peers": "peers", "send": "send", "workers": "workers",
               "scaling": "scaling", "engines": "engines", "rerun": "rerun_cpu",
               "recipients": "recipients", "shell": "shell",
               "instructions": "instructions"}[args.only]
        if args.only == "peers" and args.peer_languages == "all":
            key = "peers_full_matrix"  # kept by the full run, which measures de,fr
        try:
            if args.only == "peers":
                results[key] = peers(args.peer_languages, args.repeat)
            elif args.only in ("workers", "scaling", "engines", "rerun", "recipients", "shell",
                               "instructions"):
                results[key] = extra_group(args.only, args.repeat, work, results)
            else:
                results[key] = (translator_tools if args.only == "review" else sending)(args.repeat, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(results[key], indent=2))
        path.write_text(json.dumps(results, indent=2) + "\n")
        return
    results: dict = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()}, "repeat": args.repeat,
                     "versions": installed_versions()}
    results["machine"]["python_loop_s"] = machine_speed()
    print(f"machine speed: a fixed Python loop takes {results['machine']['python_loop_s']:.3f} "
          "CPU-s", flush=True)
    previous = ROOT / "bench" / "results.json"
    if previous.exists():  # the 27 x 24 peer run (13 minutes) is its own: --only peers --peer-languages all
        kept = json.loads(previous.read_text()).get("peers_full_matrix")
        if kept:
            results["peers_full_matrix"] = kept
    def save() -> None:  # after each group: a group that fails keeps what came before
        (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    try:
        def cold(extra: list[str]) -> float:
            out = work / "cold"
            shutil.rmtree(out, ignore_errors=True)
            os.sync()  # the removal's file-system work done before the run is timed
            seconds, manifest = run(["--lang", "all", *extra], out)
            results["documents"] = len(manifest["documents"])
            return seconds

        print("full matrix, cold ...", flush=True)
        results["cold_s"], results["cold_runs"] = median_of(args.repeat, lambda: cold([]))
        results["documents_per_s"] = results["documents"] / results["cold_s"]
        print(f"  {results['documents']} documents in {results['cold_s']:.1f} s "
              f"({results['documents_per_s']:.1f} documents/s)")
        results["peak_worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  peak memory of one process: {results['peak_worker_rss_mb']:.0f} MB")

        print("rerun, nothing changed ...", flush=True)
        results["rerun_s"], results["rerun_runs"] = median_of(
            args.repeat, lambda: run(["--lang", "all"], work / "cold")[0])
        print(f"  {results['rerun_s']:.2f} s")

        if not args.skip_jobs1:
            print("full matrix, cold, --jobs 1 ...", flush=True)
            results["jobs1_s"], results["jobs1_runs"] = median_of(
                max(1, args.repeat - 2), lambda: cold(["--jobs", "1"]))
            results["speedup_jobs2_vs_jobs1"] = results["jobs1_s"] / results["cold_s"]
            print(f"  {results['jobs1_s']:.1f} s: speed-up with 2 jobs "
                  f"{results['speedup_jobs2_vs_jobs1']:.2f}x")

        save()
        results["shell"] = extra_group("shell", max(5, args.repeat), work, results)
        results["single_s"] = results["shell"]["new_folder"]["wall_s"]
        save()
        results["engines"] = extra_group("engines", args.repeat, work, results)
        for group in ("workers", "scaling", "recipients", "rerun", "instructions"):
            save()
            results["rerun_cpu" if group == "rerun" else group] = extra_group(
                group, args.repeat, work, results)
        save()

        print(f"peers: docxtpl + LibreOffice vs pactdocs ({args.peer_languages}) ...", flush=True)
        results["peers"] = peers(args.peer_languages, args.repeat)
        save()

        print("translator tools from the shell (review, XLIFF export, import) ...", flush=True)
        results["translator_tools"] = translator_tools(args.repeat, work)
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in results["translator_tools"].items()))

        print("send 27 messages with their PDFs (local SMTP server, outbox) ...", flush=True)
        results["send"] = sending(args.repeat, work)
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in results["send"].items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("written bench/results.json")


if __name__ == "__main__":
    main()
