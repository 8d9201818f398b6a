"""POSTing a notification over HTTP, and what the answer means for retrying.

2xx is delivered. 408, 425, 429 and 5xx, timeouts and connection failures are retried;
other 4xx are the receiver refusing the message for good, so retrying cannot help. Errors
name only the kind of failure: never the URL (a Slack URL is a credential) or the body.
"""

from __future__ import annotations

import threading

import httpx

from notifier.ports import SendResult

DEFAULT_TIMEOUT_SECONDS = 10
RETRYABLE_4XX = {408, 425, 429}
USER_AGENT = "JobLedger-Notifier/1"


class HttpPoster:
    """One HTTP client shared by a sender's attempts (it is thread-safe): making a client
    loads the CA bundle, about 60 ms, which would be most of a delivery's latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def _shared(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                # No redirects: a receiver moving us elsewhere must be configured, not
                # followed. No proxy from the environment: receivers are named explicitly.
                self._client = httpx.Client(follow_redirects=False, trust_env=False)
            return self._client

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> SendResult:
        return post(self._shared(), url, body, headers, timeout)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def post(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> SendResult:
    all_headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    try:
        response = client.post(url, content=body, headers=all_headers, timeout=timeout)
    except httpx.TimeoutException:
        return SendResult(False, error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as error:
        return SendResult(False, error=f"could not connect ({type(error).__name__})")
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(True, status_code=code)
    permanent = 400 <= code < 500 and code not in RETRYABLE_4XX
    return SendResult(False, status_code=code, error=f"HTTP {code}", permanent=permanent)
