"""Concurrency limits: named pools of slots that runs and code blocks take and give back.

A limit's slots are taken under a lease that expires unless it is renewed, so a holder
that dies gives its slots back (the lease reaper service). Tag limits on task runs are
limits named `tag:<tag>`; a deployment's concurrency limit is one named `deployment:<id>`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from orchestrator.lib.ids import uuid7
from orchestrator.lib.json_field import JSONField
from runs.models import PrefectModel, empty_dict, empty_list


class ConcurrencyLimit(PrefectModel):
    name = models.CharField(max_length=255, unique=True)
    limit = models.IntegerField()
    active = models.BooleanField(default=True)
    active_slots = models.IntegerField(default=0)
    denied_slots = models.IntegerField(default=0)
    slot_decay_per_second = models.FloatField(default=0.0)
    avg_slot_occupancy_seconds = models.FloatField(default=2.0)

    def __str__(self) -> str:
        return self.name


class Lease(models.Model):
    """Slots held on one or more limits until `expires`, unless renewed or released."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    limit_ids = JSONField(default=empty_list)
    slots = models.IntegerField(default=1)
    holder = JSONField(null=True)
    metadata = JSONField(default=empty_dict)

    class Meta:
        indexes = [models.Index(fields=["expires"], name="lease_expires")]

    def __str__(self) -> str:
        return f"lease {self.id}"
