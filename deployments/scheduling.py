"""Turning a deployment's schedules into scheduled flow runs.

Every run made for a schedule slot carries the idempotency key
`scheduled <deployment id> <schedule id> <slot time>`, and flow runs are unique per
(flow, idempotency key): however many scheduler passes or server processes look at the
same slot, it gets exactly one run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestrator.lib.names import run_name
from runs.choices import StateType
from runs.deletion import delete_flow_runs
from runs.models import FlowRun, FlowRunState, default_flow_run_policy
from runs.orchestration.states import compact_details, iso
from runs.signals import flow_run_states_written

from . import schedules
from .models import Deployment, DeploymentSchedule


def scheduler_options() -> dict[str, Any]:
    return settings.ORCHESTRATOR["SERVICES"]["scheduler"]


def run_labels(deployment: Deployment) -> dict[str, Any]:
    return {
        **(deployment.flow.labels or {}),
        **(deployment.labels or {}),
        "prefect.flow.id": str(deployment.flow_id),
        "prefect.deployment.id": str(deployment.id),
    }


def _slots(
    schedule: DeploymentSchedule,
    start: dt.datetime,
    end: dt.datetime,
    min_runs: int,
    max_runs: int,
    min_time: dt.timedelta,
) -> list[dt.datetime]:
    cap = schedule.max_scheduled_runs or max_runs
    found: list[dt.datetime] = []
    for when in schedules.dates(schedule.schedule, start, end, n=cap):
        found.append(when)
        if len(found) >= min_runs and when >= start + min_time:
            break
    return found


def schedule_deployment(
    deployment: Deployment,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    min_runs: int | None = None,
    max_runs: int | None = None,
    min_time: dt.timedelta | None = None,
    auto_scheduled: bool = True,
    even_if_paused: bool = False,
) -> list:
    """Create the runs of the deployment's active schedules that do not exist yet.

    A paused deployment gets none unless `even_if_paused` (an explicit backfill through
    `POST /deployments/{id}/schedule`, which Prefect honours on a paused deployment too).
    Returns the ids of the runs created.
    """
    with transaction.atomic():
        deployment = lock(deployment)
        if deployment is None or (deployment.paused and not even_if_paused):
            return []
        return _schedule(deployment, start, end, min_runs, max_runs, min_time, auto_scheduled)


def lock(deployment: Deployment) -> Deployment | None:
    """The deployment, re-read and locked for the rest of the transaction (None if deleted).

    Everything that changes a deployment's schedules or pauses it, and the scheduler, take
    this lock first: the scheduler then never reads schedules that a concurrent change is
    replacing, and a change's clean-up sees every run the scheduler committed before it.
    """
    return (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("flow", "work_queue__work_pool")
        .filter(pk=deployment.pk)
        .first()
    )


def _schedule(
    deployment: Deployment,
    start: dt.datetime | None,
    end: dt.datetime | None,
    min_runs: int | None,
    max_runs: int | None,
    min_time: dt.timedelta | None,
    auto_scheduled: bool,
) -> list:
    options = scheduler_options()
    start = start or timezone.now()
    end = end or start + dt.timedelta(seconds=options["max_scheduled_time"])
    min_runs = options["min_runs"] if min_runs is None else min_runs
    max_runs = options["max_runs"] if max_runs is None else max_runs
    min_time = dt.timedelta(seconds=options["min_scheduled_time"]) if min_time is None else min_time

    active = list(deployment.schedules.filter(active=True))
    if not active:
        return []
    queue = deployment.work_queue
    tags = (["auto-scheduled"] if auto_scheduled else []) + [t for t in deployment.tags if t != "auto-scheduled"]
    labels = run_labels(deployment)
    candidates: list[tuple[FlowRun, dt.datetime]] = []
    for schedule in active:
        parameters = {**(deployment.parameters or {}), **(schedule.parameters or {})}
        created_by = {
            "id": str(schedule.id),
            "type": "SCHEDULE",
            "display_value": schedule.slug or schedules.kind_name(schedule.schedule),
        }
        for when in _slots(schedule, start, end, min_runs, max_runs, min_time):
            run = FlowRun(
                flow_id=deployment.flow_id,
                name=run_name(),
                deployment_id=deployment.id,
                deployment_version=deployment.version,
                work_queue_id=queue.id if queue else None,
                work_queue_name=queue.name if queue else deployment.work_queue_name,
                work_pool_id=queue.work_pool_id if queue else None,
                work_pool_name=queue.work_pool.name if queue else None,
                parameters=parameters,
                infrastructure_document_id=deployment.infrastructure_document_id,
                idempotency_key=f"scheduled {deployment.id} {schedule.id} {when}",
                tags=tags,
                labels=labels,
                auto_scheduled=auto_scheduled,
                state_type=StateType.SCHEDULED,
                state_name="Scheduled",
                state_timestamp=timezone.now(),
                expected_start_time=when,
                next_scheduled_start_time=when,
                created_by=created_by,
                empirical_policy=default_flow_run_policy(),
                job_variables={},
            )
            candidates.append((run, when))
    if not candidates:
        return []
    keys = [run.idempotency_key for run, _ in candidates]
    with transaction.atomic():
        existing = set(
            FlowRun.objects.filter(flow_id=deployment.flow_id, idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        fresh = [(run, when) for run, when in candidates if run.idempotency_key not in existing]
        if not fresh:
            return []
        # Another scheduler may be inserting the same slots right now: the unique key decides,
        # and only the rows that really went in get their first state.
        FlowRun.objects.bulk_create([run for run, _ in fresh], ignore_conflicts=True)
        inserted = set(FlowRun.objects.filter(id__in=[run.id for run, _ in fresh]).values_list("id", flat=True))
        states, written = [], []
        for run, when in fresh:
            if run.id not in inserted:
                continue
            state = FlowRunState(
                flow_run_id=run.id,
                type=StateType.SCHEDULED,
                name="Scheduled",
                timestamp=run.state_timestamp,
                message="Flow run scheduled",
                state_details=compact_details({"flow_run_id": str(run.id), "scheduled_time": iso(when)}),
            )
            states.append(state)
            written.append((run, state))
            run.state_id = state.id
        FlowRunState.objects.bulk_create(states)
        FlowRun.objects.bulk_update([run for run, _ in fresh if run.id in inserted], ["state"])
        flow_run_states_written.send(sender=FlowRun, states=written)
    return sorted(inserted, key=str)


def _never_started(deployment: Deployment):
    """Scheduled runs of the deployment that never ran: not one scheduled again to be retried
    (it has run), nor one waiting for a concurrency slot (it is queued, not merely planned)."""
    return FlowRun.objects.filter(deployment_id=deployment.id, state_type=StateType.SCHEDULED, run_count=0).exclude(
        state_name="AwaitingConcurrencySlot"
    )


def delete_future_auto_scheduled_runs(deployment: Deployment) -> int:
    """Runs the scheduler made that have not started: replaced when the schedules change."""
    with transaction.atomic():
        ids = list(
            _never_started(deployment)
            .filter(auto_scheduled=True, next_scheduled_start_time__gt=timezone.now())
            .select_for_update(of=("self",))
            .values_list("id", flat=True)
        )
        delete_flow_runs(ids)
    return len(ids)


def delete_scheduled_runs(deployment: Deployment, *, auto_scheduled_only: bool = True) -> int:
    """Every not-yet-started scheduled run of the deployment (pausing it)."""
    qs = _never_started(deployment)
    if auto_scheduled_only:
        qs = qs.filter(auto_scheduled=True)
    with transaction.atomic():
        # Locking re-checks each run: one a worker took meanwhile is no longer Scheduled.
        ids = list(qs.select_for_update(of=("self",)).values_list("id", flat=True))
        delete_flow_runs(ids)
    return len(ids)
