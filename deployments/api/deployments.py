"""/api/deployments"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from rest_framework import status
from rest_framework.response import Response

from concurrency.models import ConcurrencyLimit
from orchestrator.api.errors import BodyInvalid, NotFound, Unprocessable, drf_errors_to_locs
from orchestrator.api.fields import validate
from orchestrator.api.filters import FilterError, parse_time
from orchestrator.api.views import PrefectViewSet, body_of, limit_of
from orchestrator.lib import rows
from runs.api.flow_runs import api_parameters
from runs.api.serializers import flow_run_json
from runs.choices import StateType
from runs.models import FlowRun

from .. import domain, pools, scheduling
from ..filters import DEPLOYMENT_SORTS, deployment_body_filters
from ..models import Deployment, DeploymentSchedule, WorkPool
from .serializers import (
    DeploymentCreateSerializer,
    DeploymentFlowRunCreateSerializer,
    DeploymentSerializer,
    DeploymentUpdateSerializer,
    ScheduleCreateSerializer,
    ScheduleUpdateSerializer,
    schedule_json,
    work_queue_json,
)

BULK_CREATE_LIMIT = 100
MAX_MIN_TIME = 100 * 366 * 86400  # seconds; beyond it a start time plus min_time leaves the calendar


def _time(body: dict, key: str) -> dt.datetime | None:
    if body.get(key) is None:
        return None
    try:
        return parse_time(body[key], ("body", key))
    except FilterError as exc:
        raise BodyInvalid([exc.as_error()], body) from None


class DeploymentViewSet(PrefectViewSet):
    model = Deployment
    serializer_class = DeploymentSerializer
    sorts = DEPLOYMENT_SORTS
    default_sort = "NAME_ASC"
    not_found = "Deployment not found"

    def get_queryset(self):
        return Deployment.objects.select_related("work_queue__work_pool", "flow").prefetch_related("schedules")

    @property
    def filter_models(self):
        return deployment_body_filters()

    def present_many(self, deployments):
        deployments = list(deployments)
        ids = [d.concurrency_limit_id for d in deployments if d.concurrency_limit_id]
        limits = {limit.id: limit for limit in ConcurrencyLimit.objects.filter(id__in=ids)} if ids else {}
        serializer = DeploymentSerializer(context={"limits": limits})
        return [serializer.to_representation(d) for d in deployments]

    def present(self, deployment):
        return self.present_many([deployment])[0]

    def create(self, request):
        body = body_of(request)
        data = validate(DeploymentCreateSerializer, body)
        deployment, created = domain.save_deployment(dict(data), set(body))
        return Response(
            self.present(self.get_object(deployment.pk)), status=status.HTTP_201_CREATED if created else 200
        )

    def partial_update(self, request, pk=None):
        body = body_of(request)
        data = validate(DeploymentUpdateSerializer, body)
        deployment = self.get_object(pk)
        domain.save_deployment(dict(data), set(body), deployment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, deployment):
        domain.delete_deployment(deployment)

    def delete_many(self, queryset):
        deleted = []
        for deployment in queryset:
            deleted.append(deployment.pk)  # Model.delete() clears the pk
            domain.delete_deployment(deployment)
        return deleted

    def by_name(self, request, flow_name=None, deployment_name=None):
        return Response(self.present(self.get_object(flow__name=flow_name, name=deployment_name)))

    # -- runs ----------------------------------------------------------------------------

    def create_flow_run(self, request, pk=None):
        # The deployment with its queue and pool, read the cheap way: workers and schedulers
        # call this for every run they start.
        try:
            deployment = rows.fetch(Deployment, pk, related="work_queue")
        except Deployment.DoesNotExist:
            raise NotFound(self.not_found) from None
        if deployment.work_queue is not None:
            deployment.work_queue.work_pool = rows.fetch(WorkPool, deployment.work_queue.work_pool_id)
        data = validate(DeploymentFlowRunCreateSerializer, body_of(request))
        run, created = domain.create_run(deployment, dict(data), parameters=api_parameters(request))
        return Response(flow_run_json(run), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def create_flow_runs(self, request, pk=None):
        deployment = self.get_object(pk)
        items = request.data
        if not isinstance(items, list):
            raise BodyInvalid([{"loc": ["body"], "msg": "Input should be a valid list", "type": "list_type"}], items)
        if len(items) > BULK_CREATE_LIMIT:
            raise Unprocessable(f"At most {BULK_CREATE_LIMIT} flow runs can be created at once.")
        # The body is validated as a whole (as Prefect's list model is); only creating each
        # run can fail on its own.
        valid, errors = [], []
        for index, item in enumerate(items):
            serializer = DeploymentFlowRunCreateSerializer(data=item)
            if serializer.is_valid():
                valid.append(serializer.validated_data)
            else:
                errors += drf_errors_to_locs(serializer.errors, ("body", index))
        if errors:
            raise BodyInvalid(errors, items)
        results = []
        for data in valid:
            try:
                run, _ = domain.create_run(deployment, dict(data), parameters=api_parameters(request))
                results.append({"flow_run_id": str(run.id), "status": "CREATED", "error": None})
            except Exception as exc:  # noqa: BLE001 - each item succeeds or fails on its own
                detail = getattr(exc, "detail", None) or str(exc)
                results.append({"flow_run_id": None, "status": "FAILED", "error": str(detail)})
        return Response({"results": results}, status=status.HTTP_201_CREATED)

    def get_scheduled_flow_runs(self, request):
        body = body_of(request)
        ids = body.get("deployment_ids")
        if not isinstance(ids, list):
            raise BodyInvalid([{"loc": ["body", "deployment_ids"], "msg": "Field required", "type": "missing"}], body)
        try:
            import uuid

            ids = [uuid.UUID(str(i)) for i in ids]
        except ValueError:
            raise BodyInvalid(
                [{"loc": ["body", "deployment_ids"], "msg": "Input should be a list of UUIDs", "type": "uuid_parsing"}],
                body,
            ) from None
        before = _time(body, "scheduled_before")
        limit = limit_of(body)
        runs = FlowRun.objects.select_related("state").filter(deployment_id__in=ids, state_type=StateType.SCHEDULED)
        if before is not None:
            runs = runs.filter(next_scheduled_start_time__lte=before)
        result = [flow_run_json(run) for run in runs.order_by("next_scheduled_start_time")[:limit]]
        pools.mark_polled(deployment_ids=ids)
        return Response(result)

    def schedule(self, request, pk=None):
        deployment = self.get_object(pk)
        body = body_of(request)
        min_time = body.get("min_time")
        if min_time is not None and (isinstance(min_time, bool) or not isinstance(min_time, (int, float))):
            raise BodyInvalid(
                [{"loc": ["body", "min_time"], "msg": "Input should be a number of seconds", "type": "float_type"}],
                body,
            )
        if min_time is not None and not abs(min_time) <= MAX_MIN_TIME:
            raise BodyInvalid(
                [{"loc": ["body", "min_time"], "msg": "Input should be at most 100 years", "type": "time_delta_range"}],
                body,
            )
        for key in ("min_runs", "max_runs"):
            if body.get(key) is not None and (
                isinstance(body[key], bool) or not isinstance(body[key], int) or body[key] < 0
            ):
                raise BodyInvalid(
                    [{"loc": ["body", key], "msg": "Input should be a non-negative integer", "type": "int_type"}], body
                )
        with transaction.atomic():
            scheduling.schedule_deployment(
                deployment,
                start=_time(body, "start_time"),
                end=_time(body, "end_time"),
                min_time=dt.timedelta(seconds=min_time) if min_time is not None else None,
                min_runs=body.get("min_runs"),
                max_runs=body.get("max_runs"),
                even_if_paused=True,
            )
        return Response(None)

    def pause(self, request, pk=None):
        domain.pause(self.get_object(pk))
        return Response(None)

    def resume(self, request, pk=None):
        domain.resume(self.get_object(pk))
        return Response(None)

    def work_queue_check(self, request, pk=None):
        deployment = self.get_object(pk)
        from ..models import WorkQueue

        matches = []
        for queue in WorkQueue.objects.select_related("work_pool").exclude(filter=None):
            queue_filter = queue.filter or {}
            tags = queue_filter.get("tags") or []
            ids = [str(i) for i in queue_filter.get("deployment_ids") or []]
            if (not tags or set(tags) <= set(deployment.tags or [])) and (not ids or str(deployment.id) in ids):
                matches.append(work_queue_json(queue))
        return Response(matches)

    # -- schedules -----------------------------------------------------------------------

    def list_schedules(self, request, pk=None):
        deployment = self.get_object(pk)
        return Response([schedule_json(s) for s in deployment.schedules.order_by("created")])

    def create_schedules(self, request, pk=None):
        deployment = self.get_object(pk)
        items = request.data
        if not isinstance(items, list):
            raise BodyInvalid([{"loc": ["body"], "msg": "Input should be a valid list", "type": "list_type"}], items)
        serializer = ScheduleCreateSerializer(data=items, many=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            scheduling.lock(deployment)
            created = [
                DeploymentSchedule.objects.create(
                    deployment=deployment,
                    schedule=item["schedule"],
                    active=item["active"],
                    max_scheduled_runs=item["max_scheduled_runs"],
                    parameters=item["parameters"],
                    slug=item["slug"],
                )
                for item in serializer.validated_data
            ]
            scheduling.schedule_deployment(deployment)
        return Response([schedule_json(s) for s in created], status=status.HTTP_201_CREATED)

    def update_schedule(self, request, pk=None, schedule_id=None):
        deployment = self.get_object(pk)
        body = body_of(request)
        data = validate(ScheduleUpdateSerializer, body, partial=True)
        with transaction.atomic():
            scheduling.lock(deployment)
            schedule = (
                DeploymentSchedule.objects.select_for_update().filter(deployment=deployment, pk=schedule_id).first()
            )
            if schedule is None:
                raise NotFound("Schedule not found")
            for key in ("active", "schedule", "max_scheduled_runs", "parameters", "slug"):
                if key in body and not (key in ("active", "schedule") and data.get(key) is None):
                    setattr(schedule, key, data.get(key) if key != "parameters" else (data.get(key) or {}))
            schedule.save()
            scheduling.delete_future_auto_scheduled_runs(deployment)
            scheduling.schedule_deployment(deployment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete_schedule(self, request, pk=None, schedule_id=None):
        deployment = self.get_object(pk)
        with transaction.atomic():
            scheduling.lock(deployment)
            deleted, _ = DeploymentSchedule.objects.filter(deployment=deployment, pk=schedule_id).delete()
            if not deleted:
                raise NotFound("Schedule not found")
            scheduling.delete_future_auto_scheduled_runs(deployment)
            scheduling.schedule_deployment(deployment)
        return Response(status=status.HTTP_204_NO_CONTENT)
