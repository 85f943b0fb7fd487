"""`python -m bench`: start each server on each backend, run the scenarios, print the tables.

For every backend, every repetition, every server (interleaved, so a slow spell on a shared
machine hurts both alike): a fresh database, the server started in its own process group, the
scenarios in order on that one database, the server stopped (Ctrl+C) and the database dropped.
Each scenario's result is written to OUT/<backend>-<server>-r<rep>-<scenario>.json as soon as it
is known; at the end OUT/table.md (the tables printed) and OUT/summary.json (the same as data).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import report
from .client import Api, RetryPolicy
from .scenarios import SCENARIOS, Context, Options, registry
from .servers import (
    DEFAULT_POSTGRES,
    PREFECT_PYTHON,
    REPO,
    Database,
    Server,
    ServerFailed,
    Workdir,
    describe_tree,
    export_commit,
    postmaster_pid,
)


def comma_list(allowed: tuple[str, ...] | list[str]):
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma-separated)")
        return items

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Orchestrator against Prefect's own server, side by side.",
    )
    p.add_argument("--servers", type=comma_list(list(report.SERVERS)), default=list(report.SERVERS))
    p.add_argument("--backends", type=comma_list(list(report.BACKENDS)), default=list(report.BACKENDS))
    p.add_argument("--scenarios", type=comma_list(SCENARIOS), default=list(SCENARIOS))
    p.add_argument("--scale", type=float, default=1.0, help="multiplies every scenario's default size")
    p.add_argument("--reps", type=int, default=1, help="repetitions per server and backend (median reported)")
    p.add_argument("-c", "--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--iters", type=int, default=50, help="timed calls per read or poll query (default 50)")
    p.add_argument("--runs", type=int, help="api_runs: flow runs (default 2000 x scale)")
    p.add_argument("--flows", type=int, help="flows: flow runs of the real client (default 20 x scale)")
    p.add_argument("--tasks", type=int, default=50, help="flows: tasks per flow run (default 50)")
    p.add_argument("--task-mode", choices=("call", "submit"), default="call")
    p.add_argument("--records", type=int, help="logs: records (default 100,000 x scale)")
    p.add_argument("--reads-runs", type=int, default=10_000, help="reads: flow runs in the database (default 10,000)")
    p.add_argument("--seed-concurrency", type=int, default=4, help="reads: clients seeding missing runs")
    p.add_argument("--deployment-runs", type=int, help="deployments: create_flow_run calls (default 500 x scale)")
    p.add_argument("--retries", type=int, default=10, help="retries per request on 408/429/502/503/504 and resets")
    p.add_argument("--first-delay", type=float, default=0.05, help="first retry delay in s (doubles, at most 2 s)")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="PostgreSQL server for the fresh databases")
    p.add_argument(
        "--ours-workers",
        type=int,
        default=1,
        help="serve ours from this many processes (`server start --workers`; above 1 uses --redis-url)",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="Redis for ours with --ours-workers > 1")
    p.add_argument("--prefect-python", type=Path, default=PREFECT_PYTHON, help="python of the prefect==3.8.8 venv")
    p.add_argument(
        "--ours-ref", help="serve ours from this commit (exported with git archive) instead of the working tree"
    )
    p.add_argument("--out", type=Path, help="results directory (default test-artifacts/bench/<UTC time>)")
    p.add_argument("--keep", action="store_true", help="keep server homes, logs and PostgreSQL databases")
    return p


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        scale=args.scale,
        concurrency=args.concurrency,
        iters=args.iters,
        runs=args.runs,
        flows=args.flows,
        tasks=args.tasks,
        task_mode=args.task_mode,
        records=args.records,
        reads_runs=args.reads_runs,
        seed_concurrency=args.seed_concurrency,
        deployment_runs=args.deployment_runs,
    )


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def one_line(scenario: str, result: dict[str, Any]) -> str:
    """The scenario's headline figures, for the progress log."""
    if "error" in result:
        return f"ERROR {result['error'].splitlines()[-1][:200]}"
    runs = [{"server": "x", "backend": "x", "scenarios": {scenario: result}}]
    parts = []
    for metric in report.METRICS:
        if metric.scenario == scenario:
            cell = report.cell(metric, runs)
            parts.append(f"{metric.label} {cell.render()}")
    verified = result.get("verify", {}).get("ok")
    return "; ".join(parts) + ("" if verified else f"; VERIFY FAILED {result.get('verify')}")


def server_run(
    args, options: Options, server_kind: str, backend: str, rep: int, out: Path, source: Path
) -> report.ServerRun:
    """One server on one fresh database through the chosen scenarios."""
    label = f"{backend} r{rep} {server_kind}"
    workdir = Workdir(f"{server_kind}-{backend}", keep=args.keep)
    database = Database(backend, workdir.path, args.postgres_url)
    run: report.ServerRun = {"server": server_kind, "backend": backend, "rep": rep, "scenarios": {}}
    server = None
    try:
        url = database.create(server_kind, f"{os.getpid()}_{rep}")
        extra_env = {}
        if server_kind == "ours" and args.ours_workers > 1:
            extra_env = {"ORCHESTRATOR_SERVER_WORKERS": str(args.ours_workers), "REDIS_URL": args.redis_url}
        server = Server(server_kind, url, workdir.path, source=source, extra_env=extra_env)
        started = time.perf_counter()
        server.start()
        run["startup_s"] = round(time.perf_counter() - started, 2)
        api = Api(server.api_url, RetryPolicy(retries=args.retries, first_delay=args.first_delay))
        run["version"] = api.get("admin/version", retry=False)
        run["database"] = database.name or url
        say(f"[{label}] serving at {server.api_url}, pid {server.pid}, {run['database']}")
        db_pid = postmaster_pid(args.postgres_url) if backend == "postgres" else None
        context = Context(api, options, server.pid, db_pid, args.prefect_python)
        scenarios = registry()
        for name in args.scenarios:
            if server.proc.poll() is not None:
                run["scenarios"][name] = {"error": f"the server had exited ({server.proc.returncode})"}
                continue
            started = time.perf_counter()
            try:
                result = scenarios[name](context)
            except Exception:  # noqa: BLE001 - a broken scenario is reported, the others still run
                result = {"error": traceback.format_exc()}
            result = {"scenario": name, "server": server_kind, "backend": backend, "rep": rep, **result}
            result["scenario_s"] = round(time.perf_counter() - started, 1)
            run["scenarios"][name] = result
            (out / f"{backend}-{server_kind}-r{rep}-{name}.json").write_text(json.dumps(result, indent=2, default=str))
            say(f"[{label}] {name} ({result['scenario_s']:.0f} s): {one_line(name, result)}")
    except ServerFailed as exc:
        run["error"] = str(exc)
        say(f"[{label}] {exc}")
    finally:
        if server is not None:
            run["exit_status"] = server.stop()
            if "Traceback" in server.tail(200_000):
                run["server_log_has_traceback"] = True
            (out / f"{backend}-{server_kind}-r{rep}-server.log").write_text(server.tail(2_000_000))
        if not args.keep:
            database.drop()
        workdir.cleanup()
    return run


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or REPO / "test-artifacts" / "bench" / stamp
    out.mkdir(parents=True, exist_ok=True)
    options = options_from(args)
    began = time.perf_counter()
    meta = {
        "started_at": stamp,
        "argv": sys.argv[1:] if argv is None else argv,
        "options": vars(options),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
    }
    source = REPO
    exported = None
    if args.ours_ref:
        exported = Workdir("source", keep=args.keep)
        source = exported.path
        meta["ours"] = export_commit(args.ours_ref, source)
    else:
        meta["ours"] = describe_tree()
    say(f"results in {out}; ours is {meta['ours']}")
    runs: list[report.ServerRun] = []
    try:
        for backend in args.backends:
            for rep in range(1, args.reps + 1):
                for server_kind in args.servers:
                    runs.append(server_run(args, options, server_kind, backend, rep, out, source))
    finally:
        if exported:
            exported.cleanup()
    meta["wall_s"] = round(time.perf_counter() - began, 1)
    table = report.render(runs)
    (out / "table.md").write_text(table + "\n")
    summary = {**meta, "table": report.summary(runs), "runs": runs}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(table)
    say(f"\nwall time {meta['wall_s'] / 60:.1f} min; results in {out}")
    failed = any("error" in run or any("error" in r for r in run["scenarios"].values()) for run in runs)
    return 1 if failed else 0
