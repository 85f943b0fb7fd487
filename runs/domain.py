"""What a person (or a program) does to runs by hand: retry, cancel, suspend, resume, change
a state. The API's endpoints and the dashboard's buttons both call these, so a button does
exactly what the same request to the API does; every change goes through the engine
(runs.orchestration.engine) with the policy the API applies to a client's proposal.

The outcome is the engine's orchestration context (status, details, the state written);
`describe` says in a sentence what happened, for a page's flash message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestrator.lib.jsonschema import validation_errors

from . import deletion
from .choices import TERMINAL, OrchestrationStatus, StateType
from .models import FlowRun, FlowRunInput
from .orchestration import engine, states
from .orchestration.rules import Context
from .orchestration.states import State

S = StateType

# The states a person may move a run into by hand (Prefect's "Change state" offers these).
CHOOSABLE_STATES = (S.COMPLETED, S.FAILED, S.CANCELLED, S.CRASHED)
# A run in one of these can be cancelled: it may still run, or is about to.
CANCELLABLE = frozenset({S.SCHEDULED, S.PENDING, S.RUNNING, S.PAUSED})
DEFAULT_PAUSE_TIMEOUT = 300  # seconds, as in Prefect's UI
MIN_PAUSE_TIMEOUT = 5


class NotAllowed(Exception):
    """The action does not apply to this run (a retry of a run without a deployment, ...)."""


# --- what a page may offer ------------------------------------------------------------------


def can_retry(run: FlowRun) -> bool:
    """A finished run of a deployment: its worker or serve process can run it again."""
    return run.state_type in TERMINAL and run.deployment_id is not None


def can_cancel(run: FlowRun) -> bool:
    """A run that may still run; a subflow is cancelled with its parent (its process is the
    parent's), as in Prefect's UI."""
    return run.state_type in CANCELLABLE and run.parent_task_run_id is None


def can_suspend(run: FlowRun) -> bool:
    """A running run of a deployment: suspended, it exits and is rescheduled on resume."""
    return run.state_type == S.RUNNING and run.deployment_id is not None


def can_resume(run: FlowRun) -> bool:
    return run.state_type == S.PAUSED


# --- flow runs --------------------------------------------------------------------------------


def retry_flow_run(run_id: Any, *, message: str = "Retry from the dashboard") -> Context:
    """Schedule a finished run of a deployment to run again now, as Prefect's UI does: a
    forced Scheduled state named AwaitingRetry, due at once, which the deployment's worker or
    serve process picks up like any scheduled run."""
    run = FlowRun.objects.only("id", "state_type", "deployment_id").get(pk=run_id)
    if run.state_type not in TERMINAL:
        raise NotAllowed("Only a finished run can be retried.")
    if run.deployment_id is None:
        raise NotAllowed("Only a run of a deployment can be retried: nothing would pick it up.")
    return engine.set_flow_run_state(run.pk, states.awaiting_retry(timezone.now(), message=message), force=True)


def cancel_flow_run(run_id: Any, *, message: str = "Cancelled from the dashboard", parameters=None) -> Context:
    """Propose Cancelling, as `prefect flow-run cancel` and Prefect's UI do: the worker or
    serve process running it hears of it and stops it; a run that is not running anywhere
    (scheduled, suspended) is cancelled at once by the policy."""
    proposed = State(type=S.CANCELLING, name="Cancelling", message=message)
    return engine.set_flow_run_state(run_id, proposed, parameters=parameters)


def suspend_flow_run(run_id: Any, timeout_seconds: float = DEFAULT_PAUSE_TIMEOUT, *, parameters=None) -> Context:
    """Suspend a running run of a deployment (Prefect UI's "Pause"): it exits and is
    rescheduled when resumed, or fails once `timeout_seconds` pass without a resume."""
    proposed = State(type=S.PAUSED, name="Suspended")
    proposed.set_detail("pause_timeout", timezone.now() + dt.timedelta(seconds=float(timeout_seconds)))
    proposed.set_detail("pause_reschedule", True)
    return engine.set_flow_run_state(run_id, proposed, parameters=parameters)


def resume_flow_run(run_id: Any, run_input: dict | None = None, *, parameters=None) -> Context:
    """Resume a paused run: back to Running, or, if it was suspended, scheduled again at once.
    A pause that asked for input gets it checked against the schema the run published and
    stored for the run to read. Raises FlowRun.DoesNotExist for an unknown run."""
    run = FlowRun.objects.select_related("state").get(pk=run_id)
    current = run.state
    initial = State.from_row(current) if current is not None else None
    if current is None or current.type != S.PAUSED:
        return _refused(run, initial, OrchestrationStatus.ABORT, "Only a paused flow run can be resumed.")
    keyset = (current.state_details or {}).get("run_input_keyset")
    if keyset:
        rejection = check_run_input(run, keyset, run_input or {})
        if rejection:
            return _refused(run, initial, OrchestrationStatus.REJECT, rejection, keep=True)
    if (current.state_details or {}).get("pause_reschedule"):
        proposed = states.scheduled("Resuming", at=timezone.now())
    else:
        proposed = State(type=S.RUNNING)
    with transaction.atomic():
        ctx = engine.set_flow_run_state(run.pk, proposed, parameters=parameters)
        if keyset and run_input and ctx.status == OrchestrationStatus.ACCEPT:
            FlowRunInput.objects.update_or_create(
                flow_run=run, key=keyset["response"], defaults={"value": json.dumps(run_input)}
            )
    return ctx


def pause_input_keyset(run: FlowRun) -> dict | None:
    """The keys of the input a paused run waits for, if it asked for any."""
    state = run.state if run.state_id else None
    if state is None or state.type != S.PAUSED:
        return None
    return (state.state_details or {}).get("run_input_keyset") or None


def check_run_input(run: FlowRun, keyset: dict, run_input: dict) -> str | None:
    """Why the input sent to a paused run does not fit the schema the run published, or None."""
    schema_row = FlowRunInput.objects.filter(flow_run=run, key=keyset.get("schema")).first()
    if schema_row is None:
        return "The run's input schema was not found."
    try:
        schema = json.loads(schema_row.value)
    except ValueError:
        return "The run's input schema is not valid JSON."
    errors = validation_errors(run_input, schema)
    if errors:
        return "The input does not match the run's schema: " + "; ".join(errors[:5])
    return None


def set_flow_run_state(run_id: Any, state_type: str, message: str | None = None) -> Context:
    """Propose a state chosen by a person, under the same policy as a client's proposal."""
    return engine.set_flow_run_state(run_id, State(type=state_type, message=message or None))


def set_task_run_state(run_id: Any, state_type: str, message: str | None = None) -> Context:
    return engine.set_task_run_state(run_id, State(type=state_type, message=message or None))


def delete_flow_run(run_id: Any) -> bool:
    return bool(deletion.delete_flow_runs([run_id]))


# --- many runs at once ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one action did to one run of a bulk action: its context, or why it was refused."""

    run_id: Any
    name: str
    ctx: Context | None = None
    refused: str | None = None

    @property
    def changed(self) -> bool:
        return self.ctx is not None and self.ctx.wrote_state


def for_each_flow_run(ids: Iterable, action: Callable[[Any], Context]) -> list[Outcome]:
    """Apply `action` to each flow run in `ids` (a bounded list), one transaction each, so one
    refusal does not undo the others. Runs deleted meanwhile are skipped."""
    outcomes = []
    for run_id, name in FlowRun.objects.filter(pk__in=list(ids)).order_by("pk").values_list("id", "name"):
        try:
            outcomes.append(Outcome(run_id, name, ctx=action(run_id)))
        except NotAllowed as exc:
            outcomes.append(Outcome(run_id, name, refused=str(exc)))
        except FlowRun.DoesNotExist:
            continue
    return outcomes


# --- saying what happened ---------------------------------------------------------------------


def describe(ctx: Context) -> tuple[str, str]:
    """(level, sentence) for a flash message: "success", "info" or "error"."""
    reason = (ctx.details or {}).get("reason") or ""
    if ctx.status == OrchestrationStatus.ACCEPT:
        if ctx.wrote_state and ctx.validated is not None:
            return "success", f"The run is now {ctx.validated.name}."
        return "info", "Nothing changed: the run is already in that state."
    if ctx.status == OrchestrationStatus.REJECT and ctx.wrote_state and ctx.validated is not None:
        return "info", f"The server put the run in {ctx.validated.name} instead: {reason}"
    if ctx.status == OrchestrationStatus.WAIT:
        delay = (ctx.details or {}).get("delay_seconds")
        return "info", f"The server asked to wait {delay}s before that change: {reason}"
    return "error", f"Not changed: {reason}" if reason else "Not changed."


def _refused(run: FlowRun, initial: State | None, status: str, reason: str, *, keep: bool = False) -> Context:
    """A context for a proposal refused before reaching the engine (nothing written)."""
    kind = "abort_details" if status == OrchestrationStatus.ABORT else "reject_details"
    return Context(
        run=run,
        initial=initial,
        proposed=None,
        kind="flow",
        validated=initial if keep else None,
        status=status,
        details={"type": kind, "reason": reason},
    )
