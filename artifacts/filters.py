"""Filter models and sort orders of artifacts and artifact collections, and how flow, flow-run,
task-run and deployment filters in the same body narrow them (through the run ids the
artifacts carry)."""

from __future__ import annotations

from django.db.models import Q

from orchestrator.api.filters import STR, Model, exists, icontains, in_, not_in
from runs.filters import FLOW_FILTER, FLOW_RUN_FILTER, TASK_RUN_FILTER, flow_runs_of_flows, related
from runs.models import FlowRun, TaskRun


def _key_filter() -> Model:
    return Model(
        {"any_": in_("key", STR), "like_": icontains("key"), "exists_": exists("key")},
        operator=False,
    )


def _type_filter() -> Model:
    return Model({"any_": in_("type", STR), "not_any_": not_in("type", STR)}, operator=False)


ARTIFACT_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "key": _key_filter(),
        "flow_run_id": Model({"any_": in_("flow_run_id")}, operator=False),
        "task_run_id": Model({"any_": in_("task_run_id")}, operator=False),
        "type": _type_filter(),
    }
)

ARTIFACT_COLLECTION_FILTER = Model(
    {
        "latest_id": Model({"any_": in_("latest_id")}, operator=False),
        "key": _key_filter(),
        "flow_run_id": Model({"any_": in_("flow_run_id")}, operator=False),
        "task_run_id": Model({"any_": in_("task_run_id")}, operator=False),
        "type": _type_filter(),
    }
)


# --- how run filters narrow artifacts (and collections: both carry the run ids) -------------


def _of_flow_runs(q: Q) -> Q:
    return Q(flow_run_id__in=FlowRun.objects.filter(q).values("id"))


def _of_task_runs(q: Q) -> Q:
    return Q(task_run_id__in=TaskRun.objects.filter(q).values("id"))


def _of_flows(q: Q) -> Q:
    return _of_flow_runs(flow_runs_of_flows(q))


def _deployments() -> tuple:
    """The deployments filter as the deployments app registered it for flow runs, carried
    over to artifacts; a filter that matches nothing when that app is not installed."""
    model, narrow_flow_runs = related("deployments", "flow_run")
    return model, lambda q: _of_flow_runs(narrow_flow_runs(q))


def body_filters(own: Model) -> dict[str, tuple]:
    return {
        "artifacts": (own, lambda q: q),
        "flow_runs": (FLOW_RUN_FILTER, _of_flow_runs),
        "task_runs": (TASK_RUN_FILTER, _of_task_runs),
        "flows": (FLOW_FILTER, _of_flows),
        "deployments": _deployments(),
    }


# --- sorting: ties are broken by id, newest first, so pages never overlap ---------------------

ARTIFACT_SORTS = {
    "CREATED_DESC": ["-created", "-id"],
    "UPDATED_DESC": ["-updated", "-id"],
    "ID_DESC": ["-id"],
    "KEY_DESC": ["-key", "-id"],
    "KEY_ASC": ["key", "-id"],
}

ARTIFACT_COLLECTION_SORTS = {
    "CREATED_DESC": ["-created", "-id"],
    "UPDATED_DESC": ["-updated", "-id"],
    "ID_DESC": ["-id"],
    "KEY_DESC": ["-key"],
    "KEY_ASC": ["key"],
}
