"""The flow-run page and its buttons, and the download of a run's logs.

The page reads a bounded slice of everything that hangs off the run, each through an index:
states and task runs by (run, time), subflows by their parent task run, one page of logs by
(run, timestamp) with a keyset cursor. Its logs then stream live over a websocket
(runs.consumers.RunLogsConsumer) while the page shows the last of them.

The buttons are POST forms under Django's CSRF protection; each calls runs.domain, which
changes the run through the engine exactly as the API's equivalent request does.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid

from django.apps import apps
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from orchestrator.paging import paginate
from runs import charts, domain, logs
from runs.choices import COLORS, TERMINAL, StateType
from runs.models import FlowRun, FlowRunState, Log, TaskRun

from .common import RUN_ROW_FIELDS, flash

# Bounds of what one page shows: enough to read, few enough to draw fast (the rest is a link,
# a page of logs away, or a download).
STATES_SHOWN = 500
TASK_RUNS_SHOWN = 200
SUBFLOWS_SHOWN = 100
LOGS_SHOWN = 500
TIMELINE_ITEMS = 200
MAX_PAUSE_TIMEOUT = 30 * 86400

# When each button applies, for the page's script to show or hide them as the state changes
# live (the server decides again when one is pressed).
WHEN = {
    "retry": sorted(TERMINAL),
    "cancel": sorted(domain.CANCELLABLE),
    "suspend": [StateType.RUNNING],
    "resume": [StateType.PAUSED],
}


def _levels(request: HttpRequest) -> tuple[str, int | None]:
    return logs.min_level(request.GET.get("level"))


def log_page(request: HttpRequest, rows, size: int):
    """One page of log rows in time order; `?logs_after=`/`?logs_before=` move through them."""
    return paginate(request, rows.order_by(), logs.LOG_ORDER, size, after="logs_after", before="logs_before")


def live_url(flow_run_id: uuid.UUID, level: str, task_run_id: uuid.UUID | None = None) -> str:
    """The websocket a page follows its run's new log lines and states on (runs.consumers)."""
    params = {key: value for key, value in (("task_run", task_run_id), ("level", level)) if value}
    return f"/ws/flow-runs/{flow_run_id}/logs" + (f"?{urllib.parse.urlencode(params)}" if params else "")


def log_level_links() -> list[tuple[str, str]]:
    """(level, label) of the level filter's links, lowest first: Debug+, Info+, ..."""
    return [
        (name, name.lower().capitalize() + ("" if name == "CRITICAL" else "+")) for name, _ in reversed(logs.LOG_LEVELS)
    ]


def flow_run_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = get_object_or_404(FlowRun.objects.select_related("flow", "state"), pk=pk)

    states = list(
        FlowRunState.objects.filter(flow_run_id=run.pk)
        .only("type", "name", "timestamp", "message")  # not the result data
        .order_by("timestamp")[: STATES_SHOWN + 1]
    )
    task_runs = list(
        TaskRun.objects.filter(flow_run_id=run.pk)
        .only(*RUN_ROW_FIELDS, "flow_run_id")
        .order_by("expected_start_time", "id")[: TASK_RUNS_SHOWN + 1]
    )
    subflows = list(
        FlowRun.objects.filter(parent_task_run_id__in=TaskRun.objects.filter(flow_run_id=run.pk).values("id"))
        .select_related("flow")
        .only(*RUN_ROW_FIELDS, "parent_task_run_id", "flow__name")
        .order_by("expected_start_time", "id")[: SUBFLOWS_SHOWN + 1]
    )
    parent = None
    if run.parent_task_run_id:
        parent = (
            TaskRun.objects.filter(pk=run.parent_task_run_id)
            .select_related("flow_run")
            .only("id", "name", "flow_run__id", "flow_run__name")
            .first()
        )
    deployment_name = None
    if run.deployment_id and apps.is_installed("deployments"):
        deployment = apps.get_model("deployments", "Deployment")
        deployment_name = deployment.objects.filter(pk=run.deployment_id).values_list("name", flat=True).first()

    level, level_number = _levels(request)
    rows = Log.objects.filter(flow_run_id=run.pk)
    if level_number is not None:
        rows = rows.filter(level__gte=level_number)
    page = log_page(request, rows, LOGS_SHOWN)

    subflow_of_task = {subflow.parent_task_run_id: subflow for subflow in subflows}
    task_names = {task_run.pk: task_run.name for task_run in task_runs}
    items = [
        ("subflow", subflow_of_task[task.pk]) if task.pk in subflow_of_task else ("task", task)
        for task in task_runs[:TIMELINE_ITEMS]
    ]
    now = timezone.now()
    timeline = charts.timeline(items, now=now, colors=COLORS, run_start=run.start_time, run_end=run.end_time)
    return render(
        request,
        "runs/flow_run.html",
        {
            "section": "runs",
            "run": run,
            "parent": parent,
            "deployment_name": deployment_name,
            "current_state": run.state if run.state_id else None,
            "states": states[:STATES_SHOWN],
            "states_truncated": len(states) > STATES_SHOWN,
            "task_runs": [(task_run, subflow_of_task.get(task_run.pk)) for task_run in task_runs[:TASK_RUNS_SHOWN]],
            "task_runs_truncated": len(task_runs) > TASK_RUNS_SHOWN,
            "subflows": subflows[:SUBFLOWS_SHOWN],
            "subflows_truncated": len(subflows) > SUBFLOWS_SHOWN,
            "timeline": timeline,
            "timeline_items": TIMELINE_ITEMS,
            "timeline_truncated": len(task_runs) > TIMELINE_ITEMS,
            "logs": [(log, task_names.get(log.task_run_id)) for log in page.rows],
            "logs_page": page,
            "logs_shown": LOGS_SHOWN,
            "live_url": live_url(run.pk, level) if page.next is None else None,
            "level": level,
            "level_choices": log_level_links(),
            "actions": {
                "retry": domain.can_retry(run),
                "cancel": run.parent_task_run_id is None,
                "suspend": run.deployment_id is not None,
                "resume": True,
                "input": domain.pause_input_keyset(run),
            },
            "when": WHEN,
            "choosable_states": [(value, StateType(value).label) for value in domain.CHOOSABLE_STATES],
            "default_pause": domain.DEFAULT_PAUSE_TIMEOUT,
            "now": now,
        },
    )


# --- buttons ----------------------------------------------------------------------------------


def _run_or_404(pk: uuid.UUID) -> FlowRun:
    return get_object_or_404(FlowRun.objects.only("id", "name", "state_type", "deployment_id"), pk=pk)


def _act(request: HttpRequest, pk: uuid.UUID, action) -> HttpResponse:
    run = _run_or_404(pk)
    try:
        ctx = action(run)
    except domain.NotAllowed as exc:
        messages.error(request, str(exc))
    except FlowRun.DoesNotExist:
        raise Http404("No such flow run") from None
    else:
        if ctx is not None:
            flash(request, ctx)
    return redirect("flow-run", run.pk)


@require_POST
def flow_run_retry(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _act(request, pk, lambda run: domain.retry_flow_run(run.pk))


@require_POST
def flow_run_cancel(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _act(request, pk, lambda run: domain.cancel_flow_run(run.pk))


@require_POST
def flow_run_suspend(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    def suspend(run):
        try:
            timeout = int(request.POST.get("timeout") or domain.DEFAULT_PAUSE_TIMEOUT)
        except ValueError:
            timeout = -1
        if not domain.MIN_PAUSE_TIMEOUT <= timeout <= MAX_PAUSE_TIMEOUT:
            raise domain.NotAllowed(
                f"The timeout must be a whole number of seconds from {domain.MIN_PAUSE_TIMEOUT} to {MAX_PAUSE_TIMEOUT}."
            )
        return domain.suspend_flow_run(run.pk, timeout)

    return _act(request, pk, suspend)


@require_POST
def flow_run_resume(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    def resume(run):
        raw = (request.POST.get("input") or "").strip()
        run_input = None
        if raw:
            try:
                run_input = json.loads(raw)
            except ValueError as exc:
                raise domain.NotAllowed(f"The input is not JSON: {exc}") from None
            if not isinstance(run_input, dict):
                raise domain.NotAllowed('The input must be a JSON object, such as {"approved": true}.')
        return domain.resume_flow_run(run.pk, run_input)

    return _act(request, pk, resume)


@require_POST
def flow_run_set_state(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    def change(run):
        state = request.POST.get("state") or ""
        if state not in domain.CHOOSABLE_STATES:
            raise domain.NotAllowed("Choose one of the states offered.")
        message = (request.POST.get("message") or "").strip()[:2000]
        return domain.set_flow_run_state(run.pk, state, message)

    return _act(request, pk, change)


def flow_run_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """GET asks for confirmation; POST deletes the run with its states, task runs and logs."""
    run = get_object_or_404(FlowRun.objects.select_related("flow").only(*RUN_ROW_FIELDS, "flow__name"), pk=pk)
    if request.method == "POST":
        domain.delete_flow_run(run.pk)
        messages.success(request, f"Deleted the flow run {run.name}.")
        return redirect("runs")
    return render(request, "runs/delete.html", {"section": "runs", "run": run})


# --- downloads -------------------------------------------------------------------------------

FORMATS = {
    "text": (logs.text_line, "text/plain; charset=utf-8", "log"),
    "jsonl": (logs.json_line, "application/jsonl; charset=utf-8", "jsonl"),
}


def download(request: HttpRequest, rows, name: str) -> StreamingHttpResponse:
    """The rows as a plain-text (or `?format=jsonl`) attachment, streamed a batch at a time;
    `?level=` keeps only that level and above, like the page."""
    line, content_type, extension = FORMATS.get(request.GET.get("format") or "text", FORMATS["text"])
    _, level_number = _levels(request)
    if level_number is not None:
        rows = rows.filter(level__gte=level_number)
    response = StreamingHttpResponse(logs.astream_lines(rows, line), content_type=content_type)
    filename = f"{name}-logs.{extension}"
    quoted = urllib.parse.quote(filename, safe="")
    response["Content-Disposition"] = f"attachment; filename=\"run-logs.{extension}\"; filename*=UTF-8''{quoted}"
    return response


def flow_run_logs_download(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = get_object_or_404(FlowRun.objects.only("id", "name"), pk=pk)
    return download(request, Log.objects.filter(flow_run_id=run.pk), run.name)
