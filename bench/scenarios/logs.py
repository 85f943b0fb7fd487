"""logs: C senders post log records in batches of 100 to `POST /logs/`.

The records are spread round-robin over a few flow runs and serialised before the clock starts,
so the figure is the server's. Headline: records/s. Then one run's records are read back with
`POST /logs/filter` (limit 200, both sort orders, timed) and counted by probing offsets.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections import Counter
from typing import Any

from .. import verify
from ..client import Tally, run_pool
from ..stats import rate
from . import Context, iso, load_figures, now

PAGE = 200


def run(ctx: Context) -> dict[str, Any]:
    options = ctx.options
    n = options.size(options.records, 100_000, minimum=options.log_batch)
    batch, concurrency = options.log_batch, options.concurrency
    flow_id = ctx.flow(f"bench-logs-{ctx.tag}")
    run_ids = [
        ctx.api.post("flow_runs/", {"flow_id": flow_id, "name": f"logs-run-{ctx.tag}-{i}"})["id"]
        for i in range(options.log_runs)
    ]

    payloads, per_run = batches(run_ids, n, batch)
    tally = Tally()
    lost: list[int] = []

    def send(i: int) -> None:
        try:
            ctx.api.post("logs/", data=payloads[i], tally=tally, endpoint="POST /logs/")
        except Exception:
            lost.append(min(batch, n - i * batch))
            raise

    with ctx.phase() as phase:
        started = time.perf_counter()
        failures = run_pool(len(payloads), concurrency, send)
        seconds = time.perf_counter() - started
    sent = n - sum(lost)

    target = run_ids[0]
    reads = Tally()
    for sort in ("TIMESTAMP_ASC", "TIMESTAMP_DESC"):
        for _ in range(options.iters):
            page = ctx.api.post(
                "logs/filter",
                {"logs": {"flow_run_id": {"any_": [target]}}, "limit": PAGE, "sort": sort},
                tally=reads,
                endpoint=f"POST /logs/filter [1 run, limit {PAGE}, {sort}]",
            )
    expected = per_run[target]
    probe = {"logs": {"flow_run_id": {"any_": [target]}}, "limit": 1}
    at_last = ctx.api.post("logs/filter", {**probe, "offset": expected - 1})
    beyond = ctx.api.post("logs/filter", {**probe, "offset": expected})
    return {
        "params": {"records": n, "batch": batch, "concurrency": concurrency, "flow_runs": options.log_runs},
        "wall_s": round(seconds, 3),
        "records_per_s": rate(sent, seconds),
        "batches_per_s": rate(len(payloads) - len(failures), seconds),
        "failed_batches": len(failures),
        "latency": {**tally.latency(), **reads.latency()},
        "verify": verify.logs(
            sent=sent,
            expected_for_run=expected,
            page=len(page),
            page_limit=PAGE,
            at_last=len(at_last),
            beyond_last=len(beyond),
        ),
        **load_figures(tally, phase),
    }


def batches(run_ids: list[str], n: int, size: int) -> tuple[list[bytes], Counter]:
    """n records as JSON batches of `size`, batch b for run b % len(run_ids); and the count per run."""
    base = now() - dt.timedelta(minutes=30)
    payloads: list[bytes] = []
    per_run: Counter = Counter()
    for b in range(math.ceil(n / size)):
        run_id = run_ids[b % len(run_ids)]
        first = b * size
        records = [
            {
                "name": "prefect.flow_runs.bench",
                "level": 30 if k % 10 == 0 else 20,
                "message": f"bench log record {k} " + "lorem ipsum dolor sit amet " * 3,
                "timestamp": iso(base + dt.timedelta(microseconds=10 * k)),
                "flow_run_id": run_id,
            }
            for k in range(first, min(first + size, n))
        ]
        per_run[run_id] += len(records)
        payloads.append(json.dumps(records).encode())
    return payloads, per_run
