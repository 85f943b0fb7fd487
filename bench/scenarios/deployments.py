"""deployments: runs created through `POST /deployments/{id}/create_flow_run`, then worker polls.

A `process` work pool, a flow and a deployment on it with an interval schedule; N runs created by
C clients, each SCHEDULED a day ahead (one second apart) so the late-runs service leaves them be.
Then, in turn, `iters` polls of what a worker and a runner ask for: the pool's scheduled runs
(default limit and limit 10) and the deployment's. Headline: create_flow_run/s; every created run
must then count as SCHEDULED for the deployment.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from .. import verify
from ..client import Tally, run_pool
from ..stats import rate
from . import Context, iso, load_figures, now


def run(ctx: Context) -> dict[str, Any]:
    options = ctx.options
    n = options.size(options.deployment_runs, 500, minimum=10)
    pool = f"bench-pool-{ctx.tag}"
    tally = Tally()
    ctx.api.post("work_pools/", {"name": pool, "type": "process", "base_job_template": {}})
    flow_id = ctx.flow(f"bench-deploy-flow-{ctx.tag}")
    deployment = ctx.api.post(
        "deployments/",
        {
            "name": f"bench-deployment-{ctx.tag}",
            "flow_id": flow_id,
            "work_pool_name": pool,
            "entrypoint": "bench.py:noop",
            "parameters": {},
            "schedules": [{"schedule": {"interval": 3600, "timezone": "UTC"}, "active": True}],
        },
    )
    deployment_id = deployment["id"]
    first = now() + dt.timedelta(days=1)

    def create(i: int) -> None:
        state = {
            "type": "SCHEDULED",
            "name": "Scheduled",
            "state_details": {"scheduled_time": iso(first + dt.timedelta(seconds=i))},
        }
        ctx.api.post(
            f"deployments/{deployment_id}/create_flow_run",
            {"name": f"dep-run-{ctx.tag}-{i}", "tags": ["bench"], "state": state},
            tally=tally,
            endpoint="POST /deployments/{id}/create_flow_run",
        )

    with ctx.phase() as phase:
        started = time.perf_counter()
        failures = run_pool(n, options.concurrency, create)
        seconds = time.perf_counter() - started

    polls = Tally()
    returned: dict[str, set] = {}
    for i in range(options.iters + 1):
        before = iso(now() + dt.timedelta(days=2))
        for name, path, body in (
            ("work pool [default limit]", f"work_pools/{pool}/get_scheduled_flow_runs", {"scheduled_before": before}),
            ("work pool [limit 10]", f"work_pools/{pool}/get_scheduled_flow_runs", {"scheduled_before": before, "limit": 10}),
            ("deployment [default limit]", "deployments/get_scheduled_flow_runs", {"deployment_ids": [deployment_id], "scheduled_before": before}),
        ):  # fmt: skip
            answer = ctx.api.post(
                path, body, tally=polls if i else None, endpoint=f"POST get_scheduled_flow_runs {name}"
            )
            returned.setdefault(name, set()).add(len(answer))

    scheduled = ctx.count_flow_runs(
        {
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
        }
    )
    return {
        "params": {"runs": n, "concurrency": options.concurrency, "poll_iters": options.iters},
        "wall_s": round(seconds, 3),
        "creates_per_s": rate(n - len(failures), seconds),
        "failed_runs": len(failures),
        "failure_samples": [str(f)[:300] for f in failures[:3]],
        "latency": {**tally.latency(), **polls.latency()},
        "poll_returned": {name: sorted(sizes) for name, sizes in returned.items()},
        "verify": verify.deployments(
            created=n - len(failures),
            scheduled=scheduled,
            schedules=len(deployment.get("schedules") or []),
            failed_runs=len(failures),
        ),
        **load_figures(tally, phase),
    }
