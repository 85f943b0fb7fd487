"""The task-run page: its state and history, logs (live while it runs), artifacts, the inputs
it was called with, its details, and a button to change its state (through the engine)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from runs import domain
from runs.choices import StateType
from runs.models import FlowRun, Log, TaskRun, TaskRunState

from .common import flash
from .flow_run import STATES_SHOWN, _levels, download, live_url, log_level_links, log_page

LOGS_SHOWN = 500
ARTIFACTS_SHOWN = 100
INPUT_RUNS_SHOWN = 200


def _upstream_ids(task_inputs: dict) -> list[uuid.UUID]:
    """The task runs whose results this one was called with (Prefect's task_inputs)."""
    found: dict[uuid.UUID, None] = {}
    for inputs in (task_inputs or {}).values():
        for item in inputs if isinstance(inputs, list) else []:
            if isinstance(item, dict) and item.get("input_type") == "task_run":
                try:
                    found[uuid.UUID(str(item.get("id")))] = None
                except ValueError:
                    continue
    return list(found)[:INPUT_RUNS_SHOWN]


def _artifacts(task_run_id: uuid.UUID) -> tuple[list, bool]:
    from django.apps import apps

    if not apps.is_installed("artifacts"):
        return [], False
    from artifacts.models import Artifact
    from artifacts.queries import LIST_FIELDS, previews

    found = list(
        Artifact.objects.filter(task_run_id=task_run_id)
        .only(*LIST_FIELDS)
        .order_by("-created", "-id")[: ARTIFACTS_SHOWN + 1]
    )
    shown = found[:ARTIFACTS_SHOWN]
    extra = previews((a.pk, a.type) for a in shown)
    return [(a, extra.get(a.pk, {})) for a in shown], len(found) > ARTIFACTS_SHOWN


def task_run_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    task_run = get_object_or_404(TaskRun.objects.select_related("flow_run__flow", "state"), pk=pk)
    states = list(
        TaskRunState.objects.filter(task_run_id=task_run.pk)
        .only("type", "name", "timestamp", "message")
        .order_by("timestamp")[: STATES_SHOWN + 1]
    )
    subflow = FlowRun.objects.filter(parent_task_run_id=task_run.pk).only("id", "name").first()
    upstream_ids = _upstream_ids(task_run.task_inputs)
    upstream = dict(TaskRun.objects.filter(pk__in=upstream_ids).values_list("id", "name")) if upstream_ids else {}

    level, level_number = _levels(request)
    rows = Log.objects.filter(task_run_id=task_run.pk)
    if level_number is not None:
        rows = rows.filter(level__gte=level_number)
    page = log_page(request, rows, LOGS_SHOWN)
    artifacts, artifacts_truncated = _artifacts(task_run.pk)

    inputs = []
    for parameter, values in (task_run.task_inputs or {}).items():
        described = []
        for item in values if isinstance(values, list) else []:
            if not isinstance(item, dict):
                continue
            kind = item.get("input_type") or "?"
            ident = item.get("id") or item.get("name") or ""
            ref = uuid.UUID(str(ident)) if kind == "task_run" and _is_uuid(ident) else None
            described.append({"kind": kind, "id": ident, "task_run": ref, "name": upstream.get(ref) if ref else None})
        inputs.append((parameter, described))

    return render(
        request,
        "runs/task_run.html",
        {
            "section": "runs",
            "task_run": task_run,
            "flow_run": task_run.flow_run,
            "subflow": subflow,
            "current_state": task_run.state if task_run.state_id else None,
            "states": states[:STATES_SHOWN],
            "states_truncated": len(states) > STATES_SHOWN,
            "inputs": inputs,
            "logs": [(log, None) for log in page.rows],
            "logs_page": page,
            "logs_shown": LOGS_SHOWN,
            "live_url": (
                live_url(task_run.flow_run_id, level, task_run.pk)
                if page.next is None and task_run.flow_run_id is not None
                else None
            ),
            "level": level,
            "level_choices": log_level_links(),
            "artifacts": artifacts,
            "artifacts_truncated": artifacts_truncated,
            "artifacts_shown": ARTIFACTS_SHOWN,
            "choosable_states": [(value, StateType(value).label) for value in domain.CHOOSABLE_STATES],
        },
    )


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@require_POST
def task_run_set_state(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    from django.contrib import messages

    task_run = get_object_or_404(TaskRun.objects.only("id"), pk=pk)
    state = request.POST.get("state") or ""
    if state not in domain.CHOOSABLE_STATES:
        messages.error(request, "Choose one of the states offered.")
    else:
        message = (request.POST.get("message") or "").strip()[:2000]
        try:
            flash(request, domain.set_task_run_state(task_run.pk, state, message))
        except TaskRun.DoesNotExist:
            messages.error(request, "The task run was deleted meanwhile.")
    return redirect("task-run", task_run.pk)


def task_run_logs_download(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    task_run = get_object_or_404(TaskRun.objects.only("id", "name"), pk=pk)
    return download(request, Log.objects.filter(task_run_id=task_run.pk), task_run.name)
