"""What each scenario checks through the API once its load is done: the server must have kept
what it acknowledged. Pure functions of the counts the scenario read back, so a failed check
names the numbers that disagree."""

from __future__ import annotations

from typing import Any


def api_runs(*, expected: int, completed: int, failed_runs: int) -> dict[str, Any]:
    """Every run the clients drove to COMPLETED is counted COMPLETED, and none was lost."""
    return {
        "expected_completed": expected,
        "completed": completed,
        "failed_runs": failed_runs,
        "ok": completed == expected and failed_runs == 0,
    }


def flows(*, flows: int, tasks: int, flow_runs_completed: int, task_runs_completed: int) -> dict[str, Any]:
    """The client's K flow runs and K*M task runs are all visible as COMPLETED."""
    return {
        "flow_runs_expected": flows,
        "flow_runs_completed": flow_runs_completed,
        "task_runs_expected": flows * tasks,
        "task_runs_completed": task_runs_completed,
        "ok": flow_runs_completed == flows and task_runs_completed == flows * tasks,
    }


def logs(*, sent: int, expected_for_run: int, page: int, page_limit: int, at_last: int, beyond_last: int) -> dict:
    """One flow run's records read back: a full first page, a record at the last expected offset
    and none after it (Prefect's API has no log count, so the count is probed by offset)."""
    return {
        "records_sent": sent,
        "records_expected_for_run": expected_for_run,
        "first_page": page,
        "record_at_last_offset": at_last,
        "records_beyond": beyond_last,
        "ok": page == min(page_limit, expected_for_run) and at_last == 1 and beyond_last == 0,
    }


def reads(*, target: int, total: int, errors: int) -> dict[str, Any]:
    """The reads ran on at least the target number of flow runs, without a failed request."""
    return {"target_flow_runs": target, "flow_runs": total, "errors": errors, "ok": total >= target and errors == 0}


def deployments(*, created: int, scheduled: int, schedules: int, failed_runs: int) -> dict[str, Any]:
    """Every create_flow_run call left a SCHEDULED run of the deployment, which kept its schedule.
    (The server's scheduler may add runs of its own from the interval schedule: at least.)"""
    return {
        "created": created,
        "scheduled_runs_of_deployment": scheduled,
        "deployment_schedules": schedules,
        "failed_runs": failed_runs,
        "ok": scheduled >= created and schedules == 1 and failed_runs == 0,
    }
