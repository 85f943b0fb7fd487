"""The shape of an event, checked when one arrives (websocket or REST) and written out
when one is sent to subscribers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from orchestrator.api.filters import FilterError, parse_time
from runs.orchestration.states import iso

MAX_NAME_LENGTH = 1024
MAX_RELATED = 500
MAX_LABELS = 500


class InvalidEvent(ValueError):
    pass


def _resource(value: Any, where: str, needs_role: bool = False) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{where} must be an object of string labels")
    if "prefect.resource.id" not in value or not isinstance(value["prefect.resource.id"], str):
        raise InvalidEvent(f"{where} must have a 'prefect.resource.id' label")
    if needs_role and not isinstance(value.get("prefect.resource.role"), str):
        raise InvalidEvent(f"{where} must have a 'prefect.resource.role' label")
    if len(value) > MAX_LABELS:
        raise InvalidEvent(f"{where} has more than {MAX_LABELS} labels")
    labels = {}
    for key, label in value.items():
        if not isinstance(key, str):
            raise InvalidEvent(f"{where} has a non-string label name")
        if label is None:
            continue
        labels[key] = label if isinstance(label, str) else str(label)
    return labels


def parse_event(raw: Any) -> dict[str, Any]:
    """A validated event as a plain dict (ids as UUIDs, times as datetimes)."""
    if not isinstance(raw, dict):
        raise InvalidEvent("an event must be a JSON object")
    try:
        occurred = parse_time(raw.get("occurred"), ("occurred",))
    except FilterError:
        raise InvalidEvent("'occurred' must be a datetime") from None
    name = raw.get("event")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidEvent(f"'event' must be a name of 1 to {MAX_NAME_LENGTH} characters")
    resource = _resource(raw.get("resource"), "'resource'")
    related_raw = raw.get("related") or []
    if not isinstance(related_raw, list) or len(related_raw) > MAX_RELATED:
        raise InvalidEvent(f"'related' must be a list of at most {MAX_RELATED} resources")
    related = [_resource(item, f"'related[{i}]'", needs_role=True) for i, item in enumerate(related_raw)]
    payload = raw.get("payload") or {}
    if not isinstance(payload, dict):
        raise InvalidEvent("'payload' must be an object")
    try:
        event_id = uuid.UUID(str(raw["id"])) if raw.get("id") is not None else uuid.uuid4()
        follows = uuid.UUID(str(raw["follows"])) if raw.get("follows") else None
    except ValueError:
        raise InvalidEvent("'id' and 'follows' must be UUIDs") from None
    received = timezone.now()
    return {
        "id": event_id,
        "occurred": occurred,
        "event": name,
        "resource": resource,
        "related": related,
        "payload": payload,
        "follows": follows,
        "received": received,
    }


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event as Prefect's ReceivedEvent JSON."""
    return {
        "occurred": iso(event["occurred"]),
        "event": event["event"],
        "resource": event["resource"],
        "related": event["related"],
        "payload": event["payload"],
        "id": str(event["id"]),
        "follows": str(event["follows"]) if event.get("follows") else None,
        "received": iso(event.get("received") or timezone.now()),
    }


def row_event(row) -> dict[str, Any]:
    """A stored Event row back as an event dict."""
    return {
        "id": row.id,
        "occurred": row.occurred,
        "event": row.event,
        "resource": row.resource,
        "related": row.related,
        "payload": row.payload,
        "follows": row.follows,
        "received": row.received,
    }


def resource_uuid(resource_id: str, kind: str) -> uuid.UUID | None:
    """The UUID inside a resource id such as `prefect.flow-run.<uuid>`."""
    prefix = f"prefect.{kind}."
    if not resource_id.startswith(prefix):
        return None
    try:
        return uuid.UUID(resource_id[len(prefix) :])
    except ValueError:
        return None


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)
