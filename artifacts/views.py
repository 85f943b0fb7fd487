"""Dashboard pages of artifacts: the latest artifact of every key, a key's versions, one artifact.

Every query has a LIMIT and follows an index of artifacts.models. Lists never read `data`
(a markdown report can be large) except for the few small types they preview, and page with a
keyset cursor (orchestrator.paging) rather than an offset.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from orchestrator.paging import Keyset, paginate, search_text
from runs.models import FlowRun, TaskRun

from . import markdown
from .models import Artifact, ArtifactCollection, ArtifactType
from .queries import LIST_FIELDS, flow_run_names, previews
from .rendering import image_url, progress_of, table_of

PAGE_SIZE = 50
LOOSE_SHOWN = 20  # recent artifacts without a key on the first page
RAW_SHOWN = 200_000  # characters of raw data shown on an artifact's page


# Lists are newest first; their links say "older" and "newer".
NEWEST_UPDATED = Keyset("updated", descending=True, times=True)
NEWEST_CREATED = Keyset("created", descending=True, times=True)


def artifact_list(request: HttpRequest) -> HttpResponse:
    query = search_text(request)

    collections = ArtifactCollection.objects.only(*LIST_FIELDS, "latest_id")
    if query:
        collections = collections.filter(key__icontains=query)
    page = paginate(request, collections, NEWEST_UPDATED, PAGE_SIZE, after="older", before="newer")

    loose = []
    if not page.paged and not query:
        loose = list(
            Artifact.objects.filter(key__isnull=True).only(*LIST_FIELDS).order_by("-created", "-id")[:LOOSE_SHOWN]
        )

    runs = flow_run_names([c.flow_run_id for c in page.rows] + [a.flow_run_id for a in loose])
    shown = previews([(c.latest_id, c.type) for c in page.rows] + [(a.pk, a.type) for a in loose])
    return render(
        request,
        "artifacts/list.html",
        {
            "section": "artifacts",
            "query": query,
            "collections": [(c, runs.get(c.flow_run_id), shown.get(c.latest_id, {})) for c in page.rows],
            "page": page,
            "loose": [(a, runs.get(a.flow_run_id), shown.get(a.pk, {})) for a in loose],
        },
    )


def artifact_key(request: HttpRequest, key: str) -> HttpResponse:
    versions = Artifact.objects.filter(key=key).only(*LIST_FIELDS)
    page = paginate(request, versions, NEWEST_CREATED, PAGE_SIZE, after="older", before="newer")
    collection = ArtifactCollection.objects.filter(key=key).only("key", "latest_id").first()
    if not page.rows and collection is None and not page.paged:
        raise Http404("No artifact has this key")
    runs = flow_run_names(v.flow_run_id for v in page.rows)
    shown = previews((v.pk, v.type) for v in page.rows)
    return render(
        request,
        "artifacts/key.html",
        {
            "section": "artifacts",
            "key": key,
            "latest_id": collection.latest_id if collection else None,
            "versions": [(v, runs.get(v.flow_run_id), shown.get(v.pk, {})) for v in page.rows],
            "page": page,
        },
    )


def artifact_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    artifact = get_object_or_404(Artifact, pk=pk)
    flow_run = (
        FlowRun.objects.filter(pk=artifact.flow_run_id).select_related("flow").only("id", "name", "flow__name").first()
        if artifact.flow_run_id
        else None
    )
    task_run_name = (
        TaskRun.objects.filter(pk=artifact.task_run_id).values_list("name", flat=True).first()
        if artifact.task_run_id
        else None
    )
    is_latest = (
        artifact.key is not None and ArtifactCollection.objects.filter(key=artifact.key, latest_id=artifact.pk).exists()
    )
    data = artifact.data
    raw = data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return render(
        request,
        "artifacts/detail.html",
        {
            "section": "artifacts",
            "artifact": artifact,
            "flow_run": flow_run,
            "task_run_name": task_run_name,
            "is_latest": is_latest,
            "body": body_of(artifact),
            "raw": raw[:RAW_SHOWN],
            "raw_truncated": len(raw) > RAW_SHOWN,
        },
    )


def body_of(artifact: Artifact) -> dict[str, Any]:
    """How the artifact's data is shown: {"kind": ..., plus what that kind needs}."""
    data = artifact.data
    if artifact.type == ArtifactType.MARKDOWN and isinstance(data, str):
        return {"kind": "markdown", "html": markdown.render(data)}
    if artifact.type == ArtifactType.TABLE:
        table = table_of(data)
        if table is not None:
            return {"kind": "table", "table": table}
    if artifact.type == ArtifactType.PROGRESS:
        progress = progress_of(data)
        if progress is not None:
            return {"kind": "progress", "progress": progress}
    if artifact.type == ArtifactType.IMAGE:
        url = image_url(data)
        if url is not None:
            return {"kind": "image", "url": url}
    if isinstance(data, str):
        return {"kind": "text", "text": data[:RAW_SHOWN]}
    return {"kind": "raw"}
