"""Dashboard pages: the runs list and the flow-run page.

Every query here has a LIMIT and follows an index of runs.models, so a page costs the same
with ten runs or two hundred thousand. The runs list never counts: it pages with a keyset
cursor on (expected_start_time, id) and fetches one row more than it shows to know whether
an older page exists.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .choices import COLORS, StateType
from .models import Flow, FlowRun, FlowRunState, Log, TaskRun
from .templatetags.runs_extras import LOG_LEVELS

PAGE_SIZE = 50
FLOW_CHOICES = 500
STATES_SHOWN = 500
TASK_RUNS_SHOWN = 500
SUBFLOWS_SHOWN = 100
LOGS_SHOWN = 1000

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


@dataclass(frozen=True)
class Cursor:
    """A position in the runs list: the expected start time and id of the run it names.

    The list shows runs with a time newest first, then the few without one (never given a
    state) by id; each part is read with its own index-ordered query, so the order is the
    same on SQLite and PostgreSQL, which sort NULLs differently.
    """

    time: dt.datetime | None
    id: uuid.UUID

    FORMAT = "%Y%m%dT%H%M%S.%fZ"

    def __str__(self) -> str:
        stamp = self.time.astimezone(dt.UTC).strftime(self.FORMAT) if self.time else ""
        return f"{stamp}~{self.id}"

    @classmethod
    def of(cls, run: FlowRun) -> Cursor:
        return cls(run.expected_start_time, run.pk)

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The cursor in a link, or None for a missing or mangled one (the first page)."""
        stamp, _, ident = (value or "").partition("~")
        try:
            time = dt.datetime.strptime(stamp, cls.FORMAT).replace(tzinfo=dt.UTC) if stamp else None
            return cls(time, uuid.UUID(ident))
        except ValueError:
            return None


def _older_than(runs: QuerySet, cursor: Cursor | None, limit: int) -> list[FlowRun]:
    """Up to `limit` runs that follow `cursor` in list order (all from the top without one)."""
    rows: list[FlowRun] = []
    if cursor is None or cursor.time is not None:
        timed = runs.filter(expected_start_time__isnull=False)
        if cursor is not None:
            timed = timed.filter(
                Q(expected_start_time__lt=cursor.time) | Q(expected_start_time=cursor.time, id__lt=cursor.id),
                expected_start_time__lte=cursor.time,  # the index range; the Q above breaks ties
            )
        rows = list(timed.order_by("-expected_start_time", "-id")[:limit])
    if len(rows) < limit:
        untimed = runs.filter(expected_start_time__isnull=True)
        if cursor is not None and cursor.time is None:
            untimed = untimed.filter(id__lt=cursor.id)
        rows += untimed.order_by("-id")[: limit - len(rows)]
    return rows


def _newer_than(runs: QuerySet, cursor: Cursor, limit: int) -> list[FlowRun]:
    """Up to `limit` runs that precede `cursor` in list order, nearest first."""
    rows: list[FlowRun] = []
    if cursor.time is None:
        rows = list(runs.filter(expected_start_time__isnull=True, id__gt=cursor.id).order_by("id")[:limit])
    if len(rows) < limit:
        timed = runs.filter(expected_start_time__isnull=False)
        if cursor.time is not None:
            timed = timed.filter(
                Q(expected_start_time__gt=cursor.time) | Q(expected_start_time=cursor.time, id__gt=cursor.id),
                expected_start_time__gte=cursor.time,
            )
        rows += timed.order_by("expected_start_time", "id")[: limit - len(rows)]
    return rows


@dataclass
class RunsPage:
    runs: list[FlowRun]
    newer: Cursor | None  # the cursor of the "Newer" link, if there are newer runs
    older: Cursor | None  # the cursor of the "Older" link, if there are older runs


def page_of_runs(runs: QuerySet, older: Cursor | None, newer: Cursor | None, size: int = PAGE_SIZE) -> RunsPage:
    """One page of `runs` after `older` or before `newer`, with the cursors of its neighbours."""
    if newer is not None:
        rows = _newer_than(runs, newer, size + 1)
        if len(rows) > size:
            page = rows[:size][::-1]
            return RunsPage(page, Cursor.of(page[0]), Cursor.of(page[-1]))
        older = None  # less than a page above the cursor: that is the first page
    rows = _older_than(runs, older, size + 1)
    page = rows[:size]
    return RunsPage(
        page,
        Cursor.of(page[0]) if older is not None and page else None,
        Cursor.of(page[-1]) if len(rows) > size else None,
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
    page = page_of_runs(runs, Cursor.parse(request.GET.get("older")), Cursor.parse(request.GET.get("newer")))

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
