"""XLIFF 1.2 exchange with translators' CAT tools (Trados Studio, memoQ, OmegaT, Phrase…).

Why 1.2: it is the version every CAT tool reads and writes without a conversion step (Trados
Studio's own SDLXLIFF is XLIFF 1.2 with extensions; OmegaT, memoQ, Phrase and Okapi Rainbow all
read it), while XLIFF 2.0 support is still partial in several of them. The export follows the
strict profile: no extension namespaces, gettext plurals as ``<group restype="x-gettext-plurals">``
(translate-toolkit's convention, which CAT tools show as one segment per plural form).

One export holds two ``<file>`` elements: the letter's catalog and the letter frame's catalog (the
letterhead, salutations, labels), both for one language. Each unit's ``id`` is a fingerprint of
its source text, so an import can tell a file exported from an older text and refuse it.
Placeholders (``%(date)s``) and markup are ``<ph>`` inline codes that CAT tools protect.

States, both ways:

==========================  ======================================================
catalog                     XLIFF
==========================  ======================================================
approved (not fuzzy)        ``<target state="final">`` and ``approved="yes"``
fuzzy                       ``<target state="needs-review-translation">``
untranslated                empty ``<target state="needs-translation">``
==========================  ======================================================

On import a target counts as approved when the unit says ``approved="yes"``, or its state is
``translated``, ``final`` or ``signed-off`` without a machine or memory qualifier
(``mt-suggestion``, ``leveraged-*``, ``fuzzy-match``, ``tm-suggestion``); any other state keeps
(or puts) the fuzzy mark. An empty target leaves the catalog entry as it is.
"""

from __future__ import annotations

import gettext as _gettext
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from .. import __version__
from ..compose import Composer, Project, load_templates_of
from ..errors import CatalogError, Location, PactdocsError, UsageError, did_you_mean, relpath
from ..locale.catalogs import Entry, check_entry, load_catalog, read_catalog_file, write_catalog
from ..sources.letters import FRAME_DIR, Letter, list_letters

NS = "urn:oasis:names:tc:xliff:document:1.2"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
# OASIS's XLIFF 1.2 strict schema and W3C's xml.xsd, both as published (see schemas/README).
SCHEMA = SCHEMAS / "xliff-core-1.2-strict.xsd"
XML_XSD = SCHEMAS / "xml.xsd"
CODE = re.compile(r"%\(\w+\)[sd]|%[sd]|%%|<[^<>]+>")
APPROVED_STATES = {"translated", "final", "signed-off"}
MACHINE_QUALIFIERS = {"mt-suggestion", "fuzzy-match", "tm-suggestion"}
PLURAL_GROUP = "x-gettext-plurals"
# The state of a target that holds a copy of the English (the OmegaT form of the export).
SOURCE_COPY_STATE = "new"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def unit_id(context: str | None, msgid: str, plural: str | None) -> str:
    """Return the id of a message's unit: a fingerprint of its context and source text."""
    key = f"{context or ''}\x04{msgid}\x00{plural or ''}".encode()
    return "u" + hashlib.sha256(key).hexdigest()[:16]


# --- inline codes ----------------------------------------------------------------------------------


def fill_inline(element: Any, text: str) -> None:
    """Put ``text`` into ``element`` with every placeholder and tag as a ``<ph>`` code."""
    position, number, last = 0, 0, None
    element.text = ""
    for match in CODE.finditer(text):
        chunk = text[position:match.start()]
        if last is None:
            element.text += chunk
        else:
            last.tail = (last.tail or "") + chunk
        number += 1
        code = match.group(0)
        last = etree.SubElement(element, _q("ph"), id=str(number),
                                ctype="x-html" if code.startswith("<") else "x-python-format")
        last.text = code
        position = match.end()
    rest = text[position:]
    if last is None:
        element.text += rest
    else:
        last.tail = (last.tail or "") + rest


def flatten_inline(element: Any, codes: dict[str, str]) -> str:
    """Return the plain text of a ``<source>``/``<target>``: codes back to their native text.

    A code a CAT tool wrote back empty (or as ``<x id="n"/>``) takes the source's code of the same
    id; segment markers (``<mrk>``, ``<g>``) keep only their content.
    """
    parts = [element.text or ""]
    for child in element:
        tag = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if tag in ("ph", "x", "bpt", "ept", "it", "bx", "ex"):
            native = "".join(child.itertext())
            parts.append(native or codes.get(child.get("id", ""), ""))
        elif tag in ("mrk", "g"):
            parts.append(flatten_inline(child, codes))
        parts.append(child.tail or "")
    return "".join(parts)


def _codes(element: Any) -> dict[str, str]:
    return {ph.get("id"): "".join(ph.itertext()) for ph in element.iter(_q("ph"))}


# --- export ----------------------------------------------------------------------------------------


def choose_letter(project: Project, name: str | None) -> Letter:
    letters = list_letters(project.templates)
    if name is None:
        if len(letters) != 1:
            raise UsageError("this project has several letters: name one with --letter",
                             hint=", ".join(letters))
        name = letters[0]
    if name not in letters:
        raise UsageError(f"no letter '{name}'", hint=did_you_mean(name, letters) or ", ".join(letters))
    return project.letter(name)


def _plural_examples(expr: str, forms: int) -> list[str]:
    """Return, per plural form, the first numbers that use it ("1, 21, 31 …")."""
    choose = _gettext.c2py(expr)
    found: list[list[int]] = [[] for _ in range(forms)]
    for n in range(0, 200):
        index = choose(n)
        if index < forms and len(found[index]) < 4:
            found[index].append(n)
    return [", ".join(map(str, numbers)) + (" …" if len(numbers) == 4 else "") for numbers in found]


def document_places(project: Project, letter: Letter, language: str
                    ) -> tuple[str, dict[tuple[str, str | None, str], list[str]]]:
    """Return the sample recipient and, per message, where it appears in that recipient's parts."""
    from .review import default_recipient

    composer = Composer(project, letter, project.registry())
    recipient = default_recipient(composer, language)
    places: dict[tuple[str, str | None, str], list[str]] = {}
    for part in letter.parts:
        doc = composer.compose(part, recipient if part.per_recipient else None, language)
        for number, segment in enumerate(doc.segments, start=1):
            key = (segment.catalog, segment.context, segment.msgid)
            place = f"{part.id}, segment {number} of {len(doc.segments)}"
            if place not in places.setdefault(key, []):
                places[key].append(place)
    return recipient, places


def export_xliff(project: Project, language: str, letter_name: str | None = None, *,
                 source_copy: bool = False) -> bytes:
    """Return the XLIFF 1.2 file of ``language`` for a letter and the letter frame.

    ``source_copy`` writes the English into every ``<target state="new">`` (for OmegaT, which
    translates the target's text); the catalog's translations then travel in TMX files beside it
    (:func:`write_omegat_project`).
    """
    letter = choose_letter(project, letter_name)
    languages = project.languages()
    if language not in languages or language == letter.source_language:
        raise UsageError(f"cannot export '{language}'", hint=did_you_mean(language, tuple(languages))
                         or "name a language the letter is translated into")
    recipient, places = document_places(project, letter, language)
    order = {key: index for index, key in enumerate(places)}
    root = etree.Element(_q("xliff"), nsmap={None: NS}, version="1.2")
    for owner in (letter.name, FRAME_DIR):
        po = project.catalog_path(owner, language)
        babel = read_catalog_file(po)
        file = etree.SubElement(root, _q("file"), {
            "original": f"{owner}/locale/{language}.po", "datatype": "x-gettext",
            "source-language": languages[letter.source_language].tag,
            "target-language": languages[language].tag,
            "product-name": letter.name, "product-version": letter.date, "tool-id": "pactdocs"})
        header = etree.SubElement(file, _q("header"))
        etree.SubElement(header, _q("tool"), {"tool-id": "pactdocs", "tool-name": "pactdocs",
                                              "tool-version": __version__})
        what = "the letter frame (letterhead, salutations, labels)" if owner == FRAME_DIR else \
            f"the letter '{letter.name}' and its annexes"
        note = etree.SubElement(header, _q("note"), {"from": "pactdocs"})
        note.text = (f"Texts of {what} in {languages[language].name}. Where a text appears is given "
                     f"for the letter to {recipient}. Import with: pactdocs i18n import FILE")
        body = etree.SubElement(file, _q("body"))
        templates = load_templates_of(project, owner)
        keyed = sorted(templates, key=lambda t: order.get((owner, t[0], t[1]), len(order) + t[3]))
        expr = babel.plural_expr
        for context, msgid, plural, _line in keyed:
            message = babel.get(msgid if plural is None else (msgid, plural), context=context)
            where = places.get((owner, context, msgid))
            _unit(body, owner, context, msgid, plural, message, where, recipient, expr,
                  babel.num_plurals, source_copy)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    problems = validate(data)
    if problems:  # our own output must be valid; anything else is a bug worth stopping for
        raise PactdocsError(f"the XLIFF export does not validate: {problems[0]}")
    return bytes(data)


def _unit(body: Any, owner: str, context: str | None, msgid: str, plural: str | None,
          message: Any, where: list[str] | None, recipient: str, expr: str, forms: int,
          source_copy: bool) -> None:
    uid = unit_id(context, msgid, plural)
    strings: list[str]
    if message is None:
        strings, fuzzy = [], False
    elif plural is None:
        strings, fuzzy = [str(message.string or "")], message.fuzzy
    else:
        strings, fuzzy = [str(s or "") for s in (message.string or ())], message.fuzzy
    notes = []
    if where:
        notes.append(f"Used in {'; '.join(where)} (letter to {recipient}).")
    else:
        notes.append(f"Not used in the letter to {recipient}; used for other recipients or parts.")
    if context:
        notes.append(f"Context: {context}")
    if message is not None and message.locations:
        notes.append("Template: " + ", ".join(f"{f}:{n}" if n else f for f, n in message.locations))
    # A location of its own per unit: translate-toolkit's xliff2po names same-source units apart
    # by their locations, so the male and female variants stay two messages.
    location = f"{owner}/{context}" if context else owner
    if plural is None:
        _trans_unit(body, uid, context, msgid, strings[0] if strings else "", fuzzy, notes, location,
                    source_copy)
        return
    group = etree.SubElement(body, _q("group"), id=uid, restype=PLURAL_GROUP)
    if context:
        group.set("resname", context)
    examples = _plural_examples(expr, forms)
    for index in range(forms):
        text = strings[index] if index < len(strings) else ""
        form_notes = [*notes, f"Plural form {index + 1} of {forms}, used for n = {examples[index]}"]
        _trans_unit(group, f"{uid}[{index}]", context, msgid if index == 0 else plural, text,
                    fuzzy, form_notes, f"{location}[{index}]", source_copy)


def _trans_unit(parent: Any, uid: str, context: str | None, source: str, target: str,
                fuzzy: bool, notes: list[str], location: str, source_copy: bool) -> None:
    unit = etree.SubElement(parent, _q("trans-unit"), id=uid)
    unit.set(f"{{{XML_NS}}}space", "preserve")
    if context:
        unit.set("resname", context)
    if source_copy:
        target, state = source, SOURCE_COPY_STATE
    else:
        state = "needs-translation" if not target else "needs-review-translation" if fuzzy else "final"
        if target and not fuzzy:
            unit.set("approved", "yes")
    fill_inline(etree.SubElement(unit, _q("source")), source)
    target_element = etree.SubElement(unit, _q("target"), state=state)
    fill_inline(target_element, target)
    if context:
        group = etree.SubElement(unit, _q("context-group"), purpose="information")
        etree.SubElement(group, _q("context"), {"context-type": "x-po-msgctxt"}).text = context
    group = etree.SubElement(unit, _q("context-group"), purpose="location")
    etree.SubElement(group, _q("context"), {"context-type": "sourcefile"}).text = location
    for text in notes:
        note = etree.SubElement(unit, _q("note"), {"from": "pactdocs"})
        note.text = text


class _LocalSchemas(etree.Resolver):
    """Resolve the strict schema's import of W3C's xml.xsd to the copy beside it, never the web."""

    def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
        if url.rsplit("/", 1)[-1] == "xml.xsd":
            return self.resolve_filename(str(XML_XSD), context)
        return None


_schema: Any = None


def xliff_schema() -> Any:
    """Return the official XLIFF 1.2 strict schema (loaded once, offline)."""
    global _schema
    if _schema is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        parser.resolvers.add(_LocalSchemas())
        _schema = etree.XMLSchema(etree.parse(str(SCHEMA), parser))
    return _schema


def validate(data: bytes) -> list[str]:
    """Return the schema errors of an XLIFF 1.2 document (empty when it is valid)."""
    schema = xliff_schema()
    document = etree.fromstring(data, _parser())
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _core(document: Any) -> Any:
    """Return a copy of ``document`` without other namespaces' elements and attributes.

    CAT tools add their own extensions (Trados's ``sdl:``, memoQ's ``mq:``); the strict schema
    accepts such content only with a schema for it, which pactdocs neither has nor reads. The
    XLIFF core around them is what is checked.
    """
    import copy

    core = copy.deepcopy(document)
    for element in list(core.iter()):
        if not isinstance(element.tag, str):
            continue
        if etree.QName(element).namespace != NS:
            parent = element.getparent()
            if parent is not None:
                if element.tail:
                    previous = element.getprevious()
                    if previous is not None:
                        previous.tail = (previous.tail or "") + element.tail
                    else:
                        parent.text = (parent.text or "") + element.tail
                parent.remove(element)
            continue
        for name in list(element.attrib):
            namespace = etree.QName(name).namespace
            if namespace not in (None, XML_NS):
                del element.attrib[name]
    return core


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def write_omegat_project(project: Project, language: str, letter_name: str | None,
                         out: Path) -> Path:
    """Write an OmegaT project folder for ``language``; return the XLIFF's path in it."""
    from ..batch.merge import write_atomic

    letter = choose_letter(project, letter_name)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        # An OmegaT project keeps the translator's work (omegat/project_save.tmx): never overwrite it.
        raise UsageError(f"{out} exists and is not empty",
                         hint="export into a new folder; import its target/*.xlf first if it holds "
                              "work done in OmegaT")
    data = export_xliff(project, language, letter.name, source_copy=True)
    languages = project.languages()
    source_tag, target_tag = languages[letter.source_language].tag, languages[language].tag
    name = f"{letter.name}.{language}.xlf"
    for folder in ("source", "target", "tm", "glossary", "dictionary", "omegat"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    write_atomic(out / "omegat.project", OMEGAT_PROJECT.format(
        source=source_tag, target=target_tag).encode())
    write_atomic(out / "omegat" / "filters.xml", OMEGAT_FILTERS.encode())
    write_atomic(out / "source" / name, data)
    confirmed, drafts = _translations(project, language, letter.name)
    write_atomic(out / "omegat" / "project_save.tmx",
                 _tmx(source_tag, target_tag, confirmed, name))
    write_atomic(out / "tm" / f"{letter.name}.{language}-drafts.tmx",
                 _tmx(source_tag, target_tag, drafts, None))
    return out / "source" / name


# OmegaT reads a project's own file filter settings from omegat/filters.xml: ELEMENT_ID keys
# alternative translations by the trans-unit id, so the male and female variants of one English
# text keep their own translations.
OMEGAT_FILTERS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<filters removeTags="false" removeSpacesNonseg="false" preserveSpaces="true" ignoreFileContext="false">
    <filter className="org.omegat.filters3.xml.xliff.XLIFFFilter" enabled="true">
        <files sourceFilenameMask="*.xlf" targetFilenamePattern="${filename}"/>
        <option name="alttransidtype" value="ELEMENT_ID"/>
    </filter>
</filters>
"""

OMEGAT_PROJECT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<omegat>
    <project version="1.0">
        <source_dir>source</source_dir>
        <source_dir_excludes/>
        <target_dir>target</target_dir>
        <tm_dir>tm</tm_dir>
        <glossary_dir>glossary</glossary_dir>
        <glossary_file>glossary/glossary.txt</glossary_file>
        <dictionary_dir>dictionary</dictionary_dir>
        <source_lang>{source}</source_lang>
        <target_lang>{target}</target_lang>
        <source_tok>org.omegat.tokenizer.DefaultTokenizer</source_tok>
        <target_tok>org.omegat.tokenizer.DefaultTokenizer</target_tok>
        <sentence_seg>false</sentence_seg>
        <support_default_translations>false</support_default_translations>
        <remove_tags>false</remove_tags>
    </project>
</omegat>
"""


def _translations(project: Project, language: str, letter_name: str
                  ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Return (unit id, source, target) of the approved and of the fuzzy translations."""
    confirmed: list[tuple[str, str, str]] = []
    drafts: list[tuple[str, str, str]] = []
    for owner in (letter_name, FRAME_DIR):
        babel = read_catalog_file(project.catalog_path(owner, language))
        for context, msgid, plural, _line in load_templates_of(project, owner):
            message = babel.get(msgid if plural is None else (msgid, plural), context=context)
            if message is None:
                continue
            uid = unit_id(context, msgid, plural)
            if plural is None:
                pairs = [(uid, msgid, str(message.string or ""))]
            else:
                pairs = [(f"{uid}[{i}]", msgid if i == 0 else plural, str(text or ""))
                         for i, text in enumerate(message.string or ())]
            for pair in pairs:
                if pair[2]:
                    (drafts if message.fuzzy else confirmed).append(pair)
    return confirmed, drafts


def omegat_text(text: str) -> str:
    """Return ``text`` as OmegaT shows an XLIFF segment: each inline code as a short tag.

    OmegaT 3.6 names a ``<ph>`` after the first letter of its content and numbers the tags of a
    segment from 0: ``%(title)s %(first_name)s`` is ``<t0/> <f1/>``.
    """
    number = -1

    def tag(match: re.Match[str]) -> str:
        nonlocal number
        number += 1
        letter = next((c for c in match.group(0) if c.isalpha()), "x")
        return f"<{letter}{number}/>"

    return CODE.sub(tag, text)


def _tmx(source_tag: str, target_tag: str, pairs: list[tuple[str, str, str]],
         file: str | None) -> bytes:
    root = etree.Element("tmx", version="1.4")
    etree.SubElement(root, "header", {
        "creationtool": "pactdocs", "creationtoolversion": __version__, "segtype": "paragraph",
        "o-tmf": "pactdocs", "adminlang": "en", "srclang": source_tag, "datatype": "plaintext"})
    body = etree.SubElement(root, "body")
    for uid, source, target in pairs:
        tu = etree.SubElement(body, "tu")
        if file is not None:  # an alternative translation of this one unit
            etree.SubElement(tu, "prop", type="file").text = file
            etree.SubElement(tu, "prop", type="id").text = uid
        for tag, text in ((source_tag, source), (target_tag, target)):
            tuv = etree.SubElement(tu, "tuv", {f"{{{XML_NS}}}lang": tag})
            etree.SubElement(tuv, "seg").text = omegat_text(text)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_export(project: Project, languages: list[str], letter_name: str | None,
                 out: Path | None) -> list[Path]:
    """Write one XLIFF per language; return the paths."""
    from ..batch.outdir import check_output_folder, write_atomic

    letter = choose_letter(project, letter_name)
    if out is not None and out.suffix in (".xlf", ".xliff") and len(languages) > 1:
        raise UsageError(f"--out {out} names one file, but {len(languages)} languages were asked for",
                         hint="give a folder, or one language")
    written = []
    for language in languages:
        if out is not None and out.suffix in (".xlf", ".xliff") and len(languages) == 1:
            path = out
        else:
            path = (out or project.root / "output" / "xliff") / f"{letter.name}.{language}.xlf"
        check_output_folder(path.parent, [project.templates, project.recipients], foreign_ok=True)
        write_atomic(path, export_xliff(project, language, letter.name))
        written.append(path)
    return written


# --- import ----------------------------------------------------------------------------------------


@dataclass
class Change:
    owner: str
    context: str | None
    msgid: str
    strings: tuple[str, ...]
    approved: bool
    line: int


@dataclass
class ImportReport:
    letter: str
    language: str
    changed: dict[str, list[Change]] = field(default_factory=dict)  # catalog path → changes
    approved: int = 0
    unchanged: int = 0
    empty: int = 0

    def lines(self) -> list[str]:
        out = [f"{relpath(path)}: {len(changes)} changed ({sum(c.approved for c in changes)} "
               "approved)" for path, changes in self.changed.items()]
        out.append(f"{self.letter} {self.language}: {sum(len(c) for c in self.changed.values())} "
                   f"changed, {self.unchanged} unchanged, {self.empty} without a target")
        return out


class ImportRefused(CatalogError):
    """An XLIFF file that cannot be imported; ``problems`` lists every reason with file:line."""

    def __init__(self, problems: list[PactdocsError]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the XLIFF file; nothing was imported",
                         hint="fix them in the CAT tool and export the file again")
        self.problems = problems


def _approved(unit: Any, target: Any) -> bool:
    if unit.get("approved") == "yes":
        return True
    qualifier = target.get("state-qualifier") or ""
    machine = qualifier in MACHINE_QUALIFIERS or qualifier.startswith("leveraged-")
    return target.get("state") in APPROVED_STATES and not machine


def import_xliff(project: Project, path: Path, *, letter_name: str | None = None,
                 language: str | None = None, dry_run: bool = False) -> ImportReport:
    """Read a (translated) XLIFF back into the catalogs; refuse it whole when anything is wrong."""
    where = relpath(path)
    try:
        document = etree.parse(str(path), _parser()).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        raise CatalogError(f"not a readable XLIFF file: {exc}", Location(where, line)) from None
    if document.tag != _q("xliff") or document.get("version") != "1.2":
        found = etree.QName(document).namespace or document.tag
        raise CatalogError(f"not an XLIFF 1.2 file (root {found!r}, version "
                           f"{document.get('version')!r})", Location(where, document.sourceline or 0),
                           "pactdocs reads the XLIFF 1.2 files it exports")
    schema = xliff_schema()
    if not schema.validate(_core(document)):
        raise ImportRefused([CatalogError(f"not valid XLIFF 1.2 (OASIS strict schema): {e.message}",
                                          Location(where, e.line)) for e in schema.error_log])
    files = document.findall(_q("file"))
    if not files:
        raise CatalogError("the XLIFF file has no <file> element", Location(where, 1))
    letters = list_letters(project.templates)
    problems: list[PactdocsError] = []
    letter, code = _identify(project, files[0], where, letters, letter_name, language)
    report = ImportReport(letter.name, code)
    plans: list[tuple[Path, list[Change]]] = []
    for file in files:
        owner = _file_owner(file, where, letter, code, problems)
        if owner is None:
            continue
        po = project.catalog_path(owner, code)
        plans.append((po, _read_units(project, file, owner, code, po, path, problems, report)))
    if problems:
        raise ImportRefused(problems)
    for po, changes in plans:
        if changes:
            report.changed[str(po)] = changes
            if not dry_run:
                _apply(po, changes)
    return report


def _identify(project: Project, file: Any, where: str, letters: list[str], letter_name: str | None,
              language: str | None) -> tuple[Letter, str]:
    """Return the letter and language a file is for, refusing another letter or language."""
    at = Location(where, file.sourceline or 0)
    name = file.get("product-name") or ""
    if name not in letters:
        raise CatalogError(f"this file is for letter '{name}', which this project does not have",
                           at, f"letters here: {', '.join(letters)}")
    if letter_name and name != letter_name:
        raise CatalogError(f"this file is for letter '{name}', not '{letter_name}'", at,
                           "import the file exported for this letter")
    original = file.get("original") or ""
    match = re.fullmatch(r"[^/]+/locale/([a-z]{2})\.po", original)
    if not match:
        raise CatalogError(f"unexpected original '{original}'", at,
                           "pactdocs reads the XLIFF files of `pactdocs i18n export`")
    code = match.group(1)
    letter = project.letter(name)
    if code not in letter.languages or code == letter.source_language:
        raise CatalogError(f"'{code}' is not a target language of letter '{name}'", at)
    if language and code != language:
        raise CatalogError(f"this file is for language '{code}', not '{language}'", at,
                           "import the file exported for this language")
    return letter, code


def _file_owner(file: Any, where: str, letter: Letter, code: str,
                problems: list[PactdocsError]) -> str | None:
    at = Location(where, file.sourceline or 0)
    original = file.get("original") or ""
    owner, _, rest = original.partition("/")
    if owner not in (letter.name, FRAME_DIR) or rest != f"locale/{code}.po":
        problems.append(CatalogError(f"<file original='{original}'> is not a catalog of letter "
                                     f"'{letter.name}' in '{code}'", at))
        return None
    if file.get("product-name") != letter.name:
        problems.append(CatalogError(f"<file> for letter '{file.get('product-name')}' in a file "
                                     f"for '{letter.name}'", at))
        return None
    return owner


def _read_units(project: Project, file: Any, owner: str, code: str, po: Path, xliff: Path,
                problems: list[PactdocsError], report: ImportReport) -> list[Change]:
    where = relpath(xliff)
    templates = {unit_id(c, m, p): (c, m, p) for c, m, p, _ in load_templates_of(project, owner)}
    babel = read_catalog_file(po)
    rule = load_catalog(po, code).plural
    forms = rule.nplurals
    changes: list[Change] = []
    units: dict[str, list[tuple[Any, Any]]] = {}
    for unit in file.iter(_q("trans-unit")):
        uid = unit.get("id") or ""
        base = uid.split("[", 1)[0]
        units.setdefault(base, []).append((uid, unit))
    for base, members in units.items():
        first = members[0][1]
        at = Location(where, first.sourceline or 0)
        if base not in templates:
            source = first.find(_q("source"))
            text = flatten_inline(source, {}) if source is not None else ""
            problems.append(CatalogError(
                f"outdated source text in {owner}: '{text[:50]}' is no longer in the letter", at,
                "the letter changed since this file was exported: export again and let the CAT "
                "tool's translation memory carry the translations over"))
            continue
        context, msgid, plural = templates[base]
        members.sort(key=lambda m: _form_index(m[0]))
        expected = [msgid] if plural is None else [msgid] + [plural] * (forms - 1)
        if len(members) != len(expected):
            problems.append(CatalogError(f"'{msgid[:40]}' has {len(members)} unit(s), {code} needs "
                                         f"{len(expected)}", at, "keep one unit per plural form"))
            continue
        strings, approvals, broken = [], [], False
        for (uid, unit), source_text in zip(members, expected, strict=True):
            source, target = unit.find(_q("source")), unit.find(_q("target"))
            codes = _codes(source) if source is not None else {}
            if source is None or flatten_inline(source, {}) != source_text:
                problems.append(CatalogError(
                    f"the source of unit {uid} differs from the letter's text '{source_text[:40]}'",
                    Location(where, unit.sourceline or 0),
                    "the source must not be edited; export again if the letter changed"))
                broken = True
                continue
            text = flatten_inline(target, codes) if target is not None else ""
            copied = target is not None and target.get("state") == SOURCE_COPY_STATE
            if copied and text == source_text:
                text = ""  # still the English copy: the translator did not confirm a translation
            strings.append(text)
            # A copy the CAT tool replaced, keeping the state (OmegaT does), is a confirmation.
            approvals.append(target is not None and bool(text) and (copied or _approved(unit, target)))
        if broken:
            continue
        if not any(strings):
            report.empty += 1
            continue
        entry = Entry(msgid, context, plural, tuple(strings), not all(approvals), at.line)
        found = check_entry(entry, rule, xliff)
        if any(not s for s in strings):
            found.append(CatalogError(f"'{msgid[:40]}': some plural forms have no target", at,
                                      "translate every plural form"))
        if found:
            problems.extend(found)
            continue
        approved = all(approvals)
        message = babel.get(msgid if plural is None else (msgid, plural), context=context)
        if message is None:
            problems.append(CatalogError(f"'{msgid[:40]}' is missing from {relpath(po)}", at,
                                         "run `pactdocs i18n update`, then import again"))
            continue
        current = ((str(message.string or ""),) if plural is None
                   else tuple(str(s or "") for s in message.string or ()))
        if current == tuple(strings) and message.fuzzy != approved:
            report.unchanged += 1
            continue
        changes.append(Change(owner, context, msgid, tuple(strings), approved, at.line))
        report.approved += approved
    return changes


def _form_index(uid: str) -> int:
    match = re.search(r"\[(\d+)\]$", uid)
    return int(match.group(1)) if match else 0


def _apply(po: Path, changes: list[Change]) -> None:
    babel = read_catalog_file(po)
    for change in changes:
        message = next(m for m in babel if m.id and m.context == change.context and (
            m.id == change.msgid or (isinstance(m.id, tuple | list) and m.id[0] == change.msgid)))
        message.string = change.strings[0] if not isinstance(message.id, tuple | list) \
            else tuple(change.strings)
        if change.approved:
            message.flags.discard("fuzzy")
        else:
            message.flags.add("fuzzy")
    write_catalog(babel, po)
