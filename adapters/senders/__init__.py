"""Senders of notifications (notifier.ports.Sender), one per channel type."""

from __future__ import annotations

from adapters.senders.chat import SlackSender, TeamsSender
from adapters.senders.email import EmailSender
from adapters.senders.webhook import WebhookSender
from notifier.ports import Sender


def default_senders() -> dict[str, Sender]:
    """A sender for each channel type, as `jobledger serve` and `jobledger notifier` use."""
    return {
        "webhook": WebhookSender(),
        "slack": SlackSender(),
        "teams": TeamsSender(),
        "email": EmailSender(),
    }
