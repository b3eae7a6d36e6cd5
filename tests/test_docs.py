"""The authoring guide runs: every command and example file in docs/writing-a-letter.md, in order.

Convention for the guide's fenced blocks (the fence line's info string):

- ```` ```sh ````: each line is a ``pactdocs`` command, run in a copy of the project and expected
  to exit 0 (``pactdocs serve`` is started, asked for its page, and stopped);
- ```` ```markdown file=PATH ```` / ```` ```yaml file=PATH ````: the block is the whole of PATH;
- ```` ```yaml edit=PATH ````: each ``key: value`` line replaces the line of PATH with that key.

Any other fence fails the test, so no example in the guide goes unrun.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, replace_in, run_cli

GUIDE = ROOT / "docs" / "writing-a-letter.md"
_FENCE = re.compile(r"^```(\S+)(?: (file|edit)=(\S+))?\s*\n(.*?)^```\s*$", re.M | re.S)


def blocks() -> list[tuple[int, str, str | None, str | None, str]]:
    """Return (line, language, action, path, body) for every fenced block of the guide."""
    text = GUIDE.read_text("utf-8")
    found = [(text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2), m.group(3), m.group(4))
             for m in _FENCE.finditer(text)]
    assert len(found) * 2 == len(re.findall(r"^```", text, re.M)), "a fence the pattern did not read"
    return found


def make_draft(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Contact points", level=1)
    p = document.add_paragraph("Please reply ")
    p.add_run("soon").bold = True
    document.add_paragraph("a first point", style="List Bullet")
    document.save(str(path))


def serve(project: Path, args: list[str]) -> None:
    """Start ``pactdocs serve`` on a free port, fetch its page, stop it."""
    command = [str(Path(sys.executable).parent / "pactdocs"), "--project", str(project), *args,
               "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = re.search(r"http://\S+", first)
        assert url, first
        with urllib.request.urlopen(url.group(0), timeout=20) as page:
            assert page.status == 200 and "contact-points" in page.read().decode("utf-8")
    finally:
        os.kill(server.pid, signal.SIGINT)
        assert server.wait(timeout=20) == 0
        if server.stdout:
            server.stdout.close()


def test_every_example_of_the_guide_runs(project: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project)
    make_draft(project / "draft.docx")  # the Word draft the guide's reader brings
    ran = 0
    for line, language, action, target, body in blocks():
        where = f"{GUIDE.name}:{line}"
        if language == "sh" and action is None:
            for command in body.splitlines():
                if not command.strip():
                    continue
                words = shlex.split(command, comments=True)
                assert words[0] == "pactdocs", f"{where}: only pactdocs commands are run: {command}"
                if words[1] == "serve":
                    serve(project, words[1:])
                else:
                    capsys.readouterr()
                    code = run_cli(project, *words[1:])
                    out = capsys.readouterr()
                    assert code == 0, f"{where}: {command} exited {code}\n{out.out}\n{out.err}"
                ran += 1
        elif language in ("markdown", "yaml") and action == "file" and target:
            path = project / target
            assert path.parent.is_dir(), f"{where}: {target}'s folder does not exist yet"
            path.write_text(body, "utf-8")
            ran += 1
        elif language == "yaml" and action == "edit" and target:
            path = project / target
            text = path.read_text("utf-8")
            for change in body.splitlines():
                key = change.split(":", 1)[0]
                text, n = re.subn(rf"^{re.escape(key)}:.*$", change.replace("\\", r"\\"), text,
                                  flags=re.M)
                assert n == 1, f"{where}: no line '{key}:' in {target}"
            path.write_text(text, "utf-8")
            ran += 1
        else:
            pytest.fail(f"{where}: a fence this test cannot run ({language} {action or ''})")
    assert ran > 25
    # What the guide says check prints after a slip is what check prints.
    quoted = re.search(r"`(letter_templates/contact-points/letter\.md:\d+: [^`]+)`",
                       GUIDE.read_text("utf-8"))
    assert quoted
    replace_in(project / "letter_templates/contact-points/letter.md", "{{ reply_by }}", "{{ replyby }}")
    capsys.readouterr()
    assert run_cli(project, "check") == 1
    assert quoted.group(1) in capsys.readouterr().out
    # The guide's letter went through: final in English, one message in the outbox.
    assert list((project / "output/contact-points/outbox").glob("IE-en-*.eml"))
    assert "nl.po" in {p.name for p in (project / "letter_templates/contact-points/locale").iterdir()}
