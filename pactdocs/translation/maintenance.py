"""Catalog maintenance: extract, update, compile, status (``pactdocs i18n …``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.extract import extract
from jinja2.exceptions import TemplateSyntaxError

from ..compose import Project
from ..errors import PactdocsError, TemplateError
from ..locale.catalogs import (
    _FIXED_DATE,
    catalog_problems,
    compile_catalog,
    extract_yaml_messages,
    load_catalog,
    new_template,
    read_catalog_file,
    read_template,
    status_counts,
    write_catalog,
)
from ..sources.files import MAX_TEMPLATE_BYTES, read_inside
from ..sources.letters import FRAME_DIR, list_letters
from ..sources.markdown import messages_of, parse_markdown
from ..sources.yamlload import load_yaml

# The frame's notes for translators (message context → note), not messages themselves.
NOTES = "translator_notes"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "true",
                 "silent": "false"}


def owners(project: Project) -> list[str]:
    """Return every catalog owner: the frame, then each letter."""
    return [FRAME_DIR, *list_letters(project.templates)]


def build_template(project: Project, owner: str) -> BabelCatalog:
    """Return the catalog template (.pot) of ``owner`` extracted from its sources."""
    catalog = new_template(owner)
    root = project.templates / owner
    notes: dict[str, str] = {}
    if owner == FRAME_DIR:
        frame = load_yaml(root / "frame.yaml")
        notes = {str(k): " ".join(str(v).split()) for k, v in (frame.get(NOTES) or {}).items()}
        yaml_sources = [("frame.yaml", {k: v for k, v in frame.items() if k != NOTES})]
    else:
        data = load_yaml(root / "letter.yaml")
        yaml_sources = [("letter.yaml", {"subject": data["subject"],
                                         "parts": {p["id"]: {"title": p["title"]}
                                                   for p in data["parts"] if "title" in p}})]
    for name, tree in yaml_sources:
        for context, singular, plural in extract_yaml_messages(tree):
            msgid: Any = (singular, plural) if plural else singular
            note = notes.get(context)
            catalog.add(msgid, context=context, locations=[(f"{owner}/{name}", 0)],
                        auto_comments=[note] if note else [])
    if owner != FRAME_DIR:
        letter = project.letter(owner)
        for template in (root / p.template for p in letter.parts if p.template.endswith(".md")):
            blocks = parse_markdown(template, letter.field_names)
            for md in messages_of(blocks):
                catalog.add(md.msgid, locations=[(f"{owner}/{template.name}", md.line)],
                            auto_comments=[md.comment] if md.comment else [],
                            flags=["python-format"] if "%(" in md.msgid else [])
        for template in sorted(root.glob("*.j2")):
            data = read_inside(template, root, MAX_TEMPLATE_BYTES, TemplateError)
            try:
                with io.BytesIO(data) as handle:
                    for lineno, message, comments, msgctxt in extract(
                            "jinja2.ext:babel_extract", handle, comment_tags=("Translators:",),
                            options=JINJA_OPTIONS):
                        catalog.add(message, context=msgctxt, auto_comments=comments,
                                    locations=[(f"{owner}/{template.name}", lineno)])
            except TemplateSyntaxError as exc:
                from ..errors import Location, relpath

                raise TemplateError(exc.message or "syntax error",
                                    Location(relpath(template), exc.lineno)) from None
    return catalog


def extract_all(project: Project, only: list[str] | None = None) -> list[Path]:
    """Write every owner's messages.pot (or those of ``only``); return the files that changed."""
    changed = []
    for owner in only or owners(project):
        path = project.template_path(owner)
        if write_catalog(build_template(project, owner), path, template=True):
            changed.append(path)
    return changed


def update_all(project: Project, languages: list[str], only: list[str] | None = None) -> list[Path]:
    """Bring every .po (or those of ``only``) in step with its template: new messages empty,
    changed ones fuzzy."""
    changed = []
    for owner in only or owners(project):
        template = read_catalog_file(project.template_path(owner))
        for language in languages:
            path = project.catalog_path(owner, language)
            if path.exists():
                catalog = read_catalog_file(path)
            else:
                catalog = BabelCatalog(locale=language, project=owner, version="1", fuzzy=False,
                                       copyright_holder="pactdocs", creation_date=_FIXED_DATE,
                                       revision_date=_FIXED_DATE)
            catalog.update(template, update_header_comment=False)
            catalog.locale = language
            if write_catalog(catalog, path):
                changed.append(path)
    return changed


def compile_all(project: Project, languages: list[str], out: Path) -> list[Path]:
    """Compile approved translations into .mo files under ``out`` when outdated."""
    written = []
    for owner in owners(project):
        for language in languages:
            po = project.catalog_path(owner, language)
            if not po.exists():
                continue
            domain = "frame" if owner == FRAME_DIR else owner
            mo = out / language / "LC_MESSAGES" / f"{domain}.mo"
            if compile_catalog(po, mo):
                written.append(mo)
    return written


@dataclass(frozen=True)
class StatusRow:
    owner: str
    language: str
    translated: int
    fuzzy: int
    untranslated: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def status(project: Project, languages: list[str], source: str = "en") -> list[StatusRow]:
    """Return translated/fuzzy/untranslated counts per catalog owner and language."""
    rows = []
    for owner in owners(project):
        template = read_template(project.template_path(owner))
        for language in languages:
            if language == source:
                rows.append(StatusRow(owner, language, len(template), 0, 0))
                continue
            catalog = load_catalog(project.catalog_path(owner, language), language)
            counts = status_counts(catalog, template)
            rows.append(StatusRow(owner, language, counts["translated"], counts["fuzzy"],
                                  counts["untranslated"]))
    return rows


def check_catalogs(project: Project, languages: list[str], source: str = "en") -> list[PactdocsError]:
    """Return the problems of every catalog, and templates out of step with their sources."""
    problems: list[PactdocsError] = []
    for owner in owners(project):
        pot = project.template_path(owner)
        if not pot.exists():
            problems.append(PactdocsError("catalog template missing", hint="run pactdocs i18n extract"))
            continue
        template = read_template(pot)
        try:
            built = build_template(project, owner)
        except PactdocsError as exc:
            problems.append(exc)  # a template that cannot be read: its own error, once
            continue
        fresh = {(m.context, str(m.id if isinstance(m.id, str) else m.id[0]))
                 for m in built if m.id}
        stored = {(c, i) for c, i, _p, _l in template}
        if fresh != stored:
            from ..errors import CatalogError, Location, relpath
            problems.append(CatalogError(
                "catalog template is out of step with the letter's sources",
                Location(relpath(pot), 1), "run pactdocs i18n extract, then pactdocs i18n update"))
        for language in languages:
            if language == source:
                continue
            path = project.catalog_path(owner, language)
            if path.exists():
                problems.extend(catalog_problems(path, language, template))
    return problems


def render_status_table(rows: list[StatusRow]) -> str:
    """Return the status rows as a plain-text table."""
    out = io.StringIO()
    out.write(f"{'catalog':<22} {'lang':<4} {'translated':>10} {'fuzzy':>6} {'untransl.':>9} {'done':>6}\n")
    for r in rows:
        out.write(f"{r.owner:<22} {r.language:<4} {r.translated:>10} {r.fuzzy:>6} "
                  f"{r.untranslated:>9} {r.percent:>5.0f}%\n")
    return out.getvalue()
