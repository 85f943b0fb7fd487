"""API routes of artifacts (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import resource

from .api.artifacts import ArtifactCollectionViewSet, ArtifactViewSet

urlpatterns = [
    *resource("artifacts/latest", ArtifactCollectionViewSet, actions=("filter", "count")),
    *resource("artifacts", ArtifactViewSet, actions=("create", "detail", "filter", "count")),
    path("artifacts/<text:key>/latest", ArtifactViewSet.as_view({"get": "latest"}), name="artifacts-latest"),
]
