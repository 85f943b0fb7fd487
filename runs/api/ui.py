"""The run endpoints Prefect's dashboard uses (`/api/ui/...`)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import BodyInvalid, NotFound
from orchestrator.api.filters import FilterError, parse_filters, parse_time
from orchestrator.api.views import body_of, offset_of, sort_of
from runs.choices import FAILURES, TERMINAL, StateType
from runs.filters import FLOW_RUN_SORTS, flow_run_body_filters, related, task_run_body_filters
from runs.models import FlowRun, TaskRun
from runs.orchestration.states import iso
from runs.queries import BucketIndex

from .serializers import task_run_json

DASHBOARD_BUCKETS = 20


class FlowRunHistoryView(APIView):
    """Every run in a window as (start, duration, lateness, state): the runs scatter chart."""

    def post(self, request):
        body = body_of(request)
        limit = body.get("limit", 1000)
        if limit is None:
            limit = 1000
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
            raise BodyInvalid(
                [{"loc": ["body", "limit"], "msg": "Input should be between 0 and 1000", "type": "value_error"}], body
            )
        qs = FlowRun.objects.filter(parse_filters(body, flow_run_body_filters()))
        qs = qs.order_by(*sort_of(body, FLOW_RUN_SORTS, "EXPECTED_START_TIME_DESC"))
        offset = offset_of(body)
        runs = qs.only(
            "id", "state_type", "start_time", "expected_start_time", "total_run_time", "state_timestamp", "end_time"
        )[offset : offset + limit]
        return Response(
            [
                {
                    "id": str(run.id),
                    "state_type": run.state_type,
                    "timestamp": iso(run.start_time or run.expected_start_time),
                    "duration": run.estimated_run_time,
                    "lateness": run.estimated_start_time_delta,
                }
                for run in runs
            ]
        )


class CountTaskRunsView(APIView):
    """Task runs per flow run (subflow placeholders excluded)."""

    def post(self, request):
        body = body_of(request)
        raw = body.get("flow_run_ids")
        if not isinstance(raw, list) or len(raw) > 200:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "flow_run_ids"],
                        "msg": "A list of at most 200 flow run ids is required",
                        "type": "list_type",
                    }
                ],
                body,
            )
        try:
            ids = [uuid.UUID(str(v)) for v in raw]
        except ValueError:
            raise BodyInvalid(
                [{"loc": ["body", "flow_run_ids"], "msg": "Input should be a list of UUIDs", "type": "uuid_parsing"}],
                body,
            ) from None
        counts = dict(
            TaskRun.objects.filter(flow_run_id__in=ids)
            .exclude(Exists(FlowRun.objects.filter(parent_task_run_id=OuterRef("pk"))))
            .values("flow_run_id")
            .annotate(n=Count("id"))
            .values_list("flow_run_id", "n")
        )
        return Response({str(i): counts.get(i, 0) for i in ids})


class TaskRunDashboardCountsView(APIView):
    """Completed and failed task runs in 20 equal buckets of a time window."""

    def post(self, request):
        body = body_of(request)
        # Validating the filters first guarantees task_runs and its start_time are objects.
        conditions = parse_filters(body, task_run_body_filters() | _extra_filters())
        task_filter = body.get("task_runs")
        after = ((task_filter or {}).get("start_time") or {}).get("after_")
        if after is None:
            loc = ["body", "task_runs"] + (["start_time", "after_"] if task_filter is not None else [])
            raise BodyInvalid([{"loc": loc, "msg": "Field required", "type": "missing"}], body)
        try:
            start = parse_time(after, ("body", "task_runs", "start_time", "after_")).replace(second=0, microsecond=0)
            before = task_filter["start_time"].get("before_")
            end = parse_time(before) if before else timezone.now()
        except FilterError as exc:
            raise BodyInvalid([exc.as_error()], body) from None
        end = end.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        width = max((end - start).total_seconds() / DASHBOARD_BUCKETS, 1e-6)
        qs = TaskRun.objects.filter(conditions)
        qs = qs.filter(state_type__in=list(TERMINAL), start_time__isnull=False)
        rows = (
            qs.annotate(bucket=BucketIndex("start_time", start, width))
            .values("bucket")
            .annotate(
                failed=Count("id", filter=Q(state_type__in=list(FAILURES))),
                completed=Count("id", filter=~Q(state_type__in=list(FAILURES))),
                oldest=Min("end_time"),
            )
            .order_by()
        )
        buckets = [{"completed": 0, "failed": 0} for _ in range(DASHBOARD_BUCKETS)]
        for row in rows:
            index = row["bucket"]
            if index is not None and 0 <= index < DASHBOARD_BUCKETS:
                buckets[index] = {"completed": row["completed"], "failed": row["failed"]}
        return Response(buckets)


def _extra_filters() -> dict:
    return {"work_pools": related("work_pools", "task_run"), "work_queues": related("work_queues", "task_run")}


class TaskRunCountByStateView(APIView):
    def post(self, request):
        qs = TaskRun.objects.filter(parse_filters(body_of(request), task_run_body_filters()))
        counts = {state: 0 for state in StateType.values}
        for row in qs.values("state_type").annotate(n=Count("id")).order_by():
            if row["state_type"]:
                counts[row["state_type"]] = row["n"]
        return Response(counts)


class UITaskRunView(APIView):
    def get(self, request, pk=None):
        run = TaskRun.objects.select_related("state", "flow_run").filter(pk=pk).first()
        if run is None:
            raise NotFound("Task not found")
        data = task_run_json(run)
        data["flow_run_name"] = run.flow_run.name if run.flow_run_id and run.flow_run else None
        return Response(data)
