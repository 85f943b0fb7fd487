"""The core task policy (tasks proposed through /task_runs/{id}/set_state)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from runs.models import TaskRunStateCache
from runs.orchestration.states import State

from .helpers import flow_run_in, propose, state, task_run_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def running_flow(flow):
    return flow_run_in(flow, "RUNNING")


def test_a_completed_task_with_a_cache_key_is_reused_by_the_next_run(running_flow):
    first = task_run_in(running_flow, "RUNNING", dynamic_key="0")
    propose(first, state("COMPLETED", cache_key="k1"))
    assert TaskRunStateCache.objects.filter(cache_key="k1").exists()
    second = task_run_in(running_flow, "PENDING", dynamic_key="1")
    ctx = propose(second, state("RUNNING", cache_key="k1"))
    assert ctx.status == "REJECT"
    assert (second.state_type, second.state_name) == ("COMPLETED", "Cached")


def test_an_expired_cache_entry_is_not_reused(running_flow):
    first = task_run_in(running_flow, "RUNNING", dynamic_key="0")
    propose(first, state("COMPLETED", cache_key="k2", cache_expiration=timezone.now() - dt.timedelta(seconds=1)))
    second = task_run_in(running_flow, "PENDING", dynamic_key="1")
    assert propose(second, state("RUNNING", cache_key="k2")).status == "ACCEPT"


def test_refresh_cache_ignores_the_cached_state(running_flow):
    first = task_run_in(running_flow, "RUNNING", dynamic_key="0")
    propose(first, state("COMPLETED", cache_key="k3"))
    second = task_run_in(running_flow, "PENDING", dynamic_key="1")
    assert propose(second, state("RUNNING", cache_key="k3", refresh_cache=True)).status == "ACCEPT"


def test_a_task_with_retries_left_awaits_a_retry(running_flow):
    task = task_run_in(running_flow, "PENDING", empirical_policy={"retries": 2, "retry_delay": [1, 10]})
    propose(task, state("RUNNING"))
    ctx = propose(task, State(type="FAILED", message="oops"))
    assert ctx.status == "REJECT"
    assert task.state_name == "AwaitingRetry"
    wait = State.from_row(task.state).detail_time("scheduled_time") - timezone.now()
    assert dt.timedelta(seconds=0) < wait <= dt.timedelta(seconds=1)


def test_a_failure_the_client_marks_not_retriable_fails_at_once(running_flow):
    task = task_run_in(running_flow, "PENDING", empirical_policy={"retries": 2, "retry_delay": 0})
    propose(task, state("RUNNING"))
    assert propose(task, state("FAILED", retriable=False)).status == "ACCEPT"


def test_a_retried_task_is_renamed_retrying_and_counts_its_attempts(running_flow):
    task = task_run_in(running_flow, "PENDING", empirical_policy={"retries": 1, "retry_delay": 0})
    propose(task, state("RUNNING"))
    propose(task, state("FAILED"))
    propose(task, state("RUNNING"))
    assert (task.state_name, task.run_count) == ("Retrying", 2)


def test_a_task_cannot_start_while_its_flow_is_not_running(flow):
    done = flow_run_in(flow, "COMPLETED")
    task = task_run_in(done, "PENDING")
    assert propose(task, state("RUNNING")).status == "ABORT"


def test_a_task_in_a_paused_flow_waits_not_ready(flow):
    paused = flow_run_in(flow, "RUNNING")
    propose(paused, state("PAUSED", pause_key="p"))
    task = task_run_in(paused, "PENDING")
    ctx = propose(task, state("RUNNING"))
    assert ctx.status == "REJECT"
    assert (task.state_type, task.state_name) == ("PAUSED", "NotReady")


def test_a_finished_task_cannot_crash_later(running_flow):
    task = task_run_in(running_flow, "COMPLETED")
    assert propose(task, state("CRASHED")).status == "ABORT"


def test_a_task_records_which_attempt_of_its_flow_it_ran_in(running_flow):
    task = task_run_in(running_flow, "PENDING")
    propose(task, state("RUNNING"))
    assert task.flow_run_run_count == running_flow.run_count


def test_an_overlong_cache_key_is_not_cached(running_flow):
    task = task_run_in(running_flow, "RUNNING")
    ctx = propose(task, state("COMPLETED", cache_key="x" * 2001))
    assert ctx.status == "REJECT"
    assert not TaskRunStateCache.objects.exists()
