"""The runs list: flow runs (filters, sort, keyset pages, a scatter of the page, bulk buttons)
and, on its own tab, task runs.

Every query has a LIMIT and follows an index of runs.models: each sort is a keyset
(orchestrator.paging) on an indexed column, and each filter narrows an index or is checked
on the rows that index yields. Nothing counts the table and nothing uses OFFSET, so a page
costs the same with ten runs or two hundred thousand.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from orchestrator.paging import BY_NAME, Keyset, paginate
from runs import charts, deletion, domain, queries  # noqa: F401 - queries registers name__ilike
from runs.choices import COLORS, StateType
from runs.models import FlowRun, TaskRun

from .common import RUN_ROW_FIELDS, back, flash_many, text, utc_time, uuid_or_none

PAGE_SIZE = 50
FLOW_CHOICES = 500
DEPLOYMENT_CHOICES = 500
POOL_CHOICES = 200
MAX_TAGS = 10
BULK_LIMIT = PAGE_SIZE  # a bulk action acts on (at most) one page of ticked runs

NEWEST = Keyset("expected_start_time", descending=True, times=True, nullable=True)
OLDEST = Keyset("expected_start_time", times=True, nullable=True)


@dataclass(frozen=True)
class Sort:
    label: str
    keyset: Keyset
    # The paging parameters and the pager's labels.
    after: str = "after"
    before: str = "before"
    previous: str = "← Previous"
    next: str = "Next →"


SORTS = {
    "newest": Sort("Newest first", NEWEST, "older", "newer", "← Newer", "Older →"),
    "oldest": Sort("Oldest first", OLDEST, "later", "earlier", "← Earlier", "Later →"),
    "name": Sort("Name (A–Z)", BY_NAME),
}

# Time windows on the expected start (the column the lists are ordered by), from now.
RANGES = {
    "hour": ("Past hour", dt.timedelta(hours=-1), dt.timedelta(0)),
    "day": ("Past 24 hours", dt.timedelta(days=-1), dt.timedelta(0)),
    "week": ("Past 7 days", dt.timedelta(days=-7), dt.timedelta(0)),
    "month": ("Past 30 days", dt.timedelta(days=-30), dt.timedelta(0)),
    "upcoming": ("Next 24 hours", dt.timedelta(0), dt.timedelta(days=1)),
}

TABS = (("flow-runs", "Flow runs"), ("task-runs", "Task runs"))


@dataclass
class Filters:
    """The runs list's filters, read from the query string; what cannot be read is dropped
    (and named in `ignored`), never an error."""

    states: list[str] = field(default_factory=list)
    flow: uuid.UUID | None = None
    flow_run: uuid.UUID | None = None  # the task runs tab only
    deployment: uuid.UUID | None = None
    pool: str = ""
    tags: list[str] = field(default_factory=list)
    q: str = ""
    range: str = ""
    start_after: dt.datetime | None = None
    start_before: dt.datetime | None = None
    sort: str = "newest"
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, request: HttpRequest) -> Filters:
        found = cls()
        found.states = [s for s in dict.fromkeys(request.GET.getlist("state")) if s in StateType.values]
        found.flow = uuid_or_none(text(request, "flow"))
        found.flow_run = uuid_or_none(text(request, "flow_run"))
        found.deployment = uuid_or_none(text(request, "deployment"))
        found.pool = text(request, "pool")
        raw_tags = text(request, "tags").replace(",", " ").split()
        found.tags = list(dict.fromkeys(raw_tags))[:MAX_TAGS]
        found.q = text(request, "q")
        found.sort = text(request, "sort") if text(request, "sort") in SORTS else "newest"
        found.range = text(request, "range")
        if found.range in RANGES:
            _, after, before = RANGES[found.range]
            now = timezone.now()
            found.start_after, found.start_before = now + after, now + before
        else:
            found.range = "custom" if (text(request, "from") or text(request, "to")) else ""
            for name, attr in (("from", "start_after"), ("to", "start_before")):
                value = text(request, name)
                if value:
                    parsed = utc_time(value)
                    if parsed is None:
                        found.ignored.append(f"“{value}” is not a time (write it as 2024-05-01 12:00)")
                    setattr(found, attr, parsed)
        return found

    @property
    def active(self) -> bool:
        return bool(
            self.states
            or self.flow
            or self.flow_run
            or self.deployment
            or self.pool
            or self.tags
            or self.q
            or self.start_after
            or self.start_before
        )

    def common(self, rows: QuerySet) -> QuerySet:
        """The filters flow runs and task runs share."""
        if self.states:
            rows = rows.filter(state_type__in=self.states)
        if self.tags:
            rows = rows.filter(tags__contains_all=self.tags)
        if self.q:
            rows = rows.filter(name__ilike=self.q)  # runs.queries.ILike
        if self.start_after:
            rows = rows.filter(expected_start_time__gte=self.start_after)
        if self.start_before:
            rows = rows.filter(expected_start_time__lte=self.start_before)
        return rows

    def flow_runs(self, rows: QuerySet) -> QuerySet:
        rows = self.common(rows)
        if self.flow:
            rows = rows.filter(flow_id=self.flow)
        if self.deployment:
            rows = rows.filter(deployment_id=self.deployment)
        if self.pool:
            rows = rows.filter(work_pool_name=self.pool)
        return rows

    def task_runs(self, rows: QuerySet) -> QuerySet:
        rows = self.common(rows)
        if self.flow_run:
            rows = rows.filter(flow_run_id=self.flow_run)
        if self.flow:
            # The flow's runs first (an index on flow), then their task runs (an index on
            # flow run): never a walk through every task run checking its flow.
            rows = rows.filter(flow_run_id__in=FlowRun.objects.filter(flow_id=self.flow).values("id"))
        return rows


def _choices(model: str, selected, limit: int, label: str = "name", key: str = "id") -> list[tuple]:
    """The first `limit` rows by name of another app's model for a filter menu, plus the
    selected one; empty when that app is not installed."""
    app, _, name = model.partition(".")
    if not apps.is_installed(app):
        return []
    rows = apps.get_model(app, name).objects.order_by(label)
    choices = list(rows.values_list(key, label)[:limit])
    if selected and all(pk != selected for pk, _ in choices):
        choices += rows.filter(**{key: selected}).values_list(key, label)
    return choices


def _deployment_choices(selected: uuid.UUID | None) -> list[tuple]:
    """Deployments as "flow / deployment"."""
    if not apps.is_installed("deployments"):
        return []
    rows = apps.get_model("deployments", "Deployment").objects.order_by("name", "id")
    found = list(rows.values_list("id", "name", "flow__name")[:DEPLOYMENT_CHOICES])
    if selected and all(pk != selected for pk, *_ in found):
        found += rows.filter(pk=selected).values_list("id", "name", "flow__name")
    return [(pk, f"{flow_name} / {name}") for pk, name, flow_name in found]


def runs_list(request: HttpRequest) -> HttpResponse:
    tab = text(request, "tab")
    if tab == "task-runs":
        return task_runs_list(request)
    filters = Filters.read(request)
    sort = SORTS[filters.sort]
    runs = filters.flow_runs(FlowRun.objects.select_related("flow").only(*RUN_ROW_FIELDS, "flow__name"))
    page = paginate(request, runs, sort.keyset, PAGE_SIZE, after=sort.after, before=sort.before)
    return render(
        request,
        "runs/list.html",
        {
            **_filter_context(filters),
            "section": "runs",
            "tab": "flow-runs",
            "tabs": TABS,
            "page": page,
            "sort": sort,
            "scatter": charts.scatter(page.rows),
            "flow_choices": _choices("runs.Flow", filters.flow, FLOW_CHOICES),
            "deployment_choices": _deployment_choices(filters.deployment),
            "pool_choices": [
                name for name, _ in _choices("deployments.WorkPool", filters.pool, POOL_CHOICES, key="name")
            ],
            "bulk_states": [(value, StateType(value).label) for value in domain.CHOOSABLE_STATES],
        },
    )


def task_runs_list(request: HttpRequest) -> HttpResponse:
    filters = Filters.read(request)
    sort = SORTS[filters.sort]
    rows = filters.task_runs(
        TaskRun.objects.select_related("flow_run__flow").only(
            *RUN_ROW_FIELDS, "flow_run_id", "flow_run__name", "flow_run__flow_id", "flow_run__flow__name"
        )
    )
    page = paginate(request, rows, sort.keyset, PAGE_SIZE, after=sort.after, before=sort.before)
    return render(
        request,
        "runs/task_runs_list.html",
        {
            **_filter_context(filters),
            "section": "runs",
            "tab": "task-runs",
            "tabs": TABS,
            "page": page,
            "sort": sort,
            "flow_choices": _choices("runs.Flow", filters.flow, FLOW_CHOICES),
            "flow_run": (
                FlowRun.objects.filter(pk=filters.flow_run)
                .select_related("flow")
                .only("id", "name", "flow__name")
                .first()
                if filters.flow_run
                else None
            ),
        },
    )


def _filter_context(filters: Filters) -> dict:
    return {
        "filters": filters,
        "filtered": filters.active,
        "state_choices": [(value, label, COLORS[value], value in filters.states) for value, label in StateType.choices],
        "sort_choices": [(key, sort.label) for key, sort in SORTS.items()],
        "range_choices": [(key, label) for key, (label, _, _) in RANGES.items()],
        "tags_text": " ".join(filters.tags),
        "from_text": _local(filters.start_after) if filters.range == "custom" else "",
        "to_text": _local(filters.start_before) if filters.range == "custom" else "",
    }


def _local(value: dt.datetime | None) -> str:
    """A UTC time as a `datetime-local` field shows it."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


# --- bulk actions ---------------------------------------------------------------------------

BULK_ACTIONS = ("cancel", "delete", "set-state")


@require_POST
def bulk_action(request: HttpRequest) -> HttpResponse:
    """The runs list's buttons for the ticked runs: cancel, set a state (through the engine,
    each run in its own transaction) or, after a confirmation page, delete."""
    to = back(request, "/runs/")
    ids = [pk for pk in (uuid_or_none(v) for v in request.POST.getlist("run")) if pk][:BULK_LIMIT]
    action = request.POST.get("action") or ""
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose what to do with the ticked runs.")
        return redirect(to)
    if not ids:
        messages.error(request, "Tick the runs to act on first.")
        return redirect(to)

    if action == "cancel":
        flash_many(request, "Cancelled", domain.for_each_flow_run(ids, domain.cancel_flow_run))
    elif action == "set-state":
        state = request.POST.get("state") or ""
        if state not in domain.CHOOSABLE_STATES:
            messages.error(request, "Choose the state to set.")
            return redirect(to)
        message = (request.POST.get("message") or "").strip()[:2000] or "Set from the dashboard"
        outcomes = domain.for_each_flow_run(ids, lambda pk: domain.set_flow_run_state(pk, state, message))
        flash_many(request, f"Set {StateType(state).label} on", outcomes)
    elif request.POST.get("confirm") != "yes":
        runs = list(FlowRun.objects.filter(pk__in=ids).select_related("flow").only(*RUN_ROW_FIELDS, "flow__name"))
        if not runs:
            messages.info(request, "None of the chosen runs exist any more.")
            return redirect(to)
        return render(request, "runs/bulk_delete.html", {"section": "runs", "runs": runs, "next": to})
    else:
        deleted = deletion.delete_flow_runs(ids)
        messages.success(request, f"Deleted {len(deleted)} flow run{'' if len(deleted) == 1 else 's'}.")
    return redirect(to)
