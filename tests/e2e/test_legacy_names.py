"""A store written before job names were unique, opened by `jobledger serve`: the first
job with a name keeps it, the later one is flagged for renaming, and a new job can no
longer take the name. Renaming the flagged job clears the flag."""

from __future__ import annotations

import os
import time
from pathlib import Path

from domain import job as job_model
from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.e2e.processes import processes, served
from tests.e2e.test_api_cli import free_port


def write_legacy_store(env: dict[str, str]) -> tuple[str, str]:
    """Two jobs with one name, saved as the service did before names were reserved."""
    system = build(Settings.from_env(env), announce=lambda _: None)
    try:
        jobs = [
            job_model.register(
                name=name, job_type="command", program={"argv": ["true"]}, actor="cli:old"
            )
            for name in ("Nightly sync", "nightly SYNC")
        ]
        for job in jobs:
            system.app.save(job)  # no name reservation: the old way
        return str(jobs[0].id), str(jobs[1].id)
    finally:
        system.close()


def test_serve_reserves_old_names_for_the_first_job_and_flags_the_other(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_")}
    env["JOBLEDGER_DATA_DIR"] = str(tmp_path / "data")
    first, second = write_legacy_store(env)

    with processes(env, tmp_path) as start, served(start, free_port()) as (serve, client):
        serve.wait_for_output("share a name with an earlier job", time.monotonic() + 30)
        listed = {job["id"]: job for job in client.get("/api/jobs").json()["items"]}
        assert listed[first]["name_shared_with"] is None
        assert listed[second]["name_shared_with"] == first

        taken = client.post(
            "/api/jobs",
            json={"name": "NIGHTLY sync", "job_type": "command", "program": {"argv": ["true"]}},
        )
        assert taken.status_code == 409 and "name" in taken.text

        renamed = client.patch(f"/api/jobs/{second}", json={"name": "Nightly sync (Contoso)"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name_shared_with"] is None
