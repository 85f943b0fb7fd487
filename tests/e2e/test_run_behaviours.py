"""Timeouts, state hooks and caching (flows/behaviours.py) are recorded with the state names
Prefect users see: TimedOut, Cached."""

from __future__ import annotations

import secrets

import pytest

from .conftest import parse_time, wait_for, wait_for_task_runs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    return tmp_path_factory.mktemp("hook-markers")


@pytest.fixture(scope="module")
def runs(prefect, markers) -> dict[str, str]:
    return prefect.script("behaviours.py", markers, secrets.token_hex(4)).result()


# --- timeouts -------------------------------------------------------------------------------------


def test_a_flow_over_its_timeout_is_failed_as_timed_out(server_api, runs):
    run = server_api.flow_run(runs["flow_timeout"])

    assert (run["state_type"], run["state_name"]) == ("FAILED", "TimedOut")
    assert run["state"]["message"] == "Flow run exceeded timeout of 1.0 second(s)"
    # It was stopped at its one-second timeout, not after its five-second sleep.
    assert 1 <= (parse_time(run["end_time"]) - parse_time(run["start_time"])).total_seconds() < 4
    assert [s["name"] for s in server_api.flow_run_states(run["id"])] == ["Pending", "Running", "TimedOut"]


def test_a_task_over_its_timeout_is_failed_as_timed_out(server_api, runs):
    (task,) = wait_for_task_runs(server_api, runs["task_timeout"], 1)

    assert (task["state_type"], task["state_name"]) == ("FAILED", "TimedOut")
    assert task["state"]["message"] == "Task run exceeded timeout of 1.0 second(s)"
    assert 1 <= task["total_run_time"] < 4
    assert [s["name"] for s in server_api.task_run_states(task["id"])] == ["Pending", "Running", "TimedOut"]
    # The flow caught the task's state and completed.
    assert server_api.flow_run(runs["task_timeout"])["state_type"] == "COMPLETED"


# --- state hooks ------------------------------------------------------------------------------------


def test_completion_hooks_run_and_the_runs_are_recorded(server_api, runs, markers):
    run_id = runs["hooked_ok"]
    (task,) = wait_for_task_runs(server_api, run_id, 1)

    assert (markers / "flow_completed").read_text() == f"{run_id} Completed"
    assert (markers / "task_completed").read_text() == f"{task['id']} Completed"
    assert server_api.flow_run(run_id)["state_type"] == "COMPLETED"
    assert task["state_type"] == "COMPLETED"
    wait_for(
        lambda: any(
            log["message"] == "Hook 'flow_completed' finished running successfully" for log in server_api.logs(run_id)
        ),
        "the hook's log line",
    )


def test_failure_hooks_run_and_the_runs_are_recorded(server_api, runs, markers):
    run_id = runs["hooked_fail"]
    (task,) = wait_for_task_runs(server_api, run_id, 1)

    assert (markers / "flow_failed").read_text() == f"{run_id} Failed"
    assert (markers / "task_failed").read_text() == f"{task['id']} Failed"
    run = server_api.flow_run(run_id)
    assert (run["state_type"], run["state"]["message"]) == (
        "FAILED",
        "Flow run encountered an exception: ValueError: hooked task fails",
    )
    assert (task["state_type"], task["state_name"]) == ("FAILED", "Failed")
    assert "ValueError: hooked task fails" in task["state"]["message"]


# --- caching ------------------------------------------------------------------------------------------


def test_a_cache_hit_is_recorded_as_cached(server_api, runs):
    (first,) = wait_for_task_runs(server_api, runs["cache_first"], 1)
    (second,) = wait_for_task_runs(server_api, runs["cache_second"], 1)

    assert (first["state_type"], first["state_name"]) == ("COMPLETED", "Completed")
    assert (second["state_type"], second["state_name"]) == ("COMPLETED", "Cached")
    assert first["task_key"] == second["task_key"]
    assert [s["name"] for s in server_api.task_run_states(second["id"])] == ["Pending", "Running", "Cached"]
    # Both states point at the same stored result, the one the cache key names.
    stored = first["state"]["data"]["storage_key"]
    assert stored.endswith(f"-{7}") and second["state"]["data"]["storage_key"] == stored
    assert server_api.flow_run(runs["cache_second"])["state_type"] == "COMPLETED"
