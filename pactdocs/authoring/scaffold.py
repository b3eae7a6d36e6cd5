"""``pactdocs new LETTER``: a new letter folder that renders at once, optionally from a Word draft.

The folder holds ``letter.yaml`` (every field with a comment saying what it is), ``letter.md``
(the body, in Markdown), ``annex-1.md`` and the catalogs (``locale/messages.pot`` and one ``.po``
per language of the letter), so ``pactdocs merge LETTER`` and ``pactdocs check`` pass before
anyone edits a line. Nothing is written when the name is taken or unsafe, or when the draft
cannot be read.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from ..compose import Project
from ..errors import Location, TemplateError, UsageError, relpath
from ..sources.files import MAX_TEMPLATE_BYTES
from ..sources.languages import OFFICIAL
from ..sources.letters import list_letters
from ..translation.maintenance import extract_all, update_all
from .draft import draft_to_markdown

# Lower-case letters, digits and hyphens: the name becomes part of every file name merge writes.
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")

LETTER_YAML = """\
# The letter "{name}". Each field below says what it is; change the values, keep the names.
# Texts under `subject` and the annexes' `title` are translated (they go into the catalogs).

# The subject line, in English; translators translate it.
subject: {subject}
# Your registration number or file reference, printed as it is in every language.
reference: {reference}
# The date the letter carries, written YYYY-MM-DD (in quotes). Each language prints it its own way.
date: "{date}"
# Where the letter is written (the place before the date), in English; the frame translates it.
place: Brussels
# Who signs: an id from recipients/signatories.yaml.
signatory: {signatory}
# Who receives the letter: a group of kind "recipients" from recipients/groups.yaml.
recipients: {recipients}
# Who gets a copy (c.c.): a group of kind "cc" from recipients/groups.yaml.
cc: {cc}
# The language the letter is written in.
source_language: en
# The languages the letter is translated into; each has its catalog in locale/<language>.po.
# Each recipient gets the letter in its own language; `--lang all` renders every language here.
languages: [{languages}]
# A recipient whose language is not listed above gets the letter in this language.
fallback_language: en
# Merge fields: write {{{{ name }}}} in letter.md or an annex and the value below appears there.
# A text (in quotes) is printed as it is; a date is printed in each language's way, and `role`
# says how the sentence uses it: on (on 15 May), by (by 15 May), dateline, or default.
fields:
  reply_by: {{date: "{deadline}", role: by}}
  programme_period: "2021-2027"
# The parts: the letter first, then annexes numbered in order (annex-1, annex-2, …).
# `template` is the file with the text; `title` is the annex's title (translated);
# `per_recipient: "no"` when every recipient gets the same annex.
parts:
  - id: letter
    template: letter.md
  - id: annex-1
    template: annex-1.md
    title: {annex_title}
    per_recipient: "no"
"""

LETTER_MD = """\
<!-- Translators: this first paragraph says why the letter is written; keep it short. -->
Write the first paragraph of your letter here. Each paragraph is one piece of text for translators.

A merge field puts a value from letter.yaml into the text: please reply by {{ reply_by }}. The
programme period is {{ programme_period }}, and this letter goes to {{ recipient.name }}.

Lists and tables work as in any Markdown editor:

- a first point, with **bold** and *italic* words;
- a second point.

The salutation, the closing and the signature come from the letter frame: do not write them here.
"""

ANNEX_MD = """\
## What this annex is for

Write the text of the annex here. The annex's title is set in letter.yaml.

| Step | When |
|---|---|
| Reply to this letter | by {{ reply_by }} |
| First meeting | to be announced |
"""


def _check_name(project: Project, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise UsageError(f"'{name}' cannot be a letter name",
                         hint="use lower-case letters, digits and hyphens, starting with a letter or "
                              "digit, at most 60 characters, e.g. agency-meeting-2025")
    templates = project.templates
    if not templates.is_dir():
        raise UsageError(f"no letter_templates folder in {project.root}",
                         hint="run pactdocs new inside the project folder, or give --project")
    folder = templates / name
    if os.path.lexists(folder):
        raise UsageError(f"a letter or folder named '{name}' already exists in {relpath(templates)}",
                         Location(relpath(folder)), "choose another name; nothing was changed")
    return folder


def _pick(preferred: str, choices: list[str], what: str) -> str:
    if preferred in choices:
        return preferred
    if not choices:
        raise UsageError(f"the registries have no {what}", hint="add one to recipients/ first")
    return choices[0]


def new_letter(project: Project, name: str, draft: Path | None = None,
               today: dt.date | None = None) -> list[Path]:
    """Create the letter ``name`` under ``letter_templates/``; return the files written.

    ``draft``: a Word document whose text becomes the body instead of the example text.
    """
    folder = _check_name(project, name)
    body = LETTER_MD
    if draft is not None:
        body = draft_to_markdown(draft)
        if not body.strip():
            raise TemplateError("the draft holds no text", Location(relpath(draft)),
                                "write the letter in the draft's body (text boxes are not read)")
        if len(body.encode("utf-8")) > MAX_TEMPLATE_BYTES:
            raise TemplateError("the draft's text is larger than a letter part may be (1 MB)",
                                Location(relpath(draft)))
    registry = project.registry()
    groups = registry.groups
    recipients = _pick("member-states", [g for g, v in groups.items() if v.kind == "recipients"],
                       "recipients group")
    # A letter's c.c. is any group made only of agencies (pactdocs check holds it to that).
    cc = _pick("jha-agencies", [g for g, v in groups.items()
                                if v.members and all(m in registry.agencies for m in v.members)],
               "cc group")
    signatory = _pick("home-dg-acting", sorted(registry.signatories), "signatory")
    date = today or dt.date.today()
    yaml_text = LETTER_YAML.format(
        name=name, subject=f"Subject of the letter {name}", reference=f"HOME/{date.year}/{name}",
        date=date.isoformat(), signatory=signatory, recipients=recipients, cc=cc,
        languages=", ".join(OFFICIAL), deadline=(date + dt.timedelta(days=30)).isoformat(),
        annex_title="Title of annex 1")
    tmp = folder.with_name(f".{name}.new")
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        # letter.yaml comes last and under another name until the folder is in place: a folder
        # without it is no letter, so a run killed half-way never leaves a half letter behind.
        (tmp / "letter.md").write_text(body, "utf-8")
        (tmp / "annex-1.md").write_text(ANNEX_MD, "utf-8")
        (tmp / "locale").mkdir()
        (tmp / "letter.yaml.part").write_text(yaml_text, "utf-8")
        os.rename(tmp, folder)
        os.rename(folder / "letter.yaml.part", folder / "letter.yaml")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    assert name in list_letters(project.templates)
    try:
        project.letter(name)  # the body of a draft is checked as any letter part is
        written = [*extract_all(project, [name]),
                   *update_all(project, [lang for lang in OFFICIAL if lang != "en"], [name])]
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return [folder / "letter.yaml", folder / "letter.md", folder / "annex-1.md", *written]
