"""Reads the dashboard pages share: bounded, and never the `data` of long artifacts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from runs.models import FlowRun

from .models import Artifact, ArtifactType
from .rendering import image_url, progress_of

# What a row of an artifact list reads; `data` is left out (a markdown report can be large).
LIST_FIELDS = ("id", "key", "type", "description", "created", "updated", "flow_run_id", "task_run_id")

PREVIEWED = (ArtifactType.PROGRESS, ArtifactType.IMAGE)  # types whose data a list shows


def flow_run_names(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names of the recorded flow runs among `ids` (one query)."""
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(FlowRun.objects.filter(pk__in=wanted).values_list("id", "name"))


def previews(artifacts: Iterable[tuple[uuid.UUID, str | None]]) -> dict[uuid.UUID, dict[str, Any]]:
    """Progress figures and image addresses of listed artifacts, given as (id, type): one
    query at most, reading only the small data of those two types."""
    wanted = [pk for pk, type_ in artifacts if type_ in PREVIEWED]
    if not wanted:
        return {}
    found = {}
    for pk, type_, data in Artifact.objects.filter(pk__in=wanted).values_list("id", "type", "data"):
        if type_ == ArtifactType.PROGRESS:
            found[pk] = {"progress": progress_of(data)}
        else:
            found[pk] = {"image": image_url(data)}
    return found


def flow_run_artifacts(flow_run_id: uuid.UUID, limit: int) -> list[Artifact]:
    """Up to `limit` artifacts of a flow run (and its tasks), newest first."""
    return list(Artifact.objects.filter(flow_run_id=flow_run_id).only(*LIST_FIELDS).order_by("-created", "-id")[:limit])
