"""The command line: a thin layer over the API. ``main(argv)`` returns the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PactdocsError, UsageError

if TYPE_CHECKING:
    from .batch.merge import Summary
    from .compose import Project

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Kept here so that building the parser imports nothing heavy (merge.DEFAULT_MEMORY_MB is the same).
DEFAULT_MEMORY_MB = 1536


def _project(args: argparse.Namespace) -> Project:
    from .compose import Project


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


def cmd_merge(args: argparse.Namespace) -> int:
    from .batch.merge import Options, merge
    from .batch.progress import Progress

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if not 0 < args.timeout <= 86400:
        raise UsageError("--timeout must be between 0 and 86400 seconds")
    if not 256 <= args.memory <= 1024 * 1024:
        raise UsageError("--memory must be at least 256 (MB)", hint="a worker needs about 300 MB")
    options = Options(
        letter=args.letter, to=args.to, lang=args.lang,
        formats=tuple(f.strip() for f in args.format.split(",") if f.strip()),
        parts=tuple(p.strip() for p in args.parts.split(",") if p.strip()) if args.parts else (),
        out=Path(args.out) if args.out else None, jobs=args.jobs or 0, final=args.final,
        force=args.force, dry_run=args.dry_run, timeout=args.timeout, wait=args.wait,
        memory=args.memory, verify=args.verify)
    quiet = args.quiet or not sys.stderr.isatty()
    with Progress(enabled=not quiet) as progress:
        summary = merge(_project(args), options, progress=progress.update)
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
    total = sum(c.values())
    rate = c["written"] / summary.seconds if summary.seconds else 0.0
    print(f"{total} documents: {c['written']} written, {c['unchanged']} unchanged, "
          f"{c['failed']} failed in {summary.seconds:.1f} s ({rate:.1f} documents/s) "
          f"→ {summary.out / 'manifest.json'}")
    return summary.exit_code


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
        formats=tuple(f.strip() for f in args.format.split(",") if f.strip()),
        out=Path(args.out) if args.out else None,
        parts=tuple(p.strip() for p in args.parts.split(",") if p.strip()) if args.parts else ())
    for path in written:
        print(path)
    return EXIT_OK


def _export(project: Project, args: argparse.Namespace, languages: list[str]) -> int:
    from .translation.xliff import write_export

    if args.format != "xliff":
        raise UsageError(f"unknown exchange format '{args.format}'", hint="use --format xliff")
    if not args.lang:
        raise UsageError("name the language(s) to export with --lang", hint="e.g. --lang fr")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pactdocs", description="One official letter, many recipients, 24 languages, PDF and DOCX.")
    parser.add_argument("--project", default=os.environ.get("PACTDOCS_PROJECT", "."),
                        help="folder holding letter_templates/ and recipients/ (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="validate registries, letters, templates and catalogs")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("merge", help="render a letter for its recipients")
    p.add_argument("letter")
    p.add_argument("--to", help="a group name or comma-separated recipient codes")
    p.add_argument("--lang", default="auto", help="auto (default), all, or comma-separated codes")
    p.add_argument("--format", default="pdf,docx", help="comma-separated: pdf, docx, html")
    p.add_argument("--parts", help="comma-separated parts, e.g. letter,annex-1 (default: all)")
    p.add_argument("--out", help="output folder (default: output/LETTER)")
    p.add_argument("--jobs", type=int, help="worker processes (default: number of cores)")
    p.add_argument("--final", action="store_true",
                   help="refuse languages with fuzzy or untranslated strings")
    p.add_argument("--force", action="store_true", help="rebuild documents that did not change")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds one document may take before it is stopped (default 120)")
    p.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"memory one worker may use before its document fails (default "
                        f"{DEFAULT_MEMORY_MB})")
    p.add_argument("--wait", action="store_true",
                   help="when another run is writing into the output folder, wait for it")
    p.add_argument("--verify", action="store_true",
                   help="hash every output file, even those whose size, times and inode did not "
                        "change since pactdocs wrote them")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("review", help="bilingual review documents of a letter for translators")
    p.add_argument("letter")
    p.add_argument("--lang", required=True, help="the target language, e.g. fr")
    p.add_argument("--to", help="recipient whose values fill the placeholders (default: the first "
                   "recipient who reads the language)")
    p.add_argument("--format", default="html,pdf,docx", help="comma-separated: html, pdf, docx")
    p.add_argument("--parts", help="comma-separated parts (default: the letter and every annex)")
    p.add_argument("--out", help="output folder (default: output/review/LETTER/LANG)")
    p.set_defaults(func=cmd_review)

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
    p.add_argument("--letter", help="export/import: the letter (default: the only one)")
    p.add_argument("--dry-run", action="store_true", help="import: check and report, change nothing")
    p.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="status: exit 1 when a catalog is less translated than this")
    p.set_defaults(func=cmd_i18n)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PactdocsError as exc:
        for problem in getattr(exc, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"pactdocs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pactdocs: interrupted; run the same command again to finish (finished documents "
              "are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
