"""Request bodies and responses of deployments, schedules, work pools, queues and workers."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from orchestrator.api.fields import (
    AnyJSON,
    BodyFields,
    Choice,
    Labels,
    LenientSerializer,
    NullableText,
    NullableUUID,
    Obj,
    StrictSerializer,
    Tags,
    Text,
    UUIDField,
)
from runs.api.serializers import FlowRunPolicySerializer, StateCreateSerializer
from runs.orchestration.states import iso

from .. import schedules
from ..choices import CollisionStrategy

NAME = RegexValidator(r"^[^/%&><]+$", "Name may not contain / %% & > <")


def _uuid(value) -> str | None:
    return str(value) if value is not None else None


class ScheduleField(serializers.Field):
    """An interval, cron or rrule schedule, validated and normalised."""

    def to_internal_value(self, data):
        try:
            return schedules.normalize(data)
        except schedules.ScheduleError as exc:
            raise serializers.ValidationError({exc.key: [str(exc)]}) from None

    def to_representation(self, value):
        return value


class PositiveInt(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(**kwargs)


class ScheduleCreateSerializer(StrictSerializer):
    active = serializers.BooleanField(required=False, default=True)
    schedule = ScheduleField()
    max_scheduled_runs = PositiveInt()
    parameters = Obj()
    slug = NullableText(max_length=255)
    replaces = NullableText(max_length=255)


class ScheduleUpdateSerializer(StrictSerializer):
    active = serializers.BooleanField(required=False, allow_null=True)
    schedule = ScheduleField(required=False, allow_null=True)
    max_scheduled_runs = PositiveInt()
    parameters = Obj(required=False)
    slug = NullableText(max_length=255)
    replaces = NullableText(max_length=255)


class ConcurrencyOptionsSerializer(LenientSerializer):
    collision_strategy = Choice(CollisionStrategy.choices)
    grace_period_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=60, max_value=86400)


class VersionInfoSerializer(LenientSerializer):
    type = Text(max_length=255)
    version = Text(max_length=255)


def _deployment_fields(create: bool) -> dict[str, serializers.Field]:
    return {
        "version": NullableText(max_length=255),
        "version_info": VersionInfoSerializer(required=False, allow_null=True, default=None),
        "description": NullableText(),
        "paused": serializers.BooleanField(required=False, default=False),
        "schedules": serializers.ListField(child=ScheduleCreateSerializer(), required=False, default=list),
        "concurrency_limit": PositiveInt(),
        "concurrency_options": ConcurrencyOptionsSerializer(required=False, allow_null=True, default=None),
        "global_concurrency_limit_id": NullableUUID(),
        "parameters": Obj(allow_null=not create) if not create else Obj(),
        "parameter_openapi_schema": Obj(allow_null=True, default=None),
        "enforce_parameter_schema": serializers.BooleanField(required=False, allow_null=not create, default=True),
        "tags": Tags(),
        "work_queue_name": NullableText(max_length=255),
        "work_pool_name": NullableText(max_length=255),
        "path": NullableText(),
        "job_variables": Obj(allow_null=not create) if not create else Obj(),
        "pull_steps": serializers.ListField(
            child=serializers.DictField(), required=False, allow_null=True, default=None
        ),
        "entrypoint": NullableText(),
        "storage_document_id": NullableUUID(),
        "infrastructure_document_id": NullableUUID(),
    }


# Keys of 2.x clients that Prefect's server drops (with a warning) instead of refusing.
LEGACY_DEPLOYMENT_KEYS = ("worker_pool_queue_id", "worker_pool_name", "worker_pool_queue_name", "work_pool_queue_name")


class DeploymentBodySerializer(StrictSerializer):
    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key not in LEGACY_DEPLOYMENT_KEYS}
        return super().to_internal_value(data)


class DeploymentCreateSerializer(DeploymentBodySerializer):
    name = Text(max_length=255, validators=[NAME])
    flow_id = UUIDField()
    labels = Labels()

    def get_fields(self):
        return {**super().get_fields(), **_deployment_fields(create=True)}


class DeploymentUpdateSerializer(DeploymentBodySerializer):
    def get_fields(self):
        fields = _deployment_fields(create=False)
        for field in fields.values():
            field.required = False
        return fields


class DeploymentFlowRunCreateSerializer(StrictSerializer):
    state = StateCreateSerializer(required=False, allow_null=True, default=None)
    name = NullableText(max_length=255)
    parameters = Obj()
    enforce_parameter_schema = serializers.BooleanField(required=False, allow_null=True, default=None)
    context = Obj()
    infrastructure_document_id = NullableUUID()
    empirical_policy = FlowRunPolicySerializer(required=False)
    tags = Tags()
    idempotency_key = NullableText(max_length=255)
    labels = Labels()
    parent_task_run_id = NullableUUID()
    work_queue_name = NullableText(max_length=255)
    job_variables = Obj(allow_null=True, default=None)


def schedule_json(schedule) -> dict[str, Any]:
    return {
        "id": str(schedule.id),
        "created": iso(schedule.created),
        "updated": iso(schedule.updated),
        "deployment_id": str(schedule.deployment_id),
        "schedule": schedule.schedule,
        "active": schedule.active,
        "max_scheduled_runs": schedule.max_scheduled_runs,
        "parameters": schedule.parameters,
        "slug": schedule.slug,
    }


def limit_json(limit) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {
        "id": str(limit.id),
        "created": iso(limit.created),
        "updated": iso(limit.updated),
        "active": limit.active,
        "name": limit.name,
        "limit": limit.limit,
        "active_slots": limit.active_slots,
        "slot_decay_per_second": limit.slot_decay_per_second,
    }


def deployment_json(deployment, limits: dict | None = None) -> dict[str, Any]:
    queue = deployment.work_queue
    limit = (limits or {}).get(deployment.concurrency_limit_id) if deployment.concurrency_limit_id else None
    return {
        "id": str(deployment.id),
        "created": iso(deployment.created),
        "updated": iso(deployment.updated),
        "name": deployment.name,
        "version": deployment.version,
        "version_info": deployment.version_info,
        "description": deployment.description,
        "flow_id": str(deployment.flow_id),
        "paused": deployment.paused,
        "schedules": [schedule_json(s) for s in deployment.schedules.all()],
        "concurrency_limit": deployment.concurrency_limit,
        "global_concurrency_limit": limit_json(limit),
        "concurrency_options": deployment.concurrency_options,
        "job_variables": deployment.job_variables,
        "parameters": deployment.parameters,
        "tags": deployment.tags,
        "labels": deployment.labels,
        "work_queue_name": deployment.work_queue_name,
        "work_queue_id": _uuid(deployment.work_queue_id),
        "last_polled": iso(deployment.last_polled),
        "parameter_openapi_schema": deployment.parameter_openapi_schema,
        "path": deployment.path,
        "pull_steps": deployment.pull_steps,
        "entrypoint": deployment.entrypoint,
        "storage_document_id": _uuid(deployment.storage_document_id),
        "infrastructure_document_id": _uuid(deployment.infrastructure_document_id),
        "created_by": deployment.created_by,
        "updated_by": deployment.updated_by,
        "work_pool_name": queue.work_pool.name if queue is not None else None,
        "status": deployment.status,
        "enforce_parameter_schema": deployment.enforce_parameter_schema,
    }


class DeploymentSerializer(DeploymentCreateSerializer):
    def to_representation(self, deployment) -> dict[str, Any]:
        return deployment_json(deployment, self.context.get("limits"))


# --- work pools, queues, workers ----------------------------------------------------


class StorageConfigurationSerializer(LenientSerializer):
    bundle_upload_step = serializers.DictField(required=False, allow_null=True, default=None)
    bundle_execution_step = serializers.DictField(required=False, allow_null=True, default=None)
    default_result_storage_block_id = NullableUUID()


class WorkPoolCreateSerializer(StrictSerializer):
    name = Text(max_length=255, validators=[NAME])
    description = NullableText()
    type = Text(max_length=255, required=False, default="prefect-agent")
    base_job_template = Obj()
    is_paused = serializers.BooleanField(required=False, default=False)
    concurrency_limit = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**31 - 1
    )
    storage_configuration = StorageConfigurationSerializer(required=False)


class WorkPoolUpdateSerializer(StrictSerializer):
    description = NullableText()
    is_paused = serializers.BooleanField(required=False, allow_null=True)
    base_job_template = Obj(allow_null=True, required=False)
    concurrency_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    storage_configuration = StorageConfigurationSerializer(required=False, allow_null=True)


def storage_json(value: dict | None) -> dict[str, Any]:
    value = value or {}
    return {
        "bundle_upload_step": value.get("bundle_upload_step"),
        "bundle_execution_step": value.get("bundle_execution_step"),
        "default_result_storage_block_id": value.get("default_result_storage_block_id"),
    }


def work_pool_json(pool, active_slots: int | None = None) -> dict[str, Any]:
    return {
        "id": str(pool.id),
        "created": iso(pool.created),
        "updated": iso(pool.updated),
        "name": pool.name,
        "description": pool.description,
        "type": pool.type,
        "base_job_template": pool.base_job_template,
        "is_paused": pool.is_paused,
        "concurrency_limit": pool.concurrency_limit,
        "status": pool.status,
        "default_queue_id": _uuid(pool.default_queue_id),
        "storage_configuration": storage_json(pool.storage_configuration),
        "active_slots": active_slots,
    }


class QueueFilterSerializer(LenientSerializer):
    tags = serializers.ListField(child=Text(), required=False, allow_null=True, default=None)
    deployment_ids = serializers.ListField(child=UUIDField(), required=False, allow_null=True, default=None)


class WorkQueueCreateSerializer(StrictSerializer):
    name = Text(max_length=255, validators=[NAME])
    description = NullableText()
    is_paused = serializers.BooleanField(required=False, default=False)
    concurrency_limit = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**31 - 1
    )
    priority = PositiveInt()
    filter = QueueFilterSerializer(required=False, allow_null=True, default=None)
    # legacy /work_queues/ bodies may name the pool
    work_pool_name = NullableText(max_length=255)


class WorkQueueUpdateSerializer(StrictSerializer):
    name = Text(max_length=255, validators=[NAME], required=False, allow_null=True)
    description = NullableText()
    is_paused = serializers.BooleanField(required=False)
    concurrency_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    priority = PositiveInt()
    last_polled = serializers.DateTimeField(required=False, allow_null=True)
    filter = QueueFilterSerializer(required=False, allow_null=True)


def work_queue_json(queue, active_slots: int | None = None) -> dict[str, Any]:
    return {
        "id": str(queue.id),
        "created": iso(queue.created),
        "updated": iso(queue.updated),
        "name": queue.name,
        "description": queue.description,
        "is_paused": queue.is_paused,
        "concurrency_limit": queue.concurrency_limit,
        "priority": queue.priority,
        "work_pool_id": _uuid(queue.work_pool_id),
        "filter": queue.filter,
        "last_polled": iso(queue.last_polled),
        "work_pool_name": queue.work_pool.name,
        "status": queue.status,
        "active_slots": active_slots,
    }


def worker_json(worker) -> dict[str, Any]:
    return {
        "id": str(worker.id),
        "created": iso(worker.created),
        "updated": iso(worker.updated),
        "name": worker.name,
        "work_pool_id": str(worker.work_pool_id),
        "last_heartbeat_time": iso(worker.last_heartbeat_time),
        "heartbeat_interval_seconds": worker.heartbeat_interval_seconds,
        "status": worker.status,
    }


class HeartbeatSerializer(BodyFields):
    name = Text(max_length=255)
    heartbeat_interval_seconds = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**31 - 1
    )


__all__ = ["AnyJSON"]
