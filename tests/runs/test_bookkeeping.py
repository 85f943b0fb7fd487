"""What every transition keeps up to date on the run itself."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event
from runs.models import FlowRunState, TaskRun

from .helpers import flow_run_in, propose, state, task_run_in

pytestmark = pytest.mark.django_db


def test_start_end_and_run_time_follow_the_states(flow):
    run = flow_run_in(flow, "PENDING")
    propose(run, state("RUNNING"))
    started = run.start_time
    propose(run, state("COMPLETED"))
    assert run.start_time == started
    assert run.end_time == run.state_timestamp
    assert run.total_run_time == pytest.approx((run.end_time - started).total_seconds())
    assert run.run_count == 1
    assert (run.state_type, run.state_name) == ("COMPLETED", "Completed")


def test_the_expected_start_time_is_the_scheduled_time(flow):
    run = flow_run_in(flow, None)
    at = timezone.now() + dt.timedelta(hours=1)
    propose(run, state("SCHEDULED", scheduled_time=at), force=True)
    assert run.expected_start_time == at
    assert run.next_scheduled_start_time == at
    propose(run, state("PENDING"), force=True)
    assert run.next_scheduled_start_time is None


def test_two_states_of_one_run_never_share_a_timestamp(flow):
    run = flow_run_in(flow, "PENDING")
    stamp = timezone.now()
    first, second = state("RUNNING"), state("COMPLETED")
    first.timestamp = second.timestamp = stamp
    propose(run, first, force=True)
    propose(run, second, force=True)
    stamps = list(FlowRunState.objects.filter(flow_run=run).values_list("timestamp", flat=True))
    assert len(stamps) == len(set(stamps))


def test_a_state_timed_like_an_earlier_one_but_not_the_latest_still_gets_a_time_of_its_own(flow):
    run = flow_run_in(flow, "PENDING")
    pending_at = run.state_timestamp
    propose(run, state("RUNNING"), force=True)
    late = state("COMPLETED")
    late.timestamp = pending_at  # a client whose clock is behind the one that set PENDING
    propose(run, late, force=True)
    stamps = list(FlowRunState.objects.filter(flow_run=run).values_list("timestamp", flat=True))
    assert len(stamps) == len(set(stamps)) == 3
    assert run.state_timestamp == pending_at + dt.timedelta(microseconds=1)


def test_a_state_later_than_every_other_keeps_its_time_without_reading_the_others(flow):
    run = flow_run_in(flow, "PENDING")
    running = state("RUNNING")
    with CaptureQueriesContext(connection) as queries:
        propose(run, running, force=True)
    assert run.state_timestamp == running.timestamp
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "runs_flowrunstate"')]
    assert reads == []


def test_states_name_their_flow_run(flow):
    run = flow_run_in(flow, "PENDING")
    assert run.state.state_details["flow_run_id"] == str(run.pk)


def test_every_flow_run_state_is_announced_as_an_event(flow):
    run = flow_run_in(flow, "PENDING", tags=["daily"])
    propose(run, state("RUNNING"))
    event = Event.objects.get(id=run.state_id)
    assert event.event == "prefect.flow-run.Running"
    assert event.resource["prefect.resource.id"] == f"prefect.flow-run.{run.pk}"
    assert event.resource["prefect.state-type"] == "RUNNING"
    assert event.payload["intended"] == {"from": "PENDING", "to": "RUNNING"}
    roles = {r["prefect.resource.role"]: r["prefect.resource.id"] for r in event.related}
    assert roles["flow"] == f"prefect.flow.{flow.pk}"
    assert roles["tag"] == "prefect.tag.daily"


def test_a_subflow_state_is_mirrored_on_its_parent_task_run(flow):
    parent = flow_run_in(flow, "RUNNING")
    placeholder = task_run_in(parent, "PENDING")
    child = flow_run_in(flow, "PENDING", parent_task_run_id=placeholder.pk)
    propose(child, state("RUNNING"))
    propose(child, state("COMPLETED"))
    placeholder = TaskRun.objects.select_related("state").get(pk=placeholder.pk)
    assert placeholder.state_type == "COMPLETED"
    assert placeholder.state.state_details["child_flow_run_id"] == str(child.pk)
    assert child.state.state_details["task_run_id"] == str(placeholder.pk)


def test_an_unknown_run_raises_does_not_exist():
    from runs.models import FlowRun
    from runs.orchestration import engine

    with pytest.raises(FlowRun.DoesNotExist):
        engine.set_flow_run_state(uuid.uuid4(), state("RUNNING"))


class Broken(Exception):
    pass


def test_a_run_whose_first_state_cannot_be_written_is_not_created_and_the_callers_transaction_goes_on(
    flow, monkeypatch
):
    from django.db import transaction

    from runs.api.flow_runs import create_flow_run
    from runs.models import Flow, FlowRun
    from runs.orchestration import engine

    def broken(*args, **kwargs):
        raise Broken("the state could not be written")

    monkeypatch.setattr(engine, "_write_flow_state", broken)
    with transaction.atomic():
        with pytest.raises(Broken):
            create_flow_run({"flow_id": flow.pk, "name": "never"})
        Flow.objects.create(name="written-after")  # the caller's transaction is still usable
    assert not FlowRun.objects.filter(name="never").exists()
    assert Flow.objects.filter(name="written-after").exists()
