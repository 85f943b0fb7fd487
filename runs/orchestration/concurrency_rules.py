"""Flow-run rules for deployment concurrency limits.

A deployment with `concurrency_limit` N owns a concurrency limit named `deployment:<id>`.
A run takes one of its slots when it becomes Pending, under a lease recorded in the state
(`deployment_concurrency_lease_id`) and carried through Pending, Running and Cancelling;
the slot is given back when the run leaves those states. A run that finds no free slot
waits (`AwaitingConcurrencySlot`, collision strategy ENQUEUE) or is cancelled (CANCEL_NEW).
A lease nobody renews expires, so a crashed run cannot hold its slot forever.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from runs.choices import StateType

from .rules import ALL_STATES, Context, Rule, Transform
from .states import cancelled, scheduled

logger = logging.getLogger("orchestrator.orchestration")

S = StateType
HOLDING = frozenset({S.PENDING, S.RUNNING, S.CANCELLING})
LEASE_KEY = "deployment_concurrency_lease_id"


def _deployment_limit(run):
    """The deployment's concurrency limit row and options, or (None, None)."""
    if not run.deployment_id:
        return None, None
    from concurrency.models import ConcurrencyLimit
    from deployments.models import Deployment

    deployment = (
        Deployment.objects.filter(pk=run.deployment_id).only("concurrency_limit_id", "concurrency_options").first()
    )
    if deployment is None or deployment.concurrency_limit_id is None:
        return None, None
    limit = ConcurrencyLimit.objects.filter(pk=deployment.concurrency_limit_id).first()
    return limit, deployment.concurrency_options or {}


def _lease_seconds(options: dict) -> float:
    return float(options.get("grace_period_seconds") or settings.ORCHESTRATOR["DEPLOYMENT_LEASE_SECONDS"])


class PreserveDeploymentConcurrencyLeaseId(Transform):
    """Clients propose states without the lease id; the run keeps the one it holds."""

    def before(self, ctx: Context) -> None:
        if ctx.proposed is None or ctx.initial is None:
            return
        if ctx.proposed.detail(LEASE_KEY) is None and ctx.initial.detail(LEASE_KEY) is not None:
            ctx.proposed.state_details[LEASE_KEY] = ctx.initial.detail(LEASE_KEY)


class SecureFlowConcurrencySlots(Rule):
    """Take a deployment slot when a run becomes Pending, or hold the run back."""

    FROM_STATES = ALL_STATES - HOLDING
    TO_STATES = frozenset({S.PENDING})

    def before(self, initial, proposed):
        from concurrency import slots

        self.lease = None
        limit, options = _deployment_limit(self.ctx.run)
        if limit is None or not limit.active:
            return
        if limit.limit == 0:
            self.abort("The deployment's concurrency limit is 0; the run could never start.")
            return
        try:
            acquired = slots.acquire(
                [limit],
                1,
                lease_seconds=_lease_seconds(options),
                holder={"type": "flow_run", "id": str(self.ctx.run.pk)},
            )
        except slots.LimitsFull:
            if options.get("collision_strategy") == "CANCEL_NEW":
                self.reject(cancelled("The deployment's concurrency limit was reached."), "Concurrency limit reached.")
            else:
                wait = settings.ORCHESTRATOR["DEPLOYMENT_SLOT_WAIT_SECONDS"]
                self.reject(
                    scheduled("AwaitingConcurrencySlot", at=timezone.now() + dt.timedelta(seconds=wait)),
                    "The deployment's concurrency limit is reached; the run will try again.",
                )
            return
        self.lease = acquired.lease
        if self.lease is not None:
            proposed.state_details[LEASE_KEY] = str(self.lease.id)

    def cleanup(self, initial, validated):
        # A later rule changed the outcome: the slot taken for it goes back.
        if getattr(self, "lease", None) is not None:
            from concurrency import slots

            slots.release_lease(self.lease.id)


class ValidateDeploymentConcurrencyAtRunning(Rule):
    """A run starting keeps its slot alive; if its lease expired while it was being
    provisioned it takes a slot again, or is cancelled if none is free."""

    FROM_STATES = frozenset({S.PENDING})
    TO_STATES = frozenset({S.RUNNING})

    def before(self, initial, proposed):
        from concurrency import slots

        lease_id = initial.detail(LEASE_KEY) if initial else None
        if not lease_id:
            return
        limit, options = _deployment_limit(self.ctx.run)
        if limit is None:
            return
        if slots.renew_lease(lease_id, _lease_seconds(options)):
            return
        try:
            acquired = slots.acquire(
                [limit],
                1,
                lease_seconds=_lease_seconds(options),
                holder={"type": "flow_run", "id": str(self.ctx.run.pk)},
            )
        except slots.LimitsFull:
            self.reject(
                cancelled("The run lost its deployment concurrency slot while it was being started."),
                "The concurrency slot was lost during provisioning.",
            )
            return
        if acquired.lease is not None:
            proposed.state_details[LEASE_KEY] = str(acquired.lease.id)


class ReleaseFlowConcurrencySlots(Transform):
    """A run leaving Pending, Running or Cancelling for good gives its slot back."""

    @staticmethod
    def releases(ctx: Context, state) -> bool:
        if ctx.initial is None or state is None:
            return False
        if ctx.initial.type not in HOLDING or state.type in HOLDING:
            return False
        # An in-process retry: the process retries the run itself and keeps its slot.
        return not (state.name == "AwaitingRetry" and ctx.policy.get("retry_type") == "in_process")

    def before(self, ctx: Context) -> None:
        # The state written (and answered) no longer names the lease it gives back.
        if self.releases(ctx, ctx.proposed):
            ctx.proposed.state_details.pop(LEASE_KEY, None)

    def after(self, ctx: Context) -> None:
        if not ctx.wrote_state or not self.releases(ctx, ctx.validated):
            return
        lease_id = ctx.initial.detail(LEASE_KEY)
        if not lease_id:
            return
        from concurrency import slots

        slots.release_lease(lease_id)


class EnforceDeploymentConcurrencyOnLate(Rule):
    """A run of a CANCEL_NEW deployment whose limit is full is cancelled instead of marked Late."""

    FROM_STATES = frozenset({S.SCHEDULED})
    TO_STATES = frozenset({S.SCHEDULED})

    def before(self, initial, proposed):
        from concurrency.slots import available

        if proposed is None or proposed.name != "Late":
            return
        limit, options = _deployment_limit(self.ctx.run)
        if limit is None or options.get("collision_strategy") != "CANCEL_NEW":
            return
        if available(limit) >= limit.limit:
            self.reject(cancelled("The deployment's concurrency limit was reached."), "Concurrency limit reached.")
