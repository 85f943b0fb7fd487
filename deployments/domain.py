"""Writes that touch several tables: saving a deployment with its schedules, queue and
concurrency limit; creating a run of a deployment; deleting a deployment."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from orchestrator.api.errors import Conflict, NotFound, Unprocessable
from orchestrator.lib.jsonschema import validation_errors
from runs.choices import StateType
from runs.models import Flow, FlowRun

from . import pools, scheduling
from .models import Deployment, DeploymentSchedule

# Fields of a deployment body that map straight onto columns.
PLAIN_FIELDS = (
    "version",
    "version_info",
    "description",
    "paused",
    "parameters",
    "parameter_openapi_schema",
    "enforce_parameter_schema",
    "tags",
    "labels",
    "path",
    "job_variables",
    "pull_steps",
    "entrypoint",
    "storage_document_id",
    "infrastructure_document_id",
    "concurrency_options",
)


def limit_name(deployment: Deployment) -> str:
    return f"deployment:{deployment.id}"


def set_concurrency_limit(deployment: Deployment, limit: int | None) -> None:
    """Give the deployment a concurrency limit of `limit` runs at once (None removes it)."""
    from concurrency.models import ConcurrencyLimit

    deployment.concurrency_limit = limit
    if limit is None:
        if deployment.concurrency_limit_id:
            ConcurrencyLimit.objects.filter(pk=deployment.concurrency_limit_id, name=limit_name(deployment)).delete()
        deployment.concurrency_limit_id = None
        return
    row, _ = ConcurrencyLimit.objects.update_or_create(name=limit_name(deployment), defaults={"limit": limit})
    deployment.concurrency_limit_id = row.id


def replace_schedules(deployment: Deployment, schedules: list[dict[str, Any]]) -> None:
    deployment.schedules.all().delete()
    DeploymentSchedule.objects.bulk_create(
        [
            DeploymentSchedule(
                deployment=deployment,
                schedule=item["schedule"],
                active=item.get("active", True) if item.get("active") is not None else True,
                max_scheduled_runs=item.get("max_scheduled_runs"),
                parameters=item.get("parameters") or {},
                slug=item.get("slug"),
            )
            for item in schedules
        ]
    )


def _apply(deployment: Deployment, data: dict[str, Any], sent: set[str]) -> None:
    for field in PLAIN_FIELDS:
        if field in sent and field in data:
            value = data[field]
            if field in ("parameters", "job_variables", "tags", "labels") and value is None:
                value = [] if field == "tags" else {}
            if field == "enforce_parameter_schema" and value is None:
                continue
            setattr(deployment, field, value)
    if "work_pool_name" in sent or "work_queue_name" in sent:
        queue = pools.resolve_queue(data.get("work_pool_name"), data.get("work_queue_name"), create=True)
        deployment.work_queue = queue
        deployment.work_queue_name = queue.name if queue is not None else data.get("work_queue_name")


def save_deployment(
    data: dict[str, Any], sent: set[str], deployment: Deployment | None = None
) -> tuple[Deployment, bool]:
    """Create a deployment (or update the one with the same flow and name) from a request.

    Only keys the client sent change anything. Schedules sent replace the old ones; the
    future runs the scheduler made are replaced by ones for the new settings, at once.
    """
    created = False
    with transaction.atomic():
        if deployment is not None:
            deployment = scheduling.lock(deployment) or deployment
        if deployment is None:
            flow = Flow.objects.filter(pk=data["flow_id"]).first()
            if flow is None:
                raise Conflict(f"Flow {data['flow_id']} does not exist.")
            deployment = Deployment.objects.select_for_update().filter(flow=flow, name=data["name"]).first()
            if deployment is None:
                # Without a schema from the client, an empty one (as Prefect's server does):
                # runs of a deployment that enforces its schema can then still be created.
                deployment = Deployment(
                    flow=flow, name=data["name"], parameter_openapi_schema={"type": "object", "properties": {}}
                )
                created = True
        if data.get("global_concurrency_limit_id"):
            from concurrency.models import ConcurrencyLimit

            if not ConcurrencyLimit.objects.filter(pk=data["global_concurrency_limit_id"]).exists():
                raise NotFound("Concurrency limit not found")
        _apply(deployment, data, sent)
        deployment.updated = timezone.now()
        deployment.save()
        if "concurrency_limit" in sent:
            set_concurrency_limit(deployment, data.get("concurrency_limit"))
        if data.get("global_concurrency_limit_id"):
            deployment.concurrency_limit_id = data["global_concurrency_limit_id"]
        deployment.save()
        if "schedules" in sent and data.get("schedules") is not None:
            replace_schedules(deployment, data["schedules"])
        scheduling.delete_future_auto_scheduled_runs(deployment)
        scheduling.schedule_deployment(deployment)
    return deployment, created


def pause(deployment: Deployment) -> int | None:
    """Stop the schedules: no new runs, and the scheduler's runs not yet started go.

    Returns how many runs were removed, or None when it was already paused.
    """
    with transaction.atomic():
        deployment = scheduling.lock(deployment)
        if deployment is None or deployment.paused:
            return None
        Deployment.objects.filter(pk=deployment.pk).update(paused=True, updated=timezone.now())
        return scheduling.delete_scheduled_runs(deployment)


def resume(deployment: Deployment) -> int | None:
    """Start the schedules again; the next runs are scheduled at once.

    Returns how many runs were scheduled, or None when it was not paused.
    """
    with transaction.atomic():
        deployment = scheduling.lock(deployment)
        if deployment is None or not deployment.paused:
            return None
        Deployment.objects.filter(pk=deployment.pk).update(paused=False, updated=timezone.now())
        return len(scheduling.schedule_deployment(deployment))


def delete_deployment(deployment: Deployment) -> None:
    """Its scheduled runs go; runs that ran keep their history without the deployment."""
    from runs.deletion import delete_flow_runs

    with transaction.atomic():
        scheduled = FlowRun.objects.filter(deployment_id=deployment.id, state_type=StateType.SCHEDULED)
        delete_flow_runs(list(scheduled.select_for_update(of=("self",)).values_list("id", flat=True)))
        FlowRun.objects.filter(deployment_id=deployment.id).update(deployment_id=None)
        set_concurrency_limit(deployment, None)
        deployment.delete()


def check_parameters(deployment: Deployment, parameters: dict[str, Any], enforce: bool | None) -> None:
    """Refuse parameters that do not match the deployment's schema (when enforced)."""
    enforce = deployment.enforce_parameter_schema if enforce is None else enforce
    if not enforce:
        return
    schema = deployment.parameter_openapi_schema
    if not isinstance(schema, dict):
        raise Conflict(
            "Cannot check the parameters: parameter schema enforcement is on and the deployment has no schema."
        )
    errors = validation_errors(parameters, schema)
    if errors:
        raise Conflict("The parameters do not match the deployment's schema: " + "; ".join(errors[:5]))


def hydrate(parameters: dict[str, Any]) -> dict[str, Any]:
    """Resolve the dashboard's parameter wrappers (`{"__prefect_kind": "json", "value": ...}`)."""
    import json

    def resolve(value):
        if isinstance(value, dict) and "__prefect_kind" in value:
            kind = value["__prefect_kind"]
            if kind == "json":
                try:
                    return json.loads(value.get("value", "null"))
                except (TypeError, ValueError):
                    raise Unprocessable(f"Invalid JSON in parameter: {value.get('value')!r}") from None
            if kind == "none":
                return None
            if kind == "workspace_variable":
                from django.apps import apps

                if apps.is_installed("variables"):
                    Variable = apps.get_model("variables", "Variable")
                    found = Variable.objects.filter(name=value.get("variable_name")).first()
                    if found is not None:
                        return found.value
                raise Unprocessable(f"Variable {value.get('variable_name')!r} not found")
            return value.get("value")
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return resolve(parameters)


def create_run(deployment: Deployment, data: dict[str, Any], *, parameters: dict | None = None) -> tuple[FlowRun, bool]:
    """A flow run of the deployment: its parameters merged over the deployment's, its tags
    added to the deployment's, in the deployment's work queue (or another queue of its pool)."""
    from runs.api.flow_runs import create_flow_run

    data = dict(data)
    merged = hydrate({**(deployment.parameters or {}), **(data.pop("parameters", None) or {})})
    check_parameters(deployment, merged, data.pop("enforce_parameter_schema", None))
    queue = deployment.work_queue
    queue_name = data.pop("work_queue_name", None)
    if queue_name:
        if queue is None:
            raise Conflict(
                f"Cannot create the run in work queue {queue_name}: deployment {deployment.id} has no work pool."
            )
        queue = pools.ensure_queue(queue.work_pool, queue_name)
    state = data.pop("state", None)
    if state is None:
        state = {"type": StateType.SCHEDULED, "name": "Scheduled", "state_details": {"scheduled_time": timezone.now()}}
    tags = list(dict.fromkeys([*(deployment.tags or []), *(data.pop("tags", None) or [])]))
    job_variables = data.pop("job_variables", None)
    body = {
        **data,
        "state": state,
        "flow_id": deployment.flow_id,
        "parameters": merged,
        "tags": tags,
        "deployment_id": deployment.id,
        "infrastructure_document_id": data.get("infrastructure_document_id") or deployment.infrastructure_document_id,
        "labels": {**(deployment.labels or {}), **(data.get("labels") or {})},
        "job_variables": job_variables or {},
    }
    extra = {"deployment_version": deployment.version, **pools.queue_columns(queue)}
    if queue is None:
        extra["work_queue_name"] = deployment.work_queue_name
    return create_flow_run(body, parameters=parameters, extra=extra)
