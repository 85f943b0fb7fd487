"""The building blocks of orchestration: the context of one proposed transition, rules and
bookkeeping transforms.

A policy is an ordered list of rules. The engine builds every rule with the transition the
client asked for (the current state type → the proposed state type) and enters them in
order; each rule that governs that transition may accept it silently, rename the proposed
state, reject it (optionally substituting a state of its own), make the client wait, or
abort it. A rule only acts while the transition is still the one it was built for: once an
earlier rule has changed the outcome, later rules stand aside. After the new state is
written, rules are left in reverse order; a rule whose transition was later replaced by
another rule's decision undoes its own preparations (`cleanup`) instead of finishing
(`after`).

Transforms are bookkeeping that runs on every transition (run counts, start and end
times, the denormalised state columns, events).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from runs.choices import OrchestrationStatus, StateType

from .states import State

NO_STATES = dt.datetime.min.replace(tzinfo=dt.UTC)

ALL_STATES: frozenset[str | None] = frozenset({*StateType.values, None})


class OrchestrationError(Exception):
    pass


@dataclass
class Context:
    """One proposed transition of one run, as the rules see and change it."""

    run: Any  # FlowRun or TaskRun, locked for update
    initial: State | None
    proposed: State | None
    kind: str  # "flow" or "task"
    parameters: dict[str, Any] = field(default_factory=dict)
    validated: State | None = None
    status: str = OrchestrationStatus.ACCEPT
    details: dict[str, Any] = field(default_factory=lambda: {"type": "accept_details"})
    wrote_state: bool = False
    # The newest timestamp among the run's states when the engine read it (NO_STATES: it has
    # none, as a run created in this transaction); None when not read.
    states_until: dt.datetime | None = None
    # The new state row's INSERT, when made before the transaction (rows.insert_statement).
    state_insert: tuple[str, list] | None = None

    @property
    def initial_type(self) -> str | None:
        return self.initial.type if self.initial else None

    @property
    def proposed_type(self) -> str | None:
        return self.proposed.type if self.proposed else None

    @property
    def policy(self) -> dict[str, Any]:
        """The run's empirical policy (retries, pause keys, ...), edited in place."""
        if self.run.empirical_policy is None:
            self.run.empirical_policy = {}
        return self.run.empirical_policy

    def flow_run(self):
        """The flow run this transition concerns (the run itself, or a task run's parent)."""
        if self.kind == "flow":
            return self.run
        if not hasattr(self, "_flow_run"):
            from runs.models import FlowRun

            self._flow_run = (
                FlowRun.objects.select_related("state").filter(pk=self.run.flow_run_id).first()
                if self.run.flow_run_id
                else None
            )
        return self._flow_run

    def result(self) -> dict[str, Any]:
        return {
            "state": self.validated.to_json() if self.validated else None,
            "status": self.status,
            "details": self.details,
        }


class Rule:
    """One orchestration rule. Subclasses name the transitions they govern and override
    `before` (and, when they prepare something, `after` and `cleanup`)."""

    FROM_STATES: frozenset[str | None] = ALL_STATES
    TO_STATES: frozenset[str | None] = ALL_STATES

    def __init__(self, ctx: Context, from_type: str | None, to_type: str | None):
        self.ctx = ctx
        self.from_type = from_type
        self.to_type = to_type
        self.skipped = False

    def _still_governs(self) -> bool:
        return (self.ctx.initial_type, self.ctx.proposed_type) == (self.from_type, self.to_type)

    def enter(self) -> None:
        if self.from_type not in self.FROM_STATES or self.to_type not in self.TO_STATES or not self._still_governs():
            self.skipped = True
            return
        self.before(self.ctx.initial, self.ctx.proposed)

    def exit(self) -> None:
        if self.skipped:
            return
        if self._still_governs():
            self.after(self.ctx.initial, self.ctx.validated)
        else:
            self.cleanup(self.ctx.initial, self.ctx.validated)

    # --- hooks ---------------------------------------------------------------

    def before(self, initial: State | None, proposed: State | None) -> None:
        pass

    def after(self, initial: State | None, validated: State | None) -> None:
        pass

    def cleanup(self, initial: State | None, validated: State | None) -> None:
        pass

    # --- decisions -------------------------------------------------------------

    def reject(self, state: State | None, reason: str) -> None:
        """Refuse the transition; with a state, that state is written instead."""
        if state is None:
            if self.from_type is None:
                raise OrchestrationError("a run without a state cannot be rejected without a replacement state")
            self.to_type = None
        else:
            self.to_type = state.type
        self.ctx.proposed = state
        self.ctx.status = OrchestrationStatus.REJECT
        self.ctx.details = {"type": "reject_details", "reason": reason}

    def wait(self, delay_seconds: int, reason: str) -> None:
        """Ask the client to propose the same state again after a delay."""
        self.to_type = None
        self.ctx.proposed = None
        self.ctx.status = OrchestrationStatus.WAIT
        self.ctx.details = {"type": "wait_details", "delay_seconds": int(delay_seconds), "reason": reason}

    def abort(self, reason: str) -> None:
        """Stop the client: this transition must not happen at all."""
        self.to_type = None
        self.ctx.proposed = None
        self.ctx.status = OrchestrationStatus.ABORT
        self.ctx.details = {"type": "abort_details", "reason": reason}

    def rename(self, name: str) -> None:
        if self.ctx.proposed is not None:
            self.ctx.proposed.name = name


class Transform:
    """Bookkeeping that runs on every transition, after the rules have decided."""

    def __init__(self, ctx: Context, from_type: str | None, to_type: str | None):
        self.ctx = ctx

    def enter(self) -> None:
        self.before(self.ctx)

    def exit(self) -> None:
        self.after(self.ctx)

    def before(self, ctx: Context) -> None:
        pass

    def after(self, ctx: Context) -> None:
        pass

    @property
    def nothing_to_write(self) -> bool:
        return self.ctx.proposed is None
