"""Flows, flow runs, task runs, their state histories, logs and run inputs.

Runs carry their current state twice: as a pointer to the state row (`state`) and as
denormalised columns (`state_type`, `state_name`, `state_timestamp`) that every list,
count and filter uses without a join. Only `runs.orchestration` writes either.

Task runs, logs and artifacts may name runs the server has not recorded yet (the client
sends task runs as events, after the fact), so those references are plain UUID columns
without foreign keys.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from orchestrator.lib.ids import uuid7
from orchestrator.lib.json_field import JSONField
from orchestrator.lib.loading import QuickLoad

from .choices import TERMINAL, StateType


def empty_dict() -> dict:
    return {}


def empty_list() -> list:
    return []


def default_flow_run_policy() -> dict:
    return {
        "max_retries": 0,
        "retry_delay_seconds": 0.0,
        "retries": None,
        "retry_delay": None,
        "pause_keys": [],
        "resuming": False,
        "retry_type": None,
    }


def default_task_run_policy() -> dict:
    return {
        "max_retries": 0,
        "retry_delay_seconds": 0.0,
        "retries": None,
        "retry_delay": None,
        "retry_jitter_factor": None,
    }


class PrefectModel(QuickLoad, models.Model):
    """The columns every Prefect object has."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.touch()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "updated" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "updated"]
        super().save(*args, **kwargs)

    def touch(self) -> None:
        """Mark the row as changed now (every save does; so do writes that bypass save())."""
        self.updated = timezone.now()


class Flow(PrefectModel):
    name = models.CharField(max_length=255, unique=True)
    tags = JSONField(default=empty_list)
    labels = JSONField(default=empty_dict)

    class Meta:
        indexes = [models.Index(fields=["created"]), models.Index(fields=["updated"])]

    def __str__(self) -> str:
        return self.name


class StateModel(QuickLoad, models.Model):
    """One entry of a run's state history."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    type = models.CharField(max_length=16, choices=StateType.choices)
    name = models.CharField(max_length=255)
    timestamp = models.DateTimeField(default=timezone.now)
    message = models.TextField(null=True, blank=True)
    state_details = JSONField(default=empty_dict)
    data = JSONField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    @property
    def is_final(self) -> bool:
        return self.type in TERMINAL


class RunModel(PrefectModel):
    """What flow runs and task runs share: state, timing and counters."""

    name = models.CharField(max_length=255)
    state_type = models.CharField(max_length=16, choices=StateType.choices, null=True)
    state_name = models.CharField(max_length=255, null=True)
    state_timestamp = models.DateTimeField(null=True)
    run_count = models.IntegerField(default=0)
    expected_start_time = models.DateTimeField(null=True)
    next_scheduled_start_time = models.DateTimeField(null=True)
    start_time = models.DateTimeField(null=True)
    end_time = models.DateTimeField(null=True)
    total_run_time = models.FloatField(default=0.0)  # seconds spent RUNNING
    tags = JSONField(default=empty_list)
    labels = JSONField(default=empty_dict)

    class Meta:
        abstract = True

    @property
    def estimated_run_time(self) -> float:
        """Run time so far, counting the current stretch if the run is RUNNING now."""
        if self.state_type == StateType.RUNNING and self.state_timestamp:
            return self.total_run_time + max(0.0, (timezone.now() - self.state_timestamp).total_seconds())
        return self.total_run_time

    @property
    def estimated_start_time_delta(self) -> float:
        """How late the run started (or, not started yet, how late it is now)."""
        if not self.expected_start_time:
            return 0.0
        if self.start_time:
            return max(0.0, (self.start_time - self.expected_start_time).total_seconds())
        if self.state_type not in TERMINAL:
            return max(0.0, (timezone.now() - self.expected_start_time).total_seconds())
        return 0.0


# Every index on a run or state table is written by every state change (or insert) that
# touches its columns. The foreign keys below have no index of their own: a run's reference to
# its current state is only ever followed, never searched for, and the other references are the
# first column of an index or unique constraint that answers the same lookups.


class FlowRun(RunModel):
    # Searched through flow_run_flow_expected (flow, -expected_start_time).
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs", db_index=False)
    # The current state; always one of this run's own states.
    state = models.ForeignKey(
        "FlowRunState", null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    flow_version = models.CharField(max_length=255, null=True)
    parameters = JSONField(default=empty_dict)
    idempotency_key = models.CharField(max_length=255, null=True)
    context = JSONField(default=empty_dict)
    empirical_policy = JSONField(default=default_flow_run_policy)
    parent_task_run_id = models.UUIDField(null=True)
    auto_scheduled = models.BooleanField(default=False)
    infrastructure_document_id = models.UUIDField(null=True)
    infrastructure_pid = models.CharField(max_length=255, null=True)
    created_by = JSONField(null=True)
    job_variables = JSONField(default=empty_dict, null=True)
    # Deployment and work-pool references are kept as plain ids so runs outlive them.
    deployment_id = models.UUIDField(null=True)
    deployment_version = models.CharField(max_length=255, null=True)
    work_queue_id = models.UUIDField(null=True)
    work_queue_name = models.CharField(max_length=255, null=True)
    work_pool_id = models.UUIDField(null=True)
    work_pool_name = models.CharField(max_length=255, null=True)

    class Meta:
        indexes = [
            models.Index(fields=["flow", "-expected_start_time"], name="flow_run_flow_expected"),
            # Newest expected start first; it also carries every column the runs history sums, so
            # `/flow_runs/history` reads its window from this index alone, not from the table.
            models.Index(
                fields=[
                    "-expected_start_time",
                    "state_type",
                    "state_name",
                    "start_time",
                    "state_timestamp",
                    "total_run_time",
                ],
                name="flow_run_expected_history",
            ),
            models.Index(fields=["next_scheduled_start_time"], name="flow_run_next_scheduled"),
            models.Index(fields=["-start_time"], name="flow_run_start_time"),
            # START_TIME_DESC, the runs lists' usual sort, orders by the start time or, for a
            # run that has not started, its expected start: without this a page sorts the table.
            models.Index(Coalesce("start_time", "expected_start_time"), name="flow_run_start_or_expected"),
            models.Index(fields=["-end_time"], name="flow_run_end_time"),
            models.Index(fields=["state_type", "-expected_start_time"], name="flow_run_state_expected"),
            models.Index(fields=["state_name"], name="flow_run_state_name"),
            models.Index(fields=["parent_task_run_id"], name="flow_run_parent_task_run"),
            models.Index(fields=["deployment_id", "-expected_start_time"], name="flow_run_deployment"),
            models.Index(fields=["work_queue_id"], name="flow_run_work_queue"),
            # The runs list filtered by work pool, newest first.
            models.Index(fields=["work_pool_name", "-expected_start_time"], name="flow_run_work_pool"),
            models.Index(fields=["name"], name="flow_run_name"),
            models.Index(fields=["-created"], name="flow_run_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="flow_run_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return self.name


class FlowRunState(StateModel):
    # Searched through flow_run_state_unique_time (flow_run, timestamp).
    flow_run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="states", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow_run", "timestamp"], name="flow_run_state_unique_time")]


class TaskRun(RunModel):
    # Searched through task_run_natural_key (flow_run, task_key, dynamic_key) and
    # task_run_flow_run_expected (flow_run, expected_start_time).
    flow_run = models.ForeignKey(FlowRun, null=True, on_delete=models.CASCADE, related_name="task_runs", db_index=False)
    state = models.ForeignKey(
        "TaskRunState", null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    task_key = models.CharField(max_length=2000)
    dynamic_key = models.CharField(max_length=2000)
    cache_key = models.CharField(max_length=2000, null=True)
    cache_expiration = models.DateTimeField(null=True)
    task_version = models.CharField(max_length=255, null=True)
    empirical_policy = JSONField(default=default_task_run_policy)
    task_inputs = JSONField(default=empty_dict)
    flow_run_run_count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow_run", "task_key", "dynamic_key"], name="task_run_natural_key")
        ]
        indexes = [
            models.Index(fields=["-expected_start_time"], name="task_run_expected_start"),
            # A flow run's task runs in start order (its page, its timeline), without sorting
            # all of a run that mapped a task over a hundred thousand items.
            models.Index(fields=["flow_run", "expected_start_time"], name="task_run_flow_run_expected"),
            models.Index(fields=["state_type", "-expected_start_time"], name="task_run_state_expected"),
            models.Index(fields=["-start_time"], name="task_run_start_time"),
            models.Index(fields=["-end_time"], name="task_run_end_time"),
            models.Index(fields=["name"], name="task_run_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TaskRunState(StateModel):
    # Searched through task_run_state_time (task_run, timestamp).
    task_run = models.ForeignKey(TaskRun, on_delete=models.CASCADE, related_name="states", db_index=False)

    class Meta:
        indexes = [models.Index(fields=["task_run", "timestamp"], name="task_run_state_time")]


class TaskRunStateCache(models.Model):
    """Completed task states reusable by later runs with the same cache key."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now)
    cache_key = models.CharField(max_length=2000)
    cache_expiration = models.DateTimeField(null=True)
    task_run_state_id = models.UUIDField()

    class Meta:
        indexes = [models.Index(fields=["cache_key", "-created"], name="task_run_cache_key")]


class Log(QuickLoad, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created = models.DateTimeField(default=timezone.now)
    name = models.CharField(max_length=255)
    level = models.SmallIntegerField()
    message = models.TextField()
    timestamp = models.DateTimeField()
    flow_run_id = models.UUIDField(null=True)
    task_run_id = models.UUIDField(null=True)
    worker_id = models.UUIDField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["flow_run_id", "timestamp"], name="log_flow_run_time"),
            models.Index(fields=["task_run_id", "timestamp"], name="log_task_run_time"),
            models.Index(fields=["timestamp"], name="log_time"),
        ]

    @property
    def updated(self):
        return self.created


class FlowRunInput(PrefectModel):
    """A keyed value sent to a paused flow run (Prefect's human-in-the-loop inputs)."""

    flow_run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="inputs")
    key = models.CharField(max_length=255)
    value = models.TextField()
    sender = models.CharField(max_length=255, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow_run", "key"], name="flow_run_input_key")]


class FlowRunCount(models.Model):
    """Changes in how many flow runs are in each state type, written by triggers on the runs
    table (runs.counts) and folded into one row per type by the run_counts service, so a
    count by state type over the whole history adds up a few rows instead of visiting every
    run: at 1,000,000 runs, counting the Completed ones took 76 ms, growing with history."""

    # No index on state_type: folding keeps the table to a few thousand rows at most, which a
    # count reads whole faster than every state change would pay to keep an index up to date.
    state_type = models.CharField(max_length=16, null=True)
    delta = models.BigIntegerField()
