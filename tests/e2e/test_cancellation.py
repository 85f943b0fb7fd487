"""Cancelling and suspending runs of served deployments with the real client (PROTOCOL
scenario 8a, 8d, 8e), and the server cleaning up a run stuck cancelling."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import parse_time, wait_for
from .helpers import (
    create_run,
    deployment_by_name,
    history,
    propose,
    start_serving,
    stop_serving,
    wait_for_deployment,
)

pytestmark = pytest.mark.e2e

SLEEPY = {"flow": "sleeper", "name": "sleepy"}
SUSPENDABLE = {"flow": "suspender", "name": "suspendable"}
POLLED = {"flow": "sleeper", "name": "polled"}


@pytest.fixture(scope="module")
def runners(prefect, server_api):
    """Two serving processes: one as usual, one whose runner cannot open /api/events/out."""
    listening = start_serving(prefect, SLEEPY, SUSPENDABLE)
    polling = start_serving(prefect, POLLED, block_events_out=True)
    try:
        yield {
            "listening": listening,
            "polling": polling,
            "sleepy": wait_for_deployment(server_api, "sleeper", "sleepy", listening),
            "suspendable": wait_for_deployment(server_api, "suspender", "suspendable", listening),
            "polled": wait_for_deployment(server_api, "sleeper", "polled", polling),
        }
    finally:
        stop_serving(listening)
        stop_serving(polling)
        for flow, name in (("sleeper", "sleepy"), ("suspender", "suspendable"), ("sleeper", "polled")):
            if found := deployment_by_name(server_api, flow, name):
                server_api.request("DELETE", f"deployments/{found['id']}")


def state_of(api, run_id: str) -> tuple[str, str]:
    run = api.flow_run(run_id)
    return run["state_type"], run["state_name"]


def wait_for_state(api, run_id: str, expected: tuple[str, str], timeout: float = 60) -> dict:
    return wait_for(
        lambda: state_of(api, run_id) == expected and api.flow_run(run_id),
        f"run {run_id} to be {expected}",
        timeout=timeout,
    )


def events_of(api, run_id: str, name: str) -> list[dict]:
    found = api.post(
        "events/filter",
        {
            "filter": {
                "event": {"name": [name]},
                "any_resource": {"id": [f"prefect.flow-run.{run_id}"]},
                "occurred": {"since": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).isoformat()},
            }
        },
    )
    return found["events"]


def cancel_from_the_cli(prefect, api, run_id: str) -> None:
    wait_for_state(api, run_id, ("RUNNING", "Running"))
    cancel = prefect.cli("flow-run", "cancel", run_id)
    assert "was successfully scheduled for cancellation" in cancel.stdout, cancel.describe()


def assert_cancelled_by_the_runner(api, run_id: str) -> None:
    run = wait_for_state(api, run_id, ("CANCELLED", "Cancelled"), timeout=30)
    states = history(api, run_id)
    assert states[-3:] == [("RUNNING", "Running"), ("CANCELLING", "Cancelling"), ("CANCELLED", "Cancelled")]
    assert run["end_time"] is not None
    assert "cancel" in (run["state"]["message"] or "").lower()
    # The runner, not the server's cleanup, finished it: it reports what it did.
    wait_for(lambda: events_of(api, run_id, "prefect.runner.cancelled-flow-run"), "the runner's cancelled event")


def test_a_running_served_run_is_cancelled_from_the_cli(prefect, server_api, runners):
    run_id = create_run(server_api, runners["sleepy"]["id"])["id"]

    cancel_from_the_cli(prefect, server_api, run_id)

    assert_cancelled_by_the_runner(server_api, run_id)
    # The runner heard of it through the server's event on /api/events/out.
    assert events_of(server_api, run_id, "prefect.flow-run.Cancelling")
    assert "Falling back to polling" not in runners["listening"].output()


def test_a_runner_without_the_events_stream_finds_the_cancellation_by_polling(prefect, server_api, runners):
    run_id = create_run(server_api, runners["polled"]["id"])["id"]

    cancel_from_the_cli(prefect, server_api, run_id)

    assert_cancelled_by_the_runner(server_api, run_id)
    output = runners["polling"].output()
    assert "Falling back to polling" in output, output[-4000:]
    assert "Found 1 flow runs awaiting cancellation" in output, output[-4000:]


def test_the_runners_polling_queries_find_exactly_the_cancelling_runs(server_api):
    """The two POST /flow_runs/filter bodies a polling runner sends (PROTOCOL 3.4)."""
    flow_id = server_api.post("flows/", {"name": "polled-for"})["id"]
    cancelling, running = (
        server_api.post("flow_runs/", {"flow_id": flow_id, "state": {"type": "PENDING"}})["id"] for _ in range(2)
    )
    for run_id in (cancelling, running):
        assert propose(server_api, run_id, "RUNNING")["status"] == "ACCEPT"
    assert propose(server_api, cancelling, "CANCELLING")["status"] == "ACCEPT"

    def query(ids: list[str], state: dict) -> list[str]:
        body = {
            "flows": None,
            "flow_runs": {"id": {"any_": ids}, "state": state},
            "task_runs": None,
            "deployments": None,
            "work_pools": None,
            "work_pool_queues": None,
            "sort": None,
            "limit": None,
            "offset": 0,
        }
        return [r["id"] for r in server_api.post("flow_runs/filter", body)]

    typed = {"type": {"any_": ["CANCELLING"]}}
    named = {"type": {"any_": ["CANCELLED"]}, "name": {"any_": ["Cancelling"]}}
    assert query([cancelling, running], typed) == [cancelling]
    assert query([cancelling, running], named) == []
    assert query([running], typed) == []
    assert query([], typed) == []  # nothing in flight: nothing found, not everything


def test_a_suspended_served_run_resumes_and_completes(prefect, server_api, runners):
    run_id = create_run(server_api, runners["suspendable"]["id"])["id"]

    suspended = wait_for_state(server_api, run_id, ("PAUSED", "Suspended"))
    details = suspended["state"]["state_details"]
    assert details["pause_reschedule"] is True
    assert parse_time(details["pause_timeout"]) > parse_time(suspended["state"]["timestamp"])

    prefect.python(f"from prefect.flow_runs import resume_flow_run; resume_flow_run({run_id!r})")

    run = wait_for_state(server_api, run_id, ("COMPLETED", "Completed"))
    states = history(server_api, run_id)
    suspended_at = states.index(("PAUSED", "Suspended"))
    assert states[suspended_at + 1] == ("SCHEDULED", "Resuming")
    assert ("RUNNING", "Running") in states[suspended_at + 2 :]
    # The rescheduled run came back as a resumption: it is not counted as another attempt,
    # and the flag is cleared once it runs again.
    assert run["run_count"] == 1
    assert run["empirical_policy"]["resuming"] is False
    assert run["empirical_policy"]["pause_keys"] == ["1"]
    wait_for(
        lambda: "resumed after the suspension" in {log["message"] for log in server_api.logs(run_id)},
        "the log line written after resuming",
    )


def test_a_run_stuck_cancelling_past_the_timeout_is_cancelled(fast_api):
    """On the server whose cancellation cleanup runs every second with a one-second timeout."""
    flow_id = fast_api.post("flows/", {"name": "stuck"})["id"]
    run_id = fast_api.post("flow_runs/", {"flow_id": flow_id, "state": {"type": "PENDING"}})["id"]
    assert propose(fast_api, run_id, "RUNNING")["status"] == "ACCEPT"
    task_run_id = fast_api.post(
        "task_runs/",
        {"flow_run_id": run_id, "task_key": "stuck-task", "dynamic_key": "0", "state": {"type": "RUNNING"}},
    )["id"]
    cancelling = propose(fast_api, run_id, "CANCELLING")
    assert cancelling["status"] == "ACCEPT"

    run = wait_for_state(fast_api, run_id, ("CANCELLED", "Cancelled"), timeout=10)

    waited = parse_time(run["state"]["timestamp"]) - parse_time(cancelling["state"]["timestamp"])
    assert waited >= dt.timedelta(seconds=1)
    assert [s["type"] for s in fast_api.flow_run_states(run_id)] == ["PENDING", "RUNNING", "CANCELLING", "CANCELLED"]
    # Its task run, left running by the vanished process, is cancelled as well.
    wait_for(
        lambda: fast_api.task_run(task_run_id)["state_type"] == "CANCELLED", "the task run to be cancelled", timeout=10
    )
