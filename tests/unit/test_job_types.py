"""The job-type catalog: plugins from the `jobledger.job_types` entry points, built-ins always."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from adapters import job_types
from adapters.executors.command import CommandExecutor
from adapters.job_types import ENTRY_POINT_GROUP, EntryPointJobTypeCatalog
from domain.errors import InvalidInput
from jobtypes import Execution, LogSink, Outcome, StopSignal

BUILT_INS = ["command", "http", "powershell", "python"]


class EchoExecutor:
    def execute(self, execution: Execution, log: LogSink, stop: StopSignal) -> Outcome:
        return Outcome(0)


class EchoJobType:
    name = "echo"
    description = "Says what it is given."
    program_schema: dict[str, Any] = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }

    def executor(self) -> EchoExecutor:
        return EchoExecutor()


ECHO = EchoJobType()


class NotAJobType:
    name = "half"


class BadSchema(EchoJobType):
    name = "bad-schema"
    program_schema = {"type": "no-such-type"}


class TakesCommand(EchoJobType):
    name = "command"


def plugin(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"{__name__}:{target}", group=ENTRY_POINT_GROUP)


@pytest.fixture
def installed(monkeypatch):
    """Stand-in for the installed distributions' entry points in our group."""
    points: list[EntryPoint] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [p for p in points if p.group == group]

    monkeypatch.setattr(job_types, "entry_points", entry_points)
    return points


def test_the_built_ins_are_registered_as_entry_points_of_this_package():
    catalog = EntryPointJobTypeCatalog()
    assert catalog.names() == BUILT_INS
    assert catalog.problems == []
    from importlib.metadata import entry_points

    registered = {p.name: p.value for p in entry_points(group=ENTRY_POINT_GROUP)}
    assert sorted(registered) == BUILT_INS
    assert registered["command"] == "adapters.executors.command:COMMAND"


def test_a_plugin_is_loaded_beside_the_built_ins(installed):
    installed.append(plugin("echo", "ECHO"))
    catalog = EntryPointJobTypeCatalog()
    assert catalog.names() == sorted([*BUILT_INS, "echo"])
    assert catalog.check_program("echo", {"text": "hi"}) == {"text": "hi"}
    with pytest.raises(InvalidInput) as refused:
        catalog.check_program("echo", {"words": 1})
    assert refused.value.field == "program"
    assert isinstance(catalog.executor("echo"), EchoExecutor)
    described = {d["name"]: d for d in catalog.describe()}
    assert described["echo"]["description"] == "Says what it is given."


def test_a_plugin_may_name_its_class(installed):
    installed.append(plugin("echo", "EchoJobType"))
    assert "echo" in EntryPointJobTypeCatalog().names()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("NO_SUCH_OBJECT", "has no attribute"),
        ("NotAJobType", "not a JobType"),
        ("BadSchema", "is not valid"),
        ("TakesCommand", "the name 'command' is taken"),
    ],
)
def test_a_broken_plugin_is_announced_and_skipped(installed, caplog, target, why):
    installed.append(plugin("broken", target))
    installed.append(plugin("echo", "ECHO"))
    with caplog.at_level(logging.WARNING, logger="jobledger.job_types"):
        catalog = EntryPointJobTypeCatalog()
    assert catalog.names() == sorted([*BUILT_INS, "echo"])
    assert len(catalog.problems) == 1
    assert "'broken'" in catalog.problems[0] and why in catalog.problems[0]
    assert catalog.problems[0] in caplog.text
    assert isinstance(catalog.executor("command"), CommandExecutor)


def test_a_plugin_whose_module_cannot_import_is_skipped(installed):
    installed.append(
        EntryPoint(name="gone", value="no_such_module_xyz:THING", group=ENTRY_POINT_GROUP)
    )
    catalog = EntryPointJobTypeCatalog()
    assert catalog.names() == BUILT_INS
    assert "no_such_module_xyz" in catalog.problems[0]


def test_the_built_ins_remain_when_the_metadata_lists_nothing(installed):
    assert EntryPointJobTypeCatalog().names() == BUILT_INS


def test_unreadable_metadata_still_leaves_the_built_ins(monkeypatch):
    def broken(*, group: str) -> list[EntryPoint]:
        raise RuntimeError("corrupt METADATA")

    monkeypatch.setattr(job_types, "entry_points", broken)
    catalog = EntryPointJobTypeCatalog()
    assert catalog.names() == BUILT_INS
    assert "corrupt METADATA" in catalog.problems[0]


def test_an_unknown_type_is_refused_by_name_for_programs_and_executors():
    catalog = EntryPointJobTypeCatalog()
    for attempt in (lambda: catalog.check_program("cobol", {}), lambda: catalog.executor("cobol")):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.field == "job_type"
        assert "cobol" in str(refused.value) and "powershell" in str(refused.value)


def test_one_executor_per_type_is_shared():
    catalog = EntryPointJobTypeCatalog()
    assert catalog.executor("python") is catalog.executor("python")


@pytest.mark.parametrize(
    ("job_type", "program", "field"),
    [
        ("command", {"argv": []}, "program.argv"),
        ("command", {"argv": [""]}, "program.argv.0"),
        ("command", {"argv": ["ls"], "shell": True}, "program"),
        ("powershell", {"script": ""}, "program.script"),
        ("python", {"callable": "os.system"}, "program.callable"),
        ("http", {"method": "TRACE", "url": "https://x"}, "program.method"),
        ("http", {"method": "GET", "url": "ftp://x"}, "program.url"),
    ],
)
def test_each_built_in_refuses_a_program_it_could_not_run(job_type, program, field):
    with pytest.raises(InvalidInput) as refused:
        EntryPointJobTypeCatalog().check_program(job_type, program)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("job_type", "program"),
    [
        ("command", {"argv": ["python3", "sync.py", ""], "cwd": "/srv"}),
        ("powershell", {"script": "Write-Host $tenant"}),
        ("python", {"callable": "billing.sync:run"}),
        ("http", {"method": "POST", "url": "https://psa.example/{{parameters.t}}", "body": {}}),
        ("http", {"method": "GET", "url": "{{parameters.base|raw}}/tickets"}),
    ],
)
def test_each_built_in_accepts_a_program_it_can_run(job_type, program):
    assert EntryPointJobTypeCatalog().check_program(job_type, program) == program
