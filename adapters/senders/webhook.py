"""The generic webhook: the payload as JSON, with a stable Idempotency-Key and, when the
channel has a signing secret, `X-JobLedger-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from adapters.senders.http_post import DEFAULT_TIMEOUT_SECONDS, HttpPoster
from notifier.ports import Outgoing, SendResult

SIGNATURE_HEADER = "X-JobLedger-Signature"


def encode(payload: dict[str, object]) -> bytes:
    """Compact, key-sorted JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POSTs the payload to the channel's URL."""

    def __init__(self) -> None:
        self._poster = HttpPoster()

    def send(self, outgoing: Outgoing) -> SendResult:
        config, secrets = outgoing.config, outgoing.secrets
        body = encode(outgoing.payload)
        headers = dict(config.get("headers") or {})
        headers["Idempotency-Key"] = outgoing.idempotency_key
        headers["X-JobLedger-Event"] = str(outgoing.payload.get("event", ""))
        if "authorization" in secrets:
            headers["Authorization"] = secrets["authorization"]
        if "signing_secret" in secrets:
            headers[SIGNATURE_HEADER] = signature(secrets["signing_secret"], body)
        url = config.get("url") or secrets.get("url") or ""
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        return self._poster.post(url, body, headers, timeout)
