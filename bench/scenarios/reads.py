"""reads: the dashboard's and the client's list queries on a database of at least 10,000 runs.

Missing runs are first seeded with single `POST /flow_runs/` calls (10 flows; 70 % COMPLETED,
10 % FAILED, 5 % RUNNING, 5 % CANCELLED, 10 % SCHEDULED one hour to three days ahead, so the
late-runs service has nothing to do). Then each query is called `iters` times in turn after one
untimed call: the runs list (`/flow_runs/filter`, limit 50, newest start first), two counts by
state, the 24-hour histogram (`/flow_runs/history`, 1 h buckets), the UI's 7-day scatter
(`/ui/flow_runs/history`, limit 1000) and single runs by id. Last, C clients run a mix of the list
and the counts for read throughput. Headline: p50 (and p95) of each query.

`bench.scale` runs `measure` on databases it loaded directly, for the growth to 1,000,000 runs.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from .. import verify
from ..client import Tally, run_pool
from ..stats import latency_summary, rate
from . import Context, iso, load_figures, now

SEED_FLOWS = 10


def queries(moment: dt.datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, path, body) of the timed POST queries, their windows relative to `moment`."""
    return [
        ("POST /flow_runs/filter [limit 50]", "flow_runs/filter", {"limit": 50, "offset": 0, "sort": "START_TIME_DESC"}),
        ("POST /flow_runs/count [COMPLETED]", "flow_runs/count", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}),
        (
            "POST /flow_runs/count [FAILED, CRASHED]",
            "flow_runs/count",
            {"flow_runs": {"state": {"type": {"any_": ["FAILED", "CRASHED"]}}}},
        ),
        (
            "POST /flow_runs/history [24 h]",
            "flow_runs/history",
            {
                "history_start": iso(moment - dt.timedelta(days=1)),
                "history_end": iso(moment),
                "history_interval_seconds": 3600,
            },
        ),
        (
            "POST /ui/flow_runs/history [7 d]",
            "ui/flow_runs/history",
            {
                "sort": "EXPECTED_START_TIME_DESC",
                "limit": 1000,
                "offset": 0,
                "flow_runs": {
                    "expected_start_time": {
                        "after_": iso(moment - dt.timedelta(days=7)),
                        "before_": iso(moment + dt.timedelta(days=1)),
                    }
                },
            },
        ),
    ]  # fmt: skip


def measure(ctx: Context, iters: int) -> tuple[Tally, dict[str, Any]]:
    """Each query `iters` times after one untimed call, then GET /flow_runs/{id} on random ids.
    Returns the tally and what each query returned (a count, or a list's length)."""
    tally = Tally()
    returned: dict[str, Any] = {}
    for name, path, body in queries(now()):
        for i in range(iters + 1):
            answer = ctx.api.post(path, body, tally=tally if i else None, endpoint=name)
        returned[name] = len(answer) if isinstance(answer, list) else answer
    ids = [run["id"] for run in ctx.api.post("flow_runs/filter", {"limit": 200, "sort": "ID_DESC"})]
    rng = random.Random(7)
    for i in range(iters + 1):
        ctx.api.get(f"flow_runs/{rng.choice(ids)}", tally=tally if i else None, endpoint="GET /flow_runs/{id}")
    return tally, returned


def run(ctx: Context) -> dict[str, Any]:
    options = ctx.options
    target = options.reads_runs
    before = ctx.count_flow_runs({})
    seeded = seed(ctx, target - before) if before < target else None
    total = ctx.count_flow_runs({})

    with ctx.phase() as phase:
        started = time.perf_counter()
        tally, returned = measure(ctx, options.iters)
        seconds = time.perf_counter() - started

    mixed = Tally()
    mix = [q for q in queries(now()) if "history" not in q[0]]

    def one(i: int) -> None:
        name, path, body = mix[i % len(mix)]
        ctx.api.post(path, body, tally=mixed, endpoint="mixed")

    n_mixed = 4 * options.iters
    started = time.perf_counter()
    run_pool(n_mixed, options.concurrency, one)
    mixed_seconds = time.perf_counter() - started
    return {
        "params": {"target_flow_runs": target, "iters": options.iters, "concurrency": options.concurrency},
        "flow_runs_before": before,
        "flow_runs": total,
        "seed": seeded,
        "wall_s": round(seconds, 3),
        "latency": tally.latency(),
        "returned": returned,
        "mixed": {
            "requests": n_mixed,
            "requests_per_s": rate(n_mixed, mixed_seconds),
            "latency": latency_summary(mixed.latencies["mixed"]),
            "errors": mixed.error_count,
        },
        "verify": verify.reads(target=target, total=total, errors=tally.error_count + mixed.error_count),
        **load_figures(tally, phase),
    }


def seed(ctx: Context, missing: int) -> dict[str, Any]:
    """Create `missing` runs over SEED_FLOWS flows with a mix of states (not timed as reads)."""
    flow_ids = [ctx.flow(f"bench-reads-flow-{i}") for i in range(SEED_FLOWS)]
    rng = random.Random(42)
    moment = now()
    states = [seed_state(rng, moment) for _ in range(missing)]
    tally = Tally()

    def create(i: int) -> None:
        ctx.api.post(
            "flow_runs/",
            {
                "flow_id": flow_ids[i % SEED_FLOWS],
                "state": states[i],
                "tags": ["bench", f"t{i % 7}"],
                "parameters": {"i": i},
            },
            tally=tally,
            endpoint="POST /flow_runs/ (with state)",
        )

    started = time.perf_counter()
    failures = run_pool(missing, ctx.options.seed_concurrency, create)
    seconds = time.perf_counter() - started
    return {
        "created": missing - len(failures),
        "concurrency": ctx.options.seed_concurrency,
        "wall_s": round(seconds, 2),
        "runs_per_s": rate(missing - len(failures), seconds),
        **tally.as_dict(),
    }


def seed_state(rng: random.Random, moment: dt.datetime) -> dict[str, Any]:
    draw = rng.random()
    if draw < 0.70:
        return {"type": "COMPLETED", "name": "Completed"}
    if draw < 0.80:
        return {"type": "FAILED", "name": "Failed", "message": "seeded failure"}
    if draw < 0.85:
        return {"type": "RUNNING", "name": "Running"}
    if draw < 0.90:
        return {"type": "CANCELLED", "name": "Cancelled"}
    at = moment + dt.timedelta(seconds=rng.randint(3600, 3 * 86400))
    return {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": iso(at)}}
