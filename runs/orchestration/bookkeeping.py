"""Transforms that keep a run's own columns in step with its states, on every transition."""

from __future__ import annotations

import datetime as dt

from .rules import Context, Transform


class EnsureStateTimestampIsUnique(Transform):
    """A run's states are ordered by time, so no two may share a timestamp."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        stamp = ctx.proposed.timestamp
        if ctx.states_until is not None and stamp > ctx.states_until:
            return  # later than every state the run has (the usual case), or it has none
        from orchestrator.lib import rows
        from runs.models import FlowRunState

        taken = set(
            rows.values(
                FlowRunState,
                "timestamp",
                flow_run=ctx.run.pk,
                timestamp__gte=stamp,
                timestamp__lte=stamp + dt.timedelta(milliseconds=1),
            )
        )
        while stamp in taken:
            stamp += dt.timedelta(microseconds=1)
        ctx.proposed.timestamp = stamp


class SetStateColumns(Transform):
    """The run's denormalised state columns follow the state being written."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        ctx.run.state_type = ctx.proposed.type
        ctx.run.state_name = ctx.proposed.name
        ctx.run.state_timestamp = ctx.proposed.timestamp


class SetStartAndEndTimes(Transform):
    """Start time is the first time the run ran; end time is when it last finished (a
    re-run clears it)."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        proposed, run = ctx.proposed, ctx.run
        if proposed.is_running() and run.start_time is None:
            run.start_time = proposed.timestamp
        if ctx.initial and ctx.initial.is_final() and not proposed.is_final():
            run.end_time = None
        if proposed.is_final() and not run.end_time:
            if not run.start_time:
                run.start_time = proposed.timestamp
            run.end_time = proposed.timestamp


class IncrementRunTime(Transform):
    """Time spent in RUNNING accumulates in total_run_time."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        if ctx.initial and ctx.initial.is_running():
            elapsed = (ctx.proposed.timestamp - ctx.initial.timestamp).total_seconds()
            # Whole microseconds, as Prefect's interval column keeps it (no float residue).
            ctx.run.total_run_time = round((ctx.run.total_run_time or 0.0) + max(0.0, elapsed), 6)


class SetExpectedStartTime(Transform):
    """When the run is expected to start: its scheduled time, or when it first got a state."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write or ctx.run.expected_start_time:
            return
        if ctx.proposed.is_scheduled():
            ctx.run.expected_start_time = ctx.proposed.detail_time("scheduled_time")
        else:
            ctx.run.expected_start_time = ctx.proposed.timestamp


class SetNextScheduledStartTime(Transform):
    """Scheduled runs expose when they are next due; other runs have no such time."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        if ctx.initial and ctx.initial.is_scheduled():
            ctx.run.next_scheduled_start_time = None
        if ctx.proposed.is_scheduled():
            ctx.run.next_scheduled_start_time = ctx.proposed.detail_time("scheduled_time")


class UpdateStateDetails(Transform):
    """Every state names the runs it belongs to."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        if ctx.kind == "flow":
            ctx.proposed.set_detail("flow_run_id", ctx.run.pk)
        else:
            ctx.proposed.set_detail("flow_run_id", ctx.run.flow_run_id)
            ctx.proposed.set_detail("task_run_id", ctx.run.pk)


class UpdateSubflowStateDetails(Transform):
    """A subflow's states point at the task run that stands for it in the parent flow."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write or not ctx.run.parent_task_run_id:
            return
        ctx.proposed.set_detail("task_run_id", ctx.run.parent_task_run_id)


class IncrementFlowRunCount(Transform):
    """Each time a flow run starts running counts as an attempt, except resuming a pause."""

    def before(self, ctx: Context) -> None:
        if self.nothing_to_write or not ctx.proposed.is_running():
            return
        if ctx.policy.get("resuming"):
            return
        ctx.run.run_count += 1


class RemoveResumingIndicator(Transform):
    def before(self, ctx: Context) -> None:
        if self.nothing_to_write:
            return
        if (ctx.proposed.is_running() or ctx.proposed.is_final()) and ctx.policy.get("resuming"):
            ctx.policy["resuming"] = False


class IncrementTaskRunCount(Transform):
    def before(self, ctx: Context) -> None:
        if self.nothing_to_write or not ctx.proposed.is_running():
            return
        ctx.run.run_count += 1


class UpdateSubflowParentTask(Transform):
    """The task run standing for a subflow in its parent mirrors the subflow's state."""

    def after(self, ctx: Context) -> None:
        if not ctx.wrote_state or not ctx.run.parent_task_run_id or ctx.validated is None:
            return
        from runs.models import TaskRun

        from .engine import set_task_run_state

        if not TaskRun.objects.filter(pk=ctx.run.parent_task_run_id).exists():
            return
        mirrored = ctx.validated.fresh_copy()
        mirrored.set_detail("child_flow_run_id", ctx.run.pk)
        mirrored.state_details.pop("task_run_id", None)
        set_task_run_state(ctx.run.parent_task_run_id, mirrored, force=True)


class InstrumentFlowRunStateTransitions(Transform):
    """Every state a flow run enters is announced as a `prefect.flow-run.<State name>`
    event; runners and workers listen for Cancelling and Suspended ones, and notifications
    and the dashboard follow them."""

    def after(self, ctx: Context) -> None:
        if not ctx.wrote_state or ctx.validated is None:
            return
        from events.emit import emit_flow_run_state_change

        emit_flow_run_state_change(ctx.run, ctx.initial, ctx.validated)
