"""How long the runs pages take with a big database: the runs list with each filter and sort,
the task-runs tab, the flow-run and task-run pages (of an ordinary run and of a huge one), and
a log download. A script, not a timed test; it prints figures for a person to read.

    .venv/bin/python benchmarks/pages.py --fill --database-url URL   # 200,000 runs, 2,000,000 task runs
    .venv/bin/python benchmarks/runs_pages.py --database-url URL --extra   # add the huge run, once
    .venv/bin/python benchmarks/runs_pages.py --database-url URL
    .venv/bin/python benchmarks/runs_pages.py --database-url URL --explain "/runs/?q=bench-run-19"

It fills nothing itself but `--extra`: one flow run with 20,000 task runs and 200,000 log
lines, and 20 log lines for each of 1,000 ordinary runs (the pages' worst and usual cases).
Pages are requested through Django's test client in this process (no network), warmed once,
then timed `--repeat` times: the median, the worst, and the number of queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages as shared  # noqa: E402 - benchmarks/pages.py: Django set-up and EXPLAIN

EXTRA = """
DELETE FROM runs_log WHERE flow_run_id IN (SELECT id FROM runs_flowrun WHERE name = 'bench-huge-run')
    OR name = 'prefect.flow_runs' AND message LIKE 'step % of the run';
DELETE FROM runs_taskrun WHERE flow_run_id IN (SELECT id FROM runs_flowrun WHERE name = 'bench-huge-run');
DELETE FROM runs_flowrunstate WHERE flow_run_id IN (SELECT id FROM runs_flowrun WHERE name = 'bench-huge-run');
DELETE FROM runs_flowrun WHERE name = 'bench-huge-run';

INSERT INTO runs_flowrun (id, created, updated, name, state_type, state_name, state_timestamp, run_count,
    expected_start_time, start_time, end_time, total_run_time, tags, labels, parameters, context,
    empirical_policy, auto_scheduled, job_variables, flow_id, work_pool_name)
SELECT gen_random_uuid(), now() - interval '2 hours', now(), 'bench-huge-run', 'COMPLETED', 'Completed', now(), 1,
       now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 hour', 3600, '["huge"]', '{}',
       '{"rows": 20000}', '{}', '{}', false, '{}', (SELECT id FROM runs_flow ORDER BY name LIMIT 1), 'bench-pool-0';

INSERT INTO runs_taskrun (id, created, updated, name, state_type, state_name, state_timestamp, run_count,
    expected_start_time, start_time, end_time, total_run_time, tags, labels, task_key, dynamic_key,
    empirical_policy, task_inputs, flow_run_run_count, flow_run_id)
SELECT gen_random_uuid(), fr.start_time, fr.start_time, 'row-' || k, 'COMPLETED', 'Completed', fr.end_time, 1,
       fr.start_time + (k * 0.18) * interval '1 second', fr.start_time + (k * 0.18) * interval '1 second',
       fr.start_time + (k * 0.18 + 2) * interval '1 second', 2.0, '[]', '{}', 'huge-row', k::text, '{}',
       ('{"x": [{"input_type": "task_run", "id": "' || gen_random_uuid() || '"}]}')::jsonb, 1, fr.id
FROM runs_flowrun fr, generate_series(0, 19999) AS k
WHERE fr.name = 'bench-huge-run';

INSERT INTO runs_log (id, created, name, level, message, timestamp, flow_run_id, task_run_id)
SELECT gen_random_uuid(), fr.start_time, 'prefect.task_runs', (ARRAY[10, 20, 20, 20, 30, 40])[1 + i % 6],
       'processed row ' || i, fr.start_time + (i * 0.018) * interval '1 second', fr.id, NULL
FROM runs_flowrun fr, generate_series(0, 199999) AS i
WHERE fr.name = 'bench-huge-run';

INSERT INTO runs_log (id, created, name, level, message, timestamp, flow_run_id, task_run_id)
SELECT gen_random_uuid(), fr.expected_start_time, 'prefect.flow_runs', (ARRAY[20, 20, 30])[1 + i % 3],
       'step ' || i || ' of the run', fr.expected_start_time + i * interval '1 second', fr.id,
       (SELECT t.id FROM runs_taskrun t WHERE t.flow_run_id = fr.id ORDER BY t.expected_start_time LIMIT 1)
FROM (SELECT * FROM runs_flowrun WHERE name LIKE 'bench-run-%' ORDER BY expected_start_time DESC LIMIT 1000) fr,
     generate_series(0, 19) AS i;

INSERT INTO runs_flowrunstate (id, created, type, name, timestamp, message, state_details, flow_run_id)
SELECT gen_random_uuid(), fr.end_time, 'COMPLETED', 'Completed', fr.end_time, NULL, '{}', fr.id
FROM runs_flowrun fr WHERE fr.name = 'bench-huge-run';
UPDATE runs_flowrun fr SET state_id = s.id FROM runs_flowrunstate s WHERE s.flow_run_id = fr.id AND fr.name = 'bench-huge-run'
"""


def extra(url: str) -> None:
    import psycopg

    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in (s.strip() for s in EXTRA.split(";\n")):
            if statement:
                step = time.monotonic()
                conn.execute(statement)
                print(f"  {statement.splitlines()[0][:70]:<70} {time.monotonic() - step:6.1f}s", flush=True)
        conn.execute("VACUUM ANALYZE")
    print(f"added in {time.monotonic() - started:.0f}s")


def runs_pages() -> list[tuple[str, str]]:
    from deployments.models import Deployment
    from runs.models import Flow, FlowRun, Log, TaskRun

    flow = Flow.objects.order_by("-name").first()
    run = FlowRun.objects.filter(name__startswith="bench-run-").order_by("-expected_start_time").first()
    huge = FlowRun.objects.filter(name="bench-huge-run").first()
    task = TaskRun.objects.filter(flow_run=run).order_by("expected_start_time").first() if run else None
    deployment = Deployment.objects.order_by("name").first()
    found = [
        ("runs list", "/runs/"),
        ("runs list, 2nd page", None),
        ("runs list, failed + crashed", "/runs/?state=FAILED&state=CRASHED"),
        ("runs list, rare state (pending)", "/runs/?state=PENDING"),
        ("runs list, one flow", f"/runs/?flow={flow.pk}" if flow else None),
        ("runs list, one flow by name", f"/runs/?flow={flow.pk}&sort=name" if flow else None),
        ("runs list, work pool", "/runs/?pool=bench-pool-1"),
        ("runs list, deployment (none match)", f"/runs/?deployment={deployment.pk}" if deployment else None),
        ("runs list, tag (half)", "/runs/?tags=nightly"),
        ("runs list, tag (rare)", "/runs/?tags=huge"),
        ("runs list, tag (none match)", "/runs/?tags=nobody"),
        ("runs list, search (common)", "/runs/?q=bench-run-1"),
        ("runs list, search (one)", "/runs/?q=bench-run-123456"),
        ("runs list, search (none)", "/runs/?q=no-such-run"),
        ("runs list, past hour", "/runs/?range=hour"),
        ("runs list, past week, failed", "/runs/?range=week&state=FAILED"),
        ("runs list, oldest first", "/runs/?sort=oldest"),
        ("runs list, by name", "/runs/?sort=name"),
        ("task runs", "/runs/?tab=task-runs"),
        ("task runs, failed", "/runs/?tab=task-runs&state=FAILED"),
        ("task runs, one flow", f"/runs/?tab=task-runs&flow={flow.pk}" if flow else None),
        ("task runs, one flow, failed", f"/runs/?tab=task-runs&flow={flow.pk}&state=FAILED" if flow else None),
        ("task runs, search", "/runs/?tab=task-runs&q=task-9"),
        ("task runs, search (none)", "/runs/?tab=task-runs&q=no-such-task"),
        ("task runs, tag (none match)", "/runs/?tab=task-runs&tags=nobody"),
        ("task runs, rare state (running)", "/runs/?tab=task-runs&state=RUNNING"),
        ("task runs, past hour", "/runs/?tab=task-runs&range=hour"),
        ("task runs, by name", "/runs/?tab=task-runs&sort=name"),
        ("flow-run page", f"/runs/flow-run/{run.pk}" if run else None),
        ("flow-run page, warnings", f"/runs/flow-run/{run.pk}?level=WARNING" if run else None),
        ("flow-run page, huge run", f"/runs/flow-run/{huge.pk}" if huge else None),
        ("flow-run page, huge run, errors", f"/runs/flow-run/{huge.pk}?level=ERROR" if huge else None),
        ("task-run page", f"/runs/task-run/{task.pk}" if task else None),
        ("log download, huge run (200k lines)", f"/runs/flow-run/{huge.pk}/logs/download" if huge else None),
    ]
    if huge:
        last = Log.objects.filter(flow_run_id=huge.pk).order_by("-timestamp", "-id").only("timestamp", "id")[1000]
        from runs.logs import LOG_ORDER

        found.append(
            ("flow-run page, huge run, last logs", f"/runs/flow-run/{huge.pk}?logs_after={LOG_ORDER.cursor_of(last)}")
        )
    return [(label, path) for label, path in found if path is not None or label == "runs list, 2nd page"]


def time_them(repeat: int, only: str | None) -> None:
    import re

    from asgiref.sync import async_to_sync
    from django.db import connection
    from django.test import AsyncClient, Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    print(f"{'page':<44} {'median':>9} {'worst':>9} {'queries':>8}  status")
    previous_html = ""
    for label, path in runs_pages():
        if only and only not in label:
            continue
        if path is None:  # the page after the first runs list page
            match = re.search(r'rel="next" href="([^"]+)"', previous_html)
            if match is None:
                continue
            path = "/runs/" + match.group(1).replace("&amp;", "&")
        is_download = path.endswith("/download")
        times = []
        for attempt in range(repeat + 1):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                if is_download:
                    response = async_to_sync(_drain)(AsyncClient(), path)
                else:
                    response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
            if attempt:  # the first is the warm-up
                times.append(elapsed)
        if label == "runs list":
            previous_html = response.content.decode()
        print(
            f"{label:<44} {statistics.median(times):8.1f}ms {max(times):8.1f}ms {len(queries):>8}  "
            f"{response.status_code}"
        )


async def _drain(client, path):
    response = await client.get(path)
    async for _ in response.streaming_content:
        pass
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=shared.DEFAULT_URL)
    parser.add_argument("--extra", action="store_true", help="add the huge run and ordinary runs' logs first")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="time only the pages whose label contains this")
    parser.add_argument("--explain", metavar="PATH", help="EXPLAIN ANALYZE the queries of one page")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark runs on PostgreSQL")
    shared.setup_django(args.database_url)
    if args.extra:
        extra(args.database_url)
    if args.explain:
        shared.explain(args.explain)
    else:
        time_them(args.repeat, args.only)


if __name__ == "__main__":
    main()
