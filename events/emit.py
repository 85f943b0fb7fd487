"""Events the server itself emits."""

from __future__ import annotations

import datetime as dt
from functools import partial
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.utils import timezone

from orchestrator.lib import rows
from runs.orchestration.states import State

from .store import record_emitted

TRUNCATE_MESSAGES_AT = 100_000
TIGHT_TIMING = dt.timedelta(minutes=5)

_flow_names: dict[Any, str] = {}


def _flow_name(flow_id) -> str | None:
    name = _flow_names.get(flow_id)
    if name is None:
        from runs.models import Flow

        name = Flow.objects.filter(pk=flow_id).values_list("name", flat=True).first()
        if name is not None:
            if len(_flow_names) > 10_000:
                _flow_names.clear()
            _flow_names[flow_id] = name  # flow names never change
    return name


def _state_payload(state: State | None) -> dict[str, str] | None:
    if state is None:
        return None
    payload = {"type": state.type}
    if state.name:
        payload["name"] = state.name
    if state.message:
        payload["message"] = state.message[:TRUNCATE_MESSAGES_AT]
    if state.is_paused():
        payload["pause_reschedule"] = str(bool(state.detail("pause_reschedule"))).lower()
    return payload


def flow_run_related(run) -> list[dict[str, str]]:
    """The resources a flow run's events name besides the run itself."""
    related = [
        {
            "prefect.resource.id": f"prefect.flow.{run.flow_id}",
            "prefect.resource.role": "flow",
            "prefect.resource.name": _flow_name(run.flow_id) or "",
        }
    ]
    if run.deployment_id:
        name = ""
        if apps.is_installed("deployments"):
            Deployment = apps.get_model("deployments", "Deployment")
            name = next(iter(rows.values(Deployment, "name", pk=run.deployment_id)), "")
        related.append(
            {
                "prefect.resource.id": f"prefect.deployment.{run.deployment_id}",
                "prefect.resource.role": "deployment",
                "prefect.resource.name": name,
            }
        )
    if run.work_queue_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.work-queue.{run.work_queue_id}",
                "prefect.resource.role": "work-queue",
                "prefect.resource.name": run.work_queue_name or "",
            }
        )
    if run.work_pool_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.work-pool.{run.work_pool_id}",
                "prefect.resource.role": "work-pool",
                "prefect.resource.name": run.work_pool_name or "",
            }
        )
    if run.parent_task_run_id:
        related.append(
            {"prefect.resource.id": f"prefect.task-run.{run.parent_task_run_id}", "prefect.resource.role": "task-run"}
        )
    for tag in sorted(set(run.tags or [])):
        related.append({"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"})
    created_by = run.created_by or {}
    creator_kind = {"DEPLOYMENT": "deployment", "AUTOMATION": "automation"}.get(created_by.get("type") or "")
    if creator_kind and created_by.get("id"):
        creator = {
            "prefect.resource.id": f"prefect.{creator_kind}.{created_by['id']}",
            "prefect.resource.role": "creator",
        }
        if created_by.get("display_value"):
            creator["prefect.resource.name"] = created_by["display_value"]
        related.append(creator)
    return related


# What a flow run's state-change event says of the run, kept when the change is made: the event
# is built once the change commits, and the run object may change meanwhile.
_RUN_FIELDS = (
    "pk",
    "name",
    "run_count",
    "flow_id",
    "deployment_id",
    "work_queue_id",
    "work_queue_name",
    "work_pool_id",
    "work_pool_name",
    "parent_task_run_id",
)


def emit_flow_run_state_change(run, initial: State | None, validated: State) -> None:
    """`prefect.flow-run.<State name>`, with the state's id as the event's id."""
    as_changed = SimpleNamespace(
        **{name: getattr(run, name) for name in _RUN_FIELDS},
        tags=list(run.tags or []),
        created_by=dict(run.created_by or {}),
    )
    record_emitted(partial(_flow_run_state_event, as_changed, initial, validated))


def _flow_run_state_event(run, initial: State | None, validated: State) -> list[dict[str, Any]]:
    occurred = validated.timestamp
    follows = None
    if initial is not None and abs(occurred - initial.timestamp) < TIGHT_TIMING:
        follows = initial.id
    event = {
        "id": validated.id,
        "occurred": occurred,
        "event": f"prefect.flow-run.{validated.name}",
        "resource": {
            "prefect.resource.id": f"prefect.flow-run.{run.pk}",
            "prefect.resource.name": run.name,
            "prefect.run-count": str(run.run_count),
            "prefect.state-message": (validated.message or "")[:TRUNCATE_MESSAGES_AT],
            "prefect.state-name": validated.name or "",
            "prefect.state-timestamp": validated.timestamp.isoformat(),
            "prefect.state-type": validated.type,
        },
        "related": flow_run_related(run),
        "payload": {
            "intended": {"from": initial.type if initial else None, "to": validated.type},
            "initial_state": _state_payload(initial),
            "validated_state": _state_payload(validated),
        },
        "follows": follows,
        "received": timezone.now(),
    }
    return [event]
