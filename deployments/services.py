"""Loop services of deployments and work pools: the scheduler, the foreman (readiness of
workers, pools, queues and deployments) and cancellation cleanup."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orchestrator.services import Service, claimed
from runs.choices import TERMINAL, StateType
from runs.models import FlowRun, TaskRun
from runs.orchestration import engine
from runs.orchestration.states import State, cancelled

from . import scheduling
from .choices import DeploymentStatus, WorkerStatus, WorkPoolStatus, WorkQueueStatus
from .models import Deployment, Worker, WorkPool, WorkQueue

logger = logging.getLogger("orchestrator.services")

# States a run can still leave; cleanup only touches runs in them.
ACTIVE_OR_WAITING = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]


class Scheduler(Service):
    """Keep every active schedule stocked with upcoming runs (at least `min_runs` and at least
    `min_scheduled_time` ahead). Slots are unique, so several schedulers never duplicate a run."""

    name = "scheduler"

    def run_once(self) -> int:
        created = 0
        batch = int(self.options.get("deployment_batch_size", 100))
        last = None
        while True:
            deployments = (
                Deployment.objects.filter(paused=False, schedules__active=True)
                .select_related("flow", "work_queue__work_pool")
                .distinct()
                .order_by("id")
            )
            if last is not None:
                deployments = deployments.filter(id__gt=last)
            page = list(deployments[:batch])
            for deployment in page:
                try:
                    created += len(scheduling.schedule_deployment(deployment))
                except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
                    logger.exception("could not schedule runs of deployment %s", deployment.id)
            if len(page) < batch:
                return created
            last = page[-1].id


class Foreman(Service):
    """Workers that stopped sending heartbeats go OFFLINE; pools without online workers,
    and queues and deployments nobody polls any more, become NOT_READY."""

    name = "foreman"

    def run_once(self) -> dict:
        now = timezone.now()
        multiple = float(self.options.get("inactivity_heartbeat_multiple", 3))
        fallback = float(self.options.get("fallback_heartbeat_interval_seconds", 30))
        offline = 0
        for worker in Worker.objects.filter(status=WorkerStatus.ONLINE).only(
            "id", "last_heartbeat_time", "heartbeat_interval_seconds"
        ):
            interval = worker.heartbeat_interval_seconds or fallback
            if worker.last_heartbeat_time is None or worker.last_heartbeat_time < now - dt.timedelta(
                seconds=interval * multiple
            ):
                offline += Worker.objects.filter(pk=worker.pk, status=WorkerStatus.ONLINE).update(
                    status=WorkerStatus.OFFLINE
                )
        with transaction.atomic():
            idle_pools = WorkPool.objects.filter(status=WorkPoolStatus.READY).exclude(
                workers__status=WorkerStatus.ONLINE
            )
            pools = idle_pools.update(status=WorkPoolStatus.NOT_READY, last_transitioned_status_at=now)
        queue_cutoff = now - dt.timedelta(seconds=float(self.options.get("work_queue_last_polled_timeout_seconds", 60)))
        queues = (
            WorkQueue.objects.filter(status=WorkQueueStatus.READY)
            .filter(Q(last_polled__lt=queue_cutoff) | Q(last_polled__isnull=True))
            .update(status=WorkQueueStatus.NOT_READY)
        )
        deployment_cutoff = now - dt.timedelta(
            seconds=float(self.options.get("deployment_last_polled_timeout_seconds", 60))
        )
        deployments = (
            Deployment.objects.filter(status=DeploymentStatus.READY)
            .filter(Q(last_polled__lt=deployment_cutoff) | Q(last_polled__isnull=True))
            .update(status=DeploymentStatus.NOT_READY, updated=F("updated"))
        )
        return {"workers": offline, "pools": pools, "queues": queues, "deployments": deployments}


class CancellationCleanup(Service):
    """Finish what cancellation leaves behind: task runs and subflows of cancelled runs are
    cancelled too, and a run stuck in Cancelling past the timeout is marked Cancelled."""

    name = "cancellation_cleanup"
    BATCH = 200

    def run_once(self) -> int:
        done = self._orphaned_task_runs() + self._subflows_of_cancelled() + self._stuck_cancelling()
        return done

    def _orphaned_task_runs(self) -> int:
        count = 0
        cancelled_runs = FlowRun.objects.filter(state_type=StateType.CANCELLED).values("id")
        pending = (
            TaskRun.objects.filter(flow_run_id__in=cancelled_runs)
            .exclude(state_type__in=list(TERMINAL))
            .values_list("id", flat=True)[: self.BATCH]
        )
        for task_run_id in list(pending):
            with claimed(TaskRun, task_run_id, state_type__in=ACTIVE_OR_WAITING) as task_run:
                if task_run is None:
                    continue
                engine.set_task_run_state(
                    task_run_id, cancelled("The flow run was cancelled, so this task run was cancelled."), force=True
                )
                count += 1
        return count

    def _subflows_of_cancelled(self) -> int:
        count = 0
        parents = TaskRun.objects.filter(flow_run__state_type=StateType.CANCELLED).values("id")
        children = (
            FlowRun.objects.filter(parent_task_run_id__in=parents)
            .exclude(state_type__in=[*TERMINAL, StateType.CANCELLING])
            .only("id", "infrastructure_pid")[: self.BATCH]
        )
        for child in list(children):
            proposed = (
                State(type=StateType.CANCELLING, message="The parent flow run was cancelled.")
                if child.infrastructure_pid
                else cancelled("The parent flow run was cancelled.")
            )
            with claimed(FlowRun, child.pk, state_type__in=ACTIVE_OR_WAITING) as run:
                if run is None:
                    continue
                engine.set_flow_run_state(child.pk, proposed, force=True)
                count += 1
        return count

    def _stuck_cancelling(self) -> int:
        timeout = float(self.options.get("cancelling_timeout_seconds", 300))
        cutoff = timezone.now() - dt.timedelta(seconds=timeout)
        count = 0
        stuck = FlowRun.objects.filter(state_type=StateType.CANCELLING, state_timestamp__lt=cutoff).values_list(
            "id", flat=True
        )[: self.BATCH]
        for run_id in list(stuck):
            with claimed(FlowRun, run_id, state_type=StateType.CANCELLING) as run:
                if run is None:
                    continue
                ctx = engine.set_flow_run_state(run_id, cancelled("Flow run cancellation timed out."), force=True)
                count += ctx.wrote_state
        return count


SERVICES = [Scheduler, Foreman, CancellationCleanup]
