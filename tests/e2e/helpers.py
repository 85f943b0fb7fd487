"""Helpers of the deployment, worker and cancellation tests: serving flows with the real
client, and creating flows, deployments and runs over the API as a client does."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from .conftest import FLOWS, PREFECT_PYTHON, Api, Background, PrefectClient, wait_for

# The runner and worker check for work every second instead of every ten.
FAST_POLLING = {"PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_WORKER_QUERY_SECONDS": "1"}


def start_serving(prefect: PrefectClient, *deployments: dict, block_events_out: bool = False) -> Background:
    """flows/served.py serving these deployments ({"flow": ..., "name": ..., serve options})."""
    spec = {"deployments": list(deployments), "block_events_out": block_events_out}
    log = prefect.workdir / f"served-{secrets.token_hex(3)}.log"
    return Background(
        [PREFECT_PYTHON, FLOWS / "served.py", json.dumps(spec)], {**prefect.env, **FAST_POLLING}, prefect.workdir, log
    )


def stop_serving(process: Background) -> None:
    """Ctrl+C, as a user stops `serve()`; the runner pauses its deployments on the way out."""
    try:
        process.interrupt(timeout=30)
    finally:
        process.kill()


def deployment_by_name(api: Api, flow: str, name: str) -> dict | None:
    response = api.request("GET", f"deployments/name/{flow}/{name}")
    return response.json() if response.status_code == 200 else None


def wait_for_deployment(api: Api, flow: str, name: str, process: Background | None = None) -> dict:
    def probe():
        if process is not None and not process.running():
            raise AssertionError(f"the serving process exited\n{process.describe()}")
        return deployment_by_name(api, flow, name)

    return wait_for(probe, f"deployment {flow}/{name}", timeout=60)


def create_deployment(api: Api, flow: str, name: str, **fields: Any) -> dict:
    """A flow (created if new) and a deployment of it, as `POST /deployments/` makes them."""
    flow_id = api.post("flows/", {"name": flow})["id"]
    return api.post("deployments/", {"name": name, "flow_id": flow_id, **fields})


def runs_of(api: Api, deployment_id: str, *, state_types: list[str] | None = None, **flow_runs: Any) -> list[dict]:
    """Runs of a deployment, soonest first."""
    if state_types:
        flow_runs["state"] = {"type": {"any_": state_types}}
    return api.post(
        "flow_runs/filter",
        {
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": flow_runs or None,
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 200,
        },
    )


def scheduled_runs(api: Api, deployment_id: str) -> list[dict]:
    return runs_of(api, deployment_id, state_types=["SCHEDULED"])


def create_run(api: Api, deployment_id: str, **body: Any) -> dict:
    return api.post(f"deployments/{deployment_id}/create_flow_run", body)


def propose(api: Api, run_id: str, type_: str, name: str | None = None, *, force: bool = False, **details) -> dict:
    """POST /flow_runs/{id}/set_state as the client proposes a state; the orchestration result."""
    state = {"type": type_, "name": name or type_.capitalize(), "state_details": details}
    return api.post(f"flow_runs/{run_id}/set_state", {"state": state, "force": force})


def created_run_id(output: str) -> str:
    """The run id `prefect deployment run` prints (" └── UUID: ...")."""
    found = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert found, output
    return found.group(1)


def history(api: Api, run_id: str) -> list[tuple[str, str]]:
    return [(s["type"], s["name"]) for s in api.flow_run_states(run_id)]
