"""``pactdocs check``: everything that can be wrong before a batch starts."""

from __future__ import annotations

from .compose import Composer, Project
from .errors import PactdocsError
from .sources.languages import OFFICIAL
from .sources.letters import list_letters
from .translation.maintenance import check_catalogs
from .writers.weasy import find_in_linker_path


def check_project(project: Project) -> list[PactdocsError]:
    """Return every problem of the project: registries, letters, templates, catalogs, system."""
    problems: list[PactdocsError] = []
    try:
        registry = project.registry()
    except PactdocsError as exc:
        return [exc]
    problems.extend(registry.problems)
    for name in list_letters(project.templates):
        try:
            letter = project.letter(name)
        except PactdocsError as exc:
            problems.append(exc)
            continue
        for ref, kind, known in ((letter.signatory, "signatory", registry.signatories),
                                 (letter.recipients, "recipients group", registry.groups),
                                 (letter.cc, "cc group", registry.groups)):
            if ref not in known:
                from .errors import TemplateError, did_you_mean

                problems.append(TemplateError(f"unknown {kind} '{ref}'", letter.location,
                                              did_you_mean(ref, list(known))))
        cc = registry.groups.get(letter.cc)
        strangers = [m for m in (cc.members if cc else ()) if m not in registry.agencies]
        if strangers:
            from .errors import TemplateError

            problems.append(TemplateError(
                f"cc group '{letter.cc}' names {', '.join(strangers)}, which is not an agency",
                letter.location, "a c.c. list names agencies (agencies.yaml) only"))
        composer = Composer(project, letter, registry)
        problems.extend(composer.check_templates())
        try:
            problems.extend(composer.check_frame_forms(list(letter.languages)))
        except PactdocsError as exc:
            problems.append(exc)
    try:
        from .dispatch.headers import parse_mailbox
        from .register.settings import load_settings

        settings = load_settings(project.root)  # pactdocs.yaml: sender, SMTP, numbering
        for value, what in ((settings.sender, "send.from"), (settings.reply_to, "send.reply_to")):
            if value:
                try:
                    parse_mailbox(value, f"{what} in pactdocs.yaml")
                except PactdocsError as exc:
                    exc.location = settings.location
                    problems.append(exc)
    except PactdocsError as exc:
        problems.append(exc)
    try:
        problems.extend(check_catalogs(project, list(OFFICIAL)))
    except PactdocsError as exc:
        problems.append(exc)
    # One mistake found by two checks (a letter that cannot be loaded, a Markdown slip that
    # breaks both the template and the catalog extraction) is reported once.
    unique: dict[str, PactdocsError] = {}
    for problem in problems:
        unique.setdefault(str(problem), problem)
    problems[:] = list(unique.values())
    if find_in_linker_path("harfbuzz-subset") is None:
        problems.append(PactdocsError(
            "libharfbuzz-subset is not installed: PDFs are about 3x slower to write",
            hint="install the Debian package libharfbuzz-subset0 (make setup does)"))
    return problems
