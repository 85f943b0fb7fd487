"""Filter models and sort orders of flows, flow runs, task runs and logs, in Prefect's
vocabulary, and how each carries over to the others (a flow-run list filtered by its
flows' names, a flow list filtered by its runs' states...).

Resources of other apps (deployments, work pools, work queues) register their filter
models in `RELATED_FILTERS` when they are installed.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce

from orchestrator.api.filters import (
    BOOL,
    CHOICE,
    DATETIME,
    INT,
    STR,
    UUID,
    Model,
    after,
    before,
    custom,
    icontains,
    in_,
    is_null,
    list_of,
    not_in,
    same,
    tags_all,
    tags_any,
    tags_empty,
)

from .choices import StateType
from .models import Flow, FlowRun, TaskRun

STATE_TYPE = CHOICE(*StateType.values)


def _coalesced_start(lookup: str):
    from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

    expression = Coalesce(F("start_time"), F("expected_start_time"))
    compare = LessThanOrEqual if lookup == "lte" else GreaterThanOrEqual
    return custom(lambda value: Q(compare(expression, value)), DATETIME)


def _text_search(field: str):
    """Logs' text filter: words must all appear; `-word` must not (case-insensitive)."""

    def build(query: str) -> Q:
        q = Q()
        for word in query.split():
            if word.startswith("-") and len(word) > 1:
                q &= ~Q(**{f"{field}__icontains": word[1:]})
            elif word.strip('"'):
                q &= Q(**{f"{field}__icontains": word.strip('"')})
        return q

    return custom(build, STR)


def _flows_with_deployments(present: bool) -> Q:
    from django.apps import apps

    if not apps.is_installed("deployments"):
        return Q(pk__in=[]) if present else Q()
    deployments = apps.get_model("deployments", "Deployment").objects.values("flow_id")
    return Q(id__in=deployments) if present else ~Q(id__in=deployments)


def _parent_flow_runs(ids) -> Q:
    return Q(parent_task_run_id__in=TaskRun.objects.filter(flow_run_id__in=ids).values("id"))


FLOW_FILTER = Model(
    {
        "id": Model({"any_": in_("id"), "not_any_": not_in("id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
        "tags": Model({"all_": tags_all("tags"), "any_": tags_any("tags"), "is_null_": tags_empty("tags")}),
        "deployment": Model({"is_null_": custom(lambda v: _flows_with_deployments(not v), BOOL)}),
    }
)

FLOW_RUN_FILTER = Model(
    {
        "id": Model({"any_": in_("id"), "not_any_": not_in("id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
        "tags": Model({"all_": tags_all("tags"), "any_": tags_any("tags"), "is_null_": tags_empty("tags")}),
        "deployment_id": Model({"any_": in_("deployment_id"), "is_null_": is_null("deployment_id")}),
        "work_queue_name": Model({"any_": in_("work_queue_name", STR), "is_null_": is_null("work_queue_name")}),
        "state": Model(
            {
                "type": Model(
                    {"any_": in_("state_type", STATE_TYPE), "not_any_": not_in("state_type", STATE_TYPE)},
                    operator=False,
                ),
                "name": Model({"any_": in_("state_name", STR), "not_any_": not_in("state_name", STR)}, operator=False),
            }
        ),
        "flow_version": Model({"any_": in_("flow_version", STR)}, operator=False),
        "start_time": Model(
            {"before_": _coalesced_start("lte"), "after_": _coalesced_start("gte"), "is_null_": is_null("start_time")},
            operator=False,
        ),
        "end_time": Model(
            {"before_": before("end_time"), "after_": after("end_time"), "is_null_": is_null("end_time")},
            operator=False,
        ),
        "expected_start_time": Model(
            {"before_": before("expected_start_time"), "after_": after("expected_start_time")}, operator=False
        ),
        "next_scheduled_start_time": Model(
            {"before_": before("next_scheduled_start_time"), "after_": after("next_scheduled_start_time")},
            operator=False,
        ),
        "parent_flow_run_id": Model({"any_": custom(_parent_flow_runs, list_of(UUID))}),
        "parent_task_run_id": Model({"any_": in_("parent_task_run_id"), "is_null_": is_null("parent_task_run_id")}),
        "idempotency_key": Model(
            {"any_": in_("idempotency_key", STR), "not_any_": not_in("idempotency_key", STR)}, operator=False
        ),
        "created_by": Model(
            {
                "id_": custom(lambda ids: Q(created_by__id__in=[str(i) for i in ids]), list_of(UUID)),
                "type_": in_("created_by__type", STR),
                "is_null_": is_null("created_by"),
            }
        ),
    }
)

TASK_RUN_FILTER = Model(
    {
        "id": Model({"any_": in_("id")}, operator=False),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}, operator=False),
        "tags": Model({"all_": tags_all("tags"), "is_null_": tags_empty("tags")}),
        "state": Model(
            {
                "type": Model({"any_": in_("state_type", STATE_TYPE)}, operator=False),
                "name": Model({"any_": in_("state_name", STR)}, operator=False),
            }
        ),
        "start_time": Model(
            {"before_": before("start_time"), "after_": after("start_time"), "is_null_": is_null("start_time")},
            operator=False,
        ),
        "end_time": Model(
            {"before_": before("end_time"), "after_": after("end_time"), "is_null_": is_null("end_time")},
            operator=False,
        ),
        "expected_start_time": Model(
            {"before_": before("expected_start_time"), "after_": after("expected_start_time")}, operator=False
        ),
        "subflow_runs": Model(
            {
                "exists_": custom(
                    lambda value: (
                        Q(Exists(FlowRun.objects.filter(parent_task_run_id=OuterRef("pk"))))
                        if value
                        else ~Q(Exists(FlowRun.objects.filter(parent_task_run_id=OuterRef("pk"))))
                    ),
                    BOOL,
                )
            },
            operator=False,
        ),
        "flow_run_id": Model({"any_": in_("flow_run_id"), "is_null_": is_null("flow_run_id")}),
    }
)

LOG_FILTER = Model(
    {
        "level": Model(
            {"ge_": custom(lambda v: Q(level__gte=v), INT), "le_": custom(lambda v: Q(level__lte=v), INT)},
            operator=False,
        ),
        "timestamp": Model({"before_": before("timestamp"), "after_": after("timestamp")}, operator=False),
        "flow_run_id": Model({"any_": in_("flow_run_id")}, operator=False),
        "task_run_id": Model({"any_": in_("task_run_id"), "is_null_": is_null("task_run_id")}, operator=False),
        "text": Model({"query": _text_search("message")}, operator=False),
    }
)

# --- how a filter on one resource constrains another ------------------------------


def flow_runs_of_flows(q: Q) -> Q:
    return Q(flow_id__in=Flow.objects.filter(q).values("id"))


def flows_with_runs(q: Q) -> Q:
    return Q(Exists(FlowRun.objects.filter(q, flow_id=OuterRef("pk"))))


def flows_with_task_runs(q: Q) -> Q:
    return Q(Exists(TaskRun.objects.filter(q, flow_run__flow_id=OuterRef("pk"))))


def flow_runs_with_task_runs(q: Q) -> Q:
    return Q(Exists(TaskRun.objects.filter(q, flow_run_id=OuterRef("pk"))))


def task_runs_of_flow_runs(q: Q) -> Q:
    return Q(flow_run_id__in=FlowRun.objects.filter(q).values("id"))


def task_runs_of_flows(q: Q) -> Q:
    return Q(flow_run__flow_id__in=Flow.objects.filter(q).values("id"))


# Filters of resources defined by other apps, keyed by the body key, then by the resource
# being listed ("flow", "flow_run", "task_run"). The deployments app fills these in.
RELATED_FILTERS: dict[str, dict[str, tuple]] = {}


class _Absent(Model):
    """The filter of a resource whose app is not installed: nothing can match it."""

    def __init__(self):
        super().__init__({})

    def to_q(self, value, loc=("body",)):
        if value is None:
            return None
        return Q(pk__in=[]) if value else None


def related(key: str, target: str) -> tuple:
    """The (filter, narrowing) pair another app registered for `key` on `target`, or one that matches nothing."""
    entry = RELATED_FILTERS.get(key, {}).get(target)
    if entry is not None:
        return entry
    return (_Absent(), same)


def flow_body_filters() -> dict[str, tuple]:
    return {
        "flows": (FLOW_FILTER, same),
        "flow_runs": (FLOW_RUN_FILTER, flows_with_runs),
        "task_runs": (TASK_RUN_FILTER, flows_with_task_runs),
        "deployments": related("deployments", "flow"),
        "work_pools": related("work_pools", "flow"),
        "work_queues": related("work_queues", "flow"),
    }


def flow_run_body_filters() -> dict[str, tuple]:
    return {
        "flows": (FLOW_FILTER, flow_runs_of_flows),
        "flow_runs": (FLOW_RUN_FILTER, same),
        "task_runs": (TASK_RUN_FILTER, flow_runs_with_task_runs),
        "deployments": related("deployments", "flow_run"),
        "work_pools": related("work_pools", "flow_run"),
        "work_pool_queues": related("work_queues", "flow_run"),
        "work_queues": related("work_queues", "flow_run"),
    }


def task_run_body_filters() -> dict[str, tuple]:
    return {
        "flows": (FLOW_FILTER, task_runs_of_flows),
        "flow_runs": (FLOW_RUN_FILTER, task_runs_of_flow_runs),
        "task_runs": (TASK_RUN_FILTER, same),
        "deployments": related("deployments", "task_run"),
    }


# --- sorting ------------------------------------------------------------------------

FLOW_SORTS = {
    "CREATED_DESC": ["-created"],
    "UPDATED_DESC": ["-updated"],
    "NAME_ASC": ["name"],
    "NAME_DESC": ["-name"],
}

_START = Coalesce("start_time", "expected_start_time")

FLOW_RUN_SORTS = {
    "ID_DESC": ["-id"],
    "START_TIME_ASC": [_START.asc()],
    "START_TIME_DESC": [_START.desc()],
    "EXPECTED_START_TIME_ASC": ["expected_start_time"],
    "EXPECTED_START_TIME_DESC": ["-expected_start_time"],
    "NAME_ASC": ["name"],
    "NAME_DESC": ["-name"],
    "NEXT_SCHEDULED_START_TIME_ASC": ["next_scheduled_start_time"],
    "END_TIME_DESC": ["-end_time"],
}

TASK_RUN_SORTS = {
    "ID_DESC": ["-id"],
    "EXPECTED_START_TIME_ASC": ["expected_start_time"],
    "EXPECTED_START_TIME_DESC": ["-expected_start_time"],
    "NAME_ASC": ["name"],
    "NAME_DESC": ["-name"],
    "NEXT_SCHEDULED_START_TIME_ASC": ["next_scheduled_start_time"],
    "END_TIME_DESC": ["-end_time"],
}

LOG_SORTS = {"TIMESTAMP_ASC": ["timestamp"], "TIMESTAMP_DESC": ["-timestamp"]}
