"""Events: what the client reports over /api/events/in and what the server itself emits.

Each event is stored once, and each resource it names (its own and every related one) is
indexed in `EventResource`, so "every event about this flow run" is one index scan.
Events are kept for PREFECT_SERVER_EVENTS_RETENTION_PERIOD (the event retention service).
"""

from django.db import models
from django.utils import timezone

from orchestrator.lib.json_field import JSONField


class Event(models.Model):
    id = models.UUIDField(primary_key=True)  # chosen by the emitter; duplicates are ignored
    occurred = models.DateTimeField()
    event = models.CharField(max_length=1024)
    resource_id = models.CharField(max_length=1024)
    resource = JSONField()
    related = JSONField(default=list)
    payload = JSONField(default=dict)
    received = models.DateTimeField(default=timezone.now)
    recorded = models.DateTimeField(default=timezone.now)
    follows = models.UUIDField(null=True)

    class Meta:
        indexes = [
            # /events/filter and the websocket backfill read by time; the retention service deletes by it.
            models.Index(fields=["occurred"], name="event_occurred"),
            models.Index(fields=["event", "occurred"], name="event_name_occurred"),
            models.Index(fields=["resource_id", "occurred"], name="event_resource_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.resource_id}"


class EventResource(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="resources", db_constraint=True)
    occurred = models.DateTimeField()
    resource_id = models.CharField(max_length=1024)
    resource_role = models.CharField(max_length=255, default="")  # "" for the event's own resource
    resource = JSONField()

    class Meta:
        indexes = [models.Index(fields=["resource_id", "occurred"], name="event_resource_id_occurred")]
