"""The core flow policy, one rule at a time, driven by (current state, proposed state)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from runs.models import FlowRunState
from runs.orchestration.states import State

from .helpers import flow_run_in, propose, state

pytestmark = pytest.mark.django_db

TERMINAL = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]


class TestPreventDuplicateTransitions:
    def test_it_answers_a_repeated_transition_with_the_state_already_written(self, flow):
        run = flow_run_in(flow, "PENDING")
        first = propose(run, state("RUNNING", transition_id="3d0c5a1e-7d77-4b4e-9d40-5b3b0f3a0b1c"))
        again = propose(run, state("RUNNING", transition_id="3d0c5a1e-7d77-4b4e-9d40-5b3b0f3a0b1c"))
        assert first.status == "ACCEPT"
        assert again.status == "REJECT"
        assert again.validated.id == first.validated.id
        assert FlowRunState.objects.filter(flow_run=run, type="RUNNING").count() == 1

    def test_different_transition_ids_are_both_written(self, flow):
        run = flow_run_in(flow, "RUNNING")
        ctx = propose(run, state("RUNNING", transition_id="3d0c5a1e-7d77-4b4e-9d40-5b3b0f3a0b1d"))
        assert ctx.status == "ACCEPT"


class TestHandleFlowTerminalStateTransitions:
    @pytest.mark.parametrize("initial", TERMINAL)
    @pytest.mark.parametrize("proposed", ["CANCELLING", "PAUSED", "CRASHED"])
    def test_a_finished_run_cannot_start_cancelling_pause_or_crash(self, flow, initial, proposed):
        run = flow_run_in(flow, initial)
        ctx = propose(run, state(proposed))
        assert ctx.status == "ABORT"
        assert run.state_type == initial

    def test_a_completed_run_with_a_stored_result_cannot_run_again(self, flow):
        run = flow_run_in(flow, "RUNNING")
        done = state("COMPLETED")
        done.data = {"storage_key": "/results/abc", "serializer": {"type": "pickle"}}
        propose(run, done)
        ctx = propose(run, state("RUNNING"))
        assert ctx.status == "REJECT"
        assert run.state_type == "COMPLETED"

    def test_a_completed_run_without_a_stored_result_may_run_again(self, flow):
        run = flow_run_in(flow, "COMPLETED")
        ctx = propose(run, state("RUNNING"))
        assert ctx.status == "ACCEPT"
        assert run.end_time is None

    def test_only_a_deployment_run_can_be_scheduled_again(self, flow):
        run = flow_run_in(flow, "FAILED")
        ctx = propose(run, state("SCHEDULED", scheduled_time=timezone.now()))
        assert ctx.status == "ABORT"

    def test_a_deployment_run_rescheduled_after_finishing_starts_a_clean_retry(self, flow):
        import uuid

        run = flow_run_in(flow, "FAILED", deployment_id=uuid.uuid4())
        ctx = propose(run, state("SCHEDULED", scheduled_time=timezone.now()))
        assert ctx.status == "ACCEPT"
        assert run.empirical_policy["retry_type"] == "reschedule"


class TestEnforceCancellingToCancelledTransition:
    @pytest.mark.parametrize("proposed", ["RUNNING", "COMPLETED", "FAILED", "PENDING", "SCHEDULED"])
    def test_a_cancelling_run_can_only_become_cancelled(self, flow, proposed):
        run = flow_run_in(flow, "CANCELLING")
        ctx = propose(run, state(proposed))
        assert ctx.status == "REJECT"
        assert ctx.validated.type == "CANCELLING"

    def test_a_cancelling_run_becomes_cancelled(self, flow):
        run = flow_run_in(flow, "CANCELLING")
        assert propose(run, state("CANCELLED")).status == "ACCEPT"


class TestBypassCancellingFlowRunsWithNoInfra:
    def test_cancelling_a_scheduled_run_without_infrastructure_cancels_it_at_once(self, flow):
        run = flow_run_in(flow, "SCHEDULED")
        ctx = propose(run, state("CANCELLING"))
        assert ctx.status == "REJECT"
        assert run.state_type == "CANCELLED"

    def test_a_scheduled_run_with_infrastructure_goes_through_cancelling(self, flow):
        run = flow_run_in(flow, "SCHEDULED", infrastructure_pid="4242")
        assert propose(run, state("CANCELLING")).status == "ACCEPT"
        assert run.state_type == "CANCELLING"

    def test_cancelling_a_suspended_run_cancels_it_at_once(self, flow):
        run = flow_run_in(flow, "RUNNING")
        propose(run, state("PAUSED", "Suspended", pause_reschedule=True), force=True)
        ctx = propose(run, state("CANCELLING"))
        assert ctx.status == "REJECT"
        assert run.state_type == "CANCELLED"


class TestPreventPendingTransitions:
    @pytest.mark.parametrize("initial", ["PENDING", "RUNNING", "CANCELLED"])
    def test_a_run_already_past_pending_cannot_become_pending_again(self, flow, initial):
        run = flow_run_in(flow, initial)
        ctx = propose(run, state("PENDING"))
        assert ctx.status == "ABORT"

    def test_a_pending_run_may_move_to_a_named_pending_substate(self, flow):
        run = flow_run_in(flow, "PENDING")
        ctx = propose(run, state("PENDING", "Submitting"))
        assert ctx.status == "ACCEPT"
        assert run.state_name == "Submitting"

    def test_a_scheduled_run_may_become_pending(self, flow):
        run = flow_run_in(flow, "SCHEDULED")
        assert propose(run, state("PENDING")).status == "ACCEPT"


class TestEnsureOnlyScheduledFlowsMarkedLate:
    def test_a_running_run_cannot_be_marked_late(self, flow):
        run = flow_run_in(flow, "RUNNING")
        ctx = propose(run, state("SCHEDULED", "Late", scheduled_time=timezone.now()))
        assert ctx.status == "REJECT"
        assert run.state_type == "RUNNING"

    def test_a_run_is_marked_late_only_once(self, flow):
        run = flow_run_in(flow, "SCHEDULED")
        assert propose(run, state("SCHEDULED", "Late", scheduled_time=timezone.now())).status == "ACCEPT"
        assert propose(run, state("SCHEDULED", "Late", scheduled_time=timezone.now())).status == "REJECT"


class TestHandlePausingFlows:
    def test_a_running_flow_pauses_and_remembers_the_pause_key(self, flow):
        run = flow_run_in(flow, "RUNNING")
        ctx = propose(run, state("PAUSED", pause_key="1", pause_timeout=timezone.now() + dt.timedelta(minutes=1)))
        assert ctx.status == "ACCEPT"
        assert run.empirical_policy["pause_keys"] == ["1"]

    def test_the_same_pause_does_not_fire_twice(self, flow):
        run = flow_run_in(flow, "RUNNING")
        propose(run, state("PAUSED", pause_key="1"))
        propose(run, state("RUNNING"))
        ctx = propose(run, state("PAUSED", pause_key="1"))
        assert ctx.status == "REJECT"
        assert run.state_type == "RUNNING"

    def test_only_a_running_flow_can_pause(self, flow):
        run = flow_run_in(flow, "PENDING")
        assert propose(run, state("PAUSED")).status == "REJECT"

    def test_a_flow_without_a_deployment_cannot_suspend(self, flow):
        run = flow_run_in(flow, "RUNNING")
        ctx = propose(run, state("PAUSED", "Suspended", pause_reschedule=True))
        assert ctx.status == "ABORT"


class TestHandleResumingPausedFlows:
    def test_a_paused_run_resumes_running(self, flow):
        run = flow_run_in(flow, "RUNNING")
        propose(run, state("PAUSED", pause_key="1", pause_timeout=timezone.now() + dt.timedelta(minutes=5)))
        ctx = propose(run, state("RUNNING"))
        assert ctx.status == "ACCEPT"
        assert run.state_type == "RUNNING"

    def test_a_resumed_suspended_run_does_not_count_its_restart_as_another_attempt(self, flow):
        import uuid

        run = flow_run_in(flow, "RUNNING", deployment_id=uuid.uuid4())
        propose(run, state("PAUSED", "Suspended", pause_key="1", pause_reschedule=True))
        count = run.run_count
        assert propose(run, state("SCHEDULED", "Resuming", scheduled_time=timezone.now())).status == "ACCEPT"
        assert run.empirical_policy["resuming"] is True
        propose(run, state("PENDING"))
        propose(run, state("RUNNING"))
        assert run.run_count == count
        assert run.empirical_policy["resuming"] is False

    def test_a_pause_that_timed_out_fails_the_run(self, flow):
        run = flow_run_in(flow, "RUNNING")
        propose(run, state("PAUSED", pause_key="1", pause_timeout=timezone.now() - dt.timedelta(seconds=1)))
        ctx = propose(run, state("RUNNING"))
        assert ctx.status == "REJECT"
        assert run.state_type == "FAILED"

    def test_a_paused_run_cannot_become_pending(self, flow):
        run = flow_run_in(flow, "RUNNING")
        propose(run, state("PAUSED", pause_key="1"))
        assert propose(run, state("PENDING")).status == "REJECT"


class TestWaitForScheduledTime:
    def test_a_run_picked_up_early_is_told_to_wait(self, flow):
        run = flow_run_in(flow, None)
        propose(run, state("SCHEDULED", scheduled_time=timezone.now() + dt.timedelta(seconds=30)), force=True)
        ctx = propose(run, state("RUNNING"))
        assert ctx.status == "WAIT"
        assert 29 <= ctx.details["delay_seconds"] <= 30
        assert run.state_type == "SCHEDULED"

    def test_a_run_whose_time_has_come_starts(self, flow):
        run = flow_run_in(flow, "SCHEDULED")
        assert propose(run, state("RUNNING")).status == "ACCEPT"

    def test_pending_keeps_the_scheduled_time(self, flow):
        run = flow_run_in(flow, None)
        at = timezone.now() + dt.timedelta(seconds=30)
        propose(run, state("SCHEDULED", scheduled_time=at), force=True)
        propose(run, state("PENDING"))
        assert State.from_row(run.state).detail_time("scheduled_time") == at.replace(microsecond=at.microsecond)


class TestRetryFailedFlows:
    def test_a_flow_with_retries_left_awaits_a_retry_instead_of_failing(self, flow):
        run = flow_run_in(flow, "PENDING", empirical_policy={"retries": 1, "retry_delay": 0})
        propose(run, state("RUNNING"))
        ctx = propose(run, State(type="FAILED", message="boom"))
        assert ctx.status == "REJECT"
        assert (run.state_type, run.state_name) == ("SCHEDULED", "AwaitingRetry")
        assert run.empirical_policy["retry_type"] == "in_process"
        assert ctx.validated.message == "boom"

    def test_a_flow_out_of_retries_fails(self, flow):
        run = flow_run_in(flow, "PENDING", empirical_policy={"retries": 1, "retry_delay": 0})
        propose(run, state("RUNNING"))
        propose(run, state("FAILED"))
        propose(run, state("RUNNING"))
        ctx = propose(run, state("FAILED"))
        assert ctx.status == "ACCEPT"
        assert run.state_type == "FAILED"
        assert run.run_count == 2

    def test_a_flow_without_retries_fails(self, flow):
        run = flow_run_in(flow, "RUNNING")
        assert propose(run, state("FAILED")).status == "ACCEPT"


class TestForcedTransitions:
    def test_force_skips_the_rules(self, flow):
        run = flow_run_in(flow, "CANCELLING")
        ctx = propose(run, state("COMPLETED"), force=True)
        assert ctx.status == "ACCEPT"
        assert run.state_type == "COMPLETED"

    def test_force_still_keeps_a_stored_result(self, flow):
        run = flow_run_in(flow, "RUNNING")
        done = state("COMPLETED")
        done.data = {"storage_key": "/results/abc"}
        propose(run, done)
        assert propose(run, state("COMPLETED"), force=True).status == "REJECT"
