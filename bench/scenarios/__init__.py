"""The scenarios, in the order a server run goes through them (its database grows along the way,
as the shared harness's does): each is a function of a Context returning its result as a dict.

Every result has the same top-level shape, so the report reads them alike: the scenario's own
figures, `verify` (what it read back through the API, with `ok`), the `retried` and
`failed_requests` counts of its load phase, and the resources measured during that phase
(`server_usage`, `db_usage`, `host_busy_cores`, `client_cpu_s`; see bench.procs).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import Api, Tally
from ..procs import Phase


@dataclass
class Options:
    """Sizes and knobs; `scale` multiplies each scenario's default size."""

    scale: float = 1.0
    concurrency: int = 8
    iters: int = 50
    runs: int | None = None  # api_runs: flow runs (default 2000 x scale)
    flows: int | None = None  # flows: flow runs of the real client (default 20 x scale)
    tasks: int = 50  # flows: tasks per flow run
    task_mode: str = "call"  # flows: call tasks in turn, or .submit() them to the thread pool
    warmup: int = 1  # flows: untimed flow runs first (imports, first connections)
    verify_timeout: float = 30.0  # flows: how long to wait for every task run to show
    records: int | None = None  # logs: records (default 100,000 x scale)
    log_batch: int = 100
    log_runs: int = 10
    reads_runs: int = 10_000  # reads: at least this many flow runs (seeded when missing)
    seed_concurrency: int = 4
    deployment_runs: int | None = None  # deployments: create_flow_run calls (default 500 x scale)

    def size(self, given: int | None, default: int, minimum: int = 1) -> int:
        return given if given else max(minimum, round(default * self.scale))


@dataclass
class Context:
    """What a scenario needs: the API, the options, and the processes to measure."""

    api: Api
    options: Options
    server_pid: int | None = None
    db_pid: int | None = None
    prefect_python: Path | None = None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def phase(self) -> Phase:
        return Phase(self.server_pid, self.db_pid)

    def flow(self, name: str) -> str:
        """A flow's id (POST /flows/ creates it, or returns the existing one of that name)."""
        return self.api.post("flows/", {"name": name})["id"]

    def count_flow_runs(self, body: dict[str, Any]) -> int:
        return self.api.post("flow_runs/count", body)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def load_figures(tally: Tally, phase: Phase) -> dict[str, Any]:
    """The parts every result shares: retries, failures and the measured resources."""
    return {**tally.as_dict(), **phase.result}


def registry() -> dict[str, Callable[[Context], dict[str, Any]]]:
    from . import api_runs, deployments, flows, logs, reads

    return {
        "flows": flows.run,
        "api_runs": api_runs.run,
        "logs": logs.run,
        "reads": reads.run,
        "deployments": deployments.run,
    }


SCENARIOS = ("flows", "api_runs", "logs", "reads", "deployments")
