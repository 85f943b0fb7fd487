"""/api/task_runs, /api/flow_run_states, /api/task_run_states, /api/logs"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import BodyInvalid, Conflict, NotFound
from orchestrator.api.fields import validate
from orchestrator.api.filters import parse_filters
from orchestrator.api.views import PrefectViewSet, body_of, limit_of, offset_of, sort_of
from orchestrator.lib import rows
from runs.deletion import delete_task_runs
from runs.filters import LOG_FILTER, LOG_SORTS, TASK_RUN_SORTS, same, task_run_body_filters
from runs.live import publish_logs
from runs.models import FlowRun, FlowRunState, Log, TaskRun, TaskRunState
from runs.orchestration import engine
from runs.orchestration.states import State, state_row_json

from .flow_runs import api_parameters, orchestration_response, run_history
from .serializers import (
    LogCreateSerializer,
    LogSerializer,
    SetStateSerializer,
    TaskRunCreateSerializer,
    TaskRunSerializer,
    TaskRunUpdateSerializer,
    plain_log_records,
    state_from_data,
)


class TaskRunViewSet(PrefectViewSet):
    model = TaskRun
    serializer_class = TaskRunSerializer
    update_serializer_class = TaskRunUpdateSerializer
    sorts = TASK_RUN_SORTS
    default_sort = "ID_DESC"
    not_found = "Task run not found"

    def get_queryset(self):
        return TaskRun.objects.select_related("state")

    @property
    def filter_models(self):
        return task_run_body_filters()

    def create(self, request):
        data = dict(validate(TaskRunCreateSerializer, body_of(request)))
        state_data = data.pop("state", None)
        initial = state_from_data(state_data) if state_data else State(type="PENDING")
        run_id = data.pop("id", None) or uuid.uuid4()
        flow_run_id = data.pop("flow_run_id", None)
        with transaction.atomic():
            if flow_run_id is not None and not FlowRun.objects.filter(pk=flow_run_id).exists():
                raise Conflict(f"Flow run {flow_run_id} does not exist.")
            existing = (
                TaskRun.objects.select_related("state").filter(pk=run_id).first()
                or TaskRun.objects.select_related("state")
                .filter(flow_run_id=flow_run_id, task_key=data["task_key"], dynamic_key=data["dynamic_key"])
                .first()
            )
            if existing is not None:
                return Response(self.present(existing), status=status.HTTP_200_OK)
            policy = data.pop("empirical_policy", None)
            run = TaskRun(id=run_id, flow_run_id=flow_run_id, **data)
            run.name = data.get("name") or f"{data['task_key']}-{data['dynamic_key']}"[:255]
            # As on Prefect's server: the flow run's labels and its id, then the client's own.
            inherited = {}
            if flow_run_id is not None:
                inherited = FlowRun.objects.filter(pk=flow_run_id).values_list("labels", flat=True).first() or {}
                inherited = {**inherited, "prefect.flow-run.id": str(flow_run_id)}
            run.labels = {**inherited, **(data.get("labels") or {})}
            if policy:
                run.empirical_policy = {**run.empirical_policy, **policy}
            try:
                with transaction.atomic():
                    run.save(force_insert=True)
            except IntegrityError:
                raise Conflict("A task run with this id or key exists already.") from None
            engine.set_task_run_state(run.pk, initial, force=True, parameters=api_parameters(request))
        return Response(self.present(TaskRun.objects.select_related("state").get(pk=run.pk)), status=201)

    def perform_destroy(self, run):
        delete_task_runs([run.pk])

    def delete_many(self, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        delete_task_runs(ids)
        return ids

    def set_state(self, request, pk=None):
        data = validate(SetStateSerializer, body_of(request))
        try:
            ctx = engine.set_task_run_state(
                pk, state_from_data(data["state"]), force=data["force"], parameters=api_parameters(request)
            )
        except TaskRun.DoesNotExist:
            raise NotFound(self.not_found) from None
        return orchestration_response(ctx)

    def history(self, request):
        return Response(run_history(TaskRun.objects.all(), body_of(request), task_run_body_filters()))


class StatesView(APIView):
    """`GET /<kind>_run_states/?<kind>_run_id=` lists a run's states; `/{id}` reads one."""

    state_model = FlowRunState
    run_field = "flow_run_id"
    not_found = "Flow run state not found"

    def get(self, request, pk=None):
        if pk is not None:
            row = self.state_model.objects.filter(pk=pk).first()
            if row is None:
                raise NotFound(self.not_found)
            return Response(state_row_json(row))
        run_id = request.query_params.get(self.run_field)
        try:
            run_id = uuid.UUID(run_id or "")
        except ValueError:
            raise BodyInvalid(
                [
                    {
                        "loc": ["query", self.run_field],
                        "msg": "Field required and must be a UUID",
                        "type": "uuid_parsing",
                    }
                ],
                None,
            ) from None
        rows = self.state_model.objects.filter(**{self.run_field: run_id}).order_by("timestamp")
        return Response([state_row_json(row) for row in rows])


class TaskRunStatesView(StatesView):
    state_model = TaskRunState
    run_field = "task_run_id"
    not_found = "Task run state not found"


class LogsView(APIView):
    """`POST /logs/` stores a batch; `POST /logs/filter` reads them."""

    # Log lines are whatever a program printed: a NUL or a lone surrogate in one line (which
    # no database stores) becomes U+FFFD rather than costing the whole batch.
    repairs_unstorable_text = True

    def post(self, request):
        records = request.data
        if not isinstance(records, list):
            raise BodyInvalid([{"loc": ["body"], "msg": "Input should be a valid list", "type": "list_type"}], records)
        validated = plain_log_records(records)
        if validated is None:
            serializer = LogCreateSerializer(data=records, many=True)
            serializer.is_valid(raise_exception=True)
            validated = serializer.validated_data
        logs = [Log(**item) for item in validated]
        with transaction.atomic():
            rows.insert(*logs)
            if logs:
                # To /api/logs/out (when enabled) and to the runs' dashboard pages.
                transaction.on_commit(lambda: publish_logs(logs))
        return Response(status=status.HTTP_201_CREATED)


class LogFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        qs = Log.objects.filter(parse_filters(body, {"logs": (LOG_FILTER, same)}))
        qs = qs.order_by(*sort_of(body, LOG_SORTS, "TIMESTAMP_ASC"), "id")
        offset = offset_of(body)
        limit = limit_of(body)
        return Response(LogSerializer(many=True).to_representation(qs[offset : offset + limit]))
