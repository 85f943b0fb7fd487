"""Deployments and their schedules; work pools, their queues and workers.

A deployment says how to run a flow (entrypoint, parameters, infrastructure) and when
(its schedules). Its runs wait in a work queue of a work pool until a worker (or the
process that served the flow) picks them up.
"""

from __future__ import annotations

from django.db import models

from orchestrator.lib.json_field import JSONField
from runs.models import Flow, PrefectModel, empty_dict, empty_list

from .choices import DeploymentStatus, WorkerStatus, WorkPoolStatus, WorkQueueStatus

# Work queues created without a pool (the legacy /work_queues API) live in this pool.
DEFAULT_AGENT_POOL = "default-agent-pool"
DEFAULT_QUEUE = "default"


class WorkPool(PrefectModel):
    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(null=True)
    type = models.CharField(max_length=255, default="prefect-agent")
    base_job_template = JSONField(default=empty_dict)
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.IntegerField(null=True)
    status = models.CharField(max_length=16, choices=WorkPoolStatus.choices, default=WorkPoolStatus.NOT_READY)
    last_transitioned_status_at = models.DateTimeField(null=True)
    last_status_event_id = models.UUIDField(null=True)
    storage_configuration = JSONField(default=empty_dict)
    default_queue = models.ForeignKey(
        "WorkQueue", null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    def __str__(self) -> str:
        return self.name


class WorkQueue(PrefectModel):
    work_pool = models.ForeignKey(WorkPool, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, default="")
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.IntegerField(null=True)
    priority = models.IntegerField(default=1)
    filter = JSONField(null=True)
    last_polled = models.DateTimeField(null=True)
    status = models.CharField(max_length=16, choices=WorkQueueStatus.choices, default=WorkQueueStatus.NOT_READY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work_pool", "name"], name="work_queue_pool_name")]
        indexes = [models.Index(fields=["work_pool", "priority"], name="work_queue_priority")]

    def __str__(self) -> str:
        return f"{self.work_pool.name}/{self.name}"


class Worker(PrefectModel):
    work_pool = models.ForeignKey(WorkPool, on_delete=models.CASCADE, related_name="workers")
    name = models.CharField(max_length=255)
    last_heartbeat_time = models.DateTimeField(null=True)
    heartbeat_interval_seconds = models.IntegerField(null=True)
    status = models.CharField(max_length=16, choices=WorkerStatus.choices, default=WorkerStatus.OFFLINE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work_pool", "name"], name="worker_pool_name")]
        indexes = [models.Index(fields=["work_pool", "-last_heartbeat_time"], name="worker_heartbeat")]

    def __str__(self) -> str:
        return self.name


class Deployment(PrefectModel):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=255, null=True)
    version_info = JSONField(null=True)
    description = models.TextField(null=True)
    paused = models.BooleanField(default=False)
    tags = JSONField(default=empty_list)
    labels = JSONField(default=empty_dict)
    parameters = JSONField(default=empty_dict)
    parameter_openapi_schema = JSONField(null=True)
    enforce_parameter_schema = models.BooleanField(default=True)
    job_variables = JSONField(default=empty_dict)
    pull_steps = JSONField(null=True)
    entrypoint = models.TextField(null=True)
    path = models.TextField(null=True)
    storage_document_id = models.UUIDField(null=True)
    infrastructure_document_id = models.UUIDField(null=True)
    work_queue_name = models.CharField(max_length=255, null=True)
    work_queue = models.ForeignKey(WorkQueue, null=True, on_delete=models.SET_NULL, related_name="deployments")
    concurrency_limit = models.IntegerField(null=True)
    concurrency_options = JSONField(null=True)
    # The global concurrency limit that enforces `concurrency_limit` (named "deployment:<id>").
    concurrency_limit_id = models.UUIDField(null=True)
    last_polled = models.DateTimeField(null=True)
    status = models.CharField(max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.NOT_READY)
    created_by = JSONField(null=True)
    updated_by = JSONField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "name"], name="deployment_flow_name")]
        indexes = [
            models.Index(fields=["name"], name="deployment_name"),
            models.Index(fields=["-updated"], name="deployment_updated"),
            models.Index(fields=["work_queue"], name="deployment_work_queue"),
        ]

    def __str__(self) -> str:
        return self.name


class DeploymentSchedule(PrefectModel):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="schedules")
    schedule = JSONField()
    active = models.BooleanField(default=True)
    max_scheduled_runs = models.IntegerField(null=True)
    parameters = JSONField(default=empty_dict)
    slug = models.CharField(max_length=255, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "slug"], condition=models.Q(slug__isnull=False), name="deployment_schedule_slug"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.schedule}"
