"""A name is one line of printable text: control characters are refused whatever the entry."""

from __future__ import annotations

import pytest

from domain import values
from domain.errors import InvalidInput
from tests.fakes import in_memory_ledger

CONTROLS = ["\x07", "\x1b[31m", "\r", "\n", "\t", "\x7f", "\x85", "\x9b"]


@pytest.mark.parametrize("control", CONTROLS)
def test_a_job_name_with_a_control_character_is_refused_naming_name(control):
    with pytest.raises(InvalidInput) as raised:
        values.job_name(f"nightly{control}sync")
    assert raised.value.field == "name"
    assert f"U+{ord(control[0]):04X}" in str(raised.value)


@pytest.mark.parametrize("name", ["Nightly sync", "Sauvegarde d'été", "备份 ✓", "a\\b"])
def test_printable_names_are_kept(name):
    assert values.job_name(f" {name} ") == name


def test_registering_or_renaming_with_a_control_character_writes_nothing():
    app = in_memory_ledger()
    job = app.register_job(name="ok", job_type="command", program={"argv": ["true"]}, actor="t")
    before = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as registering:
        app.register_job(name="a\x1bb", job_type="command", program={"argv": ["true"]}, actor="t")
    with pytest.raises(InvalidInput) as renaming:
        app.update_job(job.id, {"name": "ring\x07"}, actor="t")
    assert registering.value.field == renaming.value.field == "name"
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("name", ["TOKEN\n", "TOKEN\x1b", "\nTOKEN"])
def test_a_secret_name_is_one_identifier_without_a_trailing_newline(name):
    with pytest.raises(InvalidInput) as raised:
        values.secret_name(name)
    assert raised.value.field == "secret.name"


def test_a_job_type_name_is_refused_with_a_trailing_newline():
    with pytest.raises(InvalidInput):
        values.job_type_name("command\n")
