"""Storing events and handing them to live subscribers.

`record()` writes events in the caller's transaction, so an event exists exactly when the
change it describes was committed; subscribers of /api/events/out hear about them only after
that commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from orchestrator.lib import rows

from .models import Event, EventResource
from .schema import event_json

logger = logging.getLogger("orchestrator.events")

EVENTS_GROUP = "events"


def record(events: list[dict[str, Any]], *, publish: bool = True, new: bool = False) -> list[dict[str, Any]]:
    """Store events (ignoring ones already stored) and publish them after commit.

    `new=True` says the ids were just made here (a state's id), so no lookup is needed.
    Returns the events that were new.
    """
    if not events:
        return []
    ids = [e["id"] for e in events]
    known = set() if new else set(rows.values(Event, "id", id__in=ids))
    fresh: list[dict[str, Any]] = []
    seen: set = set()
    for event in events:
        if event["id"] in known or event["id"] in seen:
            continue
        seen.add(event["id"])
        fresh.append(event)
    if not fresh:
        return []
    rows.insert(
        *(
            Event(
                id=e["id"],
                occurred=e["occurred"],
                event=e["event"],
                resource_id=e["resource"]["prefect.resource.id"],
                resource=e["resource"],
                related=e["related"],
                payload=e["payload"],
                received=e["received"],
                follows=e.get("follows"),
            )
            for e in fresh
        ),
        ignore_conflicts=True,
    )
    rows.insert(*_resource_rows(fresh))
    if publish:
        transaction.on_commit(lambda: publish_events(fresh))
    return fresh


def _resource_rows(events: Iterable[dict[str, Any]]) -> Iterable[EventResource]:
    for e in events:
        yield EventResource(
            event_id=e["id"],
            occurred=e["occurred"],
            resource_id=e["resource"]["prefect.resource.id"],
            resource_role="",
            resource=e["resource"],
        )
        for related in e["related"]:
            yield EventResource(
                event_id=e["id"],
                occurred=e["occurred"],
                resource_id=related["prefect.resource.id"],
                resource_role=related.get("prefect.resource.role", ""),
                resource=related,
            )


def publish_events(events: list[dict[str, Any]]) -> None:
    """Send events to every /api/events/out subscriber (in every server process with Redis)."""
    from django.conf import settings

    if not settings.ORCHESTRATOR["EVENTS_STREAM_OUT_ENABLED"] or not events:
        return
    from orchestrator.channels import broadcast

    broadcast(EVENTS_GROUP, {"type": "events.published", "events": [event_json(e) for e in events]})
