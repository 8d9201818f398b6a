"""A restarted notifier starts from its saved pending deliveries, on both stores: it reads
only the delivery events after the saved position (not the history of settled deliveries),
still sends what was pending, and forgets a saved row whose delivery has settled since."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.senders import default_senders
from application.notification_commands import NotifySettings
from application.ports import ThreadWakeup
from domain.delivery import DELIVERED
from interfaces.bootstrap import System
from notifier.notifier import DELIVERY_TOPICS, Notifier
from notifier.ports import MemoryPosition
from tests.fakes import FakeClock
from tests.integration.test_notifier_receivers import drain, fail_a_run
from tests.receivers import webhook_receiver


def new_notifier(system: System, clock: FakeClock) -> Notifier:
    return Notifier(
        system.app,
        clock,
        MemoryPosition(),
        default_senders(),
        NotifySettings(),
        ThreadWakeup(),
        deliveries=system.backend.notifier_deliveries(),
    )


def test_a_restart_reads_what_is_pending_not_the_history(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, clock = system.app, FakeClock()
    with webhook_receiver() as good, webhook_receiver(*([500] * 10)) as bad:
        for name, receiver in (("good", good), ("bad", bad)):
            app.create_channel(
                name=name, type="webhook", config={"url": receiver.url}, secrets=None,
                actor="admin",
            )  # fmt: skip
        job = app.register_job(
            name="PSA sync", job_type="command", program={"argv": ["false"]}, actor="admin",
            policies={"notify": [{"channel": c, "on": ["failed"]} for c in ("good", "bad")]},
        ).id  # fmt: skip
        fail_a_run(app, job)
        first = new_notifier(system, clock)
        done = {d.channel_name: d for d in drain(first)}
        first.track()  # learns the attempts' outcomes
        assert done["good"].status == DELIVERED and done["bad"].status == "pending"
        assert set(first.pending()) == {done["bad"].id}
        first.close()
        first.deliveries.close()

        reader = system.backend.notifier_deliveries()
        position, saved = reader.load()
        reader.close()
        assert set(saved) == {done["bad"].id} and position > 0

        starts: list[int] = []
        select = app.recorder.select_notifications

        def recording(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("topics") == DELIVERY_TOPICS:
                starts.append(kwargs["start"])
            return select(*args, **kwargs)

        monkeypatch.setattr(app.recorder, "select_notifications", recording)
        second = new_notifier(system, clock)
        second.track()
        assert starts == [position]  # from the saved position, not from the start of the log
        assert set(second.pending()) == {done["bad"].id}
        clock.advance(11)
        [retried] = drain(second)
        assert retried.id == done["bad"].id and retried.attempts == 2
        assert len(bad.wait_for(2)) == 2 and len(good.wait_for(1)) == 1
        second.close()

        # A row saved from an older state (a slower notifier of the group): checked against
        # its delivery at the next start, and forgotten once it has settled.
        stale = system.backend.notifier_deliveries()
        stale.save(0, {done["good"].id: clock.now() - timedelta(minutes=1)})
        third = new_notifier(system, clock)
        third.track()
        assert done["good"].id not in third.pending()
        assert done["good"].id not in stale.load()[1]
        stale.close()
        third.close()
        third.deliveries.close()
        second.deliveries.close()
