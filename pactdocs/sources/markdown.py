"""Letters written in Markdown: each paragraph, heading, list item and table cell is a message.

Authors write CommonMark with tables. ``{{ name }}`` is a merge field (a value declared under
``fields:`` in ``letter.yaml``, or the recipient's ``recipient.name``, ``recipient.person``, …);
in the catalog it becomes the named placeholder ``%(name)s`` (``%(recipient_name)s``). An HTML
comment ``<!-- Translators: … -->`` before a block becomes that block's note for translators, and
``<!-- for each state in member_states -->`` before a table repeats its last row once per
Member State, with ``{{ state.name }}``, ``{{ state.contact }}``, ``{{ state.mailbox }}`` in it.

This module only reads: it turns a Markdown file into :class:`MdBlock` items whose messages
carry their source line, so catalogs, checks and the composer share one reading of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Location, TemplateError, did_you_mean, nearest, relpath

# What a template may read about the recipient, and about each item of a loop.
RECIPIENT_FIELDS = ("code", "name", "person", "email")
LOOPS = {"member_states": ("code", "name", "contact", "mailbox")}

_FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)\s*\}\}")
_COMMENT = re.compile(r"^\s*<!--(.*?)-->\s*$", re.S)
_REPEAT = re.compile(r"^\s*for each (\w+) in (\w+)\s*$")


@dataclass(frozen=True)
class MdMessage:
    """A translatable text: Markdown inline source with ``%(name)s`` placeholders."""

    msgid: str
    fields: tuple[str, ...]  # the dotted field names, in the order of their placeholders
    line: int
    comment: str | None = None

    @property
    def placeholders(self) -> dict[str, str]:
        """Return placeholder name → field name."""
        return {_placeholder(f): f for f in self.fields}


@dataclass(frozen=True)
class MdCell:
    """A table cell: a message, or a single field of the loop (data, nothing to translate)."""

    message: MdMessage | None
    data_field: str | None = None


@dataclass
class MdBlock:
    kind: str  # "heading", "paragraph", "list", "table"
    line: int
    messages: list[MdMessage] = field(default_factory=list)  # heading/paragraph: one; list: items
    level: int = 2
    ordered: bool = False
    header: list[MdCell] = field(default_factory=list)
    rows: list[list[MdCell]] = field(default_factory=list)
    repeat: tuple[str, str] | None = None  # (loop variable, collection) for the last row


def _placeholder(name: str) -> str:
    return name.replace(".", "_")


def _parser() -> Any:
    from markdown_it import MarkdownIt

    # No raw HTML, images or code: a letter is prose, and the body parser accepts no more.
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable(["image", "backticks"])


def render_inline(text: str) -> str:
    """Return the HTML of one message's Markdown inline text (emphasis, links)."""
    return str(_parser().renderInline(text))


def parse_markdown(path: Path, known_fields: tuple[str, ...]) -> list[MdBlock]:
    """Return the blocks of the Markdown letter part at ``path``; raise TemplateError on slips.

    ``known_fields`` are the letter's declared fields; ``recipient.*`` and loop fields are known
    too. Every error names the file and line and, where it can, the nearest valid field.
    """
    shown = relpath(path)
    source = path.read_text("utf-8")
    lines = source.split("\n")
    comments: dict[int, str] = {}  # line (1-based) after the comment → comment text
    clean = []
    pending: str | None = None
    for number, text_line in enumerate(lines, start=1):
        m = _COMMENT.match(text_line)
        if m:
            pending = " ".join(m.group(1).split())
            clean.append("")
            continue
        if "<!--" in text_line:
            raise TemplateError("an HTML comment must stand on a line of its own",
                                Location(shown, number), "write <!-- … --> alone on its line")
        if pending is not None and text_line.strip():
            comments[number] = pending
            pending = None
        clean.append(text_line)
        opened = text_line.count("{{") - text_line.count("}}")
        if opened > 0:
            raise TemplateError("a merge field is not closed: '{{' without '}}'", Location(shown, number),
                                "write a field as {{ name }} on one line")
        if opened < 0:
            raise TemplateError("'}}' without '{{'", Location(shown, number), "write a field as {{ name }}")
    tokens = _parser().parse("\n".join(clean))
    blocks: list[MdBlock] = []
    loop_var: str | None = None

    def message(content: str, line: int, comment: str | None) -> MdMessage:
        fields = []
        for m in _FIELD.finditer(content):
            name = m.group(1)
            _check_field(name, known_fields, loop_var, Location(shown, line))
            fields.append(name)
        rest = _FIELD.sub("", content)
        if "{{" in rest or "}}" in rest or "{%" in rest:
            raise TemplateError("a merge field is written wrongly", Location(shown, line),
                                "write a field as {{ name }}: letters, digits and _ , one dot at most")
        text = content.replace("%", "%%")
        text = _FIELD.sub(lambda m: f"%({_placeholder(m.group(1))})s", text)
        return MdMessage(" ".join(text.split()), tuple(dict.fromkeys(fields)), line, comment)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        line = (token.map[0] + 1) if token.map else 0
        comment = comments.get(line)
        if token.type == "heading_open":
            level = int(token.tag[1])
            blocks.append(MdBlock("heading", line, [message(tokens[i + 1].content, line, comment)],
                                  level=min(max(level + 1, 2), 3)))
            i += 3
            continue
        if token.type == "paragraph_open" and token.level == 0:
            blocks.append(MdBlock("paragraph", line, [message(tokens[i + 1].content, line, comment)]))
            i += 3
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            block = MdBlock("list", line, ordered=token.type == "ordered_list_open")
            depth = 0
            while True:
                t = tokens[i]
                if t.type in ("bullet_list_open", "ordered_list_open"):
                    depth += 1
                    if depth > 1:
                        raise TemplateError("lists inside lists are not supported",
                                            Location(shown, (t.map[0] + 1) if t.map else line))
                elif t.type in ("bullet_list_close", "ordered_list_close"):
                    depth -= 1
                    if depth == 0:
                        break
                elif t.type == "inline":
                    item_line = (t.map[0] + 1) if t.map else line
                    block.messages.append(message(t.content, item_line, comments.get(item_line)))
                i += 1
            blocks.append(block)
            i += 1
            continue
        if token.type == "table_open":
            block = MdBlock("table", line)
            repeat = _REPEAT.match(comment or "")
            if repeat:
                var, collection = repeat.group(1), repeat.group(2)
                if collection not in LOOPS:
                    raise TemplateError(f"unknown list '{collection}' to repeat over", Location(shown, line),
                                        did_you_mean(collection, list(LOOPS))
                                        or f"use one of {', '.join(LOOPS)}")
                block.repeat = (var, collection)
            header_cells = _table_cells(lines, token.map or [0, 0])
            row: list[MdCell] = []
            in_body = False
            i += 1
            while tokens[i].type != "table_close":
                t = tokens[i]
                if t.type == "tbody_open":
                    in_body = True
                    loop_var = block.repeat[0] if block.repeat else None
                elif t.type == "tr_open":
                    row = []
                    row_line = (t.map[0] + 1) if t.map else line
                    if in_body and len(_split_row(lines[row_line - 1])) != header_cells:
                        raise TemplateError(
                            f"this table row has {len(_split_row(lines[row_line - 1]))} cell(s), "
                            f"the header {header_cells}", Location(shown, row_line),
                            "give every row as many cells as the header, separated by |")
                elif t.type == "inline":
                    only = _FIELD.fullmatch(t.content.strip())
                    cell_line = row_line
                    if only and loop_var and only.group(1).startswith(f"{loop_var}."):
                        _check_field(only.group(1), known_fields, loop_var, Location(shown, cell_line))
                        row.append(MdCell(None, only.group(1)))
                    else:
                        row.append(MdCell(message(t.content, cell_line, None) if t.content.strip()
                                          else None))
                elif t.type == "tr_close":
                    (block.rows.append(row) if in_body else block.header.extend(row))
                i += 1
            loop_var = None
            blocks.append(block)
            i += 1
            continue
        if token.type in ("hr", "code_block", "fence", "html_block", "blockquote_open"):
            raise TemplateError(f"a letter cannot hold a {token.type.split('_')[0]}", Location(shown, line),
                                "use paragraphs, headings, lists and tables")
        i += 1
    return blocks


def _split_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return re.split(r"(?<!\\)\|", body)


def _table_cells(lines: list[str], span: list[int]) -> int:
    return len(_split_row(lines[span[0]])) if span and span[0] < len(lines) else 0


def _check_field(name: str, known: tuple[str, ...], loop_var: str | None, where: Location) -> None:
    head, _, attr = name.partition(".")
    if attr:
        if head == "recipient":
            choices = RECIPIENT_FIELDS
        elif loop_var and head == loop_var:
            choices = next(iter(LOOPS.values()))
        else:
            options = ["recipient", *([loop_var] if loop_var else [])]
            raise TemplateError(f"unknown merge field '{name}'", where,
                                did_you_mean(head, options) or f"fields with a dot: {', '.join(options)}.…")
        if attr not in choices:
            best = nearest(attr, choices)
            raise TemplateError(f"unknown merge field '{name}'", where,
                                f"did you mean '{head}.{best}'?" if best
                                else f"{head} has {', '.join(choices)}")
        return
    if name not in known:
        raise TemplateError(f"unknown merge field '{name}'", where,
                            did_you_mean(name, known) or (f"declared fields: {', '.join(known)}" if known
                                                          else "declare it under fields: in letter.yaml"))


def messages_of(blocks: list[MdBlock]) -> list[MdMessage]:
    """Return every message of ``blocks`` in reading order."""
    found: list[MdMessage] = []
    for block in blocks:
        found.extend(block.messages)
        for cell in [*block.header, *(c for row in block.rows for c in row)]:
            if cell.message is not None:
                found.append(cell.message)
    return found
