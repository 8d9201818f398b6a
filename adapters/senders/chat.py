"""Slack and Microsoft Teams incoming webhooks: the payload rendered in their message
formats (Slack's `text` with mrkdwn; Teams' MessageCard), with the same Idempotency-Key."""

from __future__ import annotations

import json
from typing import Any

from adapters.senders.http_post import DEFAULT_TIMEOUT_SECONDS, HttpPoster
from domain.notification_text import summary_line
from notifier.ports import Outgoing, SendResult

_FIELDS = (
    "job_name",
    "status",
    "trigger",
    "scheduled_for",
    "started_at",
    "finished_at",
    "duration_seconds",
    "exit_code",
    "error",
)


def _facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, str(payload[key])) for key in _FIELDS if payload.get(key) is not None]


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    lines = [f"*{summary_line(payload)}*"]
    lines += [f"• {key}: {value}" for key, value in _facts(payload)]
    if payload.get("run_url"):
        lines.append(f"<{payload['run_url']}|Open the run>")
    return {"text": "\n".join(lines)}


def teams_message(payload: dict[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": summary_line(payload),
        "title": summary_line(payload),
        "themeColor": "2E7D32" if payload.get("event") in ("succeeded", "recovered") else "C62828",
        "sections": [{"facts": [{"name": k, "value": v} for k, v in _facts(payload)]}],
    }
    if payload.get("run_url"):
        card["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": "Open the run",
                "targets": [{"os": "default", "uri": payload["run_url"]}],
            }
        ]
    return card


class _ChatSender:
    def __init__(self) -> None:
        self._poster = HttpPoster()

    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, outgoing: Outgoing) -> SendResult:
        body = json.dumps(self._message(outgoing.payload), ensure_ascii=False).encode()
        url = outgoing.config.get("url") or outgoing.secrets.get("url") or ""
        timeout = float(outgoing.config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        return self._poster.post(url, body, {"Idempotency-Key": outgoing.idempotency_key}, timeout)


class SlackSender(_ChatSender):
    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        return slack_message(payload)


class TeamsSender(_ChatSender):
    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        return teams_message(payload)
