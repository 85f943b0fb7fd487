"""Work pools, their queues and workers: what workers poll, and what makes them ready.

A pool is READY while at least one of its workers sends heartbeats, a queue while
someone polls it, a deployment while its runs are polled; the foreman service turns them
NOT_READY when that stops. Handing out runs honours queue priority (1 is served first)
and the concurrency limits of queues and pools.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from orchestrator.api.errors import Conflict, NotFound
from runs.choices import StateType
from runs.models import FlowRun

from .choices import DeploymentStatus, WorkerStatus, WorkPoolStatus, WorkQueueStatus
from .models import DEFAULT_AGENT_POOL, DEFAULT_QUEUE, Deployment, Worker, WorkPool, WorkQueue

# Runs that occupy a slot of their queue or pool.
OCCUPYING = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]


def pool_by_name(name: str, *, for_update: bool = False) -> WorkPool:
    qs = WorkPool.objects.select_related("default_queue")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    pool = qs.filter(name=name).first()
    if pool is None:
        raise NotFound(f'Work pool "{name}" not found.')
    return pool


def queue_by_name(pool: WorkPool, name: str) -> WorkQueue:
    queue = WorkQueue.objects.select_related("work_pool").filter(work_pool=pool, name=name).first()
    if queue is None:
        raise NotFound(f"Work pool queue '{pool.name}/{name}' not found.")
    return queue


def create_pool(**data: Any) -> WorkPool:
    """A pool with its `default` queue."""
    try:
        with transaction.atomic():
            pool = WorkPool.objects.create(**data)
            queue = WorkQueue.objects.create(work_pool=pool, name=DEFAULT_QUEUE, priority=1)
            pool.default_queue = queue
            if pool.is_paused:
                pool.status = WorkPoolStatus.PAUSED
            pool.save(update_fields=["default_queue", "status"])
    except IntegrityError:
        raise Conflict("A work pool with this name already exists.") from None
    return pool


def default_agent_pool() -> WorkPool:
    """The pool of queues created without one (legacy /work_queues API)."""
    pool = WorkPool.objects.select_related("default_queue").filter(name=DEFAULT_AGENT_POOL).first()
    if pool is not None:
        return pool
    try:
        return create_pool(name=DEFAULT_AGENT_POOL, type="prefect-agent", description="Queues created without a pool")
    except Conflict:
        return WorkPool.objects.get(name=DEFAULT_AGENT_POOL)


def create_queue(pool: WorkPool, **data: Any) -> WorkQueue:
    """A queue, placed at the given priority (the others after it move down) or last."""
    with transaction.atomic():
        priority = data.pop("priority", None)
        existing = WorkQueue.objects.select_for_update().filter(work_pool=pool)
        if priority is None:
            priority = (max((q.priority for q in existing), default=0)) + 1
        else:
            existing.filter(priority__gte=priority).update(priority=F("priority") + 1)
        try:
            with transaction.atomic():
                queue = WorkQueue.objects.create(work_pool=pool, priority=priority, **data)
        except IntegrityError:
            raise Conflict(f"A work queue with this name already exists in work pool {pool.name!r}.") from None
        if queue.is_paused:
            queue.status = WorkQueueStatus.PAUSED
            queue.save(update_fields=["status"])
    return queue


def ensure_queue(pool: WorkPool, name: str) -> WorkQueue:
    queue = WorkQueue.objects.filter(work_pool=pool, name=name).first()
    if queue is not None:
        return queue
    try:
        return create_queue(pool, name=name)
    except Conflict:
        return WorkQueue.objects.get(work_pool=pool, name=name)


def resolve_queue(pool_name: str | None, queue_name: str | None, *, create: bool = False) -> WorkQueue | None:
    """The queue a deployment or run names: a queue of a pool, the pool's default queue, or a
    queue of the default agent pool when only a queue name is given."""
    if pool_name:
        pool = pool_by_name(pool_name)
        if queue_name:
            return ensure_queue(pool, queue_name) if create else queue_by_name(pool, queue_name)
        if pool.default_queue_id is None:
            return ensure_queue(pool, DEFAULT_QUEUE)
        return pool.default_queue
    if queue_name:
        return ensure_queue(default_agent_pool(), queue_name)
    return None


def queue_columns(queue: WorkQueue | None) -> dict[str, Any]:
    """The denormalised queue and pool columns of a flow run placed in `queue`."""
    if queue is None:
        return {"work_queue_id": None, "work_queue_name": None, "work_pool_id": None, "work_pool_name": None}
    return {
        "work_queue_id": queue.id,
        "work_queue_name": queue.name,
        "work_pool_id": queue.work_pool_id,
        "work_pool_name": queue.work_pool.name,
    }


# -- heartbeats and readiness -------------------------------------------------------


def heartbeat(pool: WorkPool, name: str, interval: int | None) -> Worker:
    now = timezone.now()
    with transaction.atomic():
        worker, _ = Worker.objects.update_or_create(
            work_pool=pool,
            name=name,
            defaults={
                "last_heartbeat_time": now,
                "heartbeat_interval_seconds": interval,
                "status": WorkerStatus.ONLINE,
            },
        )
        WorkPool.objects.filter(pk=pool.pk, status=WorkPoolStatus.NOT_READY, is_paused=False).update(
            status=WorkPoolStatus.READY, last_transitioned_status_at=now
        )
    return worker


def mark_polled(queues: list[WorkQueue] = (), deployment_ids: list = ()) -> None:
    """Queues and deployments whose runs someone just asked for are READY."""
    now = timezone.now()
    queue_ids = [q.id for q in queues]
    if queue_ids:
        WorkQueue.objects.filter(id__in=queue_ids).update(last_polled=now)
        WorkQueue.objects.filter(id__in=queue_ids, status=WorkQueueStatus.NOT_READY, is_paused=False).update(
            status=WorkQueueStatus.READY
        )
        Deployment.objects.filter(work_queue_id__in=queue_ids).update(last_polled=now, status=DeploymentStatus.READY)
    if deployment_ids:
        Deployment.objects.filter(id__in=list(deployment_ids)).update(last_polled=now, status=DeploymentStatus.READY)


def occupied_slots(*, queue_ids: list | None = None, pool_id=None) -> dict:
    qs = FlowRun.objects.filter(state_type__in=OCCUPYING)
    if pool_id is not None:
        return {"pool": qs.filter(work_pool_id=pool_id).count()}
    rows = qs.filter(work_queue_id__in=queue_ids).values("work_queue_id").annotate(n=Count("id")).order_by()
    return {row["work_queue_id"]: row["n"] for row in rows}


def scheduled_runs_for_pool(
    pool: WorkPool,
    queues: list[WorkQueue],
    scheduled_before: dt.datetime | None,
    scheduled_after: dt.datetime | None,
    limit: int,
) -> list[tuple[WorkQueue, FlowRun]]:
    """Runs due in these queues, highest-priority queue first, within free slots."""
    if pool.is_paused:
        return []
    queues = sorted((q for q in queues if not q.is_paused), key=lambda q: (q.priority, q.name))
    pool_free = None
    if pool.concurrency_limit is not None:
        pool_free = max(0, pool.concurrency_limit - occupied_slots(pool_id=pool.pk)["pool"])
    limited = [q.id for q in queues if q.concurrency_limit is not None]
    in_use = occupied_slots(queue_ids=limited) if limited else {}
    picked: list[tuple[WorkQueue, FlowRun]] = []
    for queue in queues:
        room = limit - len(picked)
        if pool_free is not None:
            room = min(room, pool_free - len(picked))
        if queue.concurrency_limit is not None:
            room = min(room, queue.concurrency_limit - in_use.get(queue.id, 0))
        if room <= 0:
            if pool_free is not None and len(picked) >= pool_free:
                break
            continue
        runs = (
            FlowRun.objects.select_related("state")
            .filter(work_queue_id=queue.id, state_type=StateType.SCHEDULED)
            # A run retrying in its own process is not free for another worker to start.
            .exclude(empirical_policy__retry_type="in_process")
        )
        if scheduled_before is not None:
            runs = runs.filter(next_scheduled_start_time__lte=scheduled_before)
        if scheduled_after is not None:
            runs = runs.filter(next_scheduled_start_time__gte=scheduled_after)
        for run in runs.order_by("next_scheduled_start_time")[:room]:
            picked.append((queue, run))
        if len(picked) >= limit:
            break
    return picked
