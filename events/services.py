"""Loop services of the events app."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from orchestrator.services import Service

from .models import Event, EventResource

BATCH = 10_000


class TrimOldEvents(Service):
    """Events older than the retention period (PREFECT_SERVER_EVENTS_RETENTION_PERIOD,
    7 days by default) are deleted, with their resource index, in bounded batches."""

    name = "event_retention"

    def run_once(self) -> int:
        cutoff = timezone.now() - dt.timedelta(seconds=settings.ORCHESTRATOR["EVENTS_RETENTION_SECONDS"])
        deleted = 0
        while True:
            ids = list(Event.objects.filter(occurred__lt=cutoff).values_list("id", flat=True)[:BATCH])
            if not ids:
                return deleted
            resources = EventResource.objects.filter(event_id__in=ids)
            resources._raw_delete(resources.db)
            events = Event.objects.filter(id__in=ids)
            events._raw_delete(events.db)
            deleted += len(ids)


SERVICES = [TrimOldEvents]
