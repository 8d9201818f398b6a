"""The PowerShell wrapper, checked with PowerShell's grammar where pwsh itself may be absent.

What must hold for every run: the wrapper parses cleanly, it defines $Parameters, $Secrets and
one variable per identifier-named parameter, and no value (a hostile one least of all) is
ever part of its text or of argv: values arrive on stdin as JSON data, never as code. Each
defect found by reading the wrapper against PowerShell 7.4's source has a test here that checks
the generated text has the fixed shape; tests/integration/test_powershell_real.py runs the
same cases through a real pwsh wherever one is installed.
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
from adapters.job_types import EntryPointJobTypeCatalog
from domain.errors import InvalidInput
from domain.log_level import LogLevel
from jobtypes import Execution, Outcome, StopSignal

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
HOSTILE = "'; Remove-Item -Recurse -Force / ; $(Get-Secret) `\"`n\n@'\n'@\n\"@\n} { & calc"
SECRET = "hunter2-Zq9!$(x)'\""
SCRIPT = "Write-Verbose \"tenant $tenant\"\nWrite-Host 'done'\n"


def parse(text: str) -> tree_sitter.Tree:
    # tree-sitter-powershell predates PowerShell 7.3's `clean` block; the grammar checks it
    # as the named block it is shaped like, padded so every offset still points into `text`.
    return PARSER.parse(text.replace("    clean {", "      end {").encode())


def nodes(tree: tree_sitter.Tree | tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    root = tree.root_node if isinstance(tree, tree_sitter.Tree) else tree
    found, stack = [], [root]
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
    assert assigned["$Parameters"] == "$__jobledgerValues['parameters']"
    assert assigned["$Secrets"] == "$__jobledgerValues['secrets']"
    assert assigned["$tenant"] == "$Parameters['tenant']"
    assert assigned["$max_items"] == "$Parameters['max_items']"
    assert skipped == []


def test_a_parameter_that_is_not_an_identifier_or_is_reserved_stays_in_parameters_only():
    names = {"a b": 1, "x'; $(evil)": 2, "Host": 3, "true": 4, "__jobledgerArguments": 5}
    text_, skipped = wrapper(SCRIPT, names, LogLevel.Info)
    assert sorted(skipped) == sorted(names)
    assigned = assignments(parse(text_))
    assert "$Host" not in assigned and "$true" not in assigned
    assert assigned["$__jobledgerArguments"] == "@{}"  # the wrapper's own, not the parameter
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
        '"$message ($file line $line)"', "'NativeCommandError*'", "'Object'", "'Array'",
        "'String'", "'Number'", "'True'", "'False'", "'it has no parameters or secrets object'",
        '"JobLedger could not read this run\'s parameters and secrets, "',
        '"so the script did not run: "', "'__jobledgerDocument'", "'__jobledgerValues'",
        "'syntax error at line {0}, column {1}: {2}'", "'Parameter'", "'ParameterAttribute'",
        "'System.Management.Automation.Parameter'", "'$false'", "'0'", "'Mandatory'",
        "'ParameterSetName'",
        "'System.Management.Automation.ParameterAttribute'",
        '"the script\'s param() block requires "', "', '",
        '", which this run\'s parameters do not have; the script did not run"',
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
        "$global:ErrorActionPreference",
        "$global:ProgressPreference",
    }
    assert preferences == {name.replace("$", "$global:") for name in expected}


# --- the defects found by reading PowerShell 7.4's source, one shape test each -------------


def full_wrapper(**options) -> str:
    return wrapper(SCRIPT, {"tenant": "acme"}, LogLevel.Verbose, **options)[0]


def commands(tree: tree_sitter.Tree, name: str) -> list[tree_sitter.Node]:
    return [
        node
        for node in nodes(tree, "command")
        if node.child_by_field_name("command_name") is not None
        and text(node.child_by_field_name("command_name")).lower() == name.lower()
    ]


def function_body(source: str, name: str) -> str:
    for node in nodes(parse(source), "function_statement"):
        if text(node.child_by_field_name("function_name") or node.children[1]) == name:
            return source[node.start_byte : node.end_byte]
    raise AssertionError(f"no function {name}")


def ancestors(node: tree_sitter.Node) -> list[str]:
    found = []
    parent = node.parent
    while parent is not None:
        found.append(parent.type)
        parent = parent.parent
    return found


def user_script_invocation(tree: tree_sitter.Tree) -> tree_sitter.Node:
    (pipeline,) = [node for node in nodes(tree, "pipeline") if "& $__jobledgerScript" in text(node)]
    return pipeline


def test_output_is_formatted_by_one_steppable_out_string_pipeline():
    """Defect 1: a new Out-String per object restarts the formatter (Format-Table fails, and
    every plain object gets a header of its own)."""
    source = full_wrapper()
    tree = parse(source)
    (out_string,) = commands(tree, "Out-String")
    assert text(out_string) == "Out-String -Stream -Width 4096"
    emitter = function_body(source, "__jobledgerEmit")
    begin, _, rest = emitter.partition("process {")
    process, _, end = rest.partition("end {")
    assert "{ Out-String -Stream -Width 4096 }.GetSteppablePipeline()" in begin
    assert begin.count("$formatter.Begin($true)") == 1
    assert "$formatter.Process($Record)" in process and "$formatter.End()" not in process
    assert "$formatter.End()" in end
    # The user's records reach the emitter through one pipeline, not a ForEach-Object each.
    assert text(user_script_invocation(tree)).endswith("*>&1 | __jobledgerEmit")


def test_the_users_script_runs_at_the_top_level_outside_any_try_or_trap():
    """Defect 2: an enclosing try turns every statement-terminating error into one that aborts
    the whole script (PowerShell issue 15726), so the script must not be inside one."""
    source = full_wrapper()
    tree = parse(source)
    invocation = user_script_invocation(tree)
    assert ancestors(invocation) == ["statement_list", "program"]
    assert not nodes(tree, "trap_statement")
    # The bootstrap dot-sources the wrapper at pwsh's top level, around nothing.
    bootstrap = parse(BOOTSTRAP)
    assert not nodes(bootstrap, "try_statement") and not nodes(bootstrap, "trap_statement")
    assert BOOTSTRAP.startswith(". ([ScriptBlock]::Create(")
    assert "trap" not in {text(node).lower() for node in nodes(tree, "command_name")}
    # The only try is the values reader's, and it ends before the script is even parsed.
    (try_statement,) = nodes(tree, "try_statement")
    assert try_statement.end_byte < invocation.start_byte
    assert "ParseInput" not in text(try_statement)


def test_the_values_are_read_without_date_parsing_and_into_case_insensitive_tables():
    """Defect 3 (and case-insensitive keys): ConvertFrom-Json on 7.4 turns date-like strings
    into local [datetime]s and -AsHashtable keys are case-sensitive."""
    source = full_wrapper()
    assert "ConvertFrom-Json" not in source
    reader = function_body(source, "__jobledgerFromJson")
    assert "$table = @{}" in reader  # a PowerShell hashtable literal ignores case
    assert "$Element.GetString()" in reader  # a string stays a string, date-like or not
    assert "TryGetInt64" in reader
    assert "[System.Text.Json.JsonDocument]::Parse(" in source


def test_preferences_are_set_once_globally_and_nothing_sets_stop():
    """Defect 4: a module function reads preferences from the global scope, not ours; a global
    'Stop' made its Write-Error terminating."""
    source = full_wrapper()
    for text_ in (source, BOOTSTRAP):
        assert "'Stop'" not in text_ and '"Stop"' not in text_
    names = [name for name in assignments(parse(source)) if name.endswith("Preference")]
    assert names and all(name.startswith("$global:") for name in names)
    assert len(names) == len(set(names))


def test_a_record_names_its_level_before_its_message():
    """Defect 5: the level comes first so a record cut at 64 KiB still has it."""
    writer = function_body(full_wrapper(), "__jobledgerWrite")
    assert "[ordered]@{ level = $Level; message = $Message }" in writer


def test_a_param_block_is_bound_by_name_from_the_scripts_own_ast():
    """Defect 6: without arguments a param() block shadowed the injected variables."""
    source = full_wrapper()
    parse_at = source.index("[System.Management.Automation.Language.Parser]::ParseInput(")
    assert parse_at < source.index("$__jobledgerAst.ParamBlock")
    assert "$__jobledgerArguments[$__jobledgerName] = $Parameters[$__jobledgerName]" in source
    assert "$Parameters.ContainsKey($__jobledgerName)" in source  # case-insensitive table
    assert "& $__jobledgerScript @__jobledgerArguments *>&1" in source
    assert "__jobledgerIsMandatory" in source


def test_a_syntax_error_stops_the_run_before_anything_runs():
    source = full_wrapper()
    errors_at = source.index("if ($__jobledgerErrors.Count -gt 0) {")
    branch = source[errors_at : source.index("\n}\n", errors_at)]
    assert "Extent.StartLineNumber" in branch and branch.rstrip().endswith("exit 1")
    assert errors_at < source.index("GetScriptBlock()") < source.index("& $__jobledgerScript")


def test_malformed_values_stop_the_run_before_the_script_is_parsed():
    tree = parse(full_wrapper())
    (try_statement,) = nodes(tree, "try_statement")
    catch = text(nodes(try_statement, "catch_clause")[0])
    assert "did not run" in catch and catch.rstrip("}\n ").endswith("exit 1")


def test_output_is_utf8_whatever_the_locale_and_host_pieces_join_one_line():
    source = full_wrapper()
    assert "[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false)" in source
    emitter = function_body(source, "__jobledgerEmit")
    assert "[void]$hostLine.Append($data.Message)" in emitter
    assert "if (-not $data.NoNewLine) { __jobledgerHostLine $hostLine }" in emitter
    # What is buffered when a terminating error or exit ends the script is still written.
    clean = emitter[emitter.index("clean {") :]
    assert "__jobledgerHostLine" in clean and "$formatter.End()" in clean


def test_failing_on_a_native_exit_code_is_an_option_off_by_default():
    assert "LASTEXITCODE" not in full_wrapper()
    source = full_wrapper(fail_on_native_exit_code=True)
    assert not has_errors(parse(source))
    check = source[source.index("if ($global:LASTEXITCODE -is [int]") :]
    assert "exit $global:LASTEXITCODE" in check
    assert check.index("exit $global:LASTEXITCODE") < check.index("exit 0")


def test_pwsh_always_gets_telemetry_and_update_checks_off(monkeypatch):
    """Defect 7: the allowlist left pwsh at its defaults, which send start-up telemetry."""
    monkeypatch.setenv("PSModulePath", "/somewhere/of/jobledgers/own")
    runner = CapturingRunner()
    PowerShellExecutor(runner).execute(powershell_execution(), lambda *_: None, StopSignal())
    assert runner.spec.env["POWERSHELL_TELEMETRY_OPTOUT"] == "1"
    assert runner.spec.env["POWERSHELL_UPDATECHECK"] == "Off"
    assert "PSModulePath" not in runner.spec.env


def test_the_program_option_reaches_the_wrapper():
    runner = CapturingRunner()
    execution = powershell_execution(program={"script": SCRIPT, "fail_on_native_exit_code": True})
    PowerShellExecutor(runner).execute(execution, lambda *_: None, StopSignal())
    carried = base64.b64decode(runner.spec.stdin.split(b"\n")[0]).decode()
    assert "exit $global:LASTEXITCODE" in carried


def powershell_execution(**fields) -> Execution:
    values = dict(
        run_id=uuid4(), job_id=uuid4(), job_name="j", job_type="powershell",
        program={"script": SCRIPT}, parameters={"tenant": "acme"},
        secrets={"API_KEY": SECRET}, log_level=LogLevel.Info, timeout_seconds=None, attempt=1,
    )  # fmt: skip
    values.update(fields)
    return Execution(**values)  # type: ignore[arg-type]


def test_the_program_schema_takes_the_option_as_a_boolean_only():
    catalog = EntryPointJobTypeCatalog()
    program = {"script": SCRIPT, "fail_on_native_exit_code": True}
    assert catalog.check_program("powershell", program) == program
    with pytest.raises(InvalidInput) as refused:
        catalog.check_program("powershell", {"script": SCRIPT, "fail_on_native_exit_code": "yes"})
    assert refused.value.field == "program.fail_on_native_exit_code"
