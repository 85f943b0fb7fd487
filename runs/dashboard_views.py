"""The dashboard home (`/` and `/dashboard`): flow runs, task runs and work pools at a glance.

Everything counted is bounded by the chosen time window (the past hour, day, week or month)
and read with grouped aggregates over an indexed time range: one query gives the run-history
chart and the flow-run counts by state (the chart's buckets summed); the lists (failed, late,
running) are LIMITed reads of the same range. No loop in Python runs over the window's rows;
the page makes the same dozen queries with ten runs or two hundred thousand.

Runs belong to the window by their expected start time (when they were due to run, which every
run has from its first state), which the indexes on (state type, expected start time) answer
without reading the runs themselves. Task runs are counted up to a cap (COUNT_CAP, shown as
"100,000+"): a month of millions of them then costs what a hundred thousand do.

"Hide subflows" leaves out flow runs started by another flow run; tags keep the flow runs that
carry every tag given. With either, the task runs counted are those of the matching flow runs
(of the newest FILTERED_RUNS of them).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

import orchestrator.api.filters  # noqa: F401 - registers the JSON lookup tags__contains_all
from deployments.choices import WorkerStatus
from deployments.models import Worker, WorkPool, WorkQueue
from orchestrator.charts import Buckets, bucket_counts
from orchestrator.lib.charts import Bar, bar_chart

from .choices import COLORS, FAILURES, StateType
from .models import FlowRun, TaskRun

LIST_SIZE = 5
# What a run in a list shows (its parameters and context can be large).
RUN_FIELDS = ("id", "name", "flow_id", "state_type", "state_name", "expected_start_time", "start_time")
POOLS_SHOWN = 12
MAX_TAGS = 10
# Task runs are counted up to this many per state and shown as "100,000+" beyond.
COUNT_CAP = 100_000
# With filters, the task runs counted are those of at most this many matching flow runs, the newest.
FILTERED_RUNS = 1_000

# Stacking order of the chart's bars, bottom first: the outcomes people look for at the bottom.
STACK = (
    StateType.COMPLETED,
    StateType.FAILED,
    StateType.CRASHED,
    StateType.CANCELLED,
    StateType.CANCELLING,
    StateType.RUNNING,
    StateType.PAUSED,
    StateType.PENDING,
    StateType.SCHEDULED,
)


@dataclass(frozen=True)
class Window:
    key: str
    short: str
    label: str
    length: dt.timedelta
    buckets: int

    @property
    def width(self) -> float:
        """Seconds per bucket of the history chart."""
        return self.length.total_seconds() / self.buckets


WINDOWS = {
    window.key: window
    for window in (
        Window("1h", "1 hour", "past hour", dt.timedelta(hours=1), 60),  # a bar a minute
        Window("24h", "24 hours", "past 24 hours", dt.timedelta(hours=24), 48),  # half an hour
        Window("7d", "7 days", "past 7 days", dt.timedelta(days=7), 56),  # three hours
        Window("30d", "30 days", "past 30 days", dt.timedelta(days=30), 60),  # twelve hours
    )
}
DEFAULT_WINDOW = "24h"


@dataclass
class Filters:
    """The dashboard's filters, read leniently from the query string: anything unreadable
    falls back to its default rather than failing the page."""

    window: Window
    hide_subflows: bool = False
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Filters:
        window = WINDOWS.get(request.GET.get("window", ""), WINDOWS[DEFAULT_WINDOW])
        hide = request.GET.get("hide_subflows", "") in {"1", "on", "true"}
        tags = []
        # NUL cannot be stored in (or compared with) PostgreSQL text: drop it.
        for part in request.GET.get("tags", "").replace("\x00", "").split(","):
            tag = part.strip()[:255]
            if tag and tag not in tags:
                tags.append(tag)
        return cls(window, hide, tags[:MAX_TAGS])

    @property
    def active(self) -> bool:
        return self.hide_subflows or bool(self.tags)

    def flow_runs(self, start: dt.datetime, end: dt.datetime) -> QuerySet:
        runs = FlowRun.objects.filter(expected_start_time__gte=start, expected_start_time__lte=end)
        if self.hide_subflows:
            runs = runs.filter(parent_task_run_id__isnull=True)
        if self.tags:
            runs = runs.filter(tags__contains_all=self.tags)
        return runs

    def task_runs(self, runs: QuerySet, start: dt.datetime, end: dt.datetime) -> tuple[QuerySet, bool]:
        """The task runs the card counts, and whether they are those of the newest
        FILTERED_RUNS flow runs only. Without filters: every task run due in the window. With
        filters: the task runs of the flow runs that match, found by their ids (an index
        probe each) rather than by joining every task run of the window to its flow run."""
        if not self.active:
            return TaskRun.objects.filter(expected_start_time__gte=start, expected_start_time__lte=end), False
        ids = list(runs.order_by("-expected_start_time", "-id").values_list("id", flat=True)[: FILTERED_RUNS + 1])
        return TaskRun.objects.filter(flow_run_id__in=ids[:FILTERED_RUNS]), len(ids) > FILTERED_RUNS

    def query(self, **changes) -> str:
        """The query string of these filters with `changes` (for the window links)."""
        params = QueryDict(mutable=True)
        values = {
            "window": self.window.key,
            "hide_subflows": "1" if self.hide_subflows else "",
            "tags": ", ".join(self.tags),
        }
        values.update(changes)
        for key, value in values.items():
            if value:
                params[key] = value
        return params.urlencode()


# -- flow runs ----------------------------------------------------------------------------


def state_chart(counted: list[dict], buckets: Buckets, label: str, time_format: str, height: int = 140) -> str:
    """Stacked bars of runs by state type, a bar per bucket; each bar's tooltip says its
    interval (times in `time_format`, UTC) and its counts."""
    bars = []
    for index, counts in enumerate(counted):
        begins, ends = buckets.bounds(index)
        when = f"{begins.astimezone(dt.UTC):{time_format}}–{ends.astimezone(dt.UTC):{time_format}} UTC"
        present = [(state, counts[state]) for state in STACK if counts.get(state)]
        summary = ", ".join(f"{n} {StateType(state).label.lower()}" for state, n in present) or "no runs"
        bars.append(Bar(f"{when}: {summary}", [(f"state-{COLORS[state]}", n) for state, n in present]))
    total = sum(sum(counts.values()) for counts in counted)
    return bar_chart(bars, label=f"{label}: {total} in all", height=height)


def _time_format(window: Window) -> str:
    return "%H:%M" if window.length <= dt.timedelta(hours=1) else "%b %d %H:%M"


def _listed(runs: QuerySet) -> list[FlowRun]:
    return list(
        runs.select_related("flow").only(*RUN_FIELDS, "flow__name").order_by("-expected_start_time", "-id")[:LIST_SIZE]
    )


# -- task runs and work pools -------------------------------------------------------------


def capped_count(rows: QuerySet, cap: int = COUNT_CAP) -> int:
    """How many rows there are, counting no further than `cap` + 1 (shown as "cap+")."""
    return rows.order_by()[: cap + 1].count()


def task_run_counts(tasks: QuerySet) -> dict[str, int]:
    """Completed, failed (or crashed) and running task runs: three counts, each stopping at
    COUNT_CAP, so a month of millions of task runs costs what a hundred thousand does."""
    return {
        "completed": capped_count(tasks.filter(state_type=StateType.COMPLETED)),
        "failed": capped_count(tasks.filter(state_type__in=list(FAILURES))),
        "running": capped_count(tasks.filter(state_type=StateType.RUNNING)),
    }


def _by_pool(rows: QuerySet, ids: list[uuid.UUID], **aggregate) -> dict:
    ((name, expression),) = aggregate.items()
    if not ids:
        return {}
    grouped = rows.filter(work_pool_id__in=ids).values("work_pool_id").annotate(**{name: expression}).order_by()
    return {row["work_pool_id"]: row[name] for row in grouped}


def work_pool_health(late: QuerySet) -> tuple[list[WorkPool], bool]:
    """The first pools by name with their late runs (in the window), newest poll of any of
    their queues and online workers: four queries whatever the number of pools."""
    pools = list(
        WorkPool.objects.only("id", "name", "type", "status", "is_paused", "concurrency_limit").order_by("name")[
            : POOLS_SHOWN + 1
        ]
    )
    shown = pools[:POOLS_SHOWN]
    ids = [pool.pk for pool in shown]
    late_runs = _by_pool(late, ids, n=Count("*"))
    polled = _by_pool(WorkQueue.objects.all(), ids, last=Max("last_polled"))
    online = _by_pool(Worker.objects.filter(status=WorkerStatus.ONLINE), ids, n=Count("*"))
    for pool in shown:
        pool.late_runs = late_runs.get(pool.pk, 0)
        pool.last_polled = polled.get(pool.pk)
        pool.online_workers = online.get(pool.pk, 0)
    return shown, len(pools) > POOLS_SHOWN


# -- the page -----------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    filters = Filters.from_request(request)
    window = filters.window
    end = timezone.now()
    start = end - window.length

    runs = filters.flow_runs(start, end)
    buckets = Buckets(start, end, window.buckets)
    # The chart and the counts by state come from one grouped query.
    counted = bucket_counts(runs, "expected_start_time", buckets, by="state_type")
    by_state = {state: sum(counts.get(state, 0) for counts in counted) for state in StateType.values}
    total = sum(by_state.values())
    context = {
        "section": "dashboard",
        "filters": filters,
        "windows": [(w, filters.query(window=w.key)) for w in WINDOWS.values()],
        "start": start,
        "end": end,
        "total": total,
    }
    if total == 0 and not filters.active and not FlowRun.objects.exists():
        return render(request, "dashboard/home.html", {**context, "fresh": True})

    late = runs.filter(state_type=StateType.SCHEDULED, state_name="Late")
    pools, more_pools = work_pool_health(late)
    tasks, tasks_of_newest = filters.task_runs(runs, start, end)
    context.update(
        {
            "chart": state_chart(counted, buckets, f"Flow runs by state, {window.label}", _time_format(window)),
            "chart_top": max((sum(counts.values()) for counts in counted), default=0),
            "start_label": f"{start:{_time_format(window)}}",
            "end_label": f"{end:{_time_format(window)}}",
            "state_counts": [
                (state, StateType(state).label, COLORS[state], by_state[state]) for state in STACK if by_state[state]
            ],
            "failed": _listed(runs.filter(state_type__in=list(FAILURES))),
            "failed_count": sum(by_state[state] for state in FAILURES),
            "late": _listed(late),
            "late_count": capped_count(late),
            "running": _listed(runs.filter(state_type=StateType.RUNNING)),
            "running_count": by_state[StateType.RUNNING],
            "tasks": task_run_counts(tasks),
            "tasks_of_newest": tasks_of_newest,
            "filtered_runs": FILTERED_RUNS,
            "count_cap": COUNT_CAP,
            "pools": pools,
            "more_pools": more_pools,
        }
    )
    return render(request, "dashboard/home.html", context)
