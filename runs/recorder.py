"""The task-run recorder: task runs and their states, built from the client's events.

The 3.x client orchestrates tasks itself and reports every task state as a
`prefect.task-run.<State name>` event over /api/events/in. Events may arrive twice (the
client re-sends unconfirmed ones after a reconnect), out of order, and after the flow run
has finished, so recording is idempotent: the event's id is the state's id (a duplicate is
ignored), a task run's current state only moves to a newer timestamp, and fields an event
leaves out never erase stored ones.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from events.schema import resource_uuid
from orchestrator.api.filters import FilterError, parse_time

from .choices import StateType
from .models import FlowRun, TaskRun, TaskRunState, default_task_run_policy
from .orchestration.states import compact_details

logger = logging.getLogger("orchestrator.recorder")

# Fields of the event's `payload.task_run` that map onto TaskRun columns.
COPIED_FIELDS = (
    "name",
    "task_key",
    "dynamic_key",
    "cache_key",
    "task_version",
    "empirical_policy",
    "tags",
    "labels",
    "task_inputs",
    "run_count",
    "flow_run_run_count",
    "total_run_time",
)
TIME_FIELDS = ("cache_expiration", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time")


def _text(limit: int):
    return lambda v: isinstance(v, str) and len(v) <= limit


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31


# What a copied value must be to fit its column; one that does not is treated as absent,
# so a malformed event can neither crash the batch it came in nor corrupt the row.
FIELD_CHECKS = {
    "name": _text(255),
    "task_key": _text(2000),
    "dynamic_key": _text(2000),
    "cache_key": _text(2000),
    "task_version": _text(255),
    "empirical_policy": lambda v: isinstance(v, dict),
    "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
    "labels": lambda v: isinstance(v, dict),
    "task_inputs": lambda v: isinstance(v, dict),
    "run_count": _count,
    "flow_run_run_count": _count,
    "total_run_time": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


@dataclass
class Observation:
    """One task-run state, as reported by one event."""

    task_run_id: uuid.UUID
    flow_run_id: uuid.UUID | None
    state: dict[str, Any]
    fields: dict[str, Any]


def is_task_run_event(event: dict[str, Any]) -> bool:
    return event["event"].startswith("prefect.task-run.") and event["resource"].get("prefect.orchestration") == "client"


def _observe(event: dict[str, Any]) -> Observation | None:
    task_run_id = resource_uuid(event["resource"]["prefect.resource.id"], "task-run")
    if task_run_id is None:
        return None
    flow_run_id = None
    for related in event["related"]:
        if related.get("prefect.resource.role") == "flow-run":
            flow_run_id = resource_uuid(related["prefect.resource.id"], "flow-run")
            break
    payload = event["payload"]
    validated = payload.get("validated_state") or {}
    task_run = payload.get("task_run") or {}
    state_type = validated.get("type") or event["resource"].get("prefect.state-type")
    if state_type not in StateType.values or not FIELD_CHECKS["task_key"](task_run.get("task_key")):
        return None
    name = validated.get("name") or event["resource"].get("prefect.state-name")
    message = validated.get("message")
    details = validated.get("state_details") or {}
    if name is not None and not _text(255)(name):
        return None
    if not (message is None or isinstance(message, str)) or not isinstance(details, dict):
        return None
    details = dict(details)
    details["task_run_id"] = str(task_run_id)
    details["flow_run_id"] = str(flow_run_id) if flow_run_id else None
    state = {
        "id": event["id"],
        "type": state_type,
        "name": name or state_type.capitalize(),
        "message": message,  # kept as sent: the client reports "" for no message
        "timestamp": event["occurred"],
        "state_details": compact_details(details),
        "data": validated.get("data"),
    }
    fields: dict[str, Any] = {
        k: task_run[k] for k in COPIED_FIELDS if task_run.get(k) is not None and FIELD_CHECKS[k](task_run[k])
    }
    if isinstance(fields.get("empirical_policy"), dict):
        # Prefect stores the policy with every field of its model, the ones the client omits too.
        fields["empirical_policy"] = {**default_task_run_policy(), **fields["empirical_policy"]}
    for key in TIME_FIELDS:
        if task_run.get(key) is not None:
            try:
                fields[key] = parse_time(task_run[key])
            except FilterError:
                pass
    fields.setdefault("dynamic_key", "")
    return Observation(task_run_id, flow_run_id, state, fields)


def record_task_run_events(events: list[dict[str, Any]]) -> int:
    """Record the task-run events among `events` (call inside a transaction). Returns how
    many task-run states the events reported."""
    observations = [o for o in (_observe(e) for e in events if is_task_run_event(e)) if o]
    if not observations:
        return 0
    observations.sort(key=lambda o: o.state["timestamp"])

    flow_run_ids = {o.flow_run_id for o in observations if o.flow_run_id}
    known_flow_runs = set(FlowRun.objects.filter(id__in=flow_run_ids).values_list("id", flat=True))
    kept = []
    for o in observations:
        if o.flow_run_id and o.flow_run_id not in known_flow_runs:
            logger.debug("task run %s names unknown flow run %s; not recorded", o.task_run_id, o.flow_run_id)
            continue
        kept.append(o)
    if not kept:
        return 0

    ids = {o.task_run_id for o in kept}
    runs: dict[uuid.UUID, TaskRun] = {tr.id: tr for tr in TaskRun.objects.select_for_update().filter(id__in=ids)}
    # A task run the client re-created under a new id keeps its original row (natural key).
    missing = [o for o in kept if o.task_run_id not in runs]
    alias: dict[uuid.UUID, uuid.UUID] = {}
    if missing:
        by_key = {}
        for tr in TaskRun.objects.select_for_update().filter(
            flow_run_id__in={o.flow_run_id for o in missing if o.flow_run_id},
            task_key__in={o.fields.get("task_key") for o in missing},
        ):
            by_key[(tr.flow_run_id, tr.task_key, tr.dynamic_key)] = tr
        for o in missing:
            existing = by_key.get((o.flow_run_id, o.fields.get("task_key"), o.fields.get("dynamic_key")))
            if existing is not None:
                alias[o.task_run_id] = existing.id
                runs[existing.id] = existing

    now = timezone.now()
    created: dict[uuid.UUID, TaskRun] = {}
    changed: set[uuid.UUID] = set()
    states: list[TaskRunState] = []
    for o in kept:
        run_id = alias.get(o.task_run_id, o.task_run_id)
        run = runs.get(run_id)
        if run is None:
            run = TaskRun(id=run_id, flow_run_id=o.flow_run_id, name=o.fields.get("name") or "task-run")
            runs[run_id] = run
            created[run_id] = run
        states.append(TaskRunState(task_run_id=run_id, **o.state))
        newer = run.state_timestamp is None or o.state["timestamp"] > run.state_timestamp
        if not newer:
            continue
        for key, value in o.fields.items():
            setattr(run, key, value)
        run.state_id = o.state["id"]
        run.state_type = o.state["type"]
        run.state_name = o.state["name"]
        run.state_timestamp = o.state["timestamp"]
        if run_id not in created:
            run.updated = now
            changed.add(run_id)

    if created:
        TaskRun.objects.bulk_create(created.values(), ignore_conflicts=True)
    if changed:
        TaskRun.objects.bulk_update(
            [runs[i] for i in changed],
            [*COPIED_FIELDS, *TIME_FIELDS, "state", "state_type", "state_name", "state_timestamp", "updated"],
        )
    TaskRunState.objects.bulk_create(states, ignore_conflicts=True)
    return len(states)
