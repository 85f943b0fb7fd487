"""Deployments with the real client: `flow.serve()` with a schedule, `run_deployment()`, and
the deployment actions users rely on (PROTOCOL scenario 6): schedule changes, pause and
resume, backfills, idempotent runs, parameter schemas, concurrency limits, cron and rrule
schedules in a timezone."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from .conftest import parse_time, wait_for
from .helpers import (
    create_deployment,
    create_run,
    deployment_by_name,
    history,
    propose,
    runs_of,
    scheduled_runs,
    start_serving,
    stop_serving,
    wait_for_deployment,
)

pytestmark = pytest.mark.e2e

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
SERVED = {"flow": "adder", "name": "every-5s", "interval": 5, "parameters": {"x": 3}, "tags": ["e2e"]}


def iso(when: dt.datetime) -> str:
    return when.astimezone(UTC).isoformat()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def start_times(runs: list[dict]) -> list[dt.datetime]:
    return [parse_time(r["next_scheduled_start_time"]) for r in runs]


@pytest.fixture(scope="module")
def made(server_api):
    """Deployments the module creates over the API, deleted afterwards: their future runs
    would otherwise sit at the top of every `prefect flow-run ls` of later tests."""
    created: list[str] = []

    def make(flow: str, name: str, **fields) -> dict:
        deployment = create_deployment(server_api, flow, name, **fields)
        created.append(deployment["id"])
        return deployment

    yield make
    for deployment_id in created:
        server_api.request("DELETE", f"deployments/{deployment_id}")


# --- flow.serve() with an interval schedule --------------------------------------------------------


@pytest.fixture(scope="module")
def served(prefect, server_api):
    """`adder.serve(name="every-5s", interval=5, parameters={"x": 3}, tags=["e2e"])` in the
    background for the tests of this section; the deployment as first read."""
    process = start_serving(prefect, SERVED)
    try:
        deployment = wait_for_deployment(server_api, "adder", "every-5s", process)
        yield {"deployment": deployment, "process": process, "seen_at": time.monotonic()}
    finally:
        stop_serving(process)
        if found := deployment_by_name(server_api, "adder", "every-5s"):
            server_api.request("DELETE", f"deployments/{found['id']}")


def test_serving_a_flow_registers_its_deployment_and_schedule(served, server_api):
    deployment = served["deployment"]

    assert deployment["tags"] == ["e2e"]
    assert deployment["parameters"] == {"x": 3}
    assert deployment["paused"] is False
    assert deployment["entrypoint"].endswith("served.py:adder")
    assert deployment["enforce_parameter_schema"] is True
    assert deployment["parameter_openapi_schema"]["properties"]["x"]["type"] == "integer"
    (schedule,) = deployment["schedules"]
    assert schedule["active"] is True
    assert schedule["schedule"]["interval"] == 5.0
    assert schedule["schedule"]["timezone"] == "UTC"
    # The runner polls for the deployment's runs, which makes it READY.
    wait_for(
        lambda: server_api.get(f"deployments/{deployment['id']}")["status"] == "READY", "the deployment to be READY"
    )


def test_the_server_schedules_the_upcoming_runs_within_seconds(served, server_api):
    deployment = served["deployment"]
    (schedule,) = deployment["schedules"]
    # The server's scheduler loop runs every minute; the runs must not wait for it.
    runs = wait_for(
        lambda: (found := scheduled_runs(server_api, deployment["id"])) and len(found) >= 3 and found,
        "three scheduled runs",
        timeout=max(0.5, 5 - (time.monotonic() - served["seen_at"])),
    )

    times = start_times(runs)
    assert all(b - a == dt.timedelta(seconds=5) for a, b in zip(times, times[1:], strict=False)), times
    for run in runs:
        when = parse_time(run["next_scheduled_start_time"])
        assert run["idempotency_key"] == f"scheduled {deployment['id']} {schedule['id']} {when}"
        assert run["tags"] == ["auto-scheduled", "e2e"]
        assert run["auto_scheduled"] is True
        assert run["parameters"] == {"x": 3}
        assert run["created_by"] == {"id": schedule["id"], "type": "SCHEDULE", "display_value": "IntervalSchedule"}
        assert (run["state"]["type"], run["state"]["name"]) == ("SCHEDULED", "Scheduled")
        assert run["state"]["message"] == "Flow run scheduled"
        assert parse_time(run["expected_start_time"]) == when
        assert parse_time(run["state"]["state_details"]["scheduled_time"]) == when


def test_the_serving_process_runs_its_scheduled_runs(served, server_api):
    deployment_id = served["deployment"]["id"]

    completed = wait_for(
        lambda: runs_of(server_api, deployment_id, state_types=["COMPLETED"], tags={"all_": ["auto-scheduled"]}),
        "a scheduled run to be completed by the serving process",
        timeout=45,
    )

    run = completed[0]
    states = history(server_api, run["id"])
    assert states[0] == ("SCHEDULED", "Scheduled")
    assert ("RUNNING", "Running") in states and states[-1] == ("COMPLETED", "Completed")
    # Picked up early, it waited for its time before running (the wait is rounded to the
    # nearest second, as on Prefect's server).
    assert parse_time(run["start_time"]) >= parse_time(run["expected_start_time"]) - dt.timedelta(seconds=0.5)
    wait_for(
        lambda: "adder got x=3" in {log["message"] for log in server_api.logs(run["id"])}, "the scheduled run's log"
    )


RUN_DEPLOYMENT = """
import json
from prefect.deployments import run_deployment

ran = run_deployment("adder/every-5s", parameters={"x": 21}, timeout=90, poll_interval=1)
first = run_deployment("adder/every-5s", parameters={"x": 1}, idempotency_key="e2e-once", timeout=0)
again = run_deployment("adder/every-5s", parameters={"x": 2}, idempotency_key="e2e-once", timeout=0)
with_variables = run_deployment("adder/every-5s", job_variables={"env": {"MARK": "e2e"}}, timeout=0)
try:
    run_deployment("adder/every-5s", parameters={"x": "many"}, timeout=0)
    refused = None
except Exception as exc:
    refused = f"{type(exc).__name__}: {exc}"
print("RESULT " + json.dumps({
    "ran": str(ran.id), "ran_state": ran.state.type.value,
    "first": str(first.id), "again": str(again.id), "with_variables": str(with_variables.id),
    "refused": refused,
}))
"""


@pytest.fixture(scope="module")
def client_runs(served, prefect) -> dict:
    """RUN_DEPLOYMENT, run once with the real client against the served deployment."""
    return prefect.python(RUN_DEPLOYMENT).result()


def test_run_deployment_with_parameters_completes(served, server_api, client_runs):
    assert client_runs["ran_state"] == "COMPLETED"
    run = server_api.flow_run(client_runs["ran"])

    assert (run["state_type"], run["state_name"]) == ("COMPLETED", "Completed")
    assert run["parameters"] == {"x": 21}
    assert run["deployment_id"] == served["deployment"]["id"]
    assert run["tags"] == ["e2e"]
    assert run["auto_scheduled"] is False
    wait_for(lambda: "adder got x=21" in {log["message"] for log in server_api.logs(run["id"])}, "the run's log line")


def test_run_deployment_with_the_same_idempotency_key_returns_the_same_run(server_api, client_runs):
    assert client_runs["again"] == client_runs["first"]
    run = server_api.flow_run(client_runs["first"])
    assert run["idempotency_key"] == "e2e-once"
    assert run["parameters"] == {"x": 1}  # the second request changed nothing


def test_run_deployment_keeps_the_job_variables(server_api, client_runs):
    assert server_api.flow_run(client_runs["with_variables"])["job_variables"] == {"env": {"MARK": "e2e"}}


def test_run_deployment_with_parameters_against_the_schema_is_refused(client_runs):
    refused = client_runs["refused"]
    assert refused is not None, "the client created a run with x='many' for `x: int`"
    assert "409" in refused, refused


def test_changing_the_schedule_replaces_the_future_runs(served, server_api):
    deployment_id = served["deployment"]["id"]
    before = [r for r in scheduled_runs(server_api, deployment_id) if r["auto_scheduled"]]
    assert before
    # What the runner sends when the flow is served again with another schedule.
    patched_at = dt.datetime.now(UTC)
    anchor = iso(patched_at.replace(microsecond=0))
    response = server_api.request(
        "PATCH",
        f"deployments/{deployment_id}",
        json={
            "schedules": [
                {
                    "schedule": {"interval": 3600.0, "anchor_date": anchor, "timezone": "UTC"},
                    "active": True,
                    "max_scheduled_runs": None,
                    "parameters": {},
                    "slug": None,
                    "replaces": None,
                }
            ],
            "paused": False,
        },
    )
    assert response.status_code == 204, response.text

    (schedule,) = server_api.get(f"deployments/{deployment_id}")["schedules"]
    assert schedule["schedule"]["interval"] == 3600.0
    # (Runs made with run_deployment() may be waiting too: only the scheduler's count here.)
    after = [r for r in scheduled_runs(server_api, deployment_id) if r["auto_scheduled"]]
    new = [r for r in after if r["created_by"]["id"] == schedule["id"]]
    assert len(new) >= 3
    times = start_times(new)
    assert parse_time(anchor) <= times[0] <= parse_time(anchor) + dt.timedelta(hours=1)
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(times, times[1:], strict=False)), times
    # The old runs still to come are gone (the runner may have taken one meanwhile); as on
    # Prefect's server, one already due and not yet picked up stays. (A second of margin for
    # the time the request took.)
    later = patched_at + dt.timedelta(seconds=1)
    to_come = [r["id"] for r in before if parse_time(r["next_scheduled_start_time"]) > later]
    old = server_api.post("flow_runs/filter", {"flow_runs": {"id": {"any_": to_come}}})
    left = [(r["next_scheduled_start_time"], r["state_name"]) for r in old if r["state_type"] == "SCHEDULED"]
    assert not left, (patched_at, left)
    coming = [r for r in after if parse_time(r["next_scheduled_start_time"]) > later]
    assert {r["created_by"]["id"] for r in coming} == {schedule["id"]}, (
        patched_at,
        [(r["next_scheduled_start_time"], r["created_by"]["id"], r["created"]) for r in coming[:5]],
    )


# --- pause and resume ------------------------------------------------------------------------------


def test_a_paused_deployment_gets_no_runs_until_it_is_resumed(fast_api):
    """On the server whose scheduler runs every second."""
    deployment = create_deployment(fast_api, "pausable", "hourly", schedules=[{"schedule": {"interval": 3600}}])
    deployment_id = deployment["id"]
    assert len(scheduled_runs(fast_api, deployment_id)) >= 3
    manual = create_run(fast_api, deployment_id)

    fast_api.post(f"deployments/{deployment_id}/pause_deployment")

    assert fast_api.get(f"deployments/{deployment_id}")["paused"] is True
    assert [r["id"] for r in scheduled_runs(fast_api, deployment_id)] == [manual["id"]]
    time.sleep(2.5)  # a few passes of the scheduler
    assert [r["id"] for r in scheduled_runs(fast_api, deployment_id)] == [manual["id"]]

    fast_api.post(f"deployments/{deployment_id}/resume_deployment")

    assert fast_api.get(f"deployments/{deployment_id}")["paused"] is False
    resumed = scheduled_runs(fast_api, deployment_id)
    assert len([r for r in resumed if r["auto_scheduled"]]) >= 3
    # The runner pauses what it served with a PATCH when it stops: the same happens.
    assert fast_api.request("PATCH", f"deployments/{deployment_id}", json={"paused": True}).status_code == 204
    assert [r["id"] for r in scheduled_runs(fast_api, deployment_id)] == [manual["id"]]
    time.sleep(1.5)
    assert [r["id"] for r in scheduled_runs(fast_api, deployment_id)] == [manual["id"]]


def test_schedules_changed_from_the_cli_take_effect_at_once(made, prefect, server_api):
    deployment = made("cli-scheduled", "by-cli")
    assert scheduled_runs(server_api, deployment["id"]) == []

    prefect.cli(
        "deployment",
        "schedule",
        "create",
        "cli-scheduled/by-cli",
        "--cron",
        "0 9 * * *",
        "--timezone",
        "America/New_York",
    )

    (schedule,) = server_api.get(f"deployments/{deployment['id']}")["schedules"]
    assert schedule["schedule"] == {"cron": "0 9 * * *", "timezone": "America/New_York", "day_or": True}
    runs = scheduled_runs(server_api, deployment["id"])
    assert len(runs) == 3
    assert {(t.astimezone(NEW_YORK).hour, t.astimezone(NEW_YORK).minute) for t in start_times(runs)} == {(9, 0)}

    paused = prefect.cli("deployment", "schedule", "pause", "cli-scheduled/by-cli", schedule["id"])
    assert "Paused schedule" in paused.stdout
    assert server_api.get(f"deployments/{deployment['id']}")["schedules"][0]["active"] is False
    assert scheduled_runs(server_api, deployment["id"]) == []

    prefect.cli("deployment", "schedule", "resume", "cli-scheduled/by-cli", schedule["id"])
    assert start_times(scheduled_runs(server_api, deployment["id"])) == start_times(runs)


def test_a_deployment_is_deleted_while_its_runs_change_state(fast_api):
    """The late-runs service (every second) is marking the deployment's backlog Late while it
    is deleted: the delete wins or waits, it never fails halfway."""
    deployment = create_deployment(fast_api, "deleted-busy", "backlog")
    minute_ago = (dt.datetime.now(UTC) - dt.timedelta(minutes=1)).isoformat()
    state = {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": minute_ago}}
    for _ in range(2):
        fast_api.post(f"deployments/{deployment['id']}/create_flow_run/bulk", [{"state": state}] * 100)
    wait_for(lambda: runs_of(fast_api, deployment["id"], state={"name": {"any_": ["Late"]}}), "the marking to start")

    response = fast_api.request("DELETE", f"deployments/{deployment['id']}")

    assert response.status_code == 204, response.text
    assert fast_api.request("GET", f"deployments/{deployment['id']}").status_code == 404
    left = fast_api.post("flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
    assert not [r for r in left if r["flow_id"] == deployment["flow_id"]]


# --- backfill ------------------------------------------------------------------------------------


def backfill(api, deployment_id: str, start: dt.datetime, end: dt.datetime) -> None:
    api.post(
        f"deployments/{deployment_id}/schedule",
        {"start_time": iso(start), "end_time": iso(end), "min_time": (end - start).total_seconds()},
    )


def runs_between(api, deployment_id: str, start: dt.datetime, end: dt.datetime) -> list[dict]:
    return [r for r in runs_of(api, deployment_id) if start <= parse_time(r["expected_start_time"]) <= end]


def test_a_backfill_creates_the_missing_runs_once(made, server_api):
    deployment = made(
        "backfilled",
        "hourly",
        schedules=[{"schedule": {"interval": 3600, "anchor_date": "2020-01-01T00:00:00Z", "timezone": "UTC"}}],
    )
    hour = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = hour - dt.timedelta(hours=6, minutes=30), hour - dt.timedelta(hours=1, minutes=30)
    expected = [hour - dt.timedelta(hours=n) for n in (6, 5, 4, 3, 2)]
    backfill(server_api, deployment["id"], start, start + dt.timedelta(hours=2))
    assert start_times(runs_between(server_api, deployment["id"], start, end)) == expected[:2]

    backfill(server_api, deployment["id"], start, end)
    backfill(server_api, deployment["id"], start, end)

    runs = runs_between(server_api, deployment["id"], start, end)
    assert start_times(runs) == expected
    schedule_id = deployment["schedules"][0]["id"]
    assert [r["idempotency_key"] for r in runs] == [f"scheduled {deployment['id']} {schedule_id} {t}" for t in expected]


def test_runs_that_already_ran_or_wait_for_a_slot_survive_schedule_changes_and_pausing(made, server_api):
    """Only runs that never started are replaced: not one waiting to be retried, nor one
    waiting for a concurrency slot (both are Scheduled)."""
    deployment = made(
        "survivors",
        "limited-hourly",
        schedules=[{"schedule": {"interval": 600}}],
        concurrency_limit=1,
        concurrency_options={"collision_strategy": "ENQUEUE"},
    )
    now = dt.datetime.now(UTC)
    backfill(server_api, deployment["id"], now - dt.timedelta(minutes=25), now - dt.timedelta(minutes=5))
    first, second, *_ = runs_between(server_api, deployment["id"], now - dt.timedelta(minutes=25), now)
    assert first["auto_scheduled"] and second["auto_scheduled"]
    # The first fails and will be retried in a minute; the second then finds no free slot.
    server_api.request(
        "PATCH", f"flow_runs/{first['id']}", json={"empirical_policy": {"retries": 1, "retry_delay": 60}}
    )
    for state in ("PENDING", "RUNNING"):
        assert propose(server_api, first["id"], state)["status"] == "ACCEPT"
    assert propose(server_api, second["id"], "PENDING")["state"]["name"] == "AwaitingConcurrencySlot"
    retrying = propose(server_api, first["id"], "FAILED")
    assert (retrying["state"]["type"], retrying["state"]["name"]) == ("SCHEDULED", "AwaitingRetry")
    assert server_api.flow_run(first["id"])["run_count"] == 1

    response = server_api.request(
        "PATCH", f"deployments/{deployment['id']}", json={"schedules": [{"schedule": {"interval": 7200}}]}
    )
    assert response.status_code == 204, response.text
    assert server_api.flow_run(first["id"])["state_name"] == "AwaitingRetry"
    assert server_api.flow_run(second["id"])["state_name"] == "AwaitingConcurrencySlot"

    server_api.post(f"deployments/{deployment['id']}/pause_deployment")
    assert {r["id"] for r in scheduled_runs(server_api, deployment["id"])} == {first["id"], second["id"]}


# --- creating runs --------------------------------------------------------------------------------


def test_create_flow_run_with_an_idempotency_key_twice_returns_the_same_run(made, server_api):
    deployment = made("idempotent", "by-key", parameters={"x": 1})
    path = f"deployments/{deployment['id']}/create_flow_run"
    body = {"idempotency_key": "nightly-2026-01-01", "parameters": {"x": 2}, "job_variables": {"env": {"A": "1"}}}

    first = server_api.request("POST", path, json=body)
    second = server_api.request("POST", path, json={**body, "parameters": {"x": 3}})
    other = server_api.request("POST", path, json={**body, "idempotency_key": "nightly-2026-01-02"})

    assert (first.status_code, second.status_code, other.status_code) == (201, 200, 201)
    assert second.json()["id"] == first.json()["id"] != other.json()["id"]
    run = server_api.flow_run(first.json()["id"])
    assert run["parameters"] == {"x": 2}
    assert run["job_variables"] == {"env": {"A": "1"}}
    assert run["idempotency_key"] == "nightly-2026-01-01"
    assert len(runs_of(server_api, deployment["id"])) == 2


SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {"x": {"title": "x", "type": "integer"}},
    "required": ["x"],
}


def test_parameters_against_the_schema_are_refused_when_it_is_enforced(made, server_api):
    deployment = made("schema-checked", "strict", parameter_openapi_schema=SCHEMA, enforce_parameter_schema=True)
    path = f"deployments/{deployment['id']}/create_flow_run"

    wrong_type = server_api.request("POST", path, json={"parameters": {"x": "many"}})
    missing = server_api.request("POST", path, json={"parameters": {}})
    right = server_api.request("POST", path, json={"parameters": {"x": 2}})
    unchecked = server_api.request("POST", path, json={"parameters": {"x": "many"}, "enforce_parameter_schema": False})

    assert wrong_type.status_code == 409, wrong_type.text
    assert "x" in wrong_type.json()["detail"]
    assert missing.status_code == 409, missing.text
    assert (right.status_code, unchecked.status_code) == (201, 201)
    assert [r["parameters"] for r in runs_of(server_api, deployment["id"])] == [{"x": 2}, {"x": "many"}]


# --- deployment concurrency limits ------------------------------------------------------------------


def limited(made, name: str, strategy: str) -> dict:
    return made("limited", name, concurrency_limit=1, concurrency_options={"collision_strategy": strategy})


def active_slots(api, deployment_id: str) -> int:
    return api.get(f"deployments/{deployment_id}")["global_concurrency_limit"]["active_slots"]


def test_a_run_over_the_deployment_limit_waits_for_a_slot_with_enqueue(made, server_api):
    deployment = limited(made, "enqueue", "ENQUEUE")
    first, second = create_run(server_api, deployment["id"]), create_run(server_api, deployment["id"])

    taken = propose(server_api, first["id"], "PENDING")
    assert taken["status"] == "ACCEPT"
    assert taken["state"]["state_details"]["deployment_concurrency_lease_id"]
    assert active_slots(server_api, deployment["id"]) == 1

    waiting = propose(server_api, second["id"], "PENDING")

    assert waiting["status"] == "REJECT"
    assert (waiting["state"]["type"], waiting["state"]["name"]) == ("SCHEDULED", "AwaitingConcurrencySlot")
    run = server_api.flow_run(second["id"])
    assert (run["state_type"], run["state_name"]) == ("SCHEDULED", "AwaitingConcurrencySlot")
    assert parse_time(run["next_scheduled_start_time"]) > dt.datetime.now(UTC)

    assert propose(server_api, first["id"], "RUNNING")["status"] == "ACCEPT"
    assert propose(server_api, first["id"], "COMPLETED")["status"] == "ACCEPT"
    assert active_slots(server_api, deployment["id"]) == 0

    assert propose(server_api, second["id"], "PENDING")["status"] == "ACCEPT"
    assert active_slots(server_api, deployment["id"]) == 1
    assert history(server_api, second["id"]) == [
        ("SCHEDULED", "Scheduled"),
        ("SCHEDULED", "AwaitingConcurrencySlot"),
        ("PENDING", "Pending"),
    ]
    # It was rescheduled a little later: a runner that picked it up early is told to wait.
    early = propose(server_api, second["id"], "RUNNING")
    assert early["status"] == "WAIT"
    assert 0 < early["details"]["delay_seconds"] <= 30


def test_a_run_over_the_deployment_limit_is_cancelled_with_cancel_new(made, server_api):
    deployment = limited(made, "cancel-new", "CANCEL_NEW")
    first, second = create_run(server_api, deployment["id"]), create_run(server_api, deployment["id"])
    assert propose(server_api, first["id"], "PENDING")["status"] == "ACCEPT"

    refused = propose(server_api, second["id"], "PENDING")

    assert refused["status"] == "REJECT"
    assert refused["state"]["type"] == "CANCELLED"
    assert server_api.flow_run(second["id"])["state_type"] == "CANCELLED"
    assert server_api.flow_run(first["id"])["state_type"] == "PENDING"
    assert active_slots(server_api, deployment["id"]) == 1


def test_a_served_deployment_with_a_limit_of_one_runs_its_runs_one_at_a_time(fast_api, fast_prefect):
    """The real runner against the server whose held-back runs retry after 2 s."""
    process = start_serving(
        fast_prefect, {"flow": "sleeper", "name": "one-at-a-time", "concurrency_limit": 1, "parameters": {"seconds": 2}}
    )
    try:
        deployment = wait_for_deployment(fast_api, "sleeper", "one-at-a-time", process)
        assert deployment["concurrency_limit"] == 1
        ids = [create_run(fast_api, deployment["id"])["id"] for _ in range(2)]
        runs = wait_for(
            lambda: (
                (found := [fast_api.flow_run(i) for i in ids])
                and all(r["state_type"] == "COMPLETED" for r in found)
                and found
            ),
            "both runs to complete",
            timeout=60,
        )
    finally:
        stop_serving(process)

    first, second = sorted(runs, key=lambda r: r["start_time"])
    assert parse_time(second["start_time"]) >= parse_time(first["end_time"])  # never both running
    assert ("SCHEDULED", "AwaitingConcurrencySlot") in history(fast_api, second["id"])
    assert active_slots(fast_api, deployment["id"]) == 0
    assert "Traceback" not in process.output(), process.output()[-4000:]


# --- cron, rrule and interval schedules in a timezone -------------------------------------------------


def upcoming_weekdays_at(hour: int, minute: int, after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` Monday-to-Friday hh:mm in New York after `after`, in UTC."""
    found: list[dt.datetime] = []
    day = after.astimezone(NEW_YORK).date()
    while len(found) < count:
        when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)
        if day.weekday() < 5 and when > after:
            found.append(when)
        day += dt.timedelta(days=1)
    return found


def test_a_cron_schedule_runs_at_the_wall_clock_time_of_its_timezone(made, server_api):
    before = dt.datetime.now(UTC)
    deployment = made(
        "cron-scheduled",
        "weekday-mornings",
        schedules=[{"schedule": {"cron": "30 9 * * 1-5", "timezone": "America/New_York"}}],
    )

    upcoming = start_times(scheduled_runs(server_api, deployment["id"]))
    assert upcoming[:3] == upcoming_weekdays_at(9, 30, before, 3)
    assert {r["created_by"]["display_value"] for r in scheduled_runs(server_api, deployment["id"])} == {"CronSchedule"}

    # Across the start of daylight saving time (Sunday 9 March 2025): 09:30 EST, then 09:30 EDT.
    start, end = utc("2025-03-06T00:00:00+00:00"), utc("2025-03-12T00:00:00+00:00")
    backfill(server_api, deployment["id"], start, end)
    assert start_times(runs_between(server_api, deployment["id"], start, end)) == [
        utc("2025-03-06T14:30:00+00:00"),
        utc("2025-03-07T14:30:00+00:00"),
        utc("2025-03-10T13:30:00+00:00"),
        utc("2025-03-11T13:30:00+00:00"),
    ]


def test_an_rrule_schedule_runs_at_the_wall_clock_time_of_its_timezone(made, server_api):
    deployment = made(
        "rrule-scheduled",
        "mondays-and-thursdays",
        schedules=[
            {
                "schedule": {
                    "rrule": "DTSTART:20250101T063000\nRRULE:FREQ=WEEKLY;BYDAY=MO,TH",
                    "timezone": "America/New_York",
                }
            }
        ],
    )

    upcoming = start_times(scheduled_runs(server_api, deployment["id"]))
    assert len(upcoming) >= 3
    for when in upcoming:
        local = when.astimezone(NEW_YORK)
        assert (local.strftime("%a"), local.hour, local.minute) in {("Mon", 6, 30), ("Thu", 6, 30)}, when
    assert upcoming[1] - upcoming[0] <= dt.timedelta(days=4, hours=1)

    # Across the end of daylight saving time (Sunday 2 November 2025): 06:30 EDT, then 06:30 EST.
    start, end = utc("2025-10-27T00:00:00+00:00"), utc("2025-11-08T00:00:00+00:00")
    backfill(server_api, deployment["id"], start, end)
    assert start_times(runs_between(server_api, deployment["id"], start, end)) == [
        utc("2025-10-27T10:30:00+00:00"),
        utc("2025-10-30T10:30:00+00:00"),
        utc("2025-11-03T11:30:00+00:00"),
        utc("2025-11-06T11:30:00+00:00"),
    ]


def test_a_daily_interval_keeps_its_wall_clock_time_across_daylight_saving(made, server_api):
    deployment = made(
        "interval-scheduled",
        "daily-nine",
        schedules=[
            {
                "schedule": {
                    "interval": 86400,
                    "anchor_date": "2025-03-01T09:00:00-05:00",
                    "timezone": "America/New_York",
                }
            }
        ],
    )

    upcoming = start_times(scheduled_runs(server_api, deployment["id"]))
    assert {(w.astimezone(NEW_YORK).hour, w.astimezone(NEW_YORK).minute) for w in upcoming} == {(9, 0)}

    start, end = utc("2025-03-07T00:00:00+00:00"), utc("2025-03-11T00:00:00+00:00")
    backfill(server_api, deployment["id"], start, end)
    assert start_times(runs_between(server_api, deployment["id"], start, end)) == [
        utc("2025-03-07T14:00:00+00:00"),
        utc("2025-03-08T14:00:00+00:00"),
        utc("2025-03-09T13:00:00+00:00"),
        utc("2025-03-10T13:00:00+00:00"),
    ]
