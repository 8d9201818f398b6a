"""The job form's code editor (static/vendor/editor.js, CodeMirror 6) in a real browser.

A PowerShell script is edited as text in the Script field, with line numbers and syntax
highlighting, saved byte for byte (tabs, blank lines, a trailing newline, CRLF line endings),
and a run then hands pwsh exactly that text: a stand-in `pwsh` (JOBLEDGER_PWSH) decodes the
script from the wrapper it is fed and logs it. The editor keeps to the page's CSP (no
violation is reported) and the page still works without it (plain textareas).
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, serving
from tests.browser.test_pages import sign_in
from tests.browser.test_run_page import run_now, wait_for_run

expect.set_options(timeout=20_000)

# Tabs, a blank line, a brace (the editor would indent after it if typed as keystrokes)
# and a trailing newline: all must come back as written.
SCRIPT = (
    'param($name)\n\nforeach ($i in 1..2) {\n\tWrite-Output "Hello, $name #$i"\n\t\t# two tabs\n}\n'
)
# A first blank line too: HTML drops a newline right after <textarea>, the page must not.
CRLF_SCRIPT = '\r\nWrite-Output "one"\r\n\tWrite-Output "two"\r\n'

# A pwsh that answers the version probe, and for a run logs the user's script (base64, so
# the log line is one line) decoded from the wrapper on stdin's first line.
FAKE_PWSH = r"""#!/bin/sh
if [ "$5" = '$PSVersionTable.PSVersion.ToString()' ]; then echo 7.4.6; exit 0; fi
read -r wrapper
script=$(printf '%s' "$wrapper" | base64 -d |
    sed -n "s/.*FromBase64String('\([A-Za-z0-9+\/=]*\)')).*/\1/p")
echo "INFO: script-base64 $script"
"""


def listen_for_csp(page: Page) -> list[str]:
    """Every CSP violation, console error and missing resource the page reports, from now on.

    Chromium's own favicon request (a 404 it logs, which no page asked for) is not counted:
    a page's missing resources are its 404 responses.
    """
    seen: list[str] = []

    def on_console(message: Any) -> None:
        if message.text.startswith("Failed to load resource"):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", on_console)
    page.on(
        "response",
        lambda response: (
            seen.append(f"{response.status} {response.url}") if response.status == 404 else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def script_editor(page: Page) -> Any:
    return page.locator(".code-editor[data-language=powershell] .cm-content")


@pytest.fixture(scope="module")
def pwsh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second `jobledger serve` whose workers run the stand-in pwsh."""
    # World-readable: as root, jobs run as nobody.
    bin_dir = Path(tempfile.mkdtemp(prefix="jobledger-fake-pwsh-"))
    bin_dir.chmod(0o755)
    pwsh = bin_dir / "pwsh"
    pwsh.write_text(FAKE_PWSH)
    pwsh.chmod(0o755)
    with serving(tmp_path_factory.mktemp("jobledger-pwsh"), JOBLEDGER_PWSH=str(pwsh)) as running:
        yield running


def test_a_multi_line_powershell_script_typed_in_the_editor_is_saved_and_run_as_written(
    browser: Any, pwsh_server: Server
) -> None:
    context = browser.new_context(base_url=pwsh_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = listen_for_csp(page)
    sign_in(page, pwsh_server.admin_token)
    page.goto("/jobs/new")
    page.get_by_label("Name", exact=True).fill("Editor script")
    # The Script field belongs to powershell jobs: hidden until that type is chosen.
    expect(page.locator("#script").locator("xpath=..")).to_be_hidden()
    page.get_by_label("Job type").select_option("powershell")
    editor = script_editor(page)
    expect(editor).to_be_visible()
    expect(page.locator("#script")).to_be_hidden()  # the textarea stays, under the editor
    # The example script is in place; the editor numbers lines and highlights the syntax.
    expect(editor).to_contain_text("Write-Output")
    field = page.locator(".code-editor[data-language=powershell]")
    expect(field.locator(".cm-lineNumbers .cm-gutterElement", has_text="1")).to_be_visible()
    colours = editor.evaluate(
        "(el) => Array.from(el.querySelectorAll('.cm-line span'), (s) => getComputedStyle(s).color)"
    )
    plain = editor.evaluate("(el) => getComputedStyle(el).color")
    assert [c for c in colours if c != plain], editor.inner_html()
    # Typed, then the rest inserted as it is (keystrokes would auto-indent; tabs must stay).
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(SCRIPT[:5])
    page.keyboard.insert_text(SCRIPT[5:])
    expect(page.locator("#script")).to_have_value(SCRIPT)
    # The program JSON holds the rest of the program: for powershell, its options.
    expect(page.locator("#program")).to_have_value("{}")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}\?"))
    job_id = page.url.split("/jobs/")[1].split("?")[0]

    with pwsh_server.api() as api:
        stored = api.get(f"/api/jobs/{job_id}").json()
    assert stored["program"] == {"script": SCRIPT}
    # The job page shows the script as text in the editor, not as a JSON string.
    expect(script_editor(page)).to_contain_text('Write-Output "Hello, $name #$i"')
    expect(page.locator("#program")).to_have_value("{}")

    run_id = run_now(pwsh_server, job_id, name="Ada")
    wait_for_run(pwsh_server, run_id, lambda run: run["status"] in ("succeeded", "failed"))
    with pwsh_server.api() as api:
        entries = api.get(f"/api/runs/{run_id}/logs").json()["items"]
    logged = [e["message"] for e in entries if e["message"].startswith("script-base64 ")]
    assert logged, entries
    assert base64.b64decode(logged[0].split(" ", 1)[1]).decode() == SCRIPT
    assert problems == [], problems
    context.close()


def test_editing_a_crlf_script_in_the_browser_keeps_its_line_endings(
    context: Any, server: Server
) -> None:
    with server.api() as api:
        made = api.post(
            "/api/jobs",
            json={
                "name": "CRLF script",
                "job_type": "powershell",
                "program": {"script": CRLF_SCRIPT, "fail_on_native_exit_code": True},
            },
        )
        assert made.status_code == 201, made.text
        job_id = made.json()["id"]
    page = context.new_page()
    problems = listen_for_csp(page)
    sign_in(page, server.admin_token)
    page.goto(f"/jobs/{job_id}")
    editor = script_editor(page)
    expect(editor).to_contain_text('Write-Output "two"')
    expect(page.locator("#program")).to_have_value('{\n  "fail_on_native_exit_code": true\n}')
    # A line added at the end, in the editor; the script's own CRLF endings are kept.
    editor.locator(".cm-line").last.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("exit 3\n")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    with server.api() as api:
        stored = api.get(f"/api/jobs/{job_id}").json()
    assert stored["program"] == {
        "script": CRLF_SCRIPT + "exit 3\r\n",
        "fail_on_native_exit_code": True,
    }
    # The job as it was shows its script as text, its other options as JSON.
    page.goto(f"/jobs/{job_id}/at?version=1")
    shown = page.locator("dd[data-field=script] pre").evaluate("(el) => el.textContent")
    assert shown == CRLF_SCRIPT.replace("\r\n", "\n")  # HTML reads CRLF as LF
    expect(page.locator("dd[data-field=program] pre")).to_have_text(
        '{\n  "fail_on_native_exit_code": true\n}'
    )
    # History shows the script change line by line: the added line marked as added.
    page.goto(f"/jobs/{job_id}/history")
    diff = page.locator("li.card").first.locator("ol.line-diff")
    expect(diff.locator("li.added")).to_have_text(["added: +exit 3"])
    expect(diff.locator("li.removed")).to_have_count(0)
    expect(diff.locator("li.same")).to_have_count(3)
    # Marked by classes, styled by code.css: an added line has its own background.
    background = diff.locator("li.added").evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert background == "rgb(230, 244, 234)", background
    assert problems == [], problems


def test_the_program_json_editor_feeds_the_live_json_check(context: Any, server: Server) -> None:
    page = context.new_page()
    problems = listen_for_csp(page)
    sign_in(page, server.admin_token)
    page.goto("/jobs/new")
    program = page.locator(".code-editor[data-language=json] .cm-content")
    expect(program).to_be_visible()
    # Labelled by the field's label, so it is found as the textarea was.
    expect(page.get_by_label("Program (JSON)")).to_have_count(1)
    program.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"argv": ["true"]')
    status = page.locator("#program").locator("xpath=..").locator(".json-status")
    expect(status).to_contain_text("not valid JSON")
    expect(program).to_have_attribute("aria-invalid", "true")
    # The form is not sent; the editor (not its hidden textarea) gets the focus.
    page.get_by_label("Name", exact=True).fill("Not sent")
    page.get_by_role("button", name="Create job").click()
    expect(program).to_be_focused()
    expect(page).to_have_url(re.compile(r"/jobs/new$"))
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("}")
    expect(status).to_have_text("Well-formed JSON object.")
    # Choosing another type leaves a program the user wrote alone.
    page.get_by_label("Job type").select_option("http")
    expect(page.locator("#program")).to_have_value('{"argv": ["true"]}')
    assert problems == [], problems


def test_without_javascript_the_fields_are_plain_textareas(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Token").fill(server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/jobs/new")
    expect(page.locator("textarea#script")).to_be_visible()
    expect(page.locator("textarea#program")).to_be_visible()
    expect(page.locator(".code-editor")).to_have_count(0)
    context.close()
