"""Rules that govern flow-run transitions, in the order the core flow policy applies them.

Rules that need deployments or concurrency limits (deployment concurrency slots and their
leases) join the policy in `policies.py` when those features land; their place is marked
there.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone

from runs.choices import TERMINAL, StateType

from .rules import ALL_STATES, Rule
from .states import awaiting_retry, cancelled, failed

S = StateType


class PreventDuplicateTransitions(Rule):
    """A client that retries a request after a timeout proposes the same transition twice;
    the second proposal carries the transition id of the state already written, and is
    answered with that state instead of writing another."""

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        done = initial.detail("transition_id")
        asked = proposed.detail("transition_id")
        if done is not None and asked is not None and str(done) == str(asked):
            self.reject(None, "This transition was already made; the run is in the resulting state.")


class HandleFlowTerminalStateTransitions(Rule):
    """A finished run may be re-run (scheduled again with a deployment, or retried), but it
    cannot start cancelling, pause or crash, and a completed run whose result is stored
    keeps it."""

    FROM_STATES = TERMINAL

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        self.saved_policy = dict(self.ctx.policy)
        if proposed.type in {S.CANCELLING, S.PAUSED, S.CRASHED}:
            self.abort(f"The run has already finished in a {initial.type} state.")
            return
        if initial.is_completed() and initial.has_persisted_result():
            if not proposed.is_final():
                self.reject(None, "The run has already completed and its result is stored.")
                return
            if proposed.is_completed() and not proposed.has_persisted_result():
                self.reject(None, "A completed state with a stored result cannot be replaced by one without it.")
                return
        if proposed.is_scheduled() and not self.ctx.run.deployment_id:
            self.abort("Only runs of a deployment can be scheduled again.")
            return
        if not proposed.is_final():
            # A re-run starts with a clean slate of pauses and retries.
            policy = self.ctx.policy
            policy["resuming"] = False
            policy["pause_keys"] = []
            policy["retry_type"] = "reschedule" if proposed.is_scheduled() else None

    def cleanup(self, initial, validated):
        if hasattr(self, "saved_policy"):
            self.ctx.run.empirical_policy = self.saved_policy


class PreventResultDataLoss(Rule):
    """Even a forced transition must not drop a stored result of a completed run."""

    FROM_STATES = TERMINAL
    TO_STATES = TERMINAL

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if (
            initial.is_completed()
            and proposed.is_completed()
            and initial.has_persisted_result()
            and not proposed.has_persisted_result()
        ):
            self.reject(None, "A completed state with a stored result cannot be replaced by one without it.")


class EnforceCancellingToCancelledTransition(Rule):
    """Once cancellation has begun, the only way forward is Cancelled (or a forced change)."""

    FROM_STATES = frozenset({S.CANCELLING})
    TO_STATES = ALL_STATES - {S.CANCELLED}

    def before(self, initial, proposed):
        self.reject(None, "The run is being cancelled; it can only move to Cancelled.")


class BypassCancellingFlowRunsWithNoInfra(Rule):
    """A run that is not executing anywhere (scheduled, or suspended) has nothing to tear
    down, so cancelling it cancels it at once."""

    FROM_STATES = frozenset({S.SCHEDULED, S.PAUSED})
    TO_STATES = frozenset({S.CANCELLING})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if (initial.is_scheduled() and not self.ctx.run.infrastructure_pid) or initial.name == "Resuming":
            self.reject(cancelled(), "The scheduled run has no infrastructure to stop; it is cancelled directly.")
        elif initial.is_paused() and initial.detail("pause_reschedule"):
            self.reject(cancelled(), "The suspended run has no infrastructure to stop; it is cancelled directly.")


class EnsureOnlyScheduledFlowsMarkedLate(Rule):
    """Only a run still waiting for its start may be marked Late, and only once."""

    TO_STATES = frozenset({S.SCHEDULED})

    def before(self, initial, proposed):
        if initial is None or proposed is None or proposed.name != "Late":
            return
        if not initial.is_scheduled():
            self.reject(None, "Only scheduled runs can be marked late.")
        elif initial.name == "Late":
            self.reject(None, "The run is already marked late.")


class HandlePausingFlows(Rule):
    """A running flow may pause (wait for input in place) or suspend (exit and be
    rescheduled on resume); each pause point fires once, identified by its key."""

    TO_STATES = frozenset({S.PAUSED})

    def before(self, initial, proposed):
        if proposed is None:
            return
        verb = "suspend" if proposed.name == "Suspended" else "pause"
        if initial is None:
            self.abort(f"A run without a state cannot {verb}.")
            return
        if not initial.is_running():
            self.reject(None, f"Only running flows can {verb}.")
            return
        self.key = proposed.detail("pause_key") or str(uuid.uuid4())
        if self.key in (self.ctx.policy.get("pause_keys") or []):
            self.reject(None, f"This {verb} has already happened.")
            return
        if proposed.detail("pause_reschedule"):
            if self.ctx.run.parent_task_run_id:
                self.abort(f"Subflows cannot {verb}.")
                return
            if self.ctx.run.deployment_id is None:
                self.abort(f"Only runs of a deployment can {verb}.")
                return

    def after(self, initial, validated):
        if not self.ctx.wrote_state:
            return
        keys = list(self.ctx.policy.get("pause_keys") or [])
        if self.key not in keys:
            keys.append(self.key)
        self.ctx.policy["pause_keys"] = keys


class HandleResumingPausedFlows(Rule):
    """A paused run may resume (run, be rescheduled, be cancelled or finish), unless its
    pause timed out, in which case it fails."""

    FROM_STATES = frozenset({S.PAUSED})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if not (proposed.is_running() or proposed.is_scheduled() or proposed.is_cancelling() or proposed.is_final()):
            self.reject(None, f"A paused run cannot move to {proposed.type}.")
            return
        word = (proposed.name or proposed.type).lower()
        if initial.detail("pause_reschedule") and not self.ctx.run.deployment_id:
            self.reject(None, f"A {word} run without a deployment cannot be rescheduled.")
            return
        if proposed.is_cancelling():
            return
        timeout = initial.detail_time("pause_timeout")
        if timeout and timeout < timezone.now():
            verb = "suspend" if proposed.name == "Suspended" else "pause"
            self.reject(
                failed(f"The run was {word} and never resumed."),
                f"The {verb} timed out; the run can no longer resume.",
            )

    def after(self, initial, validated):
        self.ctx.policy["resuming"] = True


class RetryFailedFlows(Rule):
    """A flow with retries left is scheduled again instead of failing."""

    FROM_STATES = frozenset({S.RUNNING})
    TO_STATES = frozenset({S.FAILED})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        policy = self.ctx.policy
        retries = policy.get("retries")
        if retries is None or self.ctx.run.run_count > retries:
            policy["retry_type"] = None
            return
        delay = policy.get("retry_delay") or 0
        policy["resuming"] = False
        policy["pause_keys"] = []
        policy["retry_type"] = "in_process"
        retry = awaiting_retry(
            timezone.now() + dt.timedelta(seconds=float(delay)), message=proposed.message, data=proposed.data
        )
        retry.state_details["deployment_concurrency_lease_id"] = initial.detail("deployment_concurrency_lease_id")
        self.reject(retry, "The flow has retries left; it will run again.")
