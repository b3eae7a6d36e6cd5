"""The review web page (`pactdocs serve`) in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import difflib
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import only_first_letter

from pactdocs.compose import Project
from pactdocs.errors import UsageError
from pactdocs.locale.pofile import parse_po, read_po, replace_entry
from pactdocs.translation.web import ReviewServer, make_server


@pytest.fixture
def project(project: Path) -> Path:
    """A copy of the project with the first sample letter only (see conftest.only_first_letter)."""
    return only_first_letter(project)

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LETTER = "pact-implementation"
FEMALE = "forms_of_address.ambassador.female.salutation"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture
def server(project: Path) -> Iterator[ReviewServer]:
    httpd = make_server(Project(project), port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Playwright gives every launch a fresh, temporary profile (--user-data-dir) of its own.
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def frame_po(project: Path) -> Path:
    return project / "letter_templates" / "_frame" / "locale" / "fr.po"


def entry(po: Path, context: str | None, msgid: str):  # type: ignore[no-untyped-def]
    return next(e for e in read_po(po).entries if e.context == context and e.msgid == msgid)


def segment_of(page: object, context: str) -> object:
    return page.locator(f"section.segment:has(input[name=context][value='{context}'])").first  # type: ignore[attr-defined]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "preview.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def changed_lines(before: bytes, after: bytes) -> list[str]:
    diff = difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), n=0,
                                lineterm="")
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def open_french(page: object, server: ReviewServer) -> None:
    page.goto(server.url)  # type: ignore[attr-defined]
    page.get_by_role("link", name="fr — French").click()  # type: ignore[attr-defined]
    page.wait_for_selector("section.segment")  # type: ignore[attr-defined]


def test_edit_and_approve_a_segment_changes_the_po_and_the_preview(
        server: ReviewServer, page: object, project: Path, tmp_path: Path) -> None:
    po = frame_po(project)
    before = po.read_bytes()
    open_french(page, server)
    assert page.locator("header.top").inner_text().endswith("fr (French)")  # type: ignore[attr-defined]
    first_image = page.locator("aside.preview img").first.get_attribute("src")  # type: ignore[attr-defined]
    segment = segment_of(page, FEMALE)
    assert "FUZZY" in segment.locator(".badge").inner_text()  # type: ignore[attr-defined]
    assert segment.locator(".source .rendered").inner_text() == "Dear Ambassador,"  # type: ignore[attr-defined]
    segment.locator("textarea").fill("Madame la Représentante permanente,")  # type: ignore[attr-defined]
    page.screenshot(path="/tmp/pactdocs-web-edit.png")  # type: ignore[attr-defined]
    segment.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
    saved = segment_of(page, FEMALE)
    sync_api.expect(saved.locator(".notice")).to_have_text("Approved and saved.")  # type: ignore[attr-defined]
    sync_api.expect(saved.locator(".badge")).to_have_text("translated")  # type: ignore[attr-defined]
    # The .po: that one entry changed (text, fuzzy mark gone), every other line as it was.
    after = po.read_bytes()
    salutation = entry(po, FEMALE, "Dear Ambassador,")
    assert (salutation.strings[0], salutation.fuzzy) == ("Madame la Représentante permanente,", False)
    assert changed_lines(before, after) == ["-#, fuzzy", "-msgstr \"Madame l'Ambassadrice,\"",
                                            "+msgstr \"Madame la Représentante permanente,\""]
    # The preview beside it was fetched again: new images, and the PDF reads the new text.
    page.wait_for_function("(old) => document.querySelector('aside.preview img').src.indexOf(old) < 0",  # type: ignore[attr-defined]
                           arg=first_image.split("?v=")[1])
    pdf_link = page.locator("aside.preview a.pdf").get_attribute("href")  # type: ignore[attr-defined]
    response = page.request.get(urllib.parse.urljoin(server.url, pdf_link))  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body(), tmp_path)
    assert "Madame la Représentante permanente," in text
    lines = [line.strip() for line in text.splitlines()]
    assert "Madame l'Ambassadrice," not in lines  # the old salutation (the closing keeps its own)
    page.screenshot(path="/tmp/pactdocs-web-approved.png", full_page=False)  # type: ignore[attr-defined]


def test_a_broken_placeholder_is_refused_at_the_segment(server: ReviewServer, page: object,
                                                        project: Path) -> None:
    po = frame_po(project)
    before = po.read_bytes()
    open_french(page, server)
    segment = segment_of(page, "labels.place_date")
    segment.locator("textarea").fill("%(lieu)s, le %(date)s")  # type: ignore[attr-defined]
    segment.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    refused = segment_of(page, "labels.place_date")
    sync_api.expect(refused.locator("ul.errors")).to_contain_text("%(lieu)s")  # type: ignore[attr-defined]
    sync_api.expect(refused.locator("ul.errors")).to_contain_text("%(place)s")  # type: ignore[attr-defined]
    assert refused.locator("textarea").input_value() == "%(lieu)s, le %(date)s"  # type: ignore[attr-defined]
    assert po.read_bytes() == before
    refused.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    page.screenshot(path="/tmp/pactdocs-web-refused.png")  # type: ignore[attr-defined]


def test_a_change_on_disk_after_loading_refuses_the_save_and_keeps_the_text(
        server: ReviewServer, page: object, project: Path) -> None:
    po = frame_po(project)
    open_french(page, server)
    # Another tool (here: the catalog API) changes the file while the page is open.
    data = po.read_bytes()
    other = entry(po, FEMALE, "Dear Ambassador,")
    po.write_bytes(replace_entry(data, po, other.context, other.msgid, ["Madame,"], True))
    changed = po.read_bytes()
    segment = segment_of(page, FEMALE)
    segment.locator("textarea").fill("Madame l'Ambassadrice et chère collègue,")  # type: ignore[attr-defined]
    segment.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
    refused = segment_of(page, FEMALE)
    sync_api.expect(refused.locator("ul.errors")).to_contain_text("changed on disk")  # type: ignore[attr-defined]
    sync_api.expect(refused.locator("ul.errors")).to_contain_text("Madame,")  # type: ignore[attr-defined]
    assert refused.locator("textarea").input_value() == "Madame l'Ambassadrice et chère collègue,"  # type: ignore[attr-defined]
    assert po.read_bytes() == changed
    # Having seen the text on disk, the translator saves again on purpose: now it is written.
    refused.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
    sync_api.expect(segment_of(page, FEMALE).locator(".notice")).to_have_text("Approved and saved.")  # type: ignore[attr-defined]
    assert entry(po, FEMALE, "Dear Ambassador,").strings[0] == "Madame l'Ambassadrice et chère collègue,"


def test_keyboard_only_approval(server: ReviewServer, page: object, project: Path) -> None:
    po = frame_po(project)
    open_french(page, server)
    sections = page.locator("section.segment")  # type: ignore[attr-defined]
    ids = [sections.nth(i).get_attribute("id") for i in range(sections.count())]
    target = segment_of(page, FEMALE).get_attribute("id")  # type: ignore[attr-defined]
    for _ in range(ids.index(target) + 1):
        page.keyboard.press("Alt+ArrowDown")  # type: ignore[attr-defined]
    focused = page.evaluate("document.activeElement.closest('section.segment').id")  # type: ignore[attr-defined]
    assert focused == target
    page.keyboard.press("Control+a")  # type: ignore[attr-defined]
    page.keyboard.type("Madame la Représentante,")  # type: ignore[attr-defined]
    page.keyboard.press("Control+Shift+Enter")  # type: ignore[attr-defined]
    sync_api.expect(page.locator(f"#{target} .notice")).to_have_text("Approved and saved.")  # type: ignore[attr-defined]
    salutation = entry(po, FEMALE, "Dear Ambassador,")
    assert (salutation.strings[0], salutation.fuzzy) == ("Madame la Représentante,", False)
    # Focus stays on the segment, so the next Alt+↓ goes on from there.
    assert page.evaluate("document.activeElement.closest('section.segment').id") == target  # type: ignore[attr-defined]
    page.keyboard.press("Alt+ArrowDown")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.closest('section.segment').id") == \
        ids[ids.index(target) + 1]  # type: ignore[attr-defined]


def test_plain_forms_work_without_javascript(browser: object, server: ReviewServer,
                                             project: Path) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        open_french(page, server)
        segment = segment_of(page, "labels.place_date")
        segment.locator("textarea").fill("%(place)s, le %(date)s")  # type: ignore[attr-defined]
        segment.get_by_role("button", name="Approve").click()  # type: ignore[attr-defined]
        page.wait_for_url(re.compile(r".*#s-\d+$"))
        assert "translated" in segment_of(page, "labels.place_date").locator(".badge").inner_text()  # type: ignore[attr-defined]
        placed = entry(frame_po(project), "labels.place_date", "%(place)s, %(date)s")
        assert (placed.strings[0], placed.fuzzy) == ("%(place)s, le %(date)s", False)
    finally:
        context.close()


def _post(server: ReviewServer, path: str, fields: dict[str, str],
          headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(urllib.parse.urljoin(server.url, path), method="POST",
                                     data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_a_save_without_the_csrf_token_is_refused(server: ReviewServer, project: Path) -> None:
    po = frame_po(project)
    before = po.read_bytes()
    fields = {"to": "BE", "anchor": "s-7", "owner": "_frame", "msgid": "Dear Ambassador,",
              "has_context": "1", "context": FEMALE, "action": "approve",
              "version": __import__("hashlib").sha256(before).hexdigest(), "target-0": "Pirate,"}
    assert _post(server, f"/letters/{LETTER}/fr/save", fields) == 403
    assert _post(server, f"/letters/{LETTER}/fr/save", {**fields, "csrf": "guessed"}) == 403
    # The right token from another site's page (Origin) is refused as well.
    assert _post(server, f"/letters/{LETTER}/fr/save", {**fields, "csrf": server.site.csrf},
                 {"Origin": "http://evil.example"}) == 403
    assert po.read_bytes() == before


def test_names_from_the_url_are_checked_before_any_path_is_built(server: ReviewServer,
                                                                 project: Path) -> None:
    base = server.url.rstrip("/")
    for path in ("/letters/pact-implementation/..%2F..%2F..%2Fetc",
                 "/letters/pact-implementation/fr%2F..%2F..",
                 "/letters/pact-implementation/../../etc/passwd",
                 "/letters/..%2Frecipients/fr",
                 "/letters/pact-implementation/en",  # the source language has no catalog
                 "/letters/pact-implementation/fr?to=..%2F..%2Fx",
                 "/letters/pact-implementation/fr/preview/..%2F..%2Fx/letter.pdf",
                 "/letters/pact-implementation/fr/preview/BE/..%2Fletter.pdf",
                 "/static/..%2F..%2Fweb.py"):
        assert _get(base + path) == 404, path
    fields = {"csrf": server.site.csrf, "to": "BE", "anchor": "s-1", "owner": "../../recipients",
              "msgid": "x", "has_context": "0", "context": "", "version": "", "target-0": "x"}
    assert _post(server, f"/letters/{LETTER}/fr/save", fields) == 404
    assert _post(server, f"/letters/{LETTER}/..%2F..%2Fx/save", fields) == 404
    # A page from this server answers to 127.0.0.1 only (no DNS rebinding).
    request = urllib.request.Request(server.url, headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    refused.value.close()
    assert refused.value.code == 403


def test_the_page_previews_any_recipient_of_the_registries(server: ReviewServer) -> None:
    """The recipient list offers the letter's own recipients; an agency head or a person of
    people.yaml may be asked for by name (?to=), an unknown name is a 404."""
    base = server.url.rstrip("/")
    with urllib.request.urlopen(f"{base}/letters/{LETTER}/fr?to=emcdda", timeout=30) as response:
        page = response.read().decode("utf-8")
    assert "Goosdeel" in page and "Monsieur le Directeur," in page
    chooser = page[page.index('<select name="to">'):]
    options = re.findall(r'<option value="([^"]+)"( selected)?', chooser[:chooser.index("</select>")])
    assert options[0] == ("emcdda", " selected")
    assert [code for code, _ in options[1:4]] == ["BE", "BG", "CZ"] and len(options) == 28
    with urllib.request.urlopen(f"{base}/letters/{LETTER}/de?to=de-bamf-sample",
                                timeout=30) as response:
        assert "Frau Dr." in response.read().decode("utf-8")
    assert _get(f"{base}/letters/{LETTER}/fr?to=no-such-person") == 404


def test_another_interface_needs_a_token_on_every_request(project: Path) -> None:
    with pytest.raises(UsageError):
        make_server(Project(project), host="127.0.0.2", port=0)
    httpd = make_server(Project(project), host="127.0.0.2", port=0, token="a-long-secret-token-17")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        plain = httpd.url.split("?")[0]
        assert _get(plain) == 401
        assert _get(plain + "?token=wrong-token-wrong-token") == 401
        with urllib.request.urlopen(httpd.url, timeout=30) as response:
            assert response.status == 200
            cookie = response.headers["Set-Cookie"].split(";")[0]
        request = urllib.request.Request(plain + "static/web.css", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_replace_entry_keeps_every_other_byte(project: Path) -> None:
    po = frame_po(project)
    data = po.read_bytes()
    # A file with Windows line ends and no final newline keeps both.
    crlf = data.replace(b"\n", b"\r\n").rstrip(b"\r\n")
    entries = parse_po(po, crlf).entries
    last = entries[-1]
    new = replace_entry(crlf, po, last.context, last.msgid, ["Autre texte"], False)
    assert not new.endswith(b"\n") and b"\n" not in new.replace(b"\r\n", b"")
    other_flags = ", ".join(sorted(last.flags - {"fuzzy"}))
    assert changed_lines(crlf.replace(b"\r\n", b"\n"), new.replace(b"\r\n", b"\n")) == [
        f"-#, {', '.join(['fuzzy', *sorted(last.flags - {'fuzzy'})])}",
        *([f"+#, {other_flags}"] if other_flags else []),
        f'-msgstr "{last.strings[0]}"', '+msgstr "Autre texte"']
    assert parse_po(po, new).entries[-1].strings[0] == "Autre texte"
    # Unchanged text and flags give the same bytes; a plural entry keeps all its forms.
    female = next(e for e in entries if e.context == FEMALE)
    assert replace_entry(data, po, female.context, female.msgid, [female.strings[0]], True) == data
    plural = next(e for e in parse_po(po, data).entries if e.plural)
    forms = [f"forme {i}" for i in range(len(plural.strings))]
    changed = replace_entry(data, po, plural.context, plural.msgid, forms, True)
    again = next(e for e in parse_po(po, changed).entries if e.msgid == plural.msgid)
    assert list(again.strings.values()) == forms and again.fuzzy
    assert len(changed_lines(data, changed)) == 2 * len(forms)


def test_serve_refuses_another_interface_without_a_token(project: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import run_cli

    assert run_cli(project, "serve", "--host", "127.0.0.2", "--port", "0") == 2
    assert "--token" in capsys.readouterr().err
    assert run_cli(project, "serve", "--letter", "no-such-letter", "--port", "0") == 2
    assert "no letter 'no-such-letter'" in capsys.readouterr().err


def test_a_browser_that_went_away_is_not_reported_a_bug_is(
        server: ReviewServer, capsys: pytest.CaptureFixture[str]) -> None:
    for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
        try:
            raise gone
        except ConnectionError:
            server.handle_error(None, ("127.0.0.1", 50000))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("a bug in a page")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 50000))
    assert "ValueError: a bug in a page" in capsys.readouterr().err
