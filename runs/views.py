"""Dashboard pages: the runs list and the flow-run page.

Every query here has a LIMIT and follows an index of runs.models, so a page costs the same
with ten runs or two hundred thousand. The runs list never counts: it pages with a keyset
cursor (orchestrator.paging) on (expected_start_time, id), newest first, the runs never given
a state (no expected start time) last.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from orchestrator.paging import Keyset, paginate

from .choices import COLORS, StateType
from .models import Flow, FlowRun, FlowRunState, Log, TaskRun
from .templatetags.runs_extras import LOG_LEVELS

PAGE_SIZE = 50
FLOW_CHOICES = 500
STATES_SHOWN = 500
TASK_RUNS_SHOWN = 500
SUBFLOWS_SHOWN = 100
LOGS_SHOWN = 1000

# The runs list's order: newest expected start first; the links say "older" and "newer".
RUNS_ORDER = Keyset("expected_start_time", descending=True, times=True, nullable=True)

# What a row of a runs table reads; the rest (parameters, context) can be large.
RUN_ROW_FIELDS = (
    "id",
    "name",
    "state_type",
    "state_name",
    "state_timestamp",
    "expected_start_time",
    "start_time",
    "end_time",
    "total_run_time",
)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _flow_choices(selected: uuid.UUID | None) -> list[tuple[uuid.UUID, str]]:
    """The flows of the filter menu: the first ones by name, plus the selected one."""
    choices = list(Flow.objects.order_by("name").values_list("id", "name")[:FLOW_CHOICES])
    if selected and all(pk != selected for pk, _ in choices):
        choices += Flow.objects.filter(pk=selected).values_list("id", "name")
    return choices


def runs_list(request: HttpRequest, section: str = "runs") -> HttpResponse:
    states = [value for value in request.GET.getlist("state") if value in StateType.values]
    flow_id = _uuid(request.GET.get("flow"))

    runs = FlowRun.objects.select_related("flow").only(*RUN_ROW_FIELDS, "flow__name")
    if states:
        runs = runs.filter(state_type__in=states)
    if flow_id:
        runs = runs.filter(flow_id=flow_id)
    page = paginate(request, runs, RUNS_ORDER, PAGE_SIZE, after="older", before="newer")

    return render(
        request,
        "runs/list.html",
        {
            "section": section,
            "page": page,
            "filtered": bool(states or flow_id),
            "state_choices": [(value, label, COLORS[value], value in states) for value, label in StateType.choices],
            "flow_choices": _flow_choices(flow_id),
            "selected_flow": flow_id,
        },
    )


def dashboard(request: HttpRequest) -> HttpResponse:
    return runs_list(request, section="dashboard")


def flow_run_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    run = get_object_or_404(FlowRun.objects.select_related("flow"), pk=pk)

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

    levels = dict(LOG_LEVELS)
    level = request.GET.get("level", "").upper()
    logs = Log.objects.filter(flow_run_id=run.pk)
    if level in levels:
        logs = logs.filter(level__gte=levels[level])
    else:
        level = ""
    logs = list(logs.order_by("timestamp", "id")[: LOGS_SHOWN + 1])

    subflow_of_task = {subflow.parent_task_run_id: subflow for subflow in subflows}
    task_names = {task_run.pk: task_run.name for task_run in task_runs}
    return render(
        request,
        "runs/flow_run.html",
        {
            "section": "runs",
            "run": run,
            "parent": parent,
            "current_state": next((state for state in states if state.pk == run.state_id), None),
            "states": states[:STATES_SHOWN],
            "states_truncated": len(states) > STATES_SHOWN,
            "task_runs": [(task_run, subflow_of_task.get(task_run.pk)) for task_run in task_runs[:TASK_RUNS_SHOWN]],
            "task_runs_truncated": len(task_runs) > TASK_RUNS_SHOWN,
            "subflows": subflows[:SUBFLOWS_SHOWN],
            "subflows_truncated": len(subflows) > SUBFLOWS_SHOWN,
            "logs": [(log, task_names.get(log.task_run_id)) for log in logs[:LOGS_SHOWN]],
            "logs_truncated": len(logs) > LOGS_SHOWN,
            "logs_shown": LOGS_SHOWN,
            "level": level,
            "level_choices": [name for name, _ in reversed(LOG_LEVELS)],
        },
    )
