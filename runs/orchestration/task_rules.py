"""Rules for task-run transitions proposed through the API (`/task_runs/{id}/set_state`).

Most task runs never come this way: the 3.x client orchestrates tasks itself and reports
them as events (see `runs.recorder`). These rules serve clients that do ask the server.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q
from django.utils import timezone

from runs.choices import TERMINAL, StateType

from .rules import Rule
from .states import State, awaiting_retry

S = StateType

MAX_CACHE_KEY_LENGTH = 2000


class CacheRetrieval(Rule):
    """A task about to run whose cache key has an unexpired completed state reuses it."""

    TO_STATES = frozenset({S.RUNNING})

    def before(self, initial, proposed):
        from runs.models import TaskRunState, TaskRunStateCache

        if proposed is None:
            return
        key = proposed.detail("cache_key")
        if not key or proposed.detail("refresh_cache"):
            return
        entry = (
            TaskRunStateCache.objects.filter(cache_key=key)
            .filter(Q(cache_expiration__isnull=True) | Q(cache_expiration__gt=timezone.now()))
            .order_by("-created")
            .values_list("task_run_state_id", flat=True)
            .first()
        )
        row = TaskRunState.objects.filter(pk=entry).first() if entry else None
        if row is not None:
            self.reject(State.from_row(row).fresh_copy(name="Cached"), "A cached result was found for this task.")


class HandleTaskTerminalStateTransitions(Rule):
    """A finished task may run again (its run count restarts), but cannot start
    cancelling, pause or crash, and a completed task with a stored result keeps it."""

    FROM_STATES = TERMINAL

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        self.saved_run_count = self.ctx.run.run_count
        if proposed.type in {S.CANCELLING, S.PAUSED, S.CRASHED}:
            self.abort(f"The task run has already finished in a {initial.type} state.")
            return
        if initial.is_completed() and initial.has_persisted_result():
            self.reject(None, "The task run has already completed.")
            return
        if not proposed.is_final():
            self.ctx.run.run_count = 0
        if proposed.is_running():
            flow_run = self.ctx.flow_run()
            if flow_run is not None and self.ctx.run.flow_run_run_count < flow_run.run_count:
                self.rename("Retrying")

    def cleanup(self, initial, validated):
        if hasattr(self, "saved_run_count"):
            self.ctx.run.run_count = self.saved_run_count


class PreventRunningTasksFromStoppedFlows(Rule):
    """Tasks only start inside a running flow; in a paused flow they wait as NotReady."""

    TO_STATES = frozenset({S.RUNNING})

    def before(self, initial, proposed):
        flow_run = self.ctx.flow_run()
        if flow_run is None:
            return
        if flow_run.state_type is None:
            self.abort("A task can only start while its flow run is running.")
        elif flow_run.state_type == S.PAUSED:
            waiting = State(type=S.PAUSED, name="NotReady")
            flow_state = flow_run.state
            if flow_state is not None:
                waiting.state_details["pause_timeout"] = (flow_state.state_details or {}).get("pause_timeout")
                waiting.state_details["pause_reschedule"] = (flow_state.state_details or {}).get(
                    "pause_reschedule", False
                )
            self.reject(waiting, f"The flow run {flow_run.id} is paused; tasks can start after it resumes.")
        elif flow_run.state_type != S.RUNNING:
            self.abort("A task can only start while its flow run is running.")


def _jittered(base: float, factor: float | None) -> float:
    if not factor or base <= 0:
        return base
    return max(0.0, random.uniform(base * (1 - factor), base * (1 + factor)))


class RetryFailedTasks(Rule):
    """A task with retries left waits (AwaitingRetry) instead of failing, unless the client
    says the failure is not retriable."""

    FROM_STATES = frozenset({S.RUNNING})
    TO_STATES = frozenset({S.FAILED})

    def before(self, initial, proposed):
        if initial is None or proposed is None:
            return
        policy = self.ctx.policy
        run_count = self.ctx.run.run_count
        delay = policy.get("retry_delay")
        if isinstance(delay, list):
            base = float(delay[min(max(run_count - 1, 0), len(delay) - 1)]) if delay else 0.0
        else:
            base = float(delay or 0)
        if proposed.detail("retriable") is False:
            return
        retries = policy.get("retries")
        if retries is not None and run_count <= retries:
            at = timezone.now() + dt.timedelta(seconds=_jittered(base, policy.get("retry_jitter_factor")))
            self.reject(awaiting_retry(at, proposed.message, proposed.data), "The task has retries left.")


class UpdateFlowRunTrackerOnTasks(Rule):
    """Remember which attempt of its flow run a task ran in, so flow retries re-run it."""

    TO_STATES = frozenset({S.RUNNING})

    def after(self, initial, validated):
        flow_run = self.ctx.flow_run()
        if flow_run is not None:
            self.ctx.run.flow_run_run_count = flow_run.run_count


class CacheInsertion(Rule):
    """A completed task with a cache key becomes available to later runs with that key."""

    TO_STATES = frozenset({S.COMPLETED})

    def before(self, initial, proposed):
        if proposed is None:
            return
        key = proposed.detail("cache_key")
        if key and len(key) > MAX_CACHE_KEY_LENGTH:
            self.reject(proposed, f"The cache key is longer than {MAX_CACHE_KEY_LENGTH} characters.")

    def after(self, initial, validated):
        from runs.models import TaskRunStateCache

        if validated is None or not self.ctx.wrote_state:
            return
        key = validated.detail("cache_key")
        if key and len(key) <= MAX_CACHE_KEY_LENGTH:
            TaskRunStateCache.objects.create(
                cache_key=key,
                cache_expiration=validated.detail_time("cache_expiration"),
                task_run_state_id=validated.id,
            )
