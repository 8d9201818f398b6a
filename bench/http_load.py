"""Closed-loop load for the HTTP API benchmark: N keep-alive connections, each sending its
next request as soon as the last response is read, for a fixed time; and the same for raw
SQL through a psycopg connection pool, as the baseline.

The HTTP client is a few lines over asyncio streams rather than httpx: on 2 cores the load
generator shares the CPUs with the server, and httpx spends far more Python per request
(its own connection pool, header models, h11 on the client side) than this does (one
prebuilt request written, the header block read, the body read by its Content-Length). So
more of the CPU goes to the server being measured. It speaks only what this benchmark needs:
HTTP/1.1 GETs whose responses carry a Content-Length (uvicorn's JSON responses do).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.sql import Composed
from psycopg_pool import AsyncConnectionPool


@dataclass
class Load:
    """What one closed-loop measurement saw."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    concurrency: int
    total: int = 0  # every response, warm-up included (for CPU per request)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def describe(self, unit: str) -> str:
        return f"{self.per_second:,.0f} {unit}, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "per_second": self.per_second,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": self.errors,
            "concurrency": self.concurrency,
            "total_with_warmup": self.total,
        }


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _summary(latencies: list[float], seconds: float, errors: int, concurrency: int) -> Load:
    latencies.sort()
    return Load(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=errors,
        concurrency=concurrency,
    )


class HttpError(Exception):
    """A response that was not 200, or a connection the server closed."""


def get_request(host: str, port: int, path: str, token: str) -> bytes:
    """A keep-alive HTTP/1.1 GET of `path`, with the bearer token, ready to write."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise HttpError(f"a response without Content-Length: {head[:200]!r}")
    end = lower.index(b"\r\n", at + 2)
    length = int(lower[at + 17 : end])
    body = await reader.readexactly(length)
    return status, body


async def _http_connection(
    host: str,
    port: int,
    requests: Sequence[bytes],
    start: int,
    measure_from: float,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
    total: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        clock = time.perf_counter
        # Each connection walks the requests from its own offset, so the server sees them mixed.
        for request in itertools.islice(itertools.cycle(requests), start, None):
            sent = clock()
            if sent >= stop_at:
                return
            writer.write(request)
            status, _body = await _read_response(reader)
            done = clock()
            total[0] += 1
            if status != 200:
                errors.append(status)
            elif sent >= measure_from:
                latencies.append(done - sent)
    finally:
        writer.close()


def http_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Load:
    """Closed-loop GETs over `concurrency` connections for `warmup` + `seconds`; only the
    requests sent after the warm-up count (connections open, server threads and prepared
    statements ready)."""

    async def main() -> Load:
        now = time.perf_counter()
        measure_from = now + warmup
        stop_at = measure_from + seconds
        latencies: list[float] = []
        errors: list[int] = []
        total = [0]
        step = max(1, len(requests) // concurrency)
        await asyncio.gather(
            *(
                _http_connection(
                    host, port, requests, i * step, measure_from, stop_at, latencies, errors, total
                )
                for i in range(concurrency)
            )
        )
        # The measured span ends when the last measured response arrives, just after stop_at.
        elapsed = max(seconds, time.perf_counter() - measure_from)
        load = _summary(latencies, elapsed, len(errors), concurrency)
        load.total = total[0]
        return load

    return asyncio.run(main())


async def _prepare_session(conn: AsyncConnection[Any]) -> None:
    # As the views do once per connection: times in UTC.
    await conn.execute("SET TIME ZONE 'UTC'")


def sql_load(
    conninfo: str,
    statements: Sequence[Sequence[tuple[Composed, Sequence[Any]]]],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    pool_size: int,
    max_pool_size: int,
) -> Load:
    """The baseline: each "request" is one list of (query, params) run on one pooled
    connection (autocommit, rows fetched), by `concurrency` tasks sharing a pool of
    `pool_size` to `max_pool_size` connections, for `warmup` + `seconds`."""

    async def worker(
        pool: AsyncConnectionPool[Any],
        start: int,
        measure_from: float,
        stop_at: float,
        latencies: list[float],
    ) -> None:
        clock = time.perf_counter
        for request in itertools.islice(itertools.cycle(statements), start, None):
            sent = clock()
            if sent >= stop_at:
                return
            async with pool.connection() as conn:
                for query, params in request:
                    cursor = await conn.execute(query, params)
                    await cursor.fetchall()
            if sent >= measure_from:
                latencies.append(clock() - sent)

    async def main() -> Load:
        async with AsyncConnectionPool(
            conninfo,
            min_size=min(pool_size, max_pool_size),
            max_size=max_pool_size,
            kwargs={"autocommit": True},
            configure=_prepare_session,
            open=False,
        ) as pool:
            await pool.wait(timeout=120)
            now = time.perf_counter()
            measure_from = now + warmup
            stop_at = measure_from + seconds
            latencies: list[float] = []
            step = max(1, len(statements) // concurrency)
            await asyncio.gather(
                *(
                    worker(pool, i * step, measure_from, stop_at, latencies)
                    for i in range(concurrency)
                )
            )
            elapsed = max(seconds, time.perf_counter() - measure_from)
        return _summary(latencies, elapsed, 0, concurrency)

    return asyncio.run(main())
