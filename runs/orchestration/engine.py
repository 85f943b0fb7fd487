"""The one place a run's state changes.

`set_flow_run_state` and `set_task_run_state` lock the run, run the policy's rules and the
bookkeeping transforms around the proposed state, write the resulting state row and the
run's denormalised columns, and return the orchestration context (status, details and the
state the client must adopt). The API, the task-run recorder, the services and the
dashboard's buttons all come through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from orchestrator.lib import rows
from runs import signals
from runs.models import FlowRun, FlowRunState, TaskRun, TaskRunState

from . import policies
from .rules import NO_STATES, Context
from .states import State, compact_details


def _orchestrate(ctx: Context, rule_classes: Sequence[type], write) -> Context:
    transition = (ctx.initial_type, ctx.proposed_type)
    entered = []
    for rule_class in rule_classes:
        rule = rule_class(ctx, *transition)
        rule.enter()
        entered.append(rule)
    write(ctx)
    for rule in reversed(entered):
        rule.exit()
    return ctx


def _writer(state_model, run_field: str):
    def write(ctx: Context) -> None:
        run = ctx.run
        if ctx.proposed is None:
            # Nothing new: the client is told the state the run is already in.
            ctx.validated = ctx.initial.copy() if ctx.initial else None
            return
        proposed = ctx.proposed
        row = state_model(
            id=proposed.id,
            type=proposed.type,
            name=proposed.name,
            timestamp=proposed.timestamp,
            message=proposed.message,
            state_details=compact_details(proposed.state_details),
            data=proposed.data,
            **{run_field: run},
        )
        rows.insert(row)
        run.state = row
        ctx.validated = proposed.copy()
        ctx.wrote_state = True

    return write


_write_flow_state = _writer(FlowRunState, "flow_run")
_write_task_state = _writer(TaskRunState, "task_run")


def _save(run, *, new: bool = False) -> None:
    """The run's columns as the transition left them (what run.save() writes); a new run is
    inserted whole, with its first state's columns already set."""
    run.touch()
    if new:
        rows.insert(run)
    else:
        rows.update(run)


def set_flow_run_state(
    flow_run_id: Any,
    proposed: State,
    *,
    force: bool = False,
    policy: Sequence[type] | None = None,
    parameters: dict[str, Any] | None = None,
    created: FlowRun | None = None,
) -> Context:
    """Propose a state for a flow run; raises FlowRun.DoesNotExist for an unknown run.

    `created` is a new run, not yet stored, that the caller creates in its transaction: it has
    no states, so there is nothing to read, and it is inserted once, after its first state,
    with that state's columns (the state row's reference to it is checked at commit). No
    savepoint is needed: if the state cannot be written, the caller's transaction fails.
    """
    with transaction.atomic(savepoint=created is None):
        if created is not None:
            run = created
        else:
            # With the newest of its states' times, which tells whether a proposed time can
            # collide with one of them (EnsureStateTimestampIsUnique) without asking again.
            run = rows.fetch(FlowRun, flow_run_id, related="state", for_update=True, max_of="states__timestamp")
        ctx = Context(
            run=run,
            initial=State.from_row(run.state) if run.state else None,
            proposed=proposed,
            kind="flow",
            parameters=parameters or {},
            states_until=NO_STATES if created is not None else (run.states__timestamp__max or NO_STATES),
        )
        rules = policies.MINIMAL_FLOW_POLICY if force else (policy or policies.CORE_FLOW_POLICY)
        _orchestrate(ctx, [*rules, *policies.FLOW_BOOKKEEPING], _write_flow_state)
        _save(run, new=created is not None)
        if ctx.wrote_state:
            signals.flow_run_states_written.send(sender=FlowRun, states=[(run, run.state)])
    return ctx


def set_task_run_state(
    task_run_id: Any,
    proposed: State,
    *,
    force: bool = False,
    policy: Sequence[type] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Context:
    """Propose a state for a task run; raises TaskRun.DoesNotExist for an unknown run."""
    with transaction.atomic():
        run = rows.fetch(TaskRun, task_run_id, related="state", for_update=True)
        ctx = Context(
            run=run,
            initial=State.from_row(run.state) if run.state else None,
            proposed=proposed,
            kind="task",
            parameters=parameters or {},
        )
        rules = policies.MINIMAL_TASK_POLICY if force else (policy or policies.CORE_TASK_POLICY)
        _orchestrate(ctx, [*rules, *policies.TASK_BOOKKEEPING], _write_task_state)
        _save(run)
    return ctx
