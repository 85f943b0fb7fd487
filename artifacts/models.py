"""Artifacts and artifact collections.

An artifact is one piece of output a run published: markdown, a table, a link (stored as
markdown), a progress figure, an image URL, a result. Artifacts with a key are versions of
one thing: every create with the same key adds a version, and `ArtifactCollection` keeps one
row per key that mirrors the latest version, so "the latest artifact of every key" is a plain
indexed read. `artifacts.domain` keeps the two tables in step; nothing else writes them.

Run references are plain UUID columns without foreign keys: the client creates artifacts
inside tasks whose task runs reach the server later, as events.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from orchestrator.lib.json_field import JSONField
from runs.models import PrefectModel

KEY_MAX_LENGTH = 1000
TYPE_MAX_LENGTH = 255
METADATA_VALUE_MAX_LENGTH = 500  # longer metadata values are cut there, as Prefect does
KEY_PATTERN = re.compile(r"[a-z0-9-]+")

KEY_RULE = "An artifact key may contain only lowercase letters, numbers and dashes"


def validate_key(key: str) -> None:
    """The rule Prefect's client and server apply to artifact keys."""
    if not key:
        raise ValidationError("An artifact key may not be empty (send null for an artifact without a key)")
    if len(key) > KEY_MAX_LENGTH:
        raise ValidationError(f"An artifact key may be at most {KEY_MAX_LENGTH} characters long")
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationError(f"{KEY_RULE}; {key!r} is not allowed")


class ArtifactType(models.TextChoices):
    """The types Prefect's client writes (link artifacts are written as markdown)."""

    MARKDOWN = "markdown", "Markdown"
    TABLE = "table", "Table"
    PROGRESS = "progress", "Progress"
    IMAGE = "image", "Image"
    RESULT = "result", "Result"


class ArtifactFields(PrefectModel):
    """What an artifact and its collection row both carry."""

    type = models.CharField(max_length=TYPE_MAX_LENGTH, null=True)
    description = models.TextField(null=True)
    data = JSONField(null=True)
    metadata = JSONField(null=True)  # `metadata_` on the wire
    flow_run_id = models.UUIDField(null=True)
    task_run_id = models.UUIDField(null=True)

    class Meta:
        abstract = True


class Artifact(ArtifactFields):
    key = models.CharField(max_length=KEY_MAX_LENGTH, null=True)

    class Meta:
        indexes = [
            # A key's versions, newest first: the version timeline, and the version a
            # collection falls back to when its latest is deleted.
            models.Index(fields=["key", "-created"], name="artifact_key_created"),
            # Artifact.get(key): the key's most recently updated version.
            models.Index(fields=["key", "-updated"], name="artifact_key_updated"),
            models.Index(fields=["flow_run_id"], name="artifact_flow_run"),
            models.Index(fields=["task_run_id"], name="artifact_task_run"),
            models.Index(fields=["-created"], name="artifact_created"),
            models.Index(fields=["-updated"], name="artifact_updated"),
            models.Index(fields=["type"], name="artifact_type"),
        ]

    def __str__(self) -> str:
        return self.key or str(self.id)


class ArtifactCollection(ArtifactFields):
    """The latest artifact of one key, mirrored (Prefect's `artifact_collection`)."""

    key = models.CharField(max_length=KEY_MAX_LENGTH, unique=True)
    latest_id = models.UUIDField()

    class Meta:
        indexes = [
            models.Index(fields=["latest_id"], name="artifact_coll_latest"),
            models.Index(fields=["-updated", "-id"], name="artifact_coll_updated"),
            models.Index(fields=["-created"], name="artifact_coll_created"),
            models.Index(fields=["flow_run_id"], name="artifact_coll_flow_run"),
            models.Index(fields=["task_run_id"], name="artifact_coll_task_run"),
            models.Index(fields=["type"], name="artifact_coll_type"),
        ]

    def __str__(self) -> str:
        return self.key
