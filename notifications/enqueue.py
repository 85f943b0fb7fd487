"""Writing deliveries when flow runs enter states (receiver of `runs.signals.flow_run_states_written`).

It runs inside the transaction that writes the states, on every state the engine writes and
on every batch the scheduler inserts, so it stays cheap: one query for the active policies
per batch (a handful of rows), matching in Python, then one query for the flows' names and
one bulk insert only when something matched. A committed state therefore always has its
deliveries and a rolled-back one has none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from orchestrator.lib import rows
from runs.models import Flow, FlowRun, FlowRunState

from . import messages
from .choices import DeliveryStatus
from .models import Delivery, NotificationPolicy

# Set when a transaction that enqueued deliveries commits: the sender of this process wakes
# at once instead of at its next poll (senders in other processes poll).
wake_sender = threading.Event()


def _wake() -> None:
    wake_sender.set()


def build_delivery(policy: NotificationPolicy, run: FlowRun, state: FlowRunState, flow_name: str) -> Delivery:
    values = messages.template_values(
        policy_id=policy.pk,
        flow_id=run.flow_id,
        flow_name=flow_name,
        flow_run_id=run.pk,
        flow_run_name=run.name,
        parameters=run.parameters,
        state_type=state.type,
        state_name=state.name,
        state_timestamp=state.timestamp,
        state_message=state.message,
    )
    now = timezone.now()
    return Delivery(
        policy_id=policy.pk,
        created=now,
        updated=now,
        flow_run_id=run.pk,
        flow_run_name=run.name[:255],
        flow_id=run.flow_id,
        flow_name=flow_name[:255],
        state_id=state.pk,
        state_type=state.type,
        state_name=state.name,
        state_timestamp=state.timestamp,
        subject=messages.SUBJECT,
        body=messages.render(policy.message_template, values, state.name, state.timestamp),
        status=DeliveryStatus.PENDING,
        queued=now,
        next_attempt_at=now,
    )


def enqueue_deliveries(states: Iterable[tuple[FlowRun, FlowRunState]]) -> list[Delivery]:
    """Write one delivery per (state, matching active policy); call inside the state's transaction."""
    states = [(run, state) for run, state in states if state is not None]
    if not states:
        return []
    policies = rows.select(NotificationPolicy, is_active=True)
    if not policies:
        return []
    matched = [
        (policy, run, state) for run, state in states for policy in policies if policy.matches(state.name, run.tags)
    ]
    if not matched:
        return []
    flow_names = dict(Flow.objects.filter(id__in={run.flow_id for _, run, _ in matched}).values_list("id", "name"))
    deliveries = [build_delivery(policy, run, state, flow_names.get(run.flow_id, "")) for policy, run, state in matched]
    Delivery.objects.bulk_create(deliveries)
    transaction.on_commit(_wake)
    return deliveries


def on_flow_run_states_written(sender, states, **kwargs) -> None:
    """runs.signals.flow_run_states_written: enqueue the notifications these states trigger."""
    enqueue_deliveries(states)
