"""The runs app's loop services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from runs.services import FailExpiredPauses, MarkLateRuns

from .helpers import flow_run_in, propose, state

pytestmark = pytest.mark.django_db


def scheduled_at(flow, at):
    run = flow_run_in(flow, None)
    propose(run, state("SCHEDULED", scheduled_time=at), force=True)
    return run


def test_a_scheduled_run_past_its_start_is_marked_late(flow):
    run = scheduled_at(flow, timezone.now() - dt.timedelta(minutes=1))
    assert MarkLateRuns().run_once() == 1
    run.refresh_from_db()
    assert (run.state_type, run.state_name) == ("SCHEDULED", "Late")


def test_a_run_scheduled_a_moment_ago_is_not_late_yet(flow):
    run = scheduled_at(flow, timezone.now() - dt.timedelta(seconds=2))
    assert MarkLateRuns().run_once() == 0
    run.refresh_from_db()
    assert run.state_name == "Scheduled"


def test_a_late_run_is_not_marked_again(flow):
    scheduled_at(flow, timezone.now() - dt.timedelta(minutes=1))
    MarkLateRuns().run_once()
    assert MarkLateRuns().run_once() == 0


def test_a_run_that_started_is_never_marked_late(flow):
    run = scheduled_at(flow, timezone.now() - dt.timedelta(minutes=1))
    propose(run, state("PENDING"))
    MarkLateRuns().run_once()
    run.refresh_from_db()
    assert run.state_type == "PENDING"


def test_an_expired_pause_fails_the_run(flow):
    run = flow_run_in(flow, "RUNNING")
    propose(run, state("PAUSED", pause_key="1", pause_timeout=timezone.now() - dt.timedelta(seconds=1)))
    assert FailExpiredPauses().run_once() == 1
    run.refresh_from_db()
    assert run.state_type == "FAILED"
    assert "never resumed" in run.state.message


def test_a_pause_with_time_left_is_kept(flow):
    run = flow_run_in(flow, "RUNNING")
    propose(run, state("PAUSED", pause_key="1", pause_timeout=timezone.now() + dt.timedelta(minutes=5)))
    assert FailExpiredPauses().run_once() == 0
