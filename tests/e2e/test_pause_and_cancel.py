"""A paused flow resumed by the client, and a local flow cancelled from the CLI (PROTOCOL 8b, 8c)."""

from __future__ import annotations

import pytest

from .conftest import assert_no_client_complaints, parse_time, wait_for

pytestmark = pytest.mark.e2e


def written_id(path) -> str | None:
    return path.read_text().strip() if path.exists() and path.read_text().strip() else None


def test_a_paused_flow_resumes_and_completes(prefect, server_api, tmp_path):
    id_file = tmp_path / "flow-run-id"
    flow = prefect.start_script("pausing.py", id_file)
    try:
        run_id = wait_for(lambda: written_id(id_file), "the pausing flow to start", timeout=60)
        paused = wait_for(
            lambda: (run := server_api.flow_run(run_id))["state_type"] == "PAUSED" and run, "the flow to pause"
        )
        assert paused["state_name"] == "Paused"
        assert paused["state"]["state_details"]["pause_timeout"]
        assert paused["state"]["state_details"]["pause_reschedule"] is False

        prefect.python(f"from prefect.flow_runs import resume_flow_run; resume_flow_run({run_id!r})")

        assert flow.wait(timeout=60) == 0, flow.describe()
    finally:
        flow.kill()
    assert_no_client_complaints(flow.output(), flow.describe())
    run = server_api.flow_run(run_id)
    assert (run["state_type"], run["state_name"]) == ("COMPLETED", "Completed")
    # Prefect's server counts the Running the resume writes as another run, and so do we;
    # the "resuming" flag only spares runs rescheduled after a suspend.
    assert run["run_count"] == 2
    assert run["empirical_policy"]["resuming"] is False
    assert run["empirical_policy"]["pause_keys"] == ["1"]
    states = server_api.flow_run_states(run_id)
    assert [(s["type"], s["name"]) for s in states] == [
        ("PENDING", "Pending"),
        ("RUNNING", "Running"),
        ("PAUSED", "Paused"),
        ("RUNNING", "Running"),
        ("COMPLETED", "Completed"),
    ]
    # Run time is time spent Running, not Paused, to the microsecond.
    running = [(s, nxt) for s, nxt in zip(states, states[1:], strict=False) if s["type"] == "RUNNING"]
    assert run["total_run_time"] == round(
        sum((parse_time(b["timestamp"]) - parse_time(a["timestamp"])).total_seconds() for a, b in running), 6
    )
    tasks = wait_for(lambda: (found := server_api.task_runs(run_id)) and len(found) == 2 and found, "both task runs")
    assert {t["state_type"] for t in tasks} == {"COMPLETED"}
    wait_for(
        lambda: "approved, carrying on" in {log["message"] for log in server_api.logs(run_id)},
        "the log line written after resuming",
    )


def test_resuming_a_run_that_is_not_paused_is_aborted(server_api, core_runs):
    result = server_api.post(f"flow_runs/{core_runs['pipeline']}/resume", {"run_input": None})

    assert result["status"] == "ABORT"
    assert result["details"]["type"] == "abort_details"


def test_cancelling_a_local_flow_leaves_it_cancelling(prefect, server_api, tmp_path):
    id_file, release = tmp_path / "flow-run-id", tmp_path / "release"
    flow = prefect.start_script("until_released.py", id_file, release)
    try:
        run_id = wait_for(lambda: written_id(id_file), "the flow to start", timeout=60)
        assert server_api.flow_run(run_id)["state_type"] == "RUNNING"

        cancel = prefect.cli("flow-run", "cancel", run_id)
        assert "was successfully scheduled for cancellation" in cancel.stdout
        assert server_api.flow_run(run_id)["state_type"] == "CANCELLING"

        # A local flow has no runner listening for the cancellation: it carries on, and its
        # Completed proposal is refused, so it stays Cancelling (as on Prefect's server).
        release.touch()
        assert flow.wait(timeout=60) == 0, flow.describe()
    finally:
        flow.kill()
    assert_no_client_complaints(flow.output(), flow.describe())
    assert "RESULT CANCELLING Cancelling" in flow.output(), flow.describe()
    assert "Finished in state Cancelling()" in flow.output()
    run = server_api.flow_run(run_id)
    assert (run["state_type"], run["state_name"]) == ("CANCELLING", "Cancelling")
    assert run["end_time"] is None  # Cancelling is not a final state
    assert [s["type"] for s in server_api.flow_run_states(run_id)] == ["PENDING", "RUNNING", "CANCELLING"]
