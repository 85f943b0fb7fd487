"""/api/artifacts: artifacts, and the latest artifact of every key (`/artifacts/latest/...`)."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from orchestrator.api.errors import NotFound
from orchestrator.api.fields import validate
from orchestrator.api.views import PrefectViewSet, body_of

from .. import domain
from ..filters import (
    ARTIFACT_COLLECTION_FILTER,
    ARTIFACT_COLLECTION_SORTS,
    ARTIFACT_FILTER,
    ARTIFACT_SORTS,
    body_filters,
)
from ..models import Artifact, ArtifactCollection
from .serializers import (
    ArtifactCollectionSerializer,
    ArtifactCreateSerializer,
    ArtifactUpdateSerializer,
    artifact_fields,
)

NOT_FOUND = "Artifact not found"


class ArtifactViewSet(PrefectViewSet):
    model = Artifact
    serializer_class = ArtifactCreateSerializer
    update_serializer_class = ArtifactUpdateSerializer
    sorts = ARTIFACT_SORTS
    default_sort = "ID_DESC"
    not_found = NOT_FOUND

    @property
    def filter_models(self):
        return body_filters(ARTIFACT_FILTER)

    def perform_create(self, data):
        return domain.create_artifact(artifact_fields(data)), True

    def partial_update(self, request, pk=None):
        changes = validate(self.update_serializer_class, body_of(request), partial=True)
        if not domain.update_artifact(pk, artifact_fields(changes)):
            raise NotFound(self.not_found)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def destroy(self, request, pk=None):
        if not domain.delete_artifact(pk):
            raise NotFound(self.not_found)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def latest(self, request, key=None):
        """The latest version of a key: the artifact its collection points at."""
        collection = ArtifactCollection.objects.filter(key=key).only("latest_id").first()
        artifact = Artifact.objects.filter(pk=collection.latest_id).first() if collection else None
        if artifact is None:
            raise NotFound(self.not_found)
        return Response(self.present(artifact))


class ArtifactCollectionViewSet(PrefectViewSet):
    """`/artifacts/latest/filter` and `/count`: one row per key, its latest version's fields."""

    model = ArtifactCollection
    serializer_class = ArtifactCollectionSerializer
    sorts = ARTIFACT_COLLECTION_SORTS
    default_sort = "ID_DESC"
    not_found = NOT_FOUND

    @property
    def filter_models(self):
        return body_filters(ARTIFACT_COLLECTION_FILTER)
