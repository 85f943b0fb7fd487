"""Dashboard pages of flows: the list and a flow's page (its runs, deployments and details),
and deleting a flow.

Every query has a LIMIT or is grouped over the page's rows and an indexed time range. The list
pages by name with a keyset cursor and reads each flow's last and next run with a correlated
subquery that the (flow, expected start time) index answers with one index probe per flow;
the activity sparklines are one grouped count over the past week of the page's flows.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from deployments.models import Deployment
from orchestrator.charts import Buckets, bucket_counts
from orchestrator.lib.charts import Bar, bar_chart
from orchestrator.paging import BY_NAME, Keyset, paginate, search_text

from .choices import COLORS, FAILURES, StateType
from .dashboard_views import STACK, state_chart
from .deletion import delete_flows
from .models import Flow, FlowRun

PAGE_SIZE = 50
RUNS_PAGE_SIZE = 25
DEPLOYMENTS_SHOWN = 50
SPARKLINE_DAYS = 7
STATS_DAYS = 7
COUNT_CAP = 10_000  # the runs a deletion would take, counted no further

# A flow's runs, newest expected start first, runs without one last (as the runs list).
RUNS_ORDER = Keyset("expected_start_time", descending=True, times=True, nullable=True)
RUN_FIELDS = (
    "id",
    "name",
    "flow_id",
    "state_type",
    "state_name",
    "expected_start_time",
    "start_time",
    "end_time",
    "total_run_time",
    "state_timestamp",
    "deployment_id",
    "tags",
)
DEPLOYMENT_FIELDS = ("id", "name", "paused", "status", "tags", "work_queue_name", "flow_id")


def _last_and_next_runs(flows: QuerySet, now: dt.datetime) -> QuerySet:
    """Annotate each flow with the id of its latest run due by now and of its next scheduled run."""
    latest = (
        FlowRun.objects.filter(flow_id=OuterRef("pk"), expected_start_time__lte=now)
        .order_by("-expected_start_time")
        .values("id")[:1]
    )
    upcoming = (
        FlowRun.objects.filter(flow_id=OuterRef("pk"), expected_start_time__gt=now, state_type=StateType.SCHEDULED)
        .order_by("expected_start_time")
        .values("id")[:1]
    )
    return flows.annotate(last_run_id=Subquery(latest), next_run_id=Subquery(upcoming))


def _sparklines(ids: list[uuid.UUID], now: dt.datetime) -> dict[uuid.UUID, str]:
    """A small bar chart per flow: its runs per day over the past week, failures on top."""
    if not ids:
        return {}
    buckets = Buckets(now - dt.timedelta(days=SPARKLINE_DAYS), now, SPARKLINE_DAYS)
    per_flow: dict[uuid.UUID, list[dict]] = {pk: [{} for _ in range(SPARKLINE_DAYS)] for pk in ids}
    runs = FlowRun.objects.filter(flow_id__in=ids)
    # One grouped query for the page: (flow, day, failed or not).
    counted = bucket_counts(runs, "expected_start_time", buckets, by="flow_id")
    failed = bucket_counts(runs.filter(state_type__in=list(FAILURES)), "expected_start_time", buckets, by="flow_id")
    for index in range(SPARKLINE_DAYS):
        for pk, n in counted[index].items():
            per_flow[pk][index]["all"] = n
        for pk, n in failed[index].items():
            per_flow[pk][index]["failed"] = n
    charts = {}
    for pk, days in per_flow.items():
        bars = []
        for index, day in enumerate(days):
            begins, _ = buckets.bounds(index)
            total, bad = day.get("all", 0), day.get("failed", 0)
            title = f"{begins:%b %d}: {total} run{'' if total == 1 else 's'}" + (f", {bad} failed" if bad else "")
            bars.append(Bar(title, [("state-completed", total - bad), ("state-failed", bad)]))
        week = sum(day.get("all", 0) for day in days)
        charts[pk] = bar_chart(
            bars, label=f"{week} runs in the past week", width=70, height=20, gap=0.25, css_class="sparkline"
        )
    return charts


def flows_list(request: HttpRequest) -> HttpResponse:
    query = search_text(request)
    now = timezone.now()
    flows = Flow.objects.only("id", "name", "created", "tags")
    if query:
        flows = flows.filter(name__icontains=query)
    page = paginate(request, _last_and_next_runs(flows, now), BY_NAME, PAGE_SIZE)

    ids = [flow.pk for flow in page.rows]
    run_ids = [pk for flow in page.rows for pk in (flow.last_run_id, flow.next_run_id) if pk]
    runs = {}
    if run_ids:
        runs = {
            run.pk: run
            for run in FlowRun.objects.filter(pk__in=run_ids).only(
                "id", "name", "state_type", "state_name", "expected_start_time", "start_time"
            )
        }
    deployments = {}
    if ids:
        grouped = Deployment.objects.filter(flow_id__in=ids).values("flow_id").annotate(n=Count("*")).order_by()
        deployments = {row["flow_id"]: row["n"] for row in grouped}
    sparklines = _sparklines(ids, now)
    for flow in page.rows:
        flow.last_run = runs.get(flow.last_run_id)
        flow.next_run = runs.get(flow.next_run_id)
        flow.deployment_count = deployments.get(flow.pk, 0)
        flow.sparkline = sparklines.get(flow.pk, "")
    return render(request, "flows/list.html", {"section": "flows", "page": page, "query": query})


def _stats(flow: Flow, now: dt.datetime) -> tuple[str, list, int]:
    """The flow's runs over the past week: a chart by state and the counts by state."""
    buckets = Buckets(now - dt.timedelta(days=STATS_DAYS), now, STATS_DAYS * 4)
    counted = bucket_counts(FlowRun.objects.filter(flow_id=flow.pk), "expected_start_time", buckets, by="state_type")
    by_state = [
        (state, StateType(state).label, COLORS[state], sum(c.get(state, 0) for c in counted))
        for state in STACK
        if any(c.get(state) for c in counted)
    ]
    label = f"Runs of {flow.name} by state, past {STATS_DAYS} days"
    return state_chart(counted, buckets, label, "%b %d %H:%M", height=90), by_state, sum(n for *_, n in by_state)


def flow_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    flow = get_object_or_404(Flow, pk=pk)
    now = timezone.now()
    states = [value for value in request.GET.getlist("state") if value in StateType.values]
    runs = FlowRun.objects.filter(flow_id=flow.pk).only(*RUN_FIELDS)
    if states:
        runs = runs.filter(state_type__in=states)
    page = paginate(request, runs, RUNS_ORDER, RUNS_PAGE_SIZE, after="older", before="newer")
    deployments = list(
        Deployment.objects.filter(flow_id=flow.pk)
        .select_related("work_queue__work_pool")
        .only(*DEPLOYMENT_FIELDS, "work_queue__name", "work_queue__work_pool__name")
        .order_by("name", "id")[: DEPLOYMENTS_SHOWN + 1]
    )
    chart, by_state, week_total = _stats(flow, now)
    return render(
        request,
        "flows/flow.html",
        {
            "section": "flows",
            "flow": flow,
            "page": page,
            "states": states,
            "state_choices": [(value, label, COLORS[value], value in states) for value, label in StateType.choices],
            "deployments": deployments[:DEPLOYMENTS_SHOWN],
            "deployments_truncated": len(deployments) > DEPLOYMENTS_SHOWN,
            "chart": chart,
            "by_state": by_state,
            "week_total": week_total,
            "stats_days": STATS_DAYS,
        },
    )


@require_http_methods(["GET", "POST"])
def flow_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """GET: what deleting the flow takes with it, and a button; POST: delete it."""
    flow = get_object_or_404(Flow.objects.only("id", "name"), pk=pk)
    if request.method == "POST":
        # The API's deletion: runs (with their task runs, states and logs) in bounded
        # batches, then the flow, whose deployments and schedules go with it.
        delete_flows([flow.pk])
        messages.success(request, f"Flow {flow.name} deleted, with its runs and deployments.")
        return redirect("flows")
    runs = FlowRun.objects.filter(flow_id=flow.pk).order_by()[: COUNT_CAP + 1].count()
    deployments = Deployment.objects.filter(flow_id=flow.pk).order_by()[: COUNT_CAP + 1].count()
    return render(
        request,
        "flows/delete.html",
        {"section": "flows", "flow": flow, "runs": runs, "deployments": deployments, "count_cap": COUNT_CAP},
    )
