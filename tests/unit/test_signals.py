"""The stop signal helper every long-running command uses."""

from __future__ import annotations

import os
import signal

from interfaces.signals import stop_requested


def test_sigterm_sets_the_stop_event_wakes_the_loop_and_the_old_handlers_come_back() -> None:
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    woken: list[bool] = []
    with stop_requested(also=lambda: woken.append(True)) as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    assert woken == [True]
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_sigint_is_a_stop_request_too_not_a_keyboard_interrupt() -> None:
    with stop_requested() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5)
