"""api_runs: C clients each create a flow run and move it PENDING -> RUNNING -> COMPLETED.

The lifecycle a worker-less client drives over raw HTTP: `POST /flow_runs/` (created SCHEDULED),
then three `POST /flow_runs/{id}/set_state` with `force: false`, so the orchestration rules run on
every transition; anything but ACCEPT fails the run. Headline: requests/s (every attempt, retries
included) and completed runs/s; then the count of COMPLETED runs of the flow must be N.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from .. import verify
from ..client import RequestFailed, Tally, run_pool
from ..stats import latency_summary, rate
from . import Context, load_figures

TRANSITIONS = ("PENDING", "RUNNING", "COMPLETED")


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.options.size(ctx.options.runs, 2000)
    concurrency = ctx.options.concurrency
    flow_id = ctx.flow(f"bench-api-runs-{ctx.tag}")
    tally = Tally()
    refused: Counter = Counter()

    def lifecycle(i: int) -> None:
        run = ctx.api.post(
            "flow_runs/",
            {
                "flow_id": flow_id,
                "name": f"api-run-{ctx.tag}-{i}",
                "tags": ["bench"],
                "state": {"type": "SCHEDULED", "name": "Scheduled"},
            },
            tally=tally,
            endpoint="POST /flow_runs/",
        )
        for state in TRANSITIONS:
            answer = ctx.api.post(
                f"flow_runs/{run['id']}/set_state",
                {"state": {"type": state, "name": state.title()}, "force": False},
                tally=tally,
                endpoint=f"POST /flow_runs/{{id}}/set_state [{state}]",
            )
            if answer.get("status") != "ACCEPT":
                refused[f"{state}: {answer.get('status')}"] += 1
                raise RequestFailed(f"{state} was not accepted: {answer.get('status')} {answer.get('details')}")

    with ctx.phase() as phase:
        started = time.perf_counter()
        failures = run_pool(n, concurrency, lifecycle)
        seconds = time.perf_counter() - started

    completed = ctx.count_flow_runs(
        {"flows": {"id": {"any_": [flow_id]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    )
    latency = tally.latency()
    latency["POST /flow_runs/{id}/set_state [all]"] = latency_summary(
        value for endpoint, values in tally.latencies.items() if "set_state" in endpoint for value in values
    )
    return {
        "params": {"runs": n, "concurrency": concurrency, "retries": ctx.api.policy.retries},
        "wall_s": round(seconds, 3),
        "requests": tally.attempts,
        "requests_per_s": rate(tally.attempts, seconds),
        "runs_per_s": rate(n - len(failures), seconds),
        "failed_runs": len(failures),
        "not_accepted": dict(refused),
        "failure_samples": [str(f)[:300] for f in failures[:3]],
        "latency": latency,
        "verify": verify.api_runs(expected=n, completed=completed, failed_runs=len(failures)),
        **load_figures(tally, phase),
    }
