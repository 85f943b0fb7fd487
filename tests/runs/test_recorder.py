"""Task runs recorded from the client's events: idempotent, order-independent, additive."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from events.ingest import ingest
from events.models import Event
from events.schema import parse_event
from runs.models import TaskRun, TaskRunState

from .helpers import flow_run_in

pytestmark = pytest.mark.django_db


def task_event(task_run_id, flow_run, state_type, name, at, *, run_count=1, follows=None, **task_fields):
    """A `prefect.task-run.<name>` event exactly as the 3.8.8 client sends it."""
    task_run = {
        "name": "double-0",
        "task_key": "double-d410725f",
        "dynamic_key": "0",
        "empirical_policy": {"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0},
        "tags": ["etl"],
        "labels": {},
        "task_inputs": {"x": []},
        "run_count": run_count,
        "flow_run_run_count": 1,
        "expected_start_time": at.isoformat(),
        "total_run_time": 0.0,
        **task_fields,
    }
    return parse_event(
        {
            "occurred": at.isoformat(),
            "event": f"prefect.task-run.{name}",
            "resource": {
                "prefect.resource.id": f"prefect.task-run.{task_run_id}",
                "prefect.resource.name": "double-0",
                "prefect.run-count": str(run_count),
                "prefect.state-message": "",
                "prefect.state-name": name,
                "prefect.state-timestamp": at.isoformat(),
                "prefect.state-type": state_type,
                "prefect.orchestration": "client",
            },
            "related": [
                {"prefect.resource.id": "prefect.tag.etl", "prefect.resource.role": "tag"},
                {
                    "prefect.resource.id": f"prefect.flow-run.{flow_run.pk}",
                    "prefect.resource.role": "flow-run",
                    "prefect.resource.name": flow_run.name,
                },
            ],
            "payload": {
                "intended": {"from": None, "to": state_type},
                "initial_state": None,
                "validated_state": {"type": state_type, "name": name, "message": "", "state_details": {}, "data": None},
                "task_run": task_run,
            },
            "id": str(uuid.uuid4()),
            "follows": str(follows) if follows else None,
        }
    )


@pytest.fixture
def flow_run(flow):
    return flow_run_in(flow, "RUNNING")


def lifecycle(flow_run, task_run_id=None):
    task_run_id = task_run_id or uuid.uuid4()
    t0 = timezone.now()
    return task_run_id, [
        task_event(task_run_id, flow_run, "PENDING", "Pending", t0, run_count=0),
        task_event(
            task_run_id,
            flow_run,
            "RUNNING",
            "Running",
            t0 + dt.timedelta(milliseconds=5),
            start_time=(t0 + dt.timedelta(milliseconds=5)).isoformat(),
        ),
        task_event(
            task_run_id,
            flow_run,
            "COMPLETED",
            "Completed",
            t0 + dt.timedelta(milliseconds=20),
            start_time=(t0 + dt.timedelta(milliseconds=5)).isoformat(),
            end_time=(t0 + dt.timedelta(milliseconds=20)).isoformat(),
            total_run_time=0.015,
        ),
    ]


def test_a_task_run_and_its_states_are_built_from_its_events(flow_run):
    task_run_id, events = lifecycle(flow_run)
    ingest(events)
    run = TaskRun.objects.select_related("state").get(pk=task_run_id)
    assert (run.state_type, run.state_name) == ("COMPLETED", "Completed")
    assert run.flow_run_id == flow_run.pk
    assert run.task_key == "double-d410725f" and run.tags == ["etl"]
    assert run.start_time is not None and run.end_time is not None
    assert run.total_run_time == pytest.approx(0.015)
    assert run.state_id == events[-1]["id"]
    assert run.state.state_details["task_run_id"] == str(task_run_id)
    assert TaskRunState.objects.filter(task_run=run).count() == 3
    assert Event.objects.filter(id__in=[e["id"] for e in events]).count() == 3


def test_events_sent_twice_are_recorded_once(flow_run):
    task_run_id, events = lifecycle(flow_run)
    ingest(events)
    ingest(events)
    assert TaskRunState.objects.filter(task_run_id=task_run_id).count() == 3


def test_events_arriving_out_of_order_end_in_the_latest_state(flow_run):
    task_run_id, events = lifecycle(flow_run)
    ingest([events[2]])
    ingest([events[0], events[1]])
    run = TaskRun.objects.get(pk=task_run_id)
    assert run.state_type == "COMPLETED"
    assert run.end_time is not None
    assert TaskRunState.objects.filter(task_run=run).count() == 3


def test_task_runs_arriving_after_their_flow_finished_are_recorded(flow, flow_run):
    from runs.orchestration.states import State

    from .helpers import propose

    propose(flow_run, State(type="COMPLETED"))
    task_run_id, events = lifecycle(flow_run)
    ingest(events)
    assert TaskRun.objects.get(pk=task_run_id).state_type == "COMPLETED"


def test_a_task_run_sent_under_a_new_id_keeps_its_original_row(flow_run):
    first_id, events = lifecycle(flow_run)
    ingest(events[:2])
    _, again = lifecycle(flow_run, task_run_id=uuid.uuid4())
    ingest(again[2:])
    assert TaskRun.objects.filter(flow_run=flow_run).count() == 1
    assert TaskRun.objects.get(pk=first_id).state_type == "COMPLETED"


def test_a_task_run_of_an_unknown_flow_run_is_not_recorded(flow):
    ghost = flow_run_in(flow, None)
    task_run_id, events = lifecycle(ghost)
    ghost.delete()
    ingest(events)
    assert not TaskRun.objects.filter(pk=task_run_id).exists()
    assert Event.objects.count() == 3  # the events themselves are kept


def test_events_of_server_side_orchestration_are_not_recorded_as_task_runs(flow_run):
    task_run_id, events = lifecycle(flow_run)
    for event in events:
        event["resource"]["prefect.orchestration"] = "server"
    ingest(events)
    assert not TaskRun.objects.filter(pk=task_run_id).exists()
