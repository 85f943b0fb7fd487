"""The one place a run's state changes.

`set_flow_run_state` and `set_task_run_state` lock the run, run the policy's rules and the
bookkeeping transforms around the proposed state, write the resulting state row and the
run's denormalised columns, and return the orchestration context (status, details and the
state the client must adopt). The API, the task-run recorder, the services and the
dashboard's buttons all come through here.

On SQLite one connection writes at a time, so the time a state change holds the write turn
bounds how many the whole server makes per second: with 8 clients creating and finishing runs,
the turn was held 80 % of the time, about 1.25 ms per request, of which reading the run and
entering the rules took about a third. So a flow run's change is first prepared without the
turn: the run is read, the rules are entered and the new state row and its INSERT are made
with the connection refusing every write (a rule that must write, such as taking a deployment's
concurrency slot, ends the attempt). Then, in the transaction, one short read checks that the
run is as it was read (same state, same `updated`, same deployment); if so, the state is
written and the rules are left as in the locked path; if not, or if preparing meant to write,
the change is made again from the start, wholly in the transaction. That cut the turn to about
0.9 ms per request. PostgreSQL locks only the run's row (FOR UPDATE), so there the change is
made in the transaction as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from orchestrator.backends.sqlite.base import WouldWrite
from orchestrator.lib import rows
from runs import signals
from runs.models import FlowRun, FlowRunState, TaskRun, TaskRunState

from . import policies
from .rules import NO_STATES, Context
from .states import State, compact_details


def _enter(ctx: Context, rule_classes: Sequence[type]) -> list:
    transition = (ctx.initial_type, ctx.proposed_type)
    entered = []
    for rule_class in rule_classes:
        rule = rule_class(ctx, *transition)
        rule.enter()
        entered.append(rule)
    return entered


def _leave(ctx: Context, entered: list, write) -> Context:
    if write is not None:  # None: the state row was built already
        write(ctx)
    for rule in reversed(entered):
        rule.exit()
    return ctx


def _orchestrate(ctx: Context, rule_classes: Sequence[type], write) -> Context:
    return _leave(ctx, _enter(ctx, rule_classes), write)


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
        run.state = row  # inserted with the run's columns (`_save`), once the rules have left
        ctx.validated = proposed.copy()
        ctx.wrote_state = True

    return write


_write_flow_state = _writer(FlowRunState, "flow_run")
_write_task_state = _writer(TaskRunState, "task_run")


def _save(ctx: Context, *, new: bool = False) -> None:
    """The state written (if any) and the run's columns as the transition left them (what
    run.save() writes); a new run is inserted whole, with its first state's columns set."""
    run = ctx.run
    run.touch()
    if ctx.wrote_state:
        rows.insert_with(run.state, run, new=new, row_insert=ctx.state_insert)
    elif new:
        rows.insert(run)
    else:
        rows.update(run)


def _flow_context(run: FlowRun, proposed: State, parameters: dict[str, Any] | None, created: bool) -> Context:
    return Context(
        run=run,
        initial=State.from_row(run.state) if run.state else None,
        proposed=proposed,
        kind="flow",
        parameters=parameters or {},
        states_until=NO_STATES if created else (run.states__timestamp__max or NO_STATES),
    )


def _fetch_flow_run(flow_run_id: Any, *, for_update: bool) -> FlowRun:
    # With the newest of its states' times, which tells whether a proposed time can collide
    # with one of them (EnsureStateTimestampIsUnique) without asking again.
    return rows.fetch(FlowRun, flow_run_id, related="state", for_update=for_update, max_of="states__timestamp")


def _finish_flow(ctx: Context, entered: list, *, new: bool = False, written: bool = False) -> Context:
    _leave(ctx, entered, None if written else _write_flow_state)
    _save(ctx, new=new)
    if ctx.wrote_state:
        signals.flow_run_states_written.send(sender=FlowRun, states=[(ctx.run, ctx.run.state)])
    return ctx


# What the transaction checks of a run prepared before it: the columns any other writer of a
# flow run changes (a state change moves state_id and updated, an edit updated, a deleted
# deployment deployment_id).
_AS_READ = ("state_id", "updated", "deployment_id")


def _prepared_flow_change(flow_run_id: Any, proposed: State, rule_classes: list, parameters) -> Context | None:
    """The change made from a run read and rules entered before the write turn (see the
    module's docstring), or None when it must be made wholly in a transaction."""
    db = connections[DEFAULT_DB_ALIAS]
    reads_only = getattr(db, "reads_only", None)
    if reads_only is None or db.in_atomic_block:
        return None
    try:
        with reads_only():
            run = _fetch_flow_run(flow_run_id, for_update=False)
            rows.remember(run)  # as read FOR UPDATE: `_save` writes only what the change alters
            as_read = [tuple(getattr(run, name) for name in _AS_READ)]
            ctx = _flow_context(run, proposed.copy(), parameters, created=False)
            entered = _enter(ctx, rule_classes)
            _write_flow_state(ctx)  # the state row and its INSERT, written in the transaction
            if ctx.wrote_state:
                ctx.state_insert = rows.insert_statement(run.state)
    except WouldWrite:
        return None
    with transaction.atomic():
        if rows.values(FlowRun, *_AS_READ, pk=flow_run_id) != as_read:
            return None  # changed (or deleted) since it was read: nothing was written
        return _finish_flow(ctx, entered, written=True)


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
    rules = policies.MINIMAL_FLOW_POLICY if force else (policy or policies.CORE_FLOW_POLICY)
    rule_classes = [*rules, *policies.FLOW_BOOKKEEPING]
    if created is None:
        ctx = _prepared_flow_change(flow_run_id, proposed, rule_classes, parameters)
        if ctx is not None:
            return ctx
    with transaction.atomic(savepoint=created is None):
        run = created if created is not None else _fetch_flow_run(flow_run_id, for_update=True)
        ctx = _flow_context(run, proposed, parameters, created=created is not None)
        return _finish_flow(ctx, _enter(ctx, rule_classes), new=created is not None)


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
        _save(ctx)
    return ctx
