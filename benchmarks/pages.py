"""How long the dashboard's pages take with a big database (issue 6: under 300 ms on PostgreSQL
with 200,000 flow runs and 2,000,000 task runs). A script, not a timed test: timings depend on
the machine, so it prints figures for a person to read and report.

    .venv/bin/python benchmarks/pages.py --fill      # create and fill the database, then time
    .venv/bin/python benchmarks/pages.py             # time the pages of a filled database
    .venv/bin/python benchmarks/pages.py --explain / # EXPLAIN ANALYZE every query of one page

The database is PostgreSQL (`--database-url`, default a dedicated `orchestrator_bench_pages`
database on 127.0.0.1); `--fill` drops and re-creates it, migrates it and fills it in SQL with
generate_series (a few minutes). The runs are spread evenly over the last `--days` days (30 by
default, so the dashboard's 30-day window holds every one of them: its worst case), each with
ten task runs; events are spread over the last 7 days (their retention period).

Each page is requested through Django's test client in this process (no HTTP server, no
network), warmed once, then timed `--repeat` times; the table shows the median and the worst
time and how many queries the page made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/orchestrator_bench_pages"


def setup_django(url: str) -> None:
    sys.path.insert(0, str(REPO))
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="orchestrator-bench-home-")
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = url
    os.environ["PREFECT_API_DATABASE_TIMEOUT"] = "0"  # filling takes longer than the 10 s statement timeout
    os.environ.setdefault("ORCHESTRATOR_SECRET_KEY", "benchmark-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.base"
    import django

    django.setup()


def recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


# The fill, in SQL. :n flow runs over :days days; run i is (i % 100) in this table of states.
FILL = """
INSERT INTO runs_flow (id, created, updated, name, tags, labels)
SELECT gen_random_uuid(), now() - interval '90 days', now(), 'bench-flow-' || lpad(i::text, 3, '0'), '[]', '{{}}'
FROM generate_series(0, {flows} - 1) AS i;

INSERT INTO deployments_workpool (id, created, updated, name, description, type, base_job_template, is_paused,
    status, storage_configuration)
SELECT gen_random_uuid(), now(), now(), 'bench-pool-' || i, '', 'process', '{{}}', false, 'READY', '{{}}'
FROM generate_series(0, 3) AS i;

INSERT INTO deployments_workqueue (id, created, updated, name, description, is_paused, priority, last_polled,
    status, work_pool_id)
SELECT gen_random_uuid(), now(), now(), 'default', '', false, 1, now() - interval '20 seconds', 'READY', p.id
FROM deployments_workpool p;

INSERT INTO deployments_deployment (id, created, updated, name, paused, tags, labels, parameters,
    parameter_openapi_schema, enforce_parameter_schema, job_variables, status, flow_id, work_queue_id,
    work_queue_name)
SELECT gen_random_uuid(), now(), now(), 'deployment-' || d, false, '["bench"]', '{{}}', '{{"n": 4}}',
    '{{"type": "object", "properties": {{"n": {{"type": "integer", "default": 4}}}}}}', true, '{{}}', 'READY',
    f.id, (SELECT id FROM deployments_workqueue ORDER BY id OFFSET (d % 4) LIMIT 1), 'default'
FROM runs_flow f, generate_series(0, 1) AS d;

CREATE TEMP TABLE bench_run AS
SELECT i,
       now() - (i * ({days} * 86400.0 / {n})) * interval '1 second' AS t,
       CASE
           WHEN i % 100 < 80 THEN 'COMPLETED' WHEN i % 100 < 88 THEN 'FAILED' WHEN i % 100 < 90 THEN 'CRASHED'
           WHEN i % 100 < 92 THEN 'RUNNING' WHEN i % 100 < 94 THEN 'CANCELLED' WHEN i % 100 < 97 THEN 'SCHEDULED'
           ELSE 'PENDING'
       END AS state_type,
       (SELECT array_agg(id ORDER BY name) FROM runs_flow)[1 + (i % {flows})] AS flow_id
FROM generate_series(1, {n}) AS i;

INSERT INTO runs_flowrun (id, created, updated, name, state_type, state_name, state_timestamp, run_count,
    expected_start_time, start_time, end_time, total_run_time, tags, labels, parameters, context,
    empirical_policy, parent_task_run_id, auto_scheduled, job_variables, flow_id, deployment_id, work_pool_id,
    work_pool_name, work_queue_name)
SELECT gen_random_uuid(), r.t - interval '1 minute', r.t, 'bench-run-' || r.i, r.state_type,
       CASE r.state_type WHEN 'SCHEDULED' THEN (CASE WHEN r.i % 3 = 0 THEN 'Scheduled' ELSE 'Late' END)
            ELSE initcap(r.state_type) END,
       r.t, 1, r.t,
       CASE WHEN r.state_type IN ('SCHEDULED', 'PENDING') THEN NULL ELSE r.t + interval '2 seconds' END,
       CASE WHEN r.state_type IN ('SCHEDULED', 'PENDING', 'RUNNING') THEN NULL ELSE r.t + interval '62 seconds' END,
       60.0, CASE WHEN r.i % 2 = 0 THEN '["bench", "nightly"]' ELSE '["bench"]' END::jsonb, '{{}}', '{{"n": 4}}',
       '{{}}', '{{}}', CASE WHEN r.i % 10 = 0 THEN gen_random_uuid() END, false, '{{}}', r.flow_id,
       NULL, p.id, p.name, 'default'
FROM bench_run r
JOIN deployments_workpool p ON p.name = 'bench-pool-' || (r.i % 4);

-- Runs scheduled ahead, as the scheduler makes them.
INSERT INTO runs_flowrun (id, created, updated, name, state_type, state_name, state_timestamp, run_count,
    expected_start_time, next_scheduled_start_time, total_run_time, tags, labels, parameters, context,
    empirical_policy, auto_scheduled, job_variables, flow_id)
SELECT gen_random_uuid(), now(), now(), 'bench-upcoming-' || i, 'SCHEDULED', 'Scheduled', now(), 0,
       now() + i * interval '1 minute', now() + i * interval '1 minute', 0, '["auto-scheduled"]', '{{}}', '{{}}',
       '{{}}', '{{}}', true, '{{}}', (SELECT array_agg(id ORDER BY name) FROM runs_flow)[1 + (i % {flows})]
FROM generate_series(1, 1000) AS i;

INSERT INTO runs_flowrunstate (id, created, type, name, timestamp, message, state_details, flow_run_id)
SELECT gen_random_uuid(), fr.state_timestamp, fr.state_type, fr.state_name, fr.state_timestamp, NULL, '{{}}', fr.id
FROM runs_flowrun fr;
UPDATE runs_flowrun fr SET state_id = s.id FROM runs_flowrunstate s WHERE s.flow_run_id = fr.id;

INSERT INTO runs_taskrun (id, created, updated, name, state_type, state_name, state_timestamp, run_count,
    expected_start_time, start_time, end_time, total_run_time, tags, labels, task_key, dynamic_key,
    empirical_policy, task_inputs, flow_run_run_count, flow_run_id)
SELECT gen_random_uuid(), fr.expected_start_time, fr.expected_start_time, 'task-' || k,
       CASE WHEN k < 9 OR fr.state_type IN ('COMPLETED', 'CANCELLED') THEN 'COMPLETED'
            WHEN fr.state_type IN ('FAILED', 'CRASHED') THEN 'FAILED'
            WHEN fr.state_type = 'RUNNING' THEN 'RUNNING' ELSE 'PENDING' END,
       CASE WHEN k < 9 OR fr.state_type IN ('COMPLETED', 'CANCELLED') THEN 'Completed'
            WHEN fr.state_type IN ('FAILED', 'CRASHED') THEN 'Failed'
            WHEN fr.state_type = 'RUNNING' THEN 'Running' ELSE 'Pending' END,
       fr.expected_start_time + k * interval '5 seconds', 1,
       fr.expected_start_time + k * interval '5 seconds', fr.expected_start_time + k * interval '5 seconds',
       fr.expected_start_time + k * interval '5 seconds' + interval '4 seconds', 4.0, '[]', '{{}}',
       'bench-task-' || k, fr.id::text, '{{}}', '{{}}', 1, fr.id
FROM runs_flowrun fr, generate_series(0, 9) AS k
WHERE fr.name LIKE 'bench-run-%';

INSERT INTO events_event (id, occurred, event, resource_id, resource, related, payload, received, recorded)
SELECT gen_random_uuid(), now() - (i * (7 * 86400.0 / {events})) * interval '1 second',
       (ARRAY['prefect.flow-run.Running', 'prefect.flow-run.Completed', 'prefect.task-run.Running',
              'prefect.task-run.Completed', 'prefect.work-pool.ready'])[1 + i % 5],
       'prefect.flow-run.' || md5(i::text)::uuid,
       jsonb_build_object('prefect.resource.id', 'prefect.flow-run.' || md5(i::text)::uuid,
                          'prefect.resource.name', 'bench-run-' || i),
       jsonb_build_array(jsonb_build_object('prefect.resource.id', 'prefect.flow.' || md5((i % 50)::text)::uuid,
                                            'prefect.resource.role', 'flow')),
       '{{}}', now(), now()
FROM generate_series(1, {events}) AS i;

INSERT INTO events_eventresource (occurred, resource_id, resource_role, resource, event_id)
SELECT occurred, resource_id, '', resource, id FROM events_event;
INSERT INTO events_eventresource (occurred, resource_id, resource_role, resource, event_id)
SELECT occurred, related -> 0 ->> 'prefect.resource.id', 'flow', related -> 0, id FROM events_event;
"""


def fill(url: str, *, runs: int, days: float, events: int, flows: int) -> None:
    import psycopg
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    sql = FILL.format(n=runs, days=days, events=events, flows=flows)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in (s.strip() for s in sql.split(";\n")):
            if statement:
                step = time.monotonic()
                conn.execute(statement)
                print(f"  {statement.splitlines()[0][:70]:<70} {time.monotonic() - step:6.1f}s", flush=True)
        conn.execute("VACUUM ANALYZE")
    print(f"filled in {time.monotonic() - started:.0f}s")


def pages() -> list[tuple[str, str]]:
    """(label, path) of the pages to time; ids are looked up in the filled database."""
    from deployments.models import Deployment
    from events.models import Event
    from runs.models import Flow, FlowRun

    flow = Flow.objects.order_by("name").first()
    run = FlowRun.objects.filter(state_type="COMPLETED").order_by("-expected_start_time").first()
    deployment = Deployment.objects.order_by("name").first()
    event = Event.objects.order_by("-occurred").first()
    found = [
        ("dashboard (24 h, default)", "/"),
        ("dashboard 1 h", "/?window=1h"),
        ("dashboard 7 d", "/?window=7d"),
        ("dashboard 30 d", "/?window=30d"),
        ("dashboard 24 h, hide subflows, tag", "/?window=24h&hide_subflows=1&tags=nightly"),
        ("dashboard 30 d, hide subflows, tag", "/?window=30d&hide_subflows=1&tags=nightly"),
        ("flows list", "/flows/"),
        ("flows list, search", "/flows/?q=flow-01"),
        ("runs list", "/runs/"),
        ("events feed (24 h)", "/events/"),
        ("events feed 7 d", "/events/?range=7d"),
        ("events feed, name prefix", "/events/?event=prefect.task-run."),
        ("settings", "/settings"),
    ]
    if flow:
        found.append(("flow page", f"/flows/flow/{flow.pk}"))
    if run:
        found.append(("flow-run page", f"/runs/flow-run/{run.pk}"))
        found.append(("events feed, one resource", f"/events/?resource=prefect.flow-run.{run.pk}"))
    if deployment:
        found.append(("deployment page", f"/deployments/deployment/{deployment.pk}/"))
        found.append(("custom run form", f"/deployments/deployment/{deployment.pk}/run"))
    if event:
        found.append(("event page", f"/events/event/{event.pk}"))
    return found


def time_pages(repeat: int, only: str | None) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    print(f"{'page':<42} {'median':>8} {'worst':>8} {'queries':>8}  status")
    for label, path in pages():
        if only and only not in label and only != path:
            continue
        client.get(path)  # warm the caches and the connection
        times = []
        for _ in range(repeat):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
        print(
            f"{label:<42} {statistics.median(times):7.1f}ms {max(times):7.1f}ms {len(queries):>8}  {response.status_code}"
        )


def explain(path: str) -> None:
    """EXPLAIN ANALYZE each query a page makes."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        Client().get(path)
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            print(f"--- {query['time']}s\n{sql[:600]}\n{plan}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--fill", action="store_true", help="drop, re-create and fill the database first")
    parser.add_argument("--runs", type=int, default=200_000, help="flow runs (each with ten task runs)")
    parser.add_argument("--days", type=float, default=30, help="the runs are spread over this many days")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", help="time only the pages whose label contains this")
    parser.add_argument("--explain", metavar="PATH", help="EXPLAIN ANALYZE the queries of one page")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark runs on PostgreSQL")
    if args.fill:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    if args.fill:
        fill(args.database_url, runs=args.runs, days=args.days, events=args.events, flows=args.flows)
    if args.explain:
        explain(args.explain)
    else:
        time_pages(args.repeat, args.only)


if __name__ == "__main__":
    main()
