"""/api/flow_runs"""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections import defaultdict

from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, Sum
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from orchestrator.api.errors import BodyInvalid, Conflict, NotFound
from orchestrator.api.fields import validate
from orchestrator.api.filters import FilterError, parse_filters, parse_time
from orchestrator.api.views import PrefectViewSet, body_of, limit_of
from orchestrator.lib import rows
from orchestrator.lib.names import run_name
from runs import counts, domain, hooks
from runs.choices import StateType
from runs.deletion import delete_flow_runs
from runs.filters import FLOW_RUN_FILTER, FLOW_RUN_SORTS, flow_run_body_filters, same
from runs.logs import log_batches
from runs.models import Flow, FlowRun, FlowRunInput, Log, TaskRun
from runs.orchestration import engine
from runs.orchestration.states import State, iso, state_row_json
from runs.queries import BucketIndex, EstimatedLateness, EstimatedRunTime

from .serializers import (
    FlowRunCreateSerializer,
    FlowRunInputCreateSerializer,
    FlowRunSerializer,
    FlowRunUpdateSerializer,
    SetStateSerializer,
    StateCreateSerializer,
    flow_run_input_json,
    state_from_data,
)

BULK_LIMIT = 50
MAX_HISTORY_BUCKETS = 500


def orchestration_response(ctx) -> Response:
    """Prefect answers 201 when a new state was written, 200 otherwise."""
    return Response(ctx.result(), status=status.HTTP_201_CREATED if ctx.wrote_state else status.HTTP_200_OK)


def api_parameters(request) -> dict:
    """What the orchestration rules may read from the request: the client's API version. Read
    from META, where Django keeps the header, rather than through `request.headers`, which
    copies every header of the request first."""
    return {"api-version": request.META.get("HTTP_X_PREFECT_API_VERSION")}


class FlowRunViewSet(PrefectViewSet):
    model = FlowRun
    serializer_class = FlowRunSerializer
    update_serializer_class = FlowRunUpdateSerializer
    sorts = FLOW_RUN_SORTS
    default_sort = "ID_DESC"
    not_found = "Flow run not found"

    def get_queryset(self):
        return FlowRun.objects.select_related("state")

    @property
    def filter_models(self):
        return flow_run_body_filters()

    def count(self, request):
        """Counts by state type alone come from runs.counts (a few rows whatever the history);
        any other filter counts the runs."""
        body = body_of(request)
        # The whole filter is checked (refusing what Prefect refuses) before either answer; the
        # query is built only when the runs are counted.
        conditions = parse_filters(body, self.filter_models)
        try:
            return Response(counts.flow_runs_by_type(counts.state_types_asked(body)))
        except counts.NotByTypeOnly:
            return Response(FlowRun.objects.filter(conditions).count())

    # -- create ---------------------------------------------------------------------

    def create(self, request):
        data = validate(FlowRunCreateSerializer, body_of(request))
        run, created = create_flow_run(data, parameters=api_parameters(request))
        return Response(self.present(run), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def perform_update(self, run, data):
        if "job_variables" in data and data["job_variables"] is not None:
            if run.state_type != StateType.SCHEDULED:
                raise BodyInvalid(
                    [
                        {
                            "loc": ["body", "job_variables"],
                            "msg": "Job variables can only change while the run is scheduled",
                            "type": "value_error",
                        }
                    ],
                    data,
                )
        if "empirical_policy" in data:
            data["empirical_policy"] = {**(run.empirical_policy or {}), **data["empirical_policy"]}
        super().perform_update(run, data)

    def perform_destroy(self, run):
        delete_flow_runs([run.pk])

    def delete_many(self, queryset):
        return delete_flow_runs(list(queryset.values_list("pk", flat=True)))

    def bulk_delete(self, request):
        body = body_of(request)
        limit = _bulk_limit(body)
        with transaction.atomic():
            ids = list(self.filtered({"flow_runs": body.get("flow_runs")}).values_list("pk", flat=True)[:limit])
            deleted = delete_flow_runs(ids)
        return Response({"deleted": [str(pk) for pk in deleted]})

    # -- orchestration -----------------------------------------------------------------

    def set_state(self, request, pk=None):
        data = validate(SetStateSerializer, body_of(request))
        proposed = state_from_data(data["state"])
        try:
            ctx = engine.set_flow_run_state(pk, proposed, force=data["force"], parameters=api_parameters(request))
        except FlowRun.DoesNotExist:
            raise NotFound(self.not_found) from None
        return orchestration_response(ctx)

    def resume(self, request, pk=None):
        body = body_of(request)
        run_input = body.get("run_input")
        if run_input is not None and not isinstance(run_input, dict):
            raise BodyInvalid(
                [{"loc": ["body", "run_input"], "msg": "Input should be a valid dictionary", "type": "dict_type"}], body
            )
        try:
            ctx = domain.resume_flow_run(pk, run_input, parameters=api_parameters(request))
        except FlowRun.DoesNotExist:
            raise NotFound(self.not_found) from None
        return orchestration_response(ctx)

    def bulk_set_state(self, request):
        body = body_of(request)
        data = validate(SetStateSerializer, {"state": body.get("state"), "force": body.get("force", False)})
        limit = _bulk_limit(body)
        ids = list(self.filtered({"flow_runs": body.get("flow_runs")}).values_list("pk", flat=True)[:limit])
        results = []
        for run_id in ids:
            try:
                ctx = engine.set_flow_run_state(
                    run_id, state_from_data(data["state"]), force=data["force"], parameters=api_parameters(request)
                )
                results.append({"flow_run_id": str(run_id), **ctx.result()})
            except FlowRun.DoesNotExist:
                continue
        return Response({"results": results})

    # -- reads ----------------------------------------------------------------------------

    def lateness(self, request):
        qs = self.filtered(body_of(request))
        value = qs.aggregate(value=Avg(EstimatedLateness(timezone.now())))["value"]
        return Response(value)

    def history(self, request):
        return Response(run_history(FlowRun.objects.all(), body_of(request), flow_run_body_filters()))

    def graph(self, request, pk=None):
        run = self.get_object(pk)
        rows = []
        for task_run in (
            TaskRun.objects.filter(flow_run=run).select_related("state").order_by("expected_start_time")[:10_000]
        ):
            upstream = []
            for inputs in (task_run.task_inputs or {}).values():
                for item in inputs or []:
                    if isinstance(item, dict) and item.get("input_type") == "task_run":
                        upstream.append({"input_type": "task_run", "id": item.get("id")})
            rows.append(
                {
                    "id": str(task_run.id),
                    "name": task_run.name,
                    "upstream_dependencies": upstream,
                    "state": state_row_json(task_run.state) if task_run.state_id else None,
                    "expected_start_time": iso(task_run.expected_start_time),
                    "start_time": iso(task_run.start_time),
                    "end_time": iso(task_run.end_time),
                    "total_run_time": task_run.total_run_time,
                    "estimated_run_time": task_run.estimated_run_time,
                    "untrackable_result": bool(
                        task_run.state and (task_run.state.state_details or {}).get("untrackable_result")
                    ),
                }
            )
        return Response(rows)

    def graph_v2(self, request, pk=None):
        from runs.graph import flow_run_graph

        run = self.get_object(pk)
        since = request.query_params.get("since")
        try:
            since_time = parse_time(since, ("query", "since")) if since else None
        except FilterError as exc:
            raise BodyInvalid([exc.as_error()], None) from None
        graph = flow_run_graph(run, since_time)
        if graph is None:
            raise BodyInvalid(
                [
                    {
                        "loc": ["path", "id"],
                        "msg": "The flow run graph has too many nodes to draw",
                        "type": "value_error",
                    }
                ],
                None,
            )
        return Response(graph)

    def update_labels(self, request, pk=None):
        body = body_of(request)
        with transaction.atomic():
            run = self.get_object(pk, FlowRun.objects.select_for_update())
            run.labels = {**(run.labels or {}), **body}
            run.save(update_fields=["labels"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    def download_logs(self, request, pk=None):
        run = self.get_object(pk)
        filename = urllib.parse.quote(f"{run.name}-logs.csv", safe="")
        response = StreamingHttpResponse(
            _csv_lines(Log.objects.filter(flow_run_id=run.pk)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f"attachment; filename=\"flow-run-logs.csv\"; filename*=UTF-8''{filename}"
        return response

    # -- run inputs ------------------------------------------------------------------------

    def create_input(self, request, pk=None):
        data = validate(FlowRunInputCreateSerializer, body_of(request))
        run = self.get_object(pk, FlowRun.objects.all())
        try:
            with transaction.atomic():
                FlowRunInput.objects.create(flow_run=run, key=data["key"], value=data["value"], sender=data["sender"])
        except IntegrityError:
            raise Conflict("A flow run input with this key already exists.") from None
        return Response(status=status.HTTP_201_CREATED)

    def filter_inputs(self, request, pk=None):
        body = body_of(request)
        prefix = body.get("prefix")
        if not isinstance(prefix, str):
            raise BodyInvalid([{"loc": ["body", "prefix"], "msg": "Field required", "type": "missing"}], body)
        limit = body.get("limit", 1)
        exclude = body.get("exclude_keys") or []
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 2**31 - 1:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "limit"],
                        "msg": "Input should be an integer from 0 to 2**31 - 1",
                        "type": "int_type",
                    }
                ],
                body,
            )
        if not isinstance(exclude, list) or not all(isinstance(key, str) for key in exclude):
            raise BodyInvalid(
                [{"loc": ["body", "exclude_keys"], "msg": "Input should be a list of strings", "type": "list_type"}],
                body,
            )
        inputs = (
            FlowRunInput.objects.filter(flow_run_id=pk, key__startswith=prefix)
            .exclude(key__in=exclude)
            .order_by("created")[:limit]
        )
        return Response([flow_run_input_json(item) for item in inputs])

    def read_input(self, request, pk=None, key=None):
        item = FlowRunInput.objects.filter(flow_run_id=pk, key=key).first()
        if item is None:
            raise NotFound("Flow run input not found")
        from django.http import HttpResponse

        return HttpResponse(item.value, content_type="text/plain; charset=utf-8")

    def delete_input(self, request, pk=None, key=None):
        deleted, _ = FlowRunInput.objects.filter(flow_run_id=pk, key=key).delete()
        if not deleted:
            raise NotFound("Flow run input not found")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _csv_row(*values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_lines(logs):
    """The run's logs as CSV, a batch (one keyset query) at a time (runs.logs)."""
    yield _csv_row("timestamp", "level", "flow_run_id", "task_run_id", "message")
    for batch in log_batches(logs):
        yield "".join(
            _csv_row(iso(log.timestamp), log.level, log.flow_run_id, log.task_run_id or "", log.message)
            for log in batch
        )


def _bulk_limit(body: dict) -> int:
    limit = body.get("limit", BULK_LIMIT)
    if limit is None:
        return BULK_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= BULK_LIMIT:
        raise BodyInvalid(
            [{"loc": ["body", "limit"], "msg": f"Input should be between 1 and {BULK_LIMIT}", "type": "value_error"}],
            body,
        )
    return limit


# --- shared helpers -----------------------------------------------------------------------


def create_flow_run(data: dict, *, parameters: dict | None = None, extra: dict | None = None) -> tuple[FlowRun, bool]:
    """Create a flow run with its first state (Pending unless one is given).

    A run with an idempotency key that exists already for the flow is returned instead.

    The flow is read and the run built before the transaction: on SQLite the transaction holds
    the write turn every writer waits for, and these took a third of a creation's turn. A flow
    deleted meanwhile fails the run's reference to it at commit, which is answered as if the
    flow had been missing from the start.
    """
    data = dict(data)
    state_data = data.pop("state", None)
    initial = state_from_data(state_data) if state_data else State(type=StateType.PENDING)
    flow_id = data.pop("flow_id")
    pool_name = data.pop("work_pool_name", None)
    queue_name = data.pop("work_queue_name", None)
    flow_labels = next(iter(rows.values(Flow, "labels", pk=flow_id)), None)
    if flow_labels is None:
        raise _no_such_flow(flow_id)
    key = data.get("idempotency_key")
    if key:
        existing = _run_with_key(flow_id, key)
        if existing is not None:
            return existing, False
    if pool_name:
        data.update(hooks.work_queue_for_run(pool_name, queue_name))
    # The flow's labels, then the system ones, then what the client asked for.
    labels = {**flow_labels, "prefect.flow.id": str(flow_id)}
    if data.get("deployment_id"):
        labels["prefect.deployment.id"] = str(data["deployment_id"])
    labels.update(data.pop("labels", None) or {})
    policy = data.pop("empirical_policy", None)
    run = FlowRun(
        flow_id=flow_id,
        name=data.pop("name", None) or run_name(),
        labels=labels,
        job_variables=data.pop("job_variables", None) or {},
        **{k: v for k, v in data.items() if v is not None or k in ("parent_task_run_id",)},
        **(extra or {}),
    )
    if policy:
        run.empirical_policy = {**run.empirical_policy, **policy}
    try:
        with transaction.atomic():
            engine.set_flow_run_state(run.pk, initial, force=True, parameters=parameters, created=run)
    except IntegrityError:
        # Another request created the run with this key meanwhile (that one is the answer),
        # or the flow was deleted since it was read.
        if key:
            existing = _run_with_key(flow_id, key)
            if existing is not None:
                return existing, False
        if not Flow.objects.filter(pk=flow_id).exists():
            raise _no_such_flow(flow_id) from None
        raise
    return run, True


def _run_with_key(flow_id, key: str) -> FlowRun | None:
    return FlowRun.objects.select_related("state").filter(flow_id=flow_id, idempotency_key=key).first()


def _no_such_flow(flow_id) -> Conflict:
    return Conflict(f"Flow {flow_id} does not exist.")


# Up to this many intervals, SQLite groups each interval's runs by state on its own (below);
# past it, the probes of empty intervals would cost more than the one sort saves. PostgreSQL,
# which answers every interval in one statement, always does.
SQLITE_BUCKETS_ONE_BY_ONE = 60


def _group_interval_by_interval(buckets: int) -> bool:
    return connection.vendor != "sqlite" or buckets <= SQLITE_BUCKETS_ONE_BY_ONE


def _history_interval_by_interval(filtered, sums: dict, start, step, buckets: int) -> list[dict]:
    """The history's rows, each interval's runs grouped by state on their own, with the
    interval's bounds compared as stored: a run expected exactly at an interval's start is
    counted in that interval (an interval computed from the run's time in seconds can fall a few
    microseconds short and count it in the one before).

    Grouped by interval and state at once, every run's interval is computed from its time and
    the group key holds it. SQLite groups by sorting every row: the 24-hour history of 10,000
    runs spent most of its 4.5-5 ms of SQL sorting, against 3.2-3.6 ms in all interval by
    interval. PostgreSQL hashes every row on the three keys, sizing its table for as many groups
    as rows since it cannot estimate the computed key: 6-8.5 ms, against 2.7-4.4 ms interval by
    interval (psql, same database, same machine).

    One statement, compiled once: SQLite runs it for each interval with the interval's bounds
    as its last two parameters (SQLite keeps it prepared; an empty interval costs one index
    probe); PostgreSQL runs it once per interval inside a lateral join over the list of bounds,
    in one round trip."""
    table = connection.ops.quote_name(filtered.model._meta.db_table)
    column = f'{table}."expected_start_time"'
    lows = [start + bucket * step for bucket in range(buckets)]
    highs = [low + step for low in lows]
    one_by_one = connection.vendor == "sqlite"
    if one_by_one:
        where, where_params = f"{column} >= %s AND {column} < %s", [lows[0], highs[0]]
    else:
        where, where_params = f'{column} >= "bounds"."low" AND {column} < "bounds"."high"', []
    one = filtered.extra(where=[where], params=where_params).values("state_type", "state_name").annotate(**sums)
    sql, params = one.order_by().query.sql_with_params()
    params = list(params)
    names = ["state_type", "state_name", *sums]  # values() first, then the annotations
    rows = []
    with connection.cursor() as cursor:
        if one_by_one:
            if params[-2:] != where_params:  # extra()'s parameters come as given
                raise AssertionError("the interval's bounds are not the statement's last parameters")
            adapt = connection.ops.adapt_datetimefield_value
            for bucket, (low, high) in enumerate(zip(lows, highs, strict=True)):
                cursor.execute(sql, [*params[:-2], adapt(low), adapt(high)])
                rows.extend({"bucket": bucket, **dict(zip(names, row, strict=True))} for row in cursor.fetchall())
        else:
            cursor.execute(
                f'SELECT "bounds"."number" - 1, "grouped".* FROM unnest(%s::timestamptz[], %s::timestamptz[])'
                f' WITH ORDINALITY AS "bounds"("low", "high", "number") CROSS JOIN LATERAL ({sql}) AS "grouped"',
                [lows, highs, *params],
            )
            rows = [{"bucket": row[0], **dict(zip(names, row[1:], strict=True))} for row in cursor.fetchall()]
    return rows


def run_history(queryset, body: dict, body_filters: dict) -> list[dict]:
    """Counts of runs by state in consecutive intervals of their expected start time."""
    missing = [k for k in ("history_start", "history_end", "history_interval_seconds") if body.get(k) is None]
    if missing:
        raise BodyInvalid([{"loc": ["body", k], "msg": "Field required", "type": "missing"} for k in missing], body)
    try:
        start = parse_time(body["history_start"], ("body", "history_start"))
        end = parse_time(body["history_end"], ("body", "history_end"))
    except FilterError as exc:
        raise BodyInvalid([exc.as_error()], body) from None
    interval = body["history_interval_seconds"]
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise BodyInvalid(
            [
                {
                    "loc": ["body", "history_interval_seconds"],
                    "msg": "Input should be a valid number",
                    "type": "float_type",
                }
            ],
            body,
        )
    if interval < 1:
        raise BodyInvalid(
            [
                {
                    "loc": ["body", "history_interval_seconds"],
                    "msg": "History interval must not be less than 1 second.",
                    "type": "value_error",
                }
            ],
            body,
        )
    elapsed = (end - start).total_seconds()
    buckets = min(int(-(-elapsed // interval)), MAX_HISTORY_BUCKETS) if elapsed > 0 else 0
    if buckets == 0:
        return []
    try:
        query_end = start + timezone.timedelta(seconds=interval * buckets)
    except OverflowError:
        raise BodyInvalid(
            [
                {
                    "loc": ["body", "history_interval_seconds"],
                    "msg": "The history window reaches beyond the year 9999",
                    "type": "value_error",
                }
            ],
            body,
        ) from None
    now = timezone.now()
    step = timezone.timedelta(seconds=interval)
    filtered = queryset.filter(parse_filters(body, body_filters))
    sums = {
        "count_runs": Count("*"),
        "sum_estimated_run_time": Sum(EstimatedRunTime(now)),
        "sum_estimated_lateness": Sum(EstimatedLateness(now)),
    }
    if _group_interval_by_interval(buckets):
        rows = _history_interval_by_interval(filtered, sums, start, step, buckets)
    else:
        rows = (
            filtered.filter(expected_start_time__gte=start, expected_start_time__lt=query_end)
            .annotate(bucket=BucketIndex("expected_start_time", start, interval))
            .values("bucket", "state_type", "state_name")
            .annotate(**sums)
            .order_by()
        )
    by_bucket = defaultdict(list)
    for row in rows:
        by_bucket[row["bucket"]].append(
            {
                "state_type": row["state_type"],
                "state_name": row["state_name"],
                "count_runs": row["count_runs"],
                "sum_estimated_run_time": max(0.0, row["sum_estimated_run_time"] or 0.0),
                "sum_estimated_lateness": max(0.0, row["sum_estimated_lateness"] or 0.0),
            }
        )
    return [
        {
            "interval_start": iso(start + i * step),
            "interval_end": iso(start + (i + 1) * step),
            "states": by_bucket.get(i, []),
        }
        for i in range(buckets)
    ]


__all__ = [
    "FlowRunViewSet",
    "create_flow_run",
    "run_history",
    "FLOW_RUN_FILTER",
    "same",
    "limit_of",
    "StateCreateSerializer",
]
