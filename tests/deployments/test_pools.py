"""Work pools and their queues: what a worker is handed, and what makes a pool ready."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from deployments import pools
from deployments.models import DEFAULT_AGENT_POOL, Deployment, Worker, WorkPool, WorkQueue
from orchestrator.api.errors import Conflict, NotFound
from runs.models import FlowRun
from tests.runs.helpers import flow_run_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool() -> WorkPool:
    return pools.create_pool(name="pool", type="process")


def queued(flow, queue: WorkQueue, type_: str = "SCHEDULED", **fields) -> FlowRun:
    return flow_run_in(flow, type_, **pools.queue_columns(queue), **fields)


def handed_out(pool: WorkPool, queues=None, limit: int = 10, before=None, after=None) -> list[tuple[str, FlowRun]]:
    before = before or timezone.now() + dt.timedelta(minutes=1)
    pool.refresh_from_db()
    queues = list(pool.queues.all()) if queues is None else queues
    return [(queue.name, run) for queue, run in pools.scheduled_runs_for_pool(pool, queues, before, after, limit)]


class TestCreatingPoolsAndQueues:
    def test_a_new_pool_has_a_default_queue(self, pool):
        queue = pool.default_queue
        assert (queue.name, queue.priority, queue.work_pool_id) == ("default", 1, pool.pk)
        assert pool.status == "NOT_READY"

    def test_a_pool_created_paused_says_so(self):
        assert pools.create_pool(name="held", is_paused=True).status == "PAUSED"

    def test_a_pool_name_is_unique(self, pool):
        with pytest.raises(Conflict):
            pools.create_pool(name="pool")
        assert WorkPool.objects.filter(name="pool").count() == 1

    def test_a_queue_without_a_priority_goes_last(self, pool):
        pools.create_queue(pool, name="bulk")
        pools.create_queue(pool, name="backfill")
        assert list(pool.queues.order_by("priority").values_list("name", "priority")) == [
            ("default", 1),
            ("bulk", 2),
            ("backfill", 3),
        ]

    def test_a_queue_given_a_priority_moves_the_others_down(self, pool):
        pools.create_queue(pool, name="bulk")
        pools.create_queue(pool, name="critical", priority=1)
        assert list(pool.queues.order_by("priority").values_list("name", flat=True)) == ["critical", "default", "bulk"]

    def test_a_queue_name_is_unique_within_its_pool(self, pool):
        pools.create_queue(pool, name="bulk")
        with pytest.raises(Conflict):
            pools.create_queue(pool, name="bulk")
        other = pools.create_pool(name="other")
        assert pools.create_queue(other, name="bulk").work_pool == other

    def test_a_queue_created_paused_says_so(self, pool):
        assert pools.create_queue(pool, name="held", is_paused=True).status == "PAUSED"

    def test_a_deployment_names_a_queue_by_pool_and_name(self, pool):
        assert pools.resolve_queue("pool", None) == pool.default_queue
        created = pools.resolve_queue("pool", "gpu", create=True)
        assert (created.work_pool, created.name) == (pool, "gpu")
        with pytest.raises(NotFound):
            pools.resolve_queue("pool", "nope")
        with pytest.raises(NotFound):
            pools.resolve_queue("nope", None)

    def test_a_queue_named_without_a_pool_lives_in_the_default_agent_pool(self):
        queue = pools.resolve_queue(None, "legacy")
        assert queue.work_pool.name == DEFAULT_AGENT_POOL
        assert pools.resolve_queue(None, "legacy") == queue


class TestHandingOutRuns:
    def test_the_priority_one_queue_is_served_first(self, flow, pool):
        bulk = pools.create_queue(pool, name="bulk")
        critical = pools.create_queue(pool, name="critical", priority=1)
        early = queued(flow, bulk, run_name="early-bulk")
        late = queued(flow, critical, run_name="late-critical")
        picked = handed_out(pool, limit=1)
        assert picked == [("critical", late)]
        assert handed_out(pool) == [("critical", late), ("bulk", early)]
        assert critical.priority < bulk.priority

    def test_runs_not_yet_due_wait(self, flow, pool):
        run = queued(flow, pool.default_queue)
        FlowRun.objects.filter(pk=run.pk).update(next_scheduled_start_time=timezone.now() + dt.timedelta(hours=1))
        assert handed_out(pool) == []
        assert handed_out(pool, before=timezone.now() + dt.timedelta(hours=2)) == [("default", run)]

    def test_only_scheduled_runs_are_handed_out(self, flow, pool):
        queued(flow, pool.default_queue, "PENDING")
        queued(flow, pool.default_queue, "COMPLETED")
        waiting = queued(flow, pool.default_queue)
        assert handed_out(pool) == [("default", waiting)]

    def test_a_queue_at_its_concurrency_limit_hands_out_nothing(self, flow, pool):
        limited = pools.create_queue(pool, name="limited", concurrency_limit=2)
        queued(flow, limited, "RUNNING")
        queued(flow, limited, "PENDING")
        queued(flow, limited)
        assert handed_out(pool) == []
        free = pools.create_queue(pool, name="free")
        other = queued(flow, free)
        assert handed_out(pool) == [("free", other)]

    def test_a_queue_with_room_for_one_hands_out_one(self, flow, pool):
        limited = pools.create_queue(pool, name="limited", concurrency_limit=2)
        queued(flow, limited, "CANCELLING")
        first = queued(flow, limited, run_name="first")
        queued(flow, limited, run_name="second")
        assert handed_out(pool) == [("limited", first)]

    def test_the_pools_concurrency_limit_counts_runs_of_all_its_queues(self, flow, pool):
        bulk = pools.create_queue(pool, name="bulk")
        WorkPool.objects.filter(pk=pool.pk).update(concurrency_limit=2)
        queued(flow, bulk, "RUNNING")
        first = queued(flow, pool.default_queue)
        queued(flow, bulk)
        assert handed_out(pool) == [("default", first)]

    def test_a_paused_pool_hands_out_nothing(self, flow, pool):
        queued(flow, pool.default_queue)
        WorkPool.objects.filter(pk=pool.pk).update(is_paused=True)
        assert handed_out(pool) == []

    def test_a_paused_queue_hands_out_nothing(self, flow, pool):
        held = pools.create_queue(pool, name="held", priority=1, is_paused=True)
        queued(flow, held)
        waiting = queued(flow, pool.default_queue)
        assert handed_out(pool) == [("default", waiting)]

    def test_only_the_queues_asked_for_are_served(self, flow, pool):
        bulk = pools.create_queue(pool, name="bulk")
        queued(flow, pool.default_queue)
        run = queued(flow, bulk)
        assert handed_out(pool, queues=[bulk]) == [("bulk", run)]


class TestReadiness:
    def test_a_heartbeat_puts_the_worker_online_and_the_pool_ready(self, pool):
        worker = pools.heartbeat(pool, "worker-1", 30)
        pool.refresh_from_db()
        assert (worker.status, worker.heartbeat_interval_seconds) == ("ONLINE", 30)
        assert worker.last_heartbeat_time is not None
        assert pool.status == "READY"
        assert pool.last_transitioned_status_at is not None

    def test_another_heartbeat_updates_the_same_worker(self, pool):
        first = pools.heartbeat(pool, "worker-1", 30)
        Worker.objects.filter(pk=first.pk).update(status="OFFLINE")
        second = pools.heartbeat(pool, "worker-1", 15)
        assert second.pk == first.pk
        assert (second.status, Worker.objects.count()) == ("ONLINE", 1)

    def test_a_paused_pool_stays_paused(self):
        held = pools.create_pool(name="held", is_paused=True)
        pools.heartbeat(held, "worker-1", 30)
        held.refresh_from_db()
        assert held.status == "PAUSED"

    def test_polling_makes_queues_and_their_deployments_ready(self, flow, pool):
        deployment = Deployment.objects.create(flow=flow, name="d", work_queue=pool.default_queue)
        pools.mark_polled(queues=[pool.default_queue])
        queue = WorkQueue.objects.get(pk=pool.default_queue_id)
        deployment.refresh_from_db()
        assert (queue.status, deployment.status) == ("READY", "READY")
        assert queue.last_polled is not None and deployment.last_polled is not None

    def test_polling_a_paused_queue_leaves_it_paused(self, pool):
        held = pools.create_queue(pool, name="held", is_paused=True)
        pools.mark_polled(queues=[held])
        held.refresh_from_db()
        assert held.status == "PAUSED"
