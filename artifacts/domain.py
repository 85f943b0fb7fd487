"""Writing artifacts: every change keeps the key's collection row pointing at its latest version.

- create: a keyed artifact becomes its key's latest (the collection row is created or
  repointed);
- update: the artifact changes, and so does the collection row if it mirrors that artifact;
- delete: deleting a key's latest version falls back to the version created before it, or
  removes the collection when none is left. Artifacts go with their flow runs the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .models import Artifact, ArtifactCollection

# The columns a collection row copies from its latest artifact.
MIRRORED = ("type", "description", "data", "metadata", "flow_run_id", "task_run_id")


def _mirror(artifact: Artifact) -> dict[str, Any]:
    return {field: getattr(artifact, field) for field in MIRRORED} | {"latest_id": artifact.pk}


def create_artifact(fields: dict[str, Any]) -> Artifact:
    """Create an artifact; with a key, it becomes the key's latest version."""
    now = timezone.now()
    artifact = Artifact(**fields, created=now, updated=now)
    with transaction.atomic():
        # Model.save, not PrefectModel.save (which would stamp `updated` a moment later):
        # a new artifact's created and updated times are the same instant.
        models.Model.save(artifact, force_insert=True)
        if artifact.key is not None:
            _make_latest(artifact)
    return artifact


def _make_latest(artifact: Artifact) -> None:
    values = _mirror(artifact) | {"updated": artifact.updated}
    if ArtifactCollection.objects.filter(key=artifact.key).update(**values):
        return
    try:
        with transaction.atomic():
            collection = ArtifactCollection(key=artifact.key, created=artifact.created, **values)
            models.Model.save(collection, force_insert=True)
    except IntegrityError:
        # Another request created the key's collection since we looked: take it over.
        ArtifactCollection.objects.filter(key=artifact.key).update(**values)


def update_artifact(artifact_id: uuid.UUID, changes: dict[str, Any]) -> bool:
    """Apply `changes` (data, description, metadata) to the artifact and, if it is its key's
    latest, to the collection row. False when there is no such artifact."""
    now = timezone.now()
    with transaction.atomic():
        if not Artifact.objects.filter(pk=artifact_id).update(**changes, updated=now):
            return False
        ArtifactCollection.objects.filter(latest_id=artifact_id).update(**changes, updated=now)
    return True


def delete_artifact(artifact_id: uuid.UUID) -> bool:
    """Delete one artifact. False when there is no such artifact."""
    with transaction.atomic():
        artifact = Artifact.objects.select_for_update().filter(pk=artifact_id).only("id", "key").first()
        if artifact is None:
            return False
        _delete_and_repoint(Artifact.objects.filter(pk=artifact_id))
    return True


def delete_artifacts_of_flow_runs(flow_run_ids: Iterable[uuid.UUID]) -> None:
    """Delete the artifacts of flow runs being deleted (called inside their transaction)."""
    _delete_and_repoint(Artifact.objects.filter(flow_run_id__in=list(flow_run_ids)))


def _delete_and_repoint(artifacts) -> None:
    """Delete `artifacts`; collections that pointed at one of them fall back to the key's
    newest remaining version, or go when the key has none left."""
    orphaned = list(
        ArtifactCollection.objects.filter(latest_id__in=artifacts.values("id")).values_list("key", flat=True)
    )
    artifacts.delete()
    for key in orphaned:
        repoint_collection(key)


def repoint_collection(key: str) -> None:
    """Point the key's collection at its newest artifact, or delete it if there is none."""
    newest = Artifact.objects.filter(key=key).order_by("-created", "-id").first()
    if newest is None:
        ArtifactCollection.objects.filter(key=key).delete()
        return
    ArtifactCollection.objects.filter(key=key).update(**_mirror(newest), updated=newest.updated)
