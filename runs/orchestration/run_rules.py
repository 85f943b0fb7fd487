"""Rules that govern flow runs and task runs alike."""

from __future__ import annotations

import math

from django.utils import timezone

from runs.choices import StateType

from .rules import Rule

S = StateType


class PreventPendingTransitions(Rule):
    """Two workers may pick up the same run; only the first may move it to Pending. A run
    already Pending may still move to a named Pending sub-state (Submitting, ...)."""

    FROM_STATES = frozenset({S.PENDING, S.CANCELLING, S.RUNNING, S.CANCELLED})
    TO_STATES = frozenset({S.PENDING})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if initial.is_pending() and initial.name != proposed.name and proposed.name != "Pending":
            for key in ("scheduled_time", "deployment_concurrency_lease_id"):
                proposed.state_details[key] = initial.detail(key)
            return
        self.abort(f"The run is already {initial.type} and cannot become PENDING again.")


class CopyScheduledTime(Rule):
    """A run keeps the time it was scheduled for when it becomes Pending."""

    FROM_STATES = frozenset({S.SCHEDULED})
    TO_STATES = frozenset({S.PENDING})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if not proposed.detail("scheduled_time"):
            proposed.state_details["scheduled_time"] = initial.detail("scheduled_time")


class WaitForScheduledTime(Rule):
    """A run picked up early is asked to wait until its scheduled time (on the server's clock)."""

    FROM_STATES = frozenset({S.SCHEDULED, S.PENDING})
    TO_STATES = frozenset({S.RUNNING})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        scheduled_time = initial.detail_time("scheduled_time")
        if not scheduled_time:
            return
        delay = (scheduled_time - timezone.now()).total_seconds()
        seconds = math.floor(delay) + round(delay - math.floor(delay))
        if seconds > 0:
            self.wait(seconds, "The run's scheduled time is still in the future.")


class RenameReruns(Rule):
    """A run entering Running again is named Retrying (after AwaitingRetry) or Rerunning."""

    TO_STATES = frozenset({S.RUNNING})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        if self.ctx.run.run_count > 0:
            self.rename("Retrying" if initial.name == "AwaitingRetry" else "Rerunning")
