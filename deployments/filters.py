"""Filter models and sorts of deployments, work pools, work queues and workers, and how
they narrow flows, flow runs and task runs (registered in runs.filters.RELATED_FILTERS)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from orchestrator.api.filters import (
    BOOL,
    CHOICE,
    INT,
    STR,
    Model,
    after,
    before,
    custom,
    eq,
    icontains,
    in_,
    list_of,
    not_in,
    same,
    tags_all,
    tags_any,
    tags_empty,
)
from runs.filters import RELATED_FILTERS

from .choices import WorkerStatus
from .models import Deployment, WorkPool, WorkQueue


def _starts_with_any(prefixes: list[str]) -> Q:
    """Case-insensitive: any of the prefixes."""
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(name__istartswith=prefix)
    return q


def _flow_or_deployment_name(value: str) -> Q:
    return Q(name__icontains=value) | Q(flow__name__icontains=value)


DEPLOYMENT_FILTER = Model(
    {
        "id": Model({"any_": in_("id"), "not_any_": not_in("id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
        "flow_or_deployment_name": Model({"like_": custom(_flow_or_deployment_name, STR)}, operator=False),
        "paused": Model({"eq_": eq("paused", BOOL)}, operator=False),
        "tags": Model({"all_": tags_all("tags"), "any_": tags_any("tags"), "is_null_": tags_empty("tags")}),
        "work_queue_name": Model({"any_": in_("work_queue_name", STR)}, operator=False),
        # Kept for old clients; Prefect no longer filters on it either.
        "concurrency_limit": Model(
            {
                "ge_": custom(lambda v: Q(), INT),
                "le_": custom(lambda v: Q(), INT),
                "is_null_": custom(lambda v: Q(), BOOL),
            },
            operator=False,
        ),
    }
)

WORK_POOL_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "name": Model({"any_": in_("name", STR)}, operator=False),
        "type": Model({"any_": in_("type", STR)}, operator=False),
    }
)

WORK_QUEUE_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "name": Model(
            {"any_": in_("name", STR), "startswith_": custom(_starts_with_any, list_of(STR))}, operator=False
        ),
    }
)

WORKER_FILTER = Model(
    {
        "last_heartbeat_time": Model(
            {"before_": before("last_heartbeat_time"), "after_": after("last_heartbeat_time")}, operator=False
        ),
        "status": Model(
            {
                "any_": in_("status", CHOICE(*WorkerStatus.values)),
                "not_any_": not_in("status", CHOICE(*WorkerStatus.values)),
            },
            operator=False,
        ),
    }
)

DEPLOYMENT_SORTS = {
    "CREATED_DESC": ["-created"],
    "UPDATED_DESC": ["-updated"],
    "NAME_ASC": ["name"],
    "NAME_DESC": ["-name"],
}


def deployment_body_filters() -> dict:
    from runs.filters import FLOW_FILTER, FLOW_RUN_FILTER, TASK_RUN_FILTER
    from runs.models import Flow, FlowRun, TaskRun

    return {
        "flows": (FLOW_FILTER, lambda q: Q(flow_id__in=Flow.objects.filter(q).values("id"))),
        "flow_runs": (
            FLOW_RUN_FILTER,
            lambda q: Q(Exists(FlowRun.objects.filter(q, deployment_id=OuterRef("pk")))),
        ),
        "task_runs": (
            TASK_RUN_FILTER,
            lambda q: Q(Exists(TaskRun.objects.filter(q, flow_run__deployment_id=OuterRef("pk")))),
        ),
        "deployments": (DEPLOYMENT_FILTER, same),
        "work_pools": (
            WORK_POOL_FILTER,
            lambda q: Q(work_queue__work_pool_id__in=WorkPool.objects.filter(q).values("id")),
        ),
        "work_pool_queues": (
            WORK_QUEUE_FILTER,
            lambda q: Q(work_queue_id__in=WorkQueue.objects.filter(q).values("id")),
        ),
    }


def register() -> None:
    """Teach flow, flow-run and task-run lists to filter by these resources."""
    deployments_of = lambda q: Deployment.objects.filter(q).values("id")  # noqa: E731
    queues_of_pools = lambda q: WorkQueue.objects.filter(work_pool__in=WorkPool.objects.filter(q)).values("id")  # noqa: E731
    RELATED_FILTERS["deployments"] = {
        "flow": (DEPLOYMENT_FILTER, lambda q: Q(Exists(Deployment.objects.filter(q, flow_id=OuterRef("pk"))))),
        "flow_run": (DEPLOYMENT_FILTER, lambda q: Q(deployment_id__in=deployments_of(q))),
        "task_run": (DEPLOYMENT_FILTER, lambda q: Q(flow_run__deployment_id__in=deployments_of(q))),
    }
    RELATED_FILTERS["work_pools"] = {
        "flow": (
            WORK_POOL_FILTER,
            lambda q: Q(
                Exists(Deployment.objects.filter(flow_id=OuterRef("pk"), work_queue_id__in=queues_of_pools(q)))
            ),
        ),
        "flow_run": (WORK_POOL_FILTER, lambda q: Q(work_queue_id__in=queues_of_pools(q))),
        "task_run": (WORK_POOL_FILTER, lambda q: Q(flow_run__work_queue_id__in=queues_of_pools(q))),
    }
    RELATED_FILTERS["work_queues"] = {
        "flow": (
            WORK_QUEUE_FILTER,
            lambda q: Q(
                Exists(
                    Deployment.objects.filter(
                        flow_id=OuterRef("pk"), work_queue_id__in=WorkQueue.objects.filter(q).values("id")
                    )
                )
            ),
        ),
        "flow_run": (WORK_QUEUE_FILTER, lambda q: Q(work_queue_id__in=WorkQueue.objects.filter(q).values("id"))),
        "task_run": (
            WORK_QUEUE_FILTER,
            lambda q: Q(flow_run__work_queue_id__in=WorkQueue.objects.filter(q).values("id")),
        ),
    }
