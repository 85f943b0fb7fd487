"""Everyday flows run by the real Prefect client (flows/core.py) are recorded as Prefect's own
server records them: flow runs, task runs, their state histories and log lines."""

from __future__ import annotations

from collections import Counter

import pytest

from .conftest import parse_time, wait_for, wait_for_task_runs

pytestmark = pytest.mark.e2e


def history(states: list[dict]) -> list[tuple[str, str]]:
    return [(s["type"], s["name"]) for s in states]


# --- a flow with plain, submitted and mapped tasks ---------------------------------------------


def test_it_records_a_completed_flow_run_with_its_parameters_and_times(server_api, core_runs):
    run = server_api.flow_run(core_runs["pipeline"])

    assert (run["state_type"], run["state_name"]) == ("COMPLETED", "Completed")
    assert run["state"]["type"] == "COMPLETED" and run["state"]["id"] == run["state_id"]
    assert run["parameters"] == {"n": 3, "label": "e2e"}
    assert run["run_count"] == 1
    start, end = parse_time(run["start_time"]), parse_time(run["end_time"])
    assert parse_time(run["expected_start_time"]) <= start < end
    assert run["total_run_time"] > 0
    assert run["total_run_time"] == round((end - start).total_seconds(), 6)
    assert run["estimated_run_time"] == pytest.approx(run["total_run_time"])
    assert run["flow_version"] and run["name"]
    assert run["empirical_policy"]["retries"] == 0


def test_it_records_the_flow_run_state_history(server_api, core_runs):
    run_id = core_runs["pipeline"]
    states = server_api.flow_run_states(run_id)

    assert history(states) == [("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed")]
    assert [s["timestamp"] for s in states] == sorted(s["timestamp"] for s in states)
    assert all(s["state_details"]["flow_run_id"] == run_id for s in states)
    # Details as the client sent them: Pending came with the run (no `deferred`, so the default),
    # Running and Completed through set_state with an explicit null.
    assert [s["state_details"]["deferred"] for s in states] == [False, None, None]
    assert states[-1]["state_details"]["untrackable_result"] is True
    run = server_api.flow_run(run_id)
    assert parse_time(states[1]["timestamp"]) == parse_time(run["start_time"])
    assert parse_time(states[-1]["timestamp"]) == parse_time(run["end_time"])


def test_it_records_every_task_run_grouped_by_task_key(server_api, core_runs):
    run_id = core_runs["pipeline"]
    tasks = wait_for_task_runs(server_api, run_id, 5)

    assert len(tasks) == 5
    assert {(t["state_type"], t["state_name"]) for t in tasks} == {("COMPLETED", "Completed")}
    keys = Counter(t["task_key"] for t in tasks)
    assert sorted(keys.values()) == [1, 4], keys
    assert {key.split("-")[0] for key in keys} == {"double", "total"}
    assert len({(t["task_key"], t["dynamic_key"]) for t in tasks}) == 5
    for task in tasks:
        assert task["flow_run_id"] == run_id
        assert task["run_count"] == 1 and task["flow_run_run_count"] == 1
        assert task["name"].startswith(task["task_key"].split("-")[0] + "-")
        assert parse_time(task["start_time"]) <= parse_time(task["end_time"])
        assert task["total_run_time"] >= 0
        assert task["state"]["state_details"]["task_run_id"] == task["id"]
        assert task["state"]["state_details"]["flow_run_id"] == run_id
        assert task["empirical_policy"] == {
            "max_retries": 0,
            "retry_delay_seconds": 0.0,
            "retries": 0,
            "retry_delay": 0,
            "retry_jitter_factor": None,
        }
        assert task["labels"] == {} and task["tags"] == []


def test_it_records_each_task_runs_state_history(server_api, core_runs):
    tasks = wait_for_task_runs(server_api, core_runs["pipeline"], 5)

    for task in tasks:
        states = server_api.task_run_states(task["id"])
        assert history(states) == [("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed")]
        assert states[-1]["id"] == task["state_id"]
        assert [s["message"] for s in states] == ["", "", ""]  # the client reports "" and it is kept
        assert parse_time(states[1]["timestamp"]) == parse_time(task["start_time"])
        assert parse_time(states[-1]["timestamp"]) == parse_time(task["end_time"])


def test_it_records_printed_and_logged_lines(server_api, core_runs):
    run_id = core_runs["pipeline"]
    tasks = wait_for_task_runs(server_api, run_id, 5)
    summing_task = next(t for t in tasks if t["task_key"].startswith("total-"))

    def lines():
        return {log["message"]: log for log in server_api.logs(run_id)}

    logs = wait_for(
        lambda: (found := lines()) and {"pipeline result is 8", "summing 4 values"} <= found.keys() and found,
        "the printed and logged lines",
    )
    printed = logs["pipeline result is 8"]  # log_prints=True turns print() into a log line
    assert (printed["name"], printed["level"], printed["task_run_id"]) == ("prefect.flow_runs", 20, None)
    assert printed["flow_run_id"] == run_id
    from_task = logs["summing 4 values"]  # get_run_logger() inside a task
    assert (from_task["name"], from_task["level"]) == ("prefect.task_runs", 20)
    assert from_task["task_run_id"] == summing_task["id"]
    warning = logs["a warning from the flow"]
    assert (warning["name"], warning["level"]) == ("prefect.flow_runs", 30)
    assert any(m.startswith("Beginning flow run") for m in logs)
    assert "Finished in state Completed()" in logs


# --- retries and failures -----------------------------------------------------------------------


def test_a_retried_task_goes_through_awaiting_retry_and_retrying(server_api, core_runs):
    (task,) = wait_for_task_runs(server_api, core_runs["recovers"], 1)

    assert (task["state_type"], task["state_name"]) == ("COMPLETED", "Completed")
    assert task["run_count"] == 2
    assert task["empirical_policy"]["retries"] == 2
    states = server_api.task_run_states(task["id"])
    assert history(states) == [
        ("PENDING", "Pending"),
        ("RUNNING", "Running"),
        ("SCHEDULED", "AwaitingRetry"),
        ("RUNNING", "Retrying"),
        ("COMPLETED", "Completed"),
    ]
    assert states[2]["state_details"]["scheduled_time"]


def test_a_retried_flow_runs_twice(server_api, core_runs):
    run_id = core_runs["recovers"]
    run = server_api.flow_run(run_id)

    assert (run["state_type"], run["state_name"]) == ("COMPLETED", "Completed")
    assert run["run_count"] == 2
    assert run["empirical_policy"]["retries"] == 1
    states = server_api.flow_run_states(run_id)
    assert history(states) == [
        ("PENDING", "Pending"),
        ("RUNNING", "Running"),
        ("SCHEDULED", "AwaitingRetry"),
        ("RUNNING", "Running"),
        ("COMPLETED", "Completed"),
    ]
    assert "first flow attempt fails" in states[2]["message"]
    (task,) = wait_for_task_runs(server_api, run_id, 1)
    assert task["flow_run_run_count"] == 2


def test_a_failing_flow_is_failed_with_the_exception_message(server_api, core_runs):
    run = server_api.flow_run(core_runs["broken"])

    assert (run["state_type"], run["state_name"]) == ("FAILED", "Failed")
    assert run["state"]["message"] == "Flow run encountered an exception: KeyError: 'always broken'"
    assert run["run_count"] == 1 and run["end_time"]
    # The client stores the exception and sends where it is; the server keeps that as given.
    assert run["state"]["data"]["storage_key"]
    assert history(server_api.flow_run_states(run["id"]))[-1] == ("FAILED", "Failed")


# --- subflows -------------------------------------------------------------------------------------


def test_subflow_runs_are_linked_to_their_parent_through_a_task_run(server_api, core_runs):
    parent_id = core_runs["parent"]
    kids = server_api.children(parent_id)
    parent = server_api.flow_run(parent_id)

    assert len(kids) == 2
    assert {k["parameters"]["x"] for k in kids} == {1, 2}
    for kid in kids:
        assert (kid["state_type"], kid["state_name"]) == ("COMPLETED", "Completed")
        assert kid["parent_task_run_id"]
        placeholder = server_api.task_run(kid["parent_task_run_id"])
        assert placeholder["flow_run_id"] == parent_id
        assert placeholder["task_key"].startswith("child-")
        # The placeholder task run mirrors its subflow's state.
        assert (placeholder["state_type"], placeholder["state_name"]) == ("COMPLETED", "Completed")
        assert placeholder["state"]["state_details"]["child_flow_run_id"] == kid["id"]
        assert history(server_api.task_run_states(placeholder["id"])) == [
            ("PENDING", "Pending"),  # created by the client
            ("PENDING", "Pending"),  # then the subflow's own states, mirrored
            ("RUNNING", "Running"),
            ("COMPLETED", "Completed"),
        ]
        assert placeholder["labels"] == {"prefect.flow.id": parent["flow_id"], "prefect.flow-run.id": parent_id}
        # The subflow's own states point back at the placeholder.
        for state in server_api.flow_run_states(kid["id"]):
            assert state["state_details"]["task_run_id"] == kid["parent_task_run_id"]


def test_a_parent_run_is_not_its_childrens_child(server_api, core_runs):
    parent = server_api.flow_run(core_runs["parent"])

    assert parent["parent_task_run_id"] is None
    assert server_api.children(core_runs["pipeline"]) == []
    assert (parent["state_type"], parent["run_count"]) == ("COMPLETED", 1)
