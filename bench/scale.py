"""`python -m bench.scale`: how our reads grow with history, from 10,000 to 1,000,000 flow runs.

    .venv/bin/python -m bench.scale                          # 10,000 and 1,000,000 runs (PostgreSQL)
    .venv/bin/python -m bench.scale --runs 1000000 --keep    # load once, keep bench_scale_1000000
    .venv/bin/python -m bench.scale --runs 1000000 --reuse   # measure the kept database again

For each size: a fresh PostgreSQL database `bench_scale_<runs>`, migrated by our own code, filled
by bench.loader with COPY (secondary indexes and foreign keys are dropped for the load and built
again after it, then VACUUM ANALYZE and a CHECKPOINT, as a long-lived database would be),
checked (every run's denormalised state columns match its last state row), then our server is
started on it and, after a few seconds for its services' first pass, the `reads` scenario's
queries are timed. The table compares each query's p50/p95 at every size with the smallest one;
the issue's goal is a p95 growth within 2x from 10,000 to 1,000,000 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import loader
from .client import Api
from .report import format_number, format_ratio
from .scenarios import Context, Options
from .scenarios import reads as reads_scenario
from .servers import (
    DEFAULT_POSTGRES,
    REPO,
    Server,
    ServerFailed,
    Workdir,
    describe_tree,
    export_commit,
    libpq_url,
    sqlalchemy_url,
)

TABLES = ("runs_flowrun", "runs_flowrunstate", "runs_taskrun", "runs_taskrunstate")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- Django, for the migrations and the models' columns --------------------------------------


def setup_django(source: Path, url: str) -> None:
    """Our settings and models from `source` (this checkout or an exported commit)."""
    sys.path.insert(0, str(source))
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="orchestrator-bench-scale-")
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = sqlalchemy_url(url)
    os.environ["PREFECT_API_DATABASE_TIMEOUT"] = "0"  # migrations of a big table outlast 10 s
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.base"
    import django

    django.setup()


def use_database(name: str | None) -> None:
    """Point Django's connection at another database of the same server (None: just close it)."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    # The psycopg pool is shared by every connection of the alias and keeps the old database's
    # connections: close it so the next one opens on the new name.
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()
    if name:
        connection.settings_dict["NAME"] = name


def prepare(flows: int = 20, deployments: int = 10) -> loader.Target:
    """Migrate, then make the flows, a work pool with its queue, and deployments (with the ORM:
    a few rows, and every model default applied as the server applies it)."""
    from deployments.models import Deployment, WorkPool, WorkQueue
    from orchestrator import database
    from runs.models import Flow

    database.migrate()
    flow_rows = [Flow.objects.create(name=f"scale-flow-{i:02d}", tags=["scale"]) for i in range(flows)]
    pool = WorkPool.objects.create(name="scale-pool", type="process")
    queue = WorkQueue.objects.create(work_pool=pool, name="default")
    pool.default_queue = queue
    pool.save(update_fields=["default_queue"])
    deployment_rows = [
        Deployment.objects.create(
            flow=flow_rows[i % flows],
            name=f"scale-deployment-{i:02d}",
            version="1",
            work_queue=queue,
            work_queue_name=queue.name,
            entrypoint="flows.py:main",
        )
        for i in range(deployments)
    ]
    return loader.Target(
        flows=[(f.id, f.name) for f in flow_rows],
        deployments=[(d.id, d.flow_id, queue.id, queue.name, pool.id, pool.name) for d in deployment_rows],
    )


# --- the load ---------------------------------------------------------------------------------


class DeferredIndexes:
    """Drop the tables' secondary indexes, unique and foreign-key constraints for the load and
    build them again after it: one sort per index instead of millions of insertions into it."""

    def __init__(self, conn):
        self.conn = conn
        tables = list(TABLES)
        self.constraints = conn.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
               FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')
               ORDER BY contype DESC""",  # unique before foreign keys when adding back
            (tables,),
        ).fetchall()
        self.indexes = conn.execute(
            """SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
               WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))""",
            (tables,),
        ).fetchall()

    def drop(self) -> None:
        for table, name, _, _ in reversed(self.constraints):
            self.conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            self.conn.execute(f"DROP INDEX {name}")

    def restore(self) -> None:
        self.conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in self.indexes:
            self.conn.execute(definition)
        for table, name, definition, _ in self.constraints:
            self.conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def load(url: str, history: loader.History, target: loader.Target) -> dict[str, Any]:
    """COPY the generated runs into the four tables, four streams at once."""
    import psycopg

    from runs.models import FlowRun, FlowRunState, TaskRun, TaskRunState

    columns = [
        loader.Columns(FlowRun, loader.FLOW_RUN_COLUMNS),
        loader.Columns(FlowRunState, [*loader.STATE_COLUMNS, "flow_run_id"]),
        loader.Columns(TaskRun, loader.TASK_RUN_COLUMNS),
        loader.Columns(TaskRunState, [*loader.STATE_COLUMNS, "task_run_id"]),
    ]
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as admin:
        deferred = DeferredIndexes(admin)
        deferred.drop()
        started = time.perf_counter()
        generator = loader.Generator(history, target, dt.datetime.now(dt.UTC))
        with contextlib.ExitStack() as stack:
            sinks = []
            for table in columns:
                conn = stack.enter_context(psycopg.connect(url))
                conn.execute("SET synchronous_commit = off")
                copy = stack.enter_context(conn.cursor().copy(table.copy_sql()))
                sinks.append(Sink(copy, table.constants))
            generator.rows(*sinks, progress=lambda n: say(progress(n, history.runs, started)))
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        say(f"  copied in {timings['copy_s']:.0f} s: {generator.counts}; building indexes...")
        started = time.perf_counter()
        deferred.restore()
        timings["indexes_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        for table in TABLES:
            admin.execute(f'VACUUM ANALYZE "{table}"')
        # The load left gigabytes of pages for the checkpointer to write out over the next
        # minutes; writing them now keeps that flush out of the timed reads.
        admin.execute("CHECKPOINT")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    return {"rows": generator.counts, **timings}


class Sink:
    """A COPY stream that appends the table's constant columns to each generated row."""

    def __init__(self, copy, constants: tuple):
        self.copy = copy
        self.constants = constants

    def write_row(self, row: tuple) -> None:
        self.copy.write_row(row + self.constants)


def progress(done: int, total: int, started: float) -> str:
    seconds = time.perf_counter() - started
    return f"  {done:,} of {total:,} flow runs, {done / seconds:,.0f}/s"


CHECKS = {
    # Each run's state pointer names its own newest state, whose type, name and time the run's
    # denormalised columns repeat.
    "flow runs whose state columns disagree with their last state": """
        SELECT count(*) FROM runs_flowrun r LEFT JOIN runs_flowrunstate s ON s.id = r.state_id
        WHERE s.id IS NULL OR s.flow_run_id <> r.id OR s.type <> r.state_type OR s.name <> r.state_name
           OR s.timestamp <> r.state_timestamp
           OR EXISTS (SELECT 1 FROM runs_flowrunstate n WHERE n.flow_run_id = r.id AND n.timestamp > s.timestamp)""",
    "task runs whose state columns disagree with their last state": """
        SELECT count(*) FROM runs_taskrun r LEFT JOIN runs_taskrunstate s ON s.id = r.state_id
        WHERE s.id IS NULL OR s.task_run_id <> r.id OR s.type <> r.state_type OR s.name <> r.state_name
           OR s.timestamp <> r.state_timestamp
           OR EXISTS (SELECT 1 FROM runs_taskrunstate n WHERE n.task_run_id = r.id AND n.timestamp > s.timestamp)""",
    "finished runs without start or end time": """
        SELECT count(*) FROM runs_flowrun WHERE state_type IN ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED')
           AND (start_time IS NULL OR end_time IS NULL OR end_time < start_time)""",
}


def check(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in CHECKS.items()}
        states = dict(conn.execute("SELECT state_type, count(*) FROM runs_flowrun GROUP BY 1").fetchall())
    return {"problems": found, "ok": not any(found.values()), "flow_runs_by_state": states}


def count_runs(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM runs_flowrun").fetchone()[0]
    except psycopg.Error:
        return None


# --- the reads -------------------------------------------------------------------------------


SETTLE_S = 5


def measure(source: Path, url: str, runs: int, iters: int, keep: bool) -> dict[str, Any]:
    """Our server on the loaded database, the reads scenario's queries timed."""
    workdir = Workdir("scale", keep=keep)
    server = Server("ours", sqlalchemy_url(url), workdir.path, source=source)
    try:
        server.start()
        # The services make their first pass over the database as the server starts (late
        # runs, counts, retention); a long-running server is not in that pass when it is asked.
        time.sleep(SETTLE_S)
        context = Context(Api(server.api_url), Options(iters=iters), server.pid)
        with context.phase() as phase:
            tally, returned = reads_scenario.measure(context, iters)
        return {"latency": tally.latency(), "returned": returned, "errors": tally.error_count, **phase.result}
    finally:
        server.stop()
        workdir.cleanup()


def growth_table(results: list[dict[str, Any]]) -> str:
    """Each read's p50/p95 at every size, and its p95 against the smallest size's."""
    sizes = sorted(results, key=lambda r: r["runs"])
    base = sizes[0]
    header = ["read"] + [f"p50 / p95 ms at {r['runs']:,}" for r in sizes]
    header += [f"p95 growth {base['runs']:,} → {r['runs']:,}" for r in sizes[1:]]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for query in base["reads"]["latency"]:
        cells = [query]
        for r in sizes:
            q = r["reads"]["latency"].get(query, {})
            cells.append(f"{format_number(q.get('p50_ms'))} / {format_number(q.get('p95_ms'))}")
        for r in sizes[1:]:
            p95 = r["reads"]["latency"].get(query, {}).get("p95_ms")
            base_p95 = base["reads"]["latency"][query].get("p95_ms")
            cells.append(format_ratio(p95 / base_p95) if p95 and base_p95 else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, nargs="+", default=[10_000, 1_000_000], help="sizes (flow runs)")
    p.add_argument("--runs-per-day", type=int, default=5_000, help="history rate: the span is runs / this")
    p.add_argument("--tasks-per-run", type=int, default=10, help="task runs per flow run that ran, on average")
    p.add_argument("--task-states", choices=("full", "final"), default="full", help="task-run state rows")
    p.add_argument("--iters", type=int, default=50, help="timed calls per read")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    p.add_argument("--ours-ref", help="use this commit's code (git archive) instead of the working tree")
    p.add_argument("--keep", action="store_true", help="keep the databases bench_scale_<runs>")
    p.add_argument("--reuse", action="store_true", help="measure a kept database of the right size, no load")
    p.add_argument("--load-only", action="store_true", help="load (and check) without measuring reads")
    p.add_argument("--out", type=Path, help="results directory (default test-artifacts/bench/scale-<time>)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import psycopg

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or REPO / "test-artifacts" / "bench" / f"scale-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    source, exported = REPO, None
    if args.ours_ref:
        exported = Workdir("source", keep=args.keep)
        source = exported.path
        version = export_commit(args.ours_ref, source)
    else:
        version = describe_tree()
    say(f"results in {out}; ours is {version}")
    admin_url = libpq_url(args.postgres_url, "postgres")
    setup_django(source, libpq_url(args.postgres_url, f"bench_scale_{args.runs[0]}"))
    results = []
    try:
        for runs in args.runs:
            name = f"bench_scale_{runs}"
            url = libpq_url(args.postgres_url, name)
            result: dict[str, Any] = {"runs": runs, "database": name}
            history = loader.History(runs, args.runs_per_day, args.tasks_per_run, args.task_states)
            result["history"] = vars(history) | {"days": history.days}
            if args.reuse and (count_runs(url) or 0) >= runs:
                say(f"{name}: reusing ({count_runs(url):,} flow runs)")
            else:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{name}"')
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                use_database(name)
                say(f"{name}: migrating, then loading {runs:,} flow runs over {history.days:,.0f} days")
                started = time.perf_counter()
                target = prepare()
                use_database(None)  # let go of the database while COPY runs
                result["load"] = load(url, history, target)
                result["load"]["total_s"] = round(time.perf_counter() - started, 1)
                result["check"] = check(url)
                say(f"{name}: loaded in {result['load']['total_s']:.0f} s; check {result['check']}")
            with psycopg.connect(url) as conn:
                size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
            result["database_size"] = size
            if not args.load_only:
                result["reads"] = measure(source, url, runs, args.iters, args.keep)
                say(f"{name}: reads p95 ms " + ", ".join(
                    f"{q}: {v.get('p95_ms')}" for q, v in result["reads"]["latency"].items()
                ))  # fmt: skip
            results.append(result)
            (out / f"scale-{runs}.json").write_text(json.dumps(result, indent=2, default=str))
            if not args.keep:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except ServerFailed as exc:
        say(str(exc))
        return 1
    finally:
        if exported:
            exported.cleanup()
    measured = [r for r in results if "reads" in r]
    if measured:
        table = growth_table(measured)
        (out / "growth.md").write_text(table + "\n")
        print(table)
    ok = all(r.get("check", {"ok": True})["ok"] for r in results)
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
