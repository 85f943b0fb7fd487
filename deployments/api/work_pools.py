"""/api/work_pools (by name, with their queues and workers) and the legacy /api/work_queues."""

from __future__ import annotations

import math

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from orchestrator.api.errors import BodyInvalid, Conflict, Forbidden, NotFound
from orchestrator.api.fields import validate
from orchestrator.api.filters import FilterError, parse_filters, parse_time, same
from orchestrator.api.views import MAX_INT, PrefectViewSet, body_of, limit_of, offset_of
from runs.api.serializers import flow_run_json
from runs.choices import StateType
from runs.models import FlowRun

from .. import pools
from ..choices import WorkPoolStatus, WorkQueueStatus
from ..filters import WORK_POOL_FILTER, WORK_QUEUE_FILTER, WORKER_FILTER
from ..models import DEFAULT_AGENT_POOL, Worker, WorkPool, WorkQueue
from .serializers import (
    HeartbeatSerializer,
    WorkPoolCreateSerializer,
    WorkPoolUpdateSerializer,
    WorkQueueCreateSerializer,
    WorkQueueUpdateSerializer,
    work_pool_json,
    work_queue_json,
    worker_json,
)


def _active_slots_by_queue(queue_ids) -> dict:
    rows = (
        FlowRun.objects.filter(work_queue_id__in=list(queue_ids), state_type__in=pools.OCCUPYING)
        .values("work_queue_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["work_queue_id"]: row["n"] for row in rows}


def queues_json(queues) -> list[dict]:
    queues = list(queues)
    limited = [q.id for q in queues if q.concurrency_limit is not None]
    slots = _active_slots_by_queue(limited) if limited else {}
    return [work_queue_json(q, slots.get(q.id, 0) if q.concurrency_limit is not None else None) for q in queues]


def pools_json(pool_list) -> list[dict]:
    pool_list = list(pool_list)
    limited = [p.id for p in pool_list if p.concurrency_limit is not None]
    slots = {}
    if limited:
        rows = (
            FlowRun.objects.filter(work_pool_id__in=limited, state_type__in=pools.OCCUPYING)
            .values("work_pool_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        slots = {row["work_pool_id"]: row["n"] for row in rows}
    return [work_pool_json(p, slots.get(p.id, 0) if p.concurrency_limit is not None else None) for p in pool_list]


def _time(body, key):
    if body.get(key) is None:
        return None
    try:
        return parse_time(body[key], ("body", key))
    except FilterError as exc:
        raise BodyInvalid([exc.as_error()], body) from None


class WorkPoolViewSet(PrefectViewSet):
    model = WorkPool
    serializer_class = WorkPoolCreateSerializer
    filter_models = {"work_pools": (WORK_POOL_FILTER, same)}
    sorts = {"NAME_ASC": ["name"]}
    default_sort = "NAME_ASC"
    not_found = "Work pool not found."

    def get_queryset(self):
        return WorkPool.objects.all()

    def present_many(self, objects):
        return pools_json(objects)

    def present(self, obj):
        return pools_json([obj])[0]

    def create(self, request):
        data = dict(validate(WorkPoolCreateSerializer, body_of(request)))
        if data["name"].lower().startswith("prefect"):
            raise Forbidden("Work pools starting with 'Prefect' are reserved for internal use.")
        data["storage_configuration"] = _storage(data.get("storage_configuration"))
        pool = pools.create_pool(**data)
        return Response(self.present(pool), status=status.HTTP_201_CREATED)

    def retrieve(self, request, name=None):
        return Response(self.present(pools.pool_by_name(name)))

    def partial_update(self, request, name=None):
        body = body_of(request)
        data = validate(WorkPoolUpdateSerializer, body, partial=True)
        if name.lower().startswith("prefect") and set(body) - {"is_paused", "concurrency_limit"}:
            raise Forbidden(
                "Work pools starting with 'Prefect' are reserved for internal use "
                "and can only be updated to set concurrency limits or pause."
            )
        with transaction.atomic():
            pool = pools.pool_by_name(name, for_update=True)
            for key in ("description", "base_job_template", "concurrency_limit"):
                if key in body and not (key == "base_job_template" and data.get(key) is None):
                    setattr(pool, key, data.get(key))
            if "storage_configuration" in body and data.get("storage_configuration") is not None:
                pool.storage_configuration = _storage(data["storage_configuration"])
            if body.get("is_paused") is not None:
                pool.is_paused = data["is_paused"]
                if pool.is_paused:
                    pool.status = WorkPoolStatus.PAUSED
                elif pool.status == WorkPoolStatus.PAUSED:
                    online = pool.workers.filter(status="ONLINE").exists()
                    pool.status = WorkPoolStatus.READY if online else WorkPoolStatus.NOT_READY
                pool.last_transitioned_status_at = timezone.now()
            pool.save()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def destroy(self, request, name=None):
        if name == DEFAULT_AGENT_POOL:
            raise Forbidden(f"The {DEFAULT_AGENT_POOL} work pool cannot be deleted.")
        if name.lower().startswith("prefect"):
            raise Forbidden("Work pools starting with 'Prefect' are reserved for internal use and can not be deleted.")
        with transaction.atomic():
            pool = pools.pool_by_name(name, for_update=True)
            queue_ids = list(pool.queues.values_list("id", flat=True))
            from ..models import Deployment

            Deployment.objects.filter(work_queue_id__in=queue_ids).update(work_queue=None)
            pool.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def count(self, request):
        return Response(self.filtered(body_of(request)).count())

    # -- work handed to workers ---------------------------------------------------------

    def get_scheduled_flow_runs(self, request, name=None):
        body = body_of(request)
        pool = pools.pool_by_name(name)
        names = body.get("work_queue_names")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "work_queue_names"],
                        "msg": "Input should be a list of strings",
                        "type": "list_type",
                    }
                ],
                body,
            )
        limit = limit_of(body)
        if names:
            queues = [pools.queue_by_name(pool, n) for n in names]
        else:
            queues = list(WorkQueue.objects.select_related("work_pool").filter(work_pool=pool))
        picked = pools.scheduled_runs_for_pool(
            pool, queues, _time(body, "scheduled_before"), _time(body, "scheduled_after"), limit
        )
        pools.mark_polled(queues=queues)
        return Response(
            [
                {"work_pool_id": str(pool.id), "work_queue_id": str(queue.id), "flow_run": flow_run_json(run)}
                for queue, run in picked
            ]
        )

    def concurrency_status(self, request, name=None):
        body = body_of(request)
        pool = pools.pool_by_name(name)
        page = 1 if body.get("page") is None else body["page"]
        limit = limit_of(body)
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_INT:
            raise BodyInvalid(
                [{"loc": ["body", "page"], "msg": f"Input should be between 1 and {MAX_INT}", "type": "value_error"}],
                body,
            )
        queues = WorkQueue.objects.select_related("work_pool").filter(work_pool=pool).order_by("priority", "name")
        count = queues.count()
        page_queues = list(queues[(page - 1) * limit : page * limit]) if limit else []
        flow_run_limit = body.get("flow_run_limit", 10)
        if isinstance(flow_run_limit, bool) or not isinstance(flow_run_limit, int) or not 0 <= flow_run_limit <= 200:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "flow_run_limit"],
                        "msg": "Input should be between 0 and 200",
                        "type": "value_error",
                    }
                ],
                body,
            )
        slots = _active_slots_by_queue([q.id for q in page_queues])
        active = FlowRun.objects.filter(work_pool_id=pool.id, state_type__in=pools.OCCUPYING).count()
        return Response(
            {
                "active_slots": active,
                "concurrency_limit": pool.concurrency_limit,
                "queues": [
                    {
                        "queue_id": str(q.id),
                        "queue_name": q.name,
                        "active_slots": slots.get(q.id, 0),
                        "concurrency_limit": q.concurrency_limit,
                        "flow_runs": [slot_summary(run) for run in _holding(q)[:flow_run_limit]],
                        "flow_run_count": slots.get(q.id, 0),
                    }
                    for q in page_queues
                ],
                "count": count,
                "limit": limit,
                "pages": math.ceil(count / limit) if limit else 0,
                "page": page,
            }
        )

    # -- queues --------------------------------------------------------------------------

    def create_queue(self, request, name=None):
        pool = pools.pool_by_name(name)
        data = dict(validate(WorkQueueCreateSerializer, body_of(request)))
        data.pop("work_pool_name", None)
        queue = pools.create_queue(pool, **data)
        return Response(queues_json([queue])[0], status=status.HTTP_201_CREATED)

    def read_queue(self, request, name=None, queue_name=None):
        pool = pools.pool_by_name(name)
        return Response(queues_json([pools.queue_by_name(pool, queue_name)])[0])

    def update_queue(self, request, name=None, queue_name=None):
        pool = pools.pool_by_name(name)
        queue = pools.queue_by_name(pool, queue_name)
        update_queue(queue, body_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete_queue(self, request, name=None, queue_name=None):
        pool = pools.pool_by_name(name)
        queue = pools.queue_by_name(pool, queue_name)
        delete_queue(queue)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def filter_queues(self, request, name=None):
        body = body_of(request)
        pool = pools.pool_by_name(name)
        qs = WorkQueue.objects.select_related("work_pool").filter(work_pool=pool)
        qs = qs.filter(parse_filters(body, {"work_queues": (WORK_QUEUE_FILTER, same)})).order_by("priority", "name")
        offset, limit = offset_of(body), limit_of(body)
        return Response(queues_json(qs[offset : offset + limit]))

    # -- workers -------------------------------------------------------------------------

    def heartbeat(self, request, name=None):
        data = validate(HeartbeatSerializer, body_of(request))
        pool = pools.pool_by_name(name)
        pools.heartbeat(pool, data["name"], data["heartbeat_interval_seconds"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    def filter_workers(self, request, name=None):
        body = body_of(request)
        pool = pools.pool_by_name(name)
        qs = Worker.objects.filter(work_pool=pool)
        qs = qs.filter(parse_filters(body, {"workers": (WORKER_FILTER, same)})).order_by(
            F("last_heartbeat_time").desc(nulls_last=True), "name"
        )
        offset, limit = offset_of(body), limit_of(body)
        return Response([worker_json(w) for w in qs[offset : offset + limit]])

    def delete_worker(self, request, name=None, worker_name=None):
        pool = pools.pool_by_name(name)
        deleted, _ = Worker.objects.filter(work_pool=pool, name=worker_name).delete()
        if not deleted:
            raise NotFound("Worker not found.")
        return Response(status=status.HTTP_204_NO_CONTENT)


def _holding(queue: WorkQueue):
    """Runs occupying a slot of the queue, longest-held first."""
    return FlowRun.objects.filter(work_queue_id=queue.id, state_type__in=pools.OCCUPYING).order_by("state_timestamp")


def slot_summary(run: FlowRun) -> dict:
    from runs.orchestration.states import iso

    held = (timezone.now() - run.state_timestamp).total_seconds() if run.state_timestamp else None
    return {
        "id": str(run.id),
        "name": run.name,
        "state_type": run.state_type,
        "state_name": run.state_name,
        "start_time": iso(run.start_time),
        "state_timestamp": iso(run.state_timestamp),
        "time_in_current_state": held,
    }


def _storage(value) -> dict:
    value = dict(value or {})
    if value.get("default_result_storage_block_id") is not None:
        value["default_result_storage_block_id"] = str(value["default_result_storage_block_id"])
    return value


def update_queue(queue: WorkQueue, body: dict) -> None:
    data = validate(WorkQueueUpdateSerializer, body, partial=True)
    with transaction.atomic():
        queue = WorkQueue.objects.select_for_update().get(pk=queue.pk)
        if body.get("name") is not None and data["name"] != queue.name:
            queue.name = data["name"]
        for key in ("description", "concurrency_limit", "last_polled"):
            if key in body:
                setattr(queue, key, data.get(key))
        if "filter" in body:
            queue.filter = _filter_json(data.get("filter"))
        if body.get("priority") is not None and data["priority"] != queue.priority:
            WorkQueue.objects.filter(work_pool_id=queue.work_pool_id, priority__gte=data["priority"]).exclude(
                pk=queue.pk
            ).update(priority=F("priority") + 1)
            queue.priority = data["priority"]
        if "is_paused" in body and data.get("is_paused") is not None:
            queue.is_paused = data["is_paused"]
            if queue.is_paused:
                queue.status = WorkQueueStatus.PAUSED
            elif queue.status == WorkQueueStatus.PAUSED:
                queue.status = WorkQueueStatus.NOT_READY
        try:
            with transaction.atomic():
                queue.save()
        except IntegrityError:
            raise Conflict("A work queue with this name already exists in the work pool.") from None


def _filter_json(value):
    if value is None:
        return None
    return {
        "tags": value.get("tags"),
        "deployment_ids": [str(i) for i in value["deployment_ids"]] if value.get("deployment_ids") else None,
    }


def delete_queue(queue: WorkQueue) -> None:
    with transaction.atomic():
        pool = queue.work_pool
        if pool.default_queue_id == queue.id:
            raise BodyInvalid(
                [
                    {
                        "loc": ["path", "name"],
                        "msg": "The default queue of a work pool cannot be deleted.",
                        "type": "value_error",
                    }
                ],
                None,
            )
        from ..models import Deployment

        Deployment.objects.filter(work_queue=queue).update(work_queue=None)
        queue.delete()


class WorkQueueViewSet(PrefectViewSet):
    """The id-addressed work queue API of older clients and the CLI."""

    model = WorkQueue
    serializer_class = WorkQueueCreateSerializer
    filter_models = {"work_queues": (WORK_QUEUE_FILTER, same)}
    sorts = {"NAME_ASC": ["name"]}
    default_sort = "NAME_ASC"
    not_found = "Work queue not found."

    def get_queryset(self):
        return WorkQueue.objects.select_related("work_pool")

    def present_many(self, objects):
        return queues_json(objects)

    def present(self, obj):
        return queues_json([obj])[0]

    def create(self, request):
        data = dict(validate(WorkQueueCreateSerializer, body_of(request)))
        pool_name = data.pop("work_pool_name", None)
        pool = pools.pool_by_name(pool_name) if pool_name else pools.default_agent_pool()
        queue = pools.create_queue(pool, **data)
        return Response(self.present(queue), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        update_queue(self.get_object(pk), body_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, queue):
        delete_queue(queue)

    def by_name(self, request, name=None):
        queue = (
            self.get_queryset()
            .filter(name=name)
            .order_by(
                # a queue of the default agent pool wins, as names are unique there
                F("work_pool__name").desc(nulls_last=True)
            )
        )
        found = queue.filter(work_pool__name=DEFAULT_AGENT_POOL).first() or queue.first()
        if found is None:
            raise NotFound("work queue not found")  # Prefect's words for this route
        return Response(self.present(found))

    def get_runs(self, request, pk=None):
        queue = self.get_object(pk)
        body = body_of(request)
        before = _time(body, "scheduled_before")
        limit = limit_of(body)
        runs = FlowRun.objects.select_related("state").filter(work_queue_id=queue.id, state_type=StateType.SCHEDULED)
        if before is not None:
            runs = runs.filter(next_scheduled_start_time__lte=before)
        result = [flow_run_json(r) for r in runs.order_by("next_scheduled_start_time")[:limit]]
        if request.headers.get("X-Prefect-Ui", "").lower() != "true":
            pools.mark_polled(queues=[queue])
        return Response(result)

    def status_detail(self, request, pk=None):
        queue = self.get_object(pk)
        late = FlowRun.objects.filter(work_queue_id=queue.id, state_type=StateType.SCHEDULED, state_name="Late").count()
        healthy = queue.status == WorkQueueStatus.READY and late == 0
        return Response(
            {
                "healthy": healthy,
                "late_runs_count": late,
                "last_polled": work_queue_json(queue)["last_polled"],
                "health_check_policy": {"maximum_late_runs": 0, "maximum_seconds_since_last_polled": 60},
            }
        )

    def concurrency_status(self, request, pk=None):
        queue = self.get_object(pk)
        body = body_of(request)
        page = 1 if body.get("page") is None else body["page"]
        limit = limit_of(body)
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_INT:
            raise BodyInvalid(
                [{"loc": ["body", "page"], "msg": f"Input should be between 1 and {MAX_INT}", "type": "value_error"}],
                body,
            )
        holding = _holding(queue)
        count = holding.count()
        runs = holding[(page - 1) * limit : page * limit] if limit else []
        return Response(
            {
                "active_slots": count,
                "concurrency_limit": queue.concurrency_limit,
                "flow_runs": [slot_summary(run) for run in runs],
                "count": count,
                "limit": limit,
                "pages": math.ceil(count / limit) if limit else 0,
                "page": page,
            }
        )
