"""The PowerShell wrapper, checked with PowerShell's grammar where pwsh itself may be absent.

What must hold for every run: the wrapper parses cleanly, it defines $Parameters, $Secrets and
one variable per identifier-named parameter, and no value (a hostile one least of all) is
ever part of its text or of argv: values arrive on stdin as JSON data, never as code.
"""

from __future__ import annotations

import base64
import json
from uuid import uuid4

import pytest
import tree_sitter
import tree_sitter_powershell

from adapters.executors.powershell import PowerShellExecutor, pwsh_argv, pwsh_stdin
from adapters.executors.powershell_wrapper import BOOTSTRAP, wrapper
from adapters.executors.process import ProcessRunner, ProcessSpec
from domain.log_level import LogLevel
from jobtypes import Execution, Outcome, StopSignal

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
HOSTILE = "'; Remove-Item -Recurse -Force / ; $(Get-Secret) `\"`n\n@'\n'@\n\"@\n} { & calc"
SECRET = "hunter2-Zq9!$(x)'\""
SCRIPT = "Write-Verbose \"tenant $tenant\"\nWrite-Host 'done'\n"


def parse(text: str) -> tree_sitter.Tree:
    return PARSER.parse(text.encode())


def nodes(tree: tree_sitter.Tree, kind: str) -> list[tree_sitter.Node]:
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == kind:
            found.append(node)
        stack.extend(node.children)
    return found


def text(node: tree_sitter.Node) -> str:
    assert node.text is not None
    return node.text.decode()


def assignments(tree: tree_sitter.Tree) -> dict[str, str]:
    """Every `$name = value` in the wrapper: variable name -> the expression's text."""
    found = {}
    for node in nodes(tree, "assignment_expression"):
        target, _, value = node.children
        found[text(target)] = text(value)
    return found


def has_errors(tree: tree_sitter.Tree) -> bool:
    return tree.root_node.has_error or bool(nodes(tree, "ERROR"))


def stdin_values(data: bytes) -> tuple[str, dict]:
    line, _, rest = data.partition(b"\n")
    return base64.b64decode(line).decode(), json.loads(rest)


@pytest.mark.parametrize("threshold", list(LogLevel))
def test_the_wrapper_and_the_bootstrap_parse_without_errors(threshold):
    text_, _ = wrapper(SCRIPT, {"tenant": "acme", "count": 3, "note": HOSTILE}, threshold)
    assert not has_errors(parse(text_))
    assert not has_errors(parse(BOOTSTRAP))


def test_parameters_secrets_and_identifier_named_parameters_are_assigned():
    text_, skipped = wrapper(SCRIPT, {"tenant": "acme", "max_items": 5}, LogLevel.Info)
    assigned = assignments(parse(text_))
    assert assigned["$Parameters"] == "$__jobledgerInput['parameters']"
    assert assigned["$Secrets"] == "$__jobledgerInput['secrets']"
    assert assigned["$tenant"] == "$Parameters['tenant']"
    assert assigned["$max_items"] == "$Parameters['max_items']"
    assert skipped == []


def test_a_parameter_that_is_not_an_identifier_or_is_reserved_stays_in_parameters_only():
    names = {"a b": 1, "x'; $(evil)": 2, "Host": 3, "true": 4, "__jobledgerFailed": 5}
    text_, skipped = wrapper(SCRIPT, names, LogLevel.Info)
    assert sorted(skipped) == sorted(names)
    assigned = assignments(parse(text_))
    assert "$Host" not in assigned and "$true" not in assigned
    assert assigned["$__jobledgerFailed"] == "$false"  # the wrapper's own, not the parameter
    assert "evil" not in text_ and "a b" not in text_


def test_a_hostile_value_never_enters_the_wrapper_or_argv_only_stdin_as_data():
    parameters = {"note": HOSTILE, "nested": {"deeper": [HOSTILE]}}
    text_, _ = wrapper(SCRIPT, parameters, LogLevel.Info)
    assert HOSTILE not in text_
    for fragment in ("Remove-Item", "Get-Secret", "calc"):
        assert fragment not in text_
    assert all(HOSTILE not in arg for arg in pwsh_argv())
    data = pwsh_stdin(text_, parameters, {"API_KEY": SECRET})
    carried, values = stdin_values(data)
    assert carried == text_
    assert values == {"parameters": parameters, "secrets": {"API_KEY": SECRET}}
    # ASCII-only JSON on one line: no console encoding or line reader can split or garble it.
    assert data.count(b"\n") == 2 and data.isascii()


def test_the_only_string_literals_in_the_wrapper_are_its_own():
    """The strongest form of "no injection": every literal is one the generator chose."""
    text_, _ = wrapper(SCRIPT, {"note": HOSTILE, "tenant": "acme"}, LogLevel.Verbose)
    literals = {text(node) for node in nodes(parse(text_), "string_literal")}
    script_b64 = base64.b64encode(SCRIPT.encode()).decode()
    allowed = {
        "'parameters'", "'secrets'", "'tenant'", "'note'", f"'{script_b64}'",
        "'Continue'", "'SilentlyContinue'", "'PlainText'", "'Error'", "'Warning'",
        "'Verbose'", "'Debug'", "'Info'", '"$message (line $line)"',
    }  # fmt: skip
    assert literals <= allowed, literals - allowed
    assert {"'tenant'", "'note'", f"'{script_b64}'"} <= literals


class CapturingRunner(ProcessRunner):
    """Starts nothing: keeps what the executor would start."""

    spec: ProcessSpec

    def run(self, spec, log, stop, parse=None):
        self.spec = spec
        return Outcome(0)


def test_no_secret_value_appears_in_the_wrapper_argv_or_environment():
    # Through the executor, with the secret in hand: only the values line of stdin holds it.
    runner = CapturingRunner()
    execution = Execution(
        run_id=uuid4(), job_id=uuid4(), job_name="j", job_type="powershell",
        program={"script": SCRIPT}, parameters={"tenant": "acme"},
        secrets={"API_KEY": SECRET}, log_level=LogLevel.Info, timeout_seconds=None, attempt=1,
    )  # fmt: skip
    outcome = PowerShellExecutor(runner).execute(execution, lambda *_: None, StopSignal())
    assert outcome.exit_code == 0
    spec = runner.spec
    assert list(spec.argv) == pwsh_argv()
    assert pwsh_argv()[:5] == ["pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command"]
    assert all(SECRET not in arg for arg in spec.argv)
    assert all(SECRET not in value for value in spec.env.values())
    wrapper_line, values_line, rest = spec.stdin.split(b"\n")
    assert SECRET not in base64.b64decode(wrapper_line).decode() and rest == b""
    assert json.loads(values_line)["secrets"] == {"API_KEY": SECRET}


def test_any_user_script_is_carried_whole_and_cannot_break_out():
    script = "}\n'@\n\"@\nexit 3 # unbalanced } and here-string ends\n"
    text_, _ = wrapper(script, {}, LogLevel.Info)
    assert not has_errors(parse(text_))
    encoded = base64.b64encode(script.encode()).decode()
    assert f"FromBase64String('{encoded}')" in text_


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (LogLevel.Verbose, {"$VerbosePreference", "$DebugPreference", "$InformationPreference"}),
        (LogLevel.Debug, {"$DebugPreference", "$InformationPreference"}),
        (LogLevel.Info, {"$InformationPreference"}),
        (LogLevel.Warning, set()),
        (LogLevel.Error, {"$WarningPreference"}),
    ],
)
def test_the_streams_the_threshold_admits_are_switched_on(threshold, expected):
    text_, _ = wrapper(SCRIPT, {}, threshold)
    preferences = {name for name in assignments(parse(text_)) if name.endswith("Preference")} - {
        "$ErrorActionPreference",
        "$ProgressPreference",
    }
    assert preferences == expected
