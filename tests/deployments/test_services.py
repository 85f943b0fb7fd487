"""The deployments app's loop services: the scheduler, the foreman and cancellation cleanup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from deployments import pools
from deployments.models import Deployment, DeploymentSchedule, Worker, WorkPool, WorkQueue
from deployments.schedules import normalize
from deployments.services import CancellationCleanup, Foreman, Scheduler
from runs.models import FlowRun, FlowRunState, TaskRun
from tests.runs.helpers import flow_run_in, propose, state, task_run_in

pytestmark = pytest.mark.django_db


def ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


class TestScheduler:
    def scheduled(self, flow, name: str, **fields) -> Deployment:
        deployment = Deployment.objects.create(flow=flow, name=name, **fields)
        DeploymentSchedule.objects.create(deployment=deployment, schedule=normalize({"interval": 3600}))
        return deployment

    def test_it_stocks_every_active_schedule(self, flow):
        first = self.scheduled(flow, "first")
        second = self.scheduled(flow, "second")
        created = Scheduler().run_once()
        assert created == 6
        for deployment in (first, second):
            assert FlowRun.objects.filter(deployment_id=deployment.pk, auto_scheduled=True).count() == 3

    def test_it_makes_nothing_new_on_the_next_pass(self, flow):
        self.scheduled(flow, "first")
        Scheduler().run_once()
        assert Scheduler().run_once() == 0

    def test_it_skips_paused_deployments_and_inactive_schedules(self, flow):
        self.scheduled(flow, "paused", paused=True)
        idle = Deployment.objects.create(flow=flow, name="idle")
        DeploymentSchedule.objects.create(deployment=idle, schedule=normalize({"interval": 60}), active=False)
        assert Scheduler().run_once() == 0
        assert not FlowRun.objects.exists()

    def test_it_pages_through_every_deployment(self, flow):
        for n in range(5):
            self.scheduled(flow, f"d{n}")
        scheduler = Scheduler()
        scheduler.options = {**scheduler.options, "deployment_batch_size": 2}
        assert scheduler.run_once() == 15

    def test_one_broken_deployment_does_not_stop_the_others(self, flow, monkeypatch):
        broken = self.scheduled(flow, "broken")
        fine = self.scheduled(flow, "fine")
        from deployments import scheduling

        real = scheduling.schedule_deployment

        def schedule(deployment, **kwargs):
            if deployment.pk == broken.pk:
                raise RuntimeError("boom")
            return real(deployment, **kwargs)

        monkeypatch.setattr(scheduling, "schedule_deployment", schedule)
        assert Scheduler().run_once() == 3
        assert FlowRun.objects.filter(deployment_id=fine.pk).count() == 3


class TestForeman:
    @pytest.fixture
    def pool(self) -> WorkPool:
        pool = pools.create_pool(name="pool", type="process")
        pools.heartbeat(pool, "worker-1", 30)
        return pool

    def test_a_worker_silent_for_three_intervals_goes_offline_and_its_pool_not_ready(self, pool):
        Worker.objects.update(last_heartbeat_time=ago(seconds=91))
        result = Foreman().run_once()
        pool.refresh_from_db()
        assert (result["workers"], result["pools"]) == (1, 1)
        assert Worker.objects.get().status == "OFFLINE"
        assert pool.status == "NOT_READY"

    def test_a_worker_heard_from_recently_keeps_its_pool_ready(self, pool):
        Worker.objects.update(last_heartbeat_time=ago(seconds=80))
        Foreman().run_once()
        pool.refresh_from_db()
        assert Worker.objects.get().status == "ONLINE"
        assert pool.status == "READY"

    def test_a_worker_without_an_interval_is_judged_by_the_fallback(self, pool):
        Worker.objects.update(heartbeat_interval_seconds=None, last_heartbeat_time=ago(seconds=85))
        Foreman().run_once()
        assert Worker.objects.get().status == "ONLINE"
        Worker.objects.update(last_heartbeat_time=ago(seconds=95))
        Foreman().run_once()
        assert Worker.objects.get().status == "OFFLINE"

    def test_a_pool_with_one_live_worker_stays_ready(self, pool):
        pools.heartbeat(pool, "worker-2", 30)
        Worker.objects.filter(name="worker-1").update(last_heartbeat_time=ago(minutes=10))
        Foreman().run_once()
        pool.refresh_from_db()
        assert pool.status == "READY"

    def test_a_paused_pool_stays_paused(self, pool):
        WorkPool.objects.filter(pk=pool.pk).update(is_paused=True, status="PAUSED")
        Worker.objects.update(last_heartbeat_time=ago(minutes=10))
        Foreman().run_once()
        pool.refresh_from_db()
        assert pool.status == "PAUSED"

    def test_queues_and_deployments_nobody_polls_become_not_ready(self, flow, pool):
        deployment = Deployment.objects.create(flow=flow, name="d", work_queue=pool.default_queue)
        pools.mark_polled(queues=[pool.default_queue])
        assert Foreman().run_once()["queues"] == 0
        WorkQueue.objects.update(last_polled=ago(seconds=61))
        Deployment.objects.update(last_polled=ago(seconds=61))
        result = Foreman().run_once()
        deployment.refresh_from_db()
        assert (result["queues"], result["deployments"]) == (1, 1)
        assert WorkQueue.objects.get(pk=pool.default_queue_id).status == "NOT_READY"
        assert deployment.status == "NOT_READY"


class TestCancellationCleanup:
    def test_task_runs_of_a_cancelled_flow_run_are_cancelled(self, flow):
        run = flow_run_in(flow, "RUNNING")
        running = task_run_in(run, "RUNNING", task_key="a")
        pending = task_run_in(run, "PENDING", task_key="b")
        done = task_run_in(run, "COMPLETED", task_key="c")
        propose(run, state("CANCELLED"), force=True)
        assert CancellationCleanup().run_once() == 2
        states = dict(TaskRun.objects.filter(flow_run=run).values_list("pk", "state_type"))
        assert states == {running.pk: "CANCELLED", pending.pk: "CANCELLED", done.pk: "COMPLETED"}

    def test_task_runs_of_a_running_flow_run_are_left_alone(self, flow):
        run = flow_run_in(flow, "RUNNING")
        task_run_in(run, "RUNNING")
        assert CancellationCleanup().run_once() == 0

    def test_subflows_of_a_cancelled_run_are_cancelled_too(self, flow):
        parent = flow_run_in(flow, "RUNNING")
        placeholder = task_run_in(parent, "RUNNING", task_key="child")
        child = flow_run_in(flow, "RUNNING", parent_task_run_id=placeholder.pk)
        with_infra = flow_run_in(flow, "RUNNING", parent_task_run_id=placeholder.pk, infrastructure_pid="4242")
        propose(parent, state("CANCELLED"), force=True)
        CancellationCleanup().run_once()
        child.refresh_from_db()
        with_infra.refresh_from_db()
        assert child.state_type == "CANCELLED"
        assert with_infra.state_type == "CANCELLING"  # its worker tears the infrastructure down

    def test_a_run_stuck_cancelling_past_the_timeout_is_cancelled(self, flow):
        stuck = flow_run_in(flow, "CANCELLING")
        fresh = flow_run_in(flow, "CANCELLING")
        FlowRun.objects.filter(pk=stuck.pk).update(state_timestamp=ago(seconds=301))
        assert CancellationCleanup().run_once() == 1
        stuck.refresh_from_db()
        fresh.refresh_from_db()
        assert (stuck.state_type, fresh.state_type) == ("CANCELLED", "CANCELLING")
        assert FlowRunState.objects.get(pk=stuck.state_id).message == "Flow run cancellation timed out."

    def test_the_timeout_comes_from_the_settings(self, flow):
        stuck = flow_run_in(flow, "CANCELLING")
        FlowRun.objects.filter(pk=stuck.pk).update(state_timestamp=ago(seconds=30))
        service = CancellationCleanup()
        service.options = {**service.options, "cancelling_timeout_seconds": 10}
        assert service.run_once() == 1
