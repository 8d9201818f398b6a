"""`jobledger worker`'s options: a clear refusal for values it cannot use."""

from __future__ import annotations

import argparse

import pytest

from interfaces.cli.worker import _positive_int, _seconds


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_grace_that_is_not_a_number_of_seconds_is_refused(value):
    with pytest.raises(argparse.ArgumentTypeError, match="seconds"):
        _seconds(value)


def test_a_grace_and_a_concurrency_that_make_sense_are_taken():
    assert _seconds("0") == 0.0 and _seconds("2.5") == 2.5
    assert _positive_int("3") == 3
    with pytest.raises(argparse.ArgumentTypeError):
        _positive_int("0")
