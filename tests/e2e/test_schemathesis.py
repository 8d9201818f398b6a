"""Schemathesis against the API's own OpenAPI document: no 5xx, and every response keeps to
the schema it documents (problem details included).

The app runs in-process (ASGI) over a real System on a SQLite file, with the projections
following, and an administrator token, so every operation is reached past the access
check. A job and a run are seeded and given as the path examples, so operations on one
job or run are exercised against real ones as well as against unknown ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from adapters.event_store_config import StoreSettings
from domain.log_level import LogLevel
from interfaces.bootstrap import build, build_token_store
from interfaces.http.app import create_app
from interfaces.settings import Settings

SECRET = "fuzz-secret-3b9e-never-in-a-response"
MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("schemathesis") / "data"
    store = StoreSettings(kind="sqlite", sqlite_path=folder / "jobledger.sqlite3")
    app_settings = Settings(store=store, data_dir=folder, master_key=None)
    system = build(app_settings, announce=lambda _message: None)
    tokens = build_token_store(app_settings)
    _, admin = tokens.create("fuzzer", "admin")
    system.start_projections()
    job = system.app.register_job(
        name="seed",
        job_type="command",
        program={"argv": ["true"]},
        actor="test",
        secrets={"API_KEY": SECRET},
        schedule={"cron": "*/5 * * * *", "timezone": "Europe/London"},
    )
    run = system.app.request_run(job.id, actor="test")
    system.app.start_run(run.id, worker="w1")
    log = system.app.open_run_log(run)
    now = datetime.now(UTC)
    system.app.record_log_entries(log, [(now, LogLevel.Info, f"line {i}") for i in range(5)])
    system.app.succeed_run(run.id)
    system.follower.wait_until(system.app.recorder.max_notification_id() or 0, timeout=30)
    app = create_app(system, tokens, view_wait_seconds=2.0)
    try:
        yield {"app": app, "admin": admin, "job_id": str(job.id), "run_id": str(run.id)}
    finally:
        tokens.close()
        system.close()


@pytest.fixture(scope="module")
def api_schema(served: dict[str, Any]) -> Any:
    spec = served["app"].openapi()
    examples = {"job_id": served["job_id"], "run_id": served["run_id"], "name": "API_KEY"}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = served["app"]
    return schema


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """Every documented operation, read from the app's document (no store needed for it),
    with valid input and, where it takes any input to get wrong, with invalid input."""
    spec = create_app(system=None, tokens=None).openapi()
    cases = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or "requestBody" in operation:
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_no_server_errors_and_every_response_matches_its_schema(
    api_schema: Any, served: dict[str, Any], method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {served['admin']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        assert SECRET not in response.text

    check()
