"""The command line: a thin layer over the API. ``main(argv)`` returns the exit code; ``run()``
is the ``pactdocs`` command itself."""

from __future__ import annotations

import argparse
import atexit
import gc
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .batch.interrupt import stoppable
from .errors import Interrupted, PactdocsError, UsageError

if TYPE_CHECKING:
    from .batch.merge import Summary
    from .batch.walk import FolderWalk
    from .sources.project import Project

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Kept here so that building the parser imports nothing heavy (merge.DEFAULT_MEMORY_MB is the same).
DEFAULT_MEMORY_MB = 1536
# The writers merge and review offer (pactdocs.writers.WRITERS, named here to import nothing heavy).
MERGE_FORMATS = ("pdf", "docx", "html")


# --- option types: argparse rejects a senseless value with the valid choices (exit 2) ----------

def _items(text: str, what: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(","))
    if not text.strip() or any(not item for item in items):
        raise argparse.ArgumentTypeError(f"an empty {what} in '{text}'")
    twice = sorted({item for item in items if items.count(item) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{what} {', '.join(twice)} given twice in '{text}'")
    return items


def _format_list(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        items = _items(text, "format")
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown format '{unknown[0]}' (choose from "
                                             f"{', '.join(choices)}, comma-separated)")
        return items

    parse.__name__ = "format list"
    return parse


def _name_list(what: str) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        return _items(text, what)

    parse.__name__ = f"{what} list"
    return parse


def _bounded_int(low: int, high: int, name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number "
                                             f"(give {low} to {high})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range (give {low} to {high})")
        return value

    parse.__name__ = name
    return parse


def _seconds(name: str, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
        if not (math.isfinite(value) and 0 < value <= high):
            raise argparse.ArgumentTypeError(f"'{text}' is not a time limit (give more than 0 "
                                             f"and at most {high:g} seconds)")
        return value

    parse.__name__ = name
    return parse


def _folder(text: str) -> str:
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError("give a folder name")
    return text


def _project(args: argparse.Namespace) -> Project:
    from .sources.project import Project

    return Project(Path(args.project).resolve())


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_project

    found = check_project(_project(args))
    problems = [p for p in found if p.severity == "error"]
    warnings = [p for p in found if p.severity == "warning"]
    for problem in found:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s), {len(warnings)} warning(s)", file=sys.stderr)
        return EXIT_FAILED
    print("ok: registries, letters, templates and catalogs are valid"
          + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from .authoring.scaffold import new_letter

    written = new_letter(_project(args), args.letter, Path(args.draft) if args.draft else None)
    print(f"new letter '{args.letter}': {len(written)} file(s) written in "
          f"{written[0].parent}" + "".join(f"\n  {p.name if p.parent == written[0].parent else p}"
                                          for p in written[:3]))
    print(f"next: edit letter.yaml and letter.md, then pactdocs check and pactdocs merge {args.letter}")
    return EXIT_OK


def _early_walk(args: argparse.Namespace) -> FolderWalk | None:
    """Start the look at the files of a large output folder a rerun writes to (a child does it
    while the rest of the command loads: merge's own imports are a tenth of a second), or
    return None. Merge takes it only if it is of the folder the run writes to."""
    from .batch.walk import FolderWalk

    if not args.out and ("/" in args.letter or args.letter.startswith(".")):
        return None  # not a letter's name: merge says so
    try:
        out = (Path(args.out) if args.out else _project(args).output_folder(args.letter)
               ).resolve()
    except (OSError, RuntimeError):  # a loop of links: merge says so
        return None
    return FolderWalk.start(out, jobs=args.jobs or 0, dry_run=args.dry_run, force=args.force,
                            verify=args.verify)


def cmd_merge(args: argparse.Namespace) -> int:
    walk = _early_walk(args)
    from .batch.merge import Options, merge
    from .batch.progress import Progress

    options = Options(
        letter=args.letter, to=args.to, lang=args.lang, formats=args.format,
        parts=args.parts or (),
        out=Path(args.out) if args.out else None, jobs=args.jobs or 0, final=args.final,
        force=args.force, dry_run=args.dry_run, timeout=args.timeout, wait=args.wait,
        memory=args.memory, verify=args.verify, clean=args.clean,
        command=" ".join(["merge", *(args.argv or [])]))
    quiet = args.quiet or not sys.stderr.isatty()
    with stoppable(), Progress(enabled=not quiet) as progress:
        try:
            summary = merge(_project(args), options, progress=progress.update, walk=walk)
        finally:
            if walk is not None:
                walk.discard()
    for notice in summary.notices:
        print(f"pactdocs: {notice}", file=sys.stderr)
    if args.dry_run:
        return _print_plan(summary)
    failed = [d for d in summary.manifest["documents"] if d["status"] == "failed"]
    for doc in failed[:20]:
        print(f"failed: {doc['path']}: {doc['error']}", file=sys.stderr)
    if len(failed) > 20:
        print(f"failed: … and {len(failed) - 20} more (see manifest.json)", file=sys.stderr)
    c = summary.counts
    rate = c["written"] / summary.seconds if summary.seconds else 0.0
    for path in summary.removed:
        print(f"removed: {path}")
    for doc in [d for d in summary.manifest["documents"] if d.get("stale")][:20]:
        print(f"stale: {doc['path']}: {doc['stale']} (--clean removes it)", file=sys.stderr)
    total = c["written"] + c["unchanged"] + c["failed"]
    print(f"{total} documents: {c['written']} written, {c['unchanged']} unchanged, "
          f"{c['failed']} failed; {c['kept']} kept from earlier runs, {c['stale']} stale"
          f"{f', {len(summary.removed)} removed' if summary.removed else ''} in "
          f"{summary.seconds:.1f} s ({rate:.1f} documents/s) "
          f"→ {summary.out / 'manifest.json'}")
    fallbacks = summary.fallbacks
    if fallbacks:
        print(f"{len(fallbacks)} recipient(s) in the fallback language "
              f"{_fallback_language(summary)}, the letter not being in theirs: "
              + ", ".join(f"{r} ({lang})" for r, lang in fallbacks.items()))
    return summary.exit_code


def _fallback_language(summary: Summary) -> str:
    return next(d["language"] for d in summary.manifest["documents"] if d.get("fallback_from"))


def _print_plan(summary: Summary) -> int:
    from collections import Counter

    docs = summary.manifest["documents"]
    per = Counter((d["language"], d["format"], d["status"]) for d in docs)
    print(f"plan for {summary.manifest['letter']} into {summary.out} (nothing written):")
    print(f"{'lang':<5} {'format':<6} {'would write':>11} {'unchanged':>9} {'refused':>8}")
    for language, fmt in sorted({(d["language"], d["format"]) for d in docs}):
        print(f"{language:<5} {fmt:<6} {per[(language, fmt, 'would write')]:>11} "
              f"{per[(language, fmt, 'unchanged')]:>9} {per[(language, fmt, 'refused')]:>8}")
    c = summary.counts
    print(f"{len(docs)} documents: {c['would write']} would be written "
          f"({summary.manifest['renders']} renders), {c['unchanged']} unchanged, "
          f"{c['refused']} refused")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    project = _project(args)
    if args.what == "letters":
        from .sources.letters import list_letters

        for name in list_letters(project.templates):
            letter = project.letter(name)
            print(f"{name:<24} {len(letter.parts)} parts  {letter.subject}")
    elif args.what == "languages":
        for lang in project.languages().values():
            print(f"{lang.code}  {lang.locale:<6} {lang.script:<9} {lang.name} ({lang.endonym})")
    else:
        registry = project.registry()
        if args.what == "recipients":
            for code, state in registry.member_states.items():
                sample = " (sample data)" if state.sample else ""
                print(f"{code}  {state.name:<12} {state.correspondence_language}  "
                      f"{state.representative.display_name}{sample}")
            for code, error in registry.broken.items():
                print(f"{code}  broken: {error}")
            for rid, other in registry.recipients.items():
                if other.kind == "member_state":
                    continue
                where = (registry.agencies[rid].short_name if other.kind == "agency"
                         else other.organisation)
                sample = " (sample data)" if other.sample else ""
                print(f"{rid}  {other.kind:<7} {other.language}  {other.person.display_name}, "
                      f"{where}{sample}")
        else:
            for name, group in registry.groups.items():
                print(f"{name:<16} {group.kind:<10} {' '.join(group.members)}")
    return EXIT_OK


def cmd_i18n(args: argparse.Namespace) -> int:
    from .sources.languages import OFFICIAL, parse_languages
    from .translation import maintenance as i18n

    project = _project(args)
    if args.action == "import":
        return _import(project, args)
    if args.file:
        raise UsageError(f"i18n {args.action} takes no file argument", hint="only import reads a file")
    languages = parse_languages(args.lang or "all", OFFICIAL)
    if args.action == "export":
        return _export(project, args, languages)
    if args.action == "extract":
        changed = i18n.extract_all(project)
        print(f"{len(changed)} template(s) changed" + "".join(f"\n  {p}" for p in changed))
    elif args.action == "update":
        changed = i18n.update_all(project, [lang for lang in languages if lang != "en"])
        print(f"{len(changed)} catalog(s) changed" + "".join(f"\n  {p}" for p in changed))
    elif args.action == "compile":
        out = Path(args.out) if args.out else project.root / "build" / "locale"
        written = i18n.compile_all(project, languages, out)
        print(f"{len(written)} catalog(s) compiled into {out}")
    elif args.action == "status":
        rows = i18n.status(project, languages)
        print(i18n.render_status_table(rows), end="")
        if args.fail_under is not None:
            low = [r for r in rows if r.percent < args.fail_under]
            if low:
                print(f"{len(low)} catalog(s) below {args.fail_under:g}% translated and approved: "
                      + ", ".join(f"{r.owner}/{r.language}" for r in low), file=sys.stderr)
                return EXIT_FAILED
    return EXIT_OK


def cmd_review(args: argparse.Namespace) -> int:
    from .translation.review import write_reviews

    written = write_reviews(
        _project(args), args.letter, args.lang, to=args.to,
        formats=args.format, out=Path(args.out) if args.out else None, parts=args.parts or ())
    for path in written:
        print(path)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .translation.web import make_server

    try:
        server = make_server(_project(args), host=args.host, port=args.port, token=args.token,
                             letter=args.letter, verbose=args.verbose)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                         hint="choose another --port") from None
    print(f"pactdocs review page: {server.url}  (Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def _export(project: Project, args: argparse.Namespace, languages: list[str]) -> int:
    from .translation.xliff import write_export

    if args.format != "xliff":
        raise UsageError(f"unknown exchange format '{args.format}'", hint="use --format xliff")
    if not args.lang:
        raise UsageError("name the language(s) to export with --lang", hint="e.g. --lang fr")
    if args.tool == "omegat":
        from .translation.xliff import choose_letter, write_omegat_project

        letter = choose_letter(project, args.letter)
        for language in [lang for lang in languages if lang != "en"]:
            out = Path(args.out) if args.out else project.root / "output" / "omegat"
            folder = out / f"{letter.name}-{language}" if len(languages) > 1 or not args.out else out
            print(write_omegat_project(project, language, letter.name, folder))
        return EXIT_OK
    for path in write_export(project, [lang for lang in languages if lang != "en"], args.letter,
                             Path(args.out) if args.out else None):
        print(path)
    return EXIT_OK


def _import(project: Project, args: argparse.Namespace) -> int:
    from .translation.xliff import ImportRefused, import_xliff

    if not args.file:
        raise UsageError("name the XLIFF file to import", hint="pactdocs i18n import FILE")
    try:
        report = import_xliff(project, Path(args.file), letter_name=args.letter, language=args.lang,
                              dry_run=args.dry_run)
    except ImportRefused as exc:
        for problem in exc.problems:
            print(problem)
        print(f"pactdocs: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for line in report.lines():
        print(("would change: " if args.dry_run else "") + line)
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    from .batch.outdir import holding_lock
    from .writers import signing

    project = _project(args)
    out = Path(args.out) if args.out else project.output_folder(args.letter)
    recipients = None
    if args.to:
        registry = project.registry()
        recipients = set(registry.resolve(args.to, project.letter(args.letter).recipients))
    signer = signing.load_signer(Path(args.key), Path(args.cert) if args.cert else None,
                                 tuple(Path(c) for c in args.chain or ()),
                                 signing.passphrase_from_env(args.passphrase_env))
    with holding_lock(out):
        done = signing.sign_letter(out, signer, signing.signature_lines(project, args.letter),
                                   tsa=args.tsa, recipients=recipients)
    for record in done:
        print(f"signed ({record.level}): {record.path}")
    print(f"{len(done)} PDF(s) signed by {done[0].signer if done else '-'} → {out / 'manifest.json'}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .writers.signing import verify_pdf

    trust = tuple(Path(t) for t in args.trust or ())
    for path in trust:
        if not path.is_file():
            raise UsageError(f"no certificate file '{path}'", hint="--trust ROOT.pem")
    all_ok = True
    for name in args.files:
        verdict = verify_pdf(Path(name), trust)
        all_ok = all_ok and verdict.ok
        yes = {True: "yes", False: "NO"}
        print(f"{name}: {'OK' if verdict.ok else 'FAILED'}")
        print(f"  intact: {yes[verdict.intact]}  valid: {yes[verdict.valid]}  "
              f"trusted: {yes[verdict.trusted]}  covers the whole file: {yes[verdict.whole_file]}")
        print(f"  signer: {verdict.signer or '-'}")
        print(f"  signing time: {verdict.signed_at or '-'}")
        print(f"  timestamp: {verdict.timestamp or 'none'}")
        for problem in verdict.problems:
            print(f"  problem: {problem}")
    return EXIT_OK if all_ok else EXIT_FAILED


def cmd_send(args: argparse.Namespace) -> int:
    from .batch.outdir import holding_lock
    from .dispatch.send import SendOptions, SendRefused, parse_rate, send

    attach = tuple(f.strip() for f in args.attach.split(",") if f.strip())
    options = SendOptions(
        letter=args.letter, to=args.to, attach=attach, out=Path(args.out) if args.out else None,
        smtp=args.smtp, tls=args.tls, credentials=args.credentials, rate=parse_rate(args.rate),
        allow_draft=args.allow_draft, dry_run=args.dry_run,
        resend_uncertain=args.resend_uncertain, new_version=args.new_version,
        register=Path(args.register) if args.register else None,
        retry_wait=args.retry_wait)
    project = _project(args)
    out = options.out or project.output_folder(args.letter)
    try:
        with holding_lock(out):
            report = send(project, options, log=print)
    except SendRefused as exc:
        for problem in exc.problems:
            print(f"refused: {problem.one_line()}", file=sys.stderr)
        print(f"pactdocs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        print(f"would send {sum(p.status == 'to send' for p in report.planned)} message(s) "
              f"({report.mode}); nothing sent:")
        for p in report.planned:
            o = p.outgoing
            files = ", ".join(f"{f.filename} ({f.size:,} bytes)" for f in o.files)
            print(f"{o.recipient} {o.language} [{p.status}] {len(p.data):,} bytes "
                  f"to {', '.join(m.address for m in o.to)}; cc {len(o.cc)}: {files}")
        return EXIT_OK
    counts: dict[str, int] = {}
    for p in report.planned:
        counts[p.status] = counts.get(p.status, 0) + 1
    before = counts.get("already sent", 0) + counts.get("failed earlier", 0)
    if before:
        print(f"{before} message(s) were handed over by an earlier run: not sent again")
    for code in report.uncertain:
        print(f"uncertain: {code}: an earlier run stopped while the server was taking this message; "
              "not sent again (--resend-uncertain sends it with the same Message-ID)",
              file=sys.stderr)
    for address, reply in report.refused.items():
        print(f"refused: {address}: {reply}", file=sys.stderr)
    for address, reply in report.deferred.items():
        print(f"deferred: {address}: {reply} (run again later)", file=sys.stderr)
    where = (f" → {report.outbox[0].parent}" if report.outbox else "")
    print(f"{len(report.sent)} message(s) {'written to the outbox' if report.mode == 'outbox' else 'sent'}"
          f", {len(report.refused)} address(es) refused, {len(report.deferred)} deferred in "
          f"{report.seconds:.1f} s{where}")
    return report.exit_code


def cmd_register(args: argparse.Namespace) -> int:
    from .register.bounce import record_bounce
    from .register.settings import load_settings
    from .register.store import COLUMNS, Register

    project = _project(args)
    settings = load_settings(project.root)
    path = Path(args.register) if args.register else project.root / settings.register_path
    if args.action != "bounce" and not path.exists():
        raise UsageError(f"no register at {path}", hint="pactdocs send creates it")
    with Register(path, settings.number) as register:
        if args.action == "list":
            rows = register.items(args.letter)
            for row in rows:
                print(f"{row['number']}  {row['registered'][:10]}  {row['recipient']:<3} "
                      f"{row['language']}  {row['state']:<10}  {row['message_id']}")
            print(f"{len(rows)} item(s)")
        elif args.action == "show":
            if not args.item:
                raise UsageError("name the item", hint="pactdocs register show HOME/2024/000001")
            item = register.show(args.item)
            for key in ("number", "registered", "letter", "reference", "sender", "recipient",
                        "language", "subject", "message_id", "state"):
                print(f"{key + ':':<12}{item[key]}")
            for a in item["addressees"]:
                print(f"{a['role'] + ':':<12}{a['name']} <{a['address']}>")
            for f in item["attachments"]:
                print(f"{'file:':<12}{f['filename']} {f['bytes']} bytes sha256:{f['sha256']}")
            for e in item["events"]:
                print(f"{'event:':<12}{e['at']} {e['state']} {e['address']} {e['detail']}".rstrip())
        elif args.action == "export":
            if not args.csv:
                raise UsageError("say the format", hint="pactdocs register export --csv")
            text = register.export_csv(args.letter)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8", newline="")
                print(f"{len(text.splitlines()) - 1} item(s) → {args.output} ({', '.join(COLUMNS)})")
            else:
                sys.stdout.write(text)
        else:
            if not args.item:
                raise UsageError("name the bounce file", hint="pactdocs register bounce FILE.eml")
            bounce = record_bounce(register, Path(args.item))
            for address, reason in bounce.failures:
                print(f"{bounce.number}: bounced: {address}: {reason}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pactdocs", description="One official letter, many recipients, 24 languages, PDF and DOCX.")
    parser.add_argument("--project", default=os.environ.get("PACTDOCS_PROJECT", "."),
                        help="folder holding letter_templates/ and recipients/ (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="validate registries, letters, templates and catalogs")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("new", help="create a new letter in Markdown that renders at once")
    p.add_argument("letter", help="the new letter's name: lower-case letters, digits and hyphens")
    p.add_argument("--from", dest="draft", metavar="DRAFT.docx",
                   help="start the body from a Word draft (text, headings, bold, italic, lists, tables)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("merge", help="render a letter for its recipients")
    p.add_argument("letter")
    p.add_argument("--to", help="a group name or comma-separated recipient codes")
    p.add_argument("--lang", default="auto", help="auto (default), all, or comma-separated codes")
    p.add_argument("--format", default=("pdf", "docx"), type=_format_list(MERGE_FORMATS),
                   help="comma-separated: pdf, docx, html (default: pdf,docx)")
    p.add_argument("--parts", type=_name_list("part"),
                   help="comma-separated parts, e.g. letter,annex-1 (default: all)")
    p.add_argument("--out", type=_folder, help="output folder (default: output/LETTER)")
    p.add_argument("--jobs", type=_bounded_int(1, 4096, "--jobs"),
                   help="worker processes (default: number of cores)")
    p.add_argument("--final", action="store_true",
                   help="refuse languages with fuzzy or untranslated strings")
    p.add_argument("--force", action="store_true", help="rebuild documents that did not change")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--timeout", type=_seconds("--timeout", 86400), default=120.0,
                   help="seconds one document may take before it is stopped (default 120)")
    p.add_argument("--memory", type=_bounded_int(256, 1024 * 1024, "--memory"),
                   default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"memory one worker may use before its document fails (default "
                        f"{DEFAULT_MEMORY_MB})")
    p.add_argument("--wait", action="store_true",
                   help="when another run is writing into the output folder, wait for it")
    p.add_argument("--clean", action="store_true",
                   help="remove files pactdocs wrote earlier that no longer belong to the letter "
                        "(the manifest marks them stale)")
    p.add_argument("--verify", action="store_true",
                   help="hash every output file, even those whose size, times and inode did not "
                        "change since pactdocs wrote them")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("review", help="bilingual review documents of a letter for translators")
    p.add_argument("letter")
    p.add_argument("--lang", required=True, help="the target language, e.g. fr")
    p.add_argument("--to", help="recipient whose values fill the placeholders (default: the first "
                   "recipient who reads the language)")
    p.add_argument("--format", default=("html", "pdf", "docx"),
                   type=_format_list(MERGE_FORMATS), help="comma-separated: html, pdf, docx")
    p.add_argument("--parts", type=_name_list("part"),
                   help="comma-separated parts (default: the letter and every annex)")
    p.add_argument("--out", help="output folder (default: output/review/LETTER/LANG)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("serve", help="the translators' review web page (127.0.0.1 by default)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free)")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1); any other needs --token")
    p.add_argument("--token", help="a secret every request must carry (required with --host)")
    p.add_argument("--letter", help="show only this letter")
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("sign", help="sign a letter's rendered PDFs (PAdES B-B, B-T with --tsa)")
    p.add_argument("letter")
    p.add_argument("--to", help="a group name or comma-separated recipient codes (default: all)")
    p.add_argument("--out", help="the output folder merge wrote (default: output/LETTER)")
    p.add_argument("--key", required=True, help="a PKCS#12 file (.p12, .pfx) or a PEM private key")
    p.add_argument("--cert", help="the signer's certificate (PEM), with a PEM key")
    p.add_argument("--chain", action="append", help="an intermediate certificate (repeatable)")
    p.add_argument("--passphrase-env", metavar="VAR",
                   help="environment variable holding the key's passphrase")
    p.add_argument("--tsa", metavar="URL", help="RFC 3161 timestamp server: PAdES B-T")
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", help="check the signatures of signed PDFs")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--trust", action="append", metavar="CERT",
                   help="a trusted root certificate (repeatable)")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("send", help="e-mail each recipient its letter once (an outbox of .eml "
                       "files unless --smtp is given)")
    p.add_argument("letter")
    p.add_argument("--to", help="a group name or comma-separated recipient codes")
    p.add_argument("--attach", default="pdf", help="formats to attach: pdf, docx or pdf,docx")
    p.add_argument("--out", help="the folder pactdocs merge wrote (default: output/LETTER)")
    p.add_argument("--smtp", metavar="HOST:PORT", help="send over SMTP (default: write an outbox)")
    p.add_argument("--tls", choices=["starttls", "none"],
                   help="starttls (default) or none (only for a server on 127.0.0.1)")
    p.add_argument("--credentials", metavar="FILE",
                   help="user and password file outside the project (or set "
                        "PACTDOCS_SMTP_USER and PACTDOCS_SMTP_PASSWORD)")
    p.add_argument("--rate", metavar="N/min", help="at most N messages a minute")
    p.add_argument("--retry-wait", type=float, default=5.0, metavar="SECONDS",
                   help="first wait after a 4xx reply; doubles each try (default 5)")
    p.add_argument("--allow-draft", action="store_true", help="send draft documents too")
    p.add_argument("--resend-uncertain", action="store_true",
                   help="send again messages a killed run may have handed over")
    p.add_argument("--new-version", action="store_true",
                   help="send recipients who were sent this letter before its new files")
    p.add_argument("--register", help="the register file (default: from pactdocs.yaml)")
    p.add_argument("--dry-run", action="store_true", help="say who would get what; send nothing")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("register", help="the register of outgoing correspondence")
    p.add_argument("action", choices=["list", "show", "export", "bounce"])
    p.add_argument("item", nargs="?", help="show: a registration number; bounce: a DSN .eml file")
    p.add_argument("--csv", action="store_true", help="export: as CSV")
    p.add_argument("--output", help="export: write to this file (default: standard output)")
    p.add_argument("--letter", help="list/export: only this letter")
    p.add_argument("--register", help="the register file (default: from pactdocs.yaml)")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("list", help="list letters, recipients, groups or languages")
    p.add_argument("what", choices=["letters", "recipients", "groups", "languages"])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("i18n", help="catalog maintenance")
    p.add_argument("action", choices=["extract", "update", "compile", "status", "export", "import"])
    p.add_argument("file", nargs="?", help="import: the XLIFF file to read")
    p.add_argument("--lang", help="comma-separated language codes (default: all); import: the "
                   "language the file must be for")
    p.add_argument("--out", help="compile: folder for .mo files (default: build/locale); export: "
                   "an .xlf file or a folder (default: output/xliff)")
    p.add_argument("--format", default="xliff", help="export: exchange format (xliff, version 1.2)")
    p.add_argument("--for", dest="tool", choices=["any", "omegat"], default="any",
                   help="export: 'omegat' writes an OmegaT project folder (English in every target, "
                   "the translations in its TMX files); 'any' (default) a plain XLIFF for Trados, "
                   "memoQ, Phrase…")
    p.add_argument("--letter", help="export/import: the letter (default: the only one)")
    p.add_argument("--dry-run", action="store_true", help="import: check and report, change nothing")
    p.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="status: exit 1 when a catalog is less translated than this")
    p.set_defaults(func=cmd_i18n)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    args.argv = raw[raw.index(args.command) + 1:] if args.command in raw else []
    if args.func is not cmd_merge:
        gc.enable()  # see run(): a merge turns the collector back on when its workers start
    try:
        return int(args.func(args))
    except Interrupted as exc:
        print(f"pactdocs: {exc}", file=sys.stderr)
        return exc.exit_code
    except PactdocsError as exc:
        for problem in getattr(exc, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"pactdocs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        code = getattr(exc, "exit_code", 130)
        print("pactdocs: interrupted; run the same command again to finish (finished documents "
              "are kept)", file=sys.stderr)
        return int(code)


# The exit code of the command, once run() has it.
_EXITING: list[int] = []


def _exit_without_teardown() -> None:
    """The last exit function of the ``pactdocs`` command: end the process now.

    Registered when this module is imported, before anything the command loads, so every exit
    function registered later (atexit runs them last first) has already run. What is left is
    the interpreter freeing every object and module one by one, a fifth of a second once
    WeasyPrint is loaded, which the operating system does at once. Every file pactdocs writes
    is closed by then; the standard streams are flushed here.
    """
    if not _EXITING:
        return  # main() called from Python, not the command: leave the interpreter alone
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (pactdocs list | head): nothing more can be said there
    os._exit(_EXITING[0])


atexit.register(_exit_without_teardown)


def run() -> None:
    """The ``pactdocs`` command: :func:`main` with the process's arguments, then exit.

    The cyclic garbage collector is off while the command starts: importing the libraries and
    the fixed work of a merge make hundreds of thousands of objects that live as long as the
    process, and almost no garbage, and each collection would walk them all again (a tenth of
    a one-recipient run, and a full collection costs more once WeasyPrint is loaded). Every
    command but merge turns it back on before its work begins; a merge does when it forks its
    workers (:func:`pactdocs.batch.pool.run_pool`), so the workers and the rest of the run
    collect as usual. Reference counting frees everything else meanwhile.
    """
    gc.disable()
    code = main()
    _EXITING.append(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
