"""Server-wide configuration stored in the database."""

from django.db import models
from django.utils import timezone

from orchestrator.lib.ids import uuid7
from orchestrator.lib.json_field import JSONField


class Configuration(models.Model):
    """A named server setting changed through the API (e.g. the default result storage)."""

    key = models.CharField(max_length=255, unique=True)
    value = JSONField(default=dict)
    updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key

    @classmethod
    def read(cls, key: str, default=None):
        row = cls.objects.filter(key=key).first()
        return row.value if row is not None else default

    @classmethod
    def write(cls, key: str, value) -> None:
        cls.objects.update_or_create(key=key, defaults={"value": value, "updated": timezone.now()})


class SavedSearch(models.Model):
    """A named set of dashboard filters (Prefect's saved searches)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    name = models.CharField(max_length=255, unique=True)
    filters = JSONField(default=list)

    def __str__(self) -> str:
        return self.name
