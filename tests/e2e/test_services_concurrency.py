"""Two `orchestrator server services start` processes on one PostgreSQL database: every
schedule slot still gets exactly one run, and every late run is marked Late exactly once.

PostgreSQL is where several service processes are supported (DESIGN.md, Processes). The test
makes its own database on the PostgreSQL server of ORCHESTRATOR_TEST_DATABASE_URL, or on the
one at 127.0.0.1:5432 (user postgres) when that variable names none, so it also runs in the
SQLite pass; it is skipped only when no PostgreSQL server answers."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    ORCHESTRATOR,
    Api,
    Background,
    _libpq_url,
    clean_env,
    postgres_url,
    query_database,
    run,
    running_server,
    wait_for,
)

pytestmark = pytest.mark.e2e

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEPLOYMENTS = 8
BACKLOG = 150  # runs already a minute late when the services start
SCHEDULES = [
    {"schedule": {"interval": 60, "anchor_date": "2020-01-01T00:00:00Z", "timezone": "UTC"}},
    {"schedule": {"cron": "*/2 * * * *", "timezone": "America/New_York"}},
    # Starting yesterday: from dateutil's default start (2020) a minutely rule takes seconds to reach now.
    {
        "schedule": {
            "rrule": f"DTSTART:{dt.date.today() - dt.timedelta(days=1):%Y%m%d}T000000\nRRULE:FREQ=MINUTELY;INTERVAL=5",
            "timezone": "Europe/Paris",
        }
    },
]
# Both processes loop every second, so their passes overlap many times during the test.
SERVICE_ENV = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS": "1",
}


def reachable_postgres() -> str | None:
    import psycopg

    url = postgres_url() or LOCAL_POSTGRES
    try:
        with psycopg.connect(_libpq_url(url, "postgres"), connect_timeout=3):
            return url
    except psycopg.OperationalError:
        return None


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    import psycopg

    server = reachable_postgres()
    if server is None:
        pytest.skip(
            "needs a PostgreSQL server (ORCHESTRATOR_TEST_DATABASE_URL, or postgres@127.0.0.1:5432): "
            "several service processes are only supported on PostgreSQL"
        )
    name = f"orchestrator_e2e_services_{secrets.token_hex(6)}"
    admin = _libpq_url(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _libpq_url(server, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def services_process(workdir: Path, database_url: str, label: str) -> Background:
    env = clean_env(
        PREFECT_HOME=str(workdir / f"home-{label}"), PREFECT_API_DATABASE_CONNECTION_URL=database_url, **SERVICE_ENV
    )
    return Background([ORCHESTRATOR, "server", "services", "start"], env, workdir, workdir / f"services-{label}.log")


def make_work(api: Api) -> tuple[list[str], list[str]]:
    """Deployments with three schedules each, created paused so that nothing is scheduled
    yet, and a backlog of runs a minute past their start; (deployment ids, backlog run ids)."""
    deployment_ids = []
    for n in range(DEPLOYMENTS):
        flow_id = api.post("flows/", {"name": f"contended-{n}"})["id"]
        deployment = api.post(
            "deployments/", {"name": "three-schedules", "flow_id": flow_id, "paused": True, "schedules": SCHEDULES}
        )
        deployment_ids.append(deployment["id"])
    flow_id = api.post("flows/", {"name": "backlogged"})["id"]
    backlog_deployment = api.post("deployments/", {"name": "backlog", "flow_id": flow_id})["id"]
    minute_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    state = {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": minute_ago}}
    run_ids = []
    while len(run_ids) < BACKLOG:
        batch = [{"state": state}] * min(100, BACKLOG - len(run_ids))
        created = api.post(f"deployments/{backlog_deployment}/create_flow_run/bulk", batch)["results"]
        assert {r["status"] for r in created} == {"CREATED"}, created
        run_ids += [r["flow_run_id"] for r in created]
    return deployment_ids, run_ids


def count(url: str, sql: str) -> int:
    return query_database(url, sql)[0][0]


def test_two_service_processes_make_each_slot_once_and_mark_each_late_run_once(tmp_path, postgres_database):
    url = postgres_database
    env = clean_env(PREFECT_HOME=str(tmp_path / "home"), PREFECT_API_DATABASE_CONNECTION_URL=url)
    run([ORCHESTRATOR, "server", "database", "upgrade", "-y"], env, tmp_path)

    # An API server without services on the same database, to set the scene and read the result.
    with running_server(tmp_path, url, services=False) as server:
        api = Api(server.api_url)
        deployment_ids, backlog = make_work(api)
        assert count(url, "SELECT count(*) FROM runs_flowrun WHERE auto_scheduled") == 0
        # Unpause behind the API's back: the scheduler services, not the API, must fill the slots.
        execute(url, "UPDATE deployments_deployment SET paused = false")

        first, second = services_process(tmp_path, url, "a"), services_process(tmp_path, url, "b")
        started = dt.datetime.now(dt.UTC)
        try:
            wait_for(
                lambda: count(url, "SELECT count(*) FROM runs_flowrun WHERE state_name = 'Late'") >= BACKLOG,
                "the backlog to be marked late",
                timeout=60,
                every=0.5,
            )
            time.sleep(3)  # several more passes of both processes over the same slots and runs
            assert first.running() and second.running(), first.describe() + second.describe()
        finally:
            codes = [first.interrupt(), second.interrupt()]
            outputs = [first.output(), second.output()]
            first.kill()
            second.kill()

        for code, output in zip(codes, outputs, strict=True):
            assert code == 0, output[-6000:]
            assert "Services stopped." in output, output[-6000:]
            assert "Traceback" not in output and " failed" not in output, output[-6000:]

        # Every slot of every schedule has exactly one run.
        rows = query_database(
            url,
            "SELECT deployment_id, created_by, expected_start_time, idempotency_key, created FROM runs_flowrun "
            "WHERE auto_scheduled",
        )
        slots = Counter((str(dep), created_by["id"], when) for dep, created_by, when, _, _ in rows)
        assert slots and max(slots.values()) == 1, [slot for slot, n in slots.items() if n > 1][:10]
        keys = Counter(key for _, _, _, key, _ in rows)
        assert max(keys.values()) == 1
        by_schedule: dict[tuple, list[dt.datetime]] = defaultdict(list)
        first_pass: dict[tuple, dt.datetime] = {}
        for dep, created_by, when, key, created in rows:
            assert key == f"scheduled {dep} {created_by['id']} {when.astimezone(dt.UTC)}"
            schedule = (str(dep), created_by["display_value"])
            by_schedule[schedule].append(when)
            first_pass[schedule] = min(created, first_pass.get(schedule, created))
        assert {dep for dep, _ in by_schedule} == set(deployment_ids)
        assert len(by_schedule) == DEPLOYMENTS * len(SCHEDULES)
        steps = {"IntervalSchedule": 60, "CronSchedule": 120, "RRuleSchedule": 300}
        for schedule, times in by_schedule.items():
            times.sort()
            step = steps[schedule[1]]
            # Consecutive slots without a gap, from the first pass's "now" to at least an hour on.
            assert {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)} == {step}, schedule
            first = first_pass[schedule]
            assert started <= first and first - dt.timedelta(seconds=1) <= times[0] <= first + dt.timedelta(
                seconds=step
            )
            assert times[-1] >= first_pass[schedule] + dt.timedelta(hours=1)
        # ... and exactly one first state.
        doubled = query_database(
            url,
            "SELECT r.id, count(s.id) FROM runs_flowrun r LEFT JOIN runs_flowrunstate s "
            "ON s.flow_run_id = r.id AND s.name = 'Scheduled' WHERE r.auto_scheduled GROUP BY r.id "
            "HAVING count(s.id) <> 1",
        )
        assert doubled == []

        # Every late run was marked exactly once, as its history over the API shows.
        for run_id in backlog:
            names = [s["name"] for s in api.flow_run_states(run_id)]
            assert names == ["Scheduled", "Late"], (run_id, names)
        twice = query_database(
            url,
            "SELECT flow_run_id, count(*) FROM runs_flowrunstate WHERE name = 'Late' GROUP BY flow_run_id "
            "HAVING count(*) > 1",
        )
        assert twice == []
        assert (
            count(
                url,
                "SELECT count(*) FROM runs_flowrun r JOIN runs_flowrunstate s ON s.id = r.state_id "
                "WHERE s.name <> r.state_name",
            )
            == 0
        )
