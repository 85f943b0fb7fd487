"""Deleting runs with everything that hangs off them, in bounded batches.

Django's cascade would load every child row into memory first; a flow with a hundred
thousand runs could not be deleted that way. These deletes go table by table instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .models import Flow, FlowRun, FlowRunInput, FlowRunState, Log, TaskRun, TaskRunState
from .signals import flow_runs_deleted

BATCH = 500


def _raw_delete(queryset) -> None:
    queryset._raw_delete(queryset.db)


def delete_task_runs(ids: Iterable) -> None:
    ids = list(ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        _raw_delete(TaskRunState.objects.filter(task_run_id__in=chunk))
        _raw_delete(Log.objects.filter(task_run_id__in=chunk))
        _raw_delete(TaskRun.objects.filter(id__in=chunk))


def delete_flow_runs(ids: Iterable) -> list:
    """Delete flow runs, their states, task runs, inputs and logs. Returns the ids deleted."""
    ids = list(ids)
    deleted = []
    with transaction.atomic():
        for start in range(0, len(ids), BATCH):
            # Locked first: a state being written for one of them meanwhile (a worker picking
            # it up, the late-runs service) is either committed before and deleted with the run,
            # or waits and finds the run gone; never a state left pointing at a deleted run.
            chunk = list(
                FlowRun.objects.select_for_update()
                .filter(id__in=ids[start : start + BATCH])
                .values_list("id", flat=True)
            )
            if not chunk:
                continue
            flow_runs_deleted.send(sender=FlowRun, ids=chunk)
            delete_task_runs(TaskRun.objects.filter(flow_run_id__in=chunk).values_list("id", flat=True))
            _raw_delete(FlowRunState.objects.filter(flow_run_id__in=chunk))
            _raw_delete(FlowRunInput.objects.filter(flow_run_id__in=chunk))
            _raw_delete(Log.objects.filter(flow_run_id__in=chunk))
            _raw_delete(FlowRun.objects.filter(id__in=chunk))
            deleted.extend(chunk)
    return deleted


def delete_flows(ids: Iterable) -> list:
    ids = list(ids)
    with transaction.atomic():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            while batch := list(FlowRun.objects.filter(flow_id__in=chunk).values_list("id", flat=True)[:BATCH]):
                delete_flow_runs(batch)
            Flow.objects.filter(id__in=chunk).delete()
    return ids
