"""Dashboard pages of artifacts: the latest artifact of every key, a key's versions, one artifact.

Every query has a LIMIT and follows an index of artifacts.models. Lists never read `data`
(a markdown report can be large) except for the few small types they preview, and page with a
keyset cursor rather than an offset.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from runs.models import FlowRun, TaskRun

from . import markdown
from .models import Artifact, ArtifactCollection, ArtifactType
from .queries import LIST_FIELDS, flow_run_names, previews
from .rendering import image_url, progress_of, table_of

PAGE_SIZE = 50
LOOSE_SHOWN = 20  # recent artifacts without a key on the first page
RAW_SHOWN = 200_000  # characters of raw data shown on an artifact's page


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by (time, id), newest first."""

    time: dt.datetime
    id: uuid.UUID

    FORMAT = "%Y%m%dT%H%M%S.%fZ"

    def __str__(self) -> str:
        return f"{self.time.astimezone(dt.UTC).strftime(self.FORMAT)}~{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        stamp, _, ident = (value or "").partition("~")
        try:
            return cls(dt.datetime.strptime(stamp, cls.FORMAT).replace(tzinfo=dt.UTC), uuid.UUID(ident))
        except ValueError:
            return None


def page_after(
    rows: QuerySet, field: str, cursor: Cursor | None, size: int | None = None
) -> tuple[list, Cursor | None]:
    """Up to `size` rows older than `cursor` by (field, id), and the cursor of the next page."""
    size = size or PAGE_SIZE
    if cursor is not None:
        rows = rows.filter(
            Q(**{f"{field}__lt": cursor.time}) | Q(**{field: cursor.time, "id__lt": cursor.id}),
            **{f"{field}__lte": cursor.time},  # the index range; the Q above breaks ties
        )
    found = list(rows.order_by(f"-{field}", "-id")[: size + 1])
    page = found[:size]
    following = Cursor(getattr(page[-1], field), page[-1].pk) if len(found) > size else None
    return page, following


def artifact_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    cursor = Cursor.parse(request.GET.get("older"))

    collections = ArtifactCollection.objects.only(*LIST_FIELDS, "latest_id")
    if query:
        collections = collections.filter(key__icontains=query)
    page, older = page_after(collections, "updated", cursor)

    loose = []
    if cursor is None and not query:
        loose = list(
            Artifact.objects.filter(key__isnull=True).only(*LIST_FIELDS).order_by("-created", "-id")[:LOOSE_SHOWN]
        )

    runs = flow_run_names([c.flow_run_id for c in page] + [a.flow_run_id for a in loose])
    shown = previews([(c.latest_id, c.type) for c in page] + [(a.pk, a.type) for a in loose])
    return render(
        request,
        "artifacts/list.html",
        {
            "section": "artifacts",
            "query": query,
            "collections": [(c, runs.get(c.flow_run_id), shown.get(c.latest_id, {})) for c in page],
            "older": older,
            "paged": cursor is not None,
            "loose": [(a, runs.get(a.flow_run_id), shown.get(a.pk, {})) for a in loose],
        },
    )


def artifact_key(request: HttpRequest, key: str) -> HttpResponse:
    cursor = Cursor.parse(request.GET.get("older"))
    versions, older = page_after(Artifact.objects.filter(key=key).only(*LIST_FIELDS), "created", cursor)
    collection = ArtifactCollection.objects.filter(key=key).only("key", "latest_id").first()
    if not versions and collection is None and cursor is None:
        raise Http404("No artifact has this key")
    runs = flow_run_names(v.flow_run_id for v in versions)
    shown = previews((v.pk, v.type) for v in versions)
    return render(
        request,
        "artifacts/key.html",
        {
            "section": "artifacts",
            "key": key,
            "latest_id": collection.latest_id if collection else None,
            "versions": [(v, runs.get(v.flow_run_id), shown.get(v.pk, {})) for v in versions],
            "older": older,
            "paged": cursor is not None,
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
