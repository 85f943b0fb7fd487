"""The run and state tables keep no index a state change would write for nothing: foreign keys
searched through a wider index have none of their own, and lookups by them still use an index."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from runs.models import Flow, FlowRun, FlowRunState, TaskRun, TaskRunState

pytestmark = pytest.mark.django_db

UNINDEXED = [
    (FlowRun, "flow"),
    (FlowRun, "state"),
    (FlowRunState, "flow_run"),
    (TaskRun, "flow_run"),
    (TaskRun, "state"),
    (TaskRunState, "task_run"),
]


def single_column_indexes(model) -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        info["columns"][0]
        for info in constraints.values()
        if info["index"] and not info["primary_key"] and len(info["columns"]) == 1
    }


@pytest.mark.parametrize(("model", "field"), UNINDEXED, ids=lambda value: getattr(value, "__name__", value))
def test_a_foreign_key_searched_through_a_wider_index_has_no_index_of_its_own(model, field):
    assert model._meta.get_field(field).column not in single_column_indexes(model)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL picks its plan from table statistics")
@pytest.mark.parametrize(
    "queryset",
    [
        lambda: FlowRun.objects.filter(flow_id=uuid.uuid4()),
        lambda: FlowRunState.objects.filter(flow_run_id=uuid.uuid4()),
        lambda: TaskRun.objects.filter(flow_run_id=uuid.uuid4()),
        lambda: TaskRunState.objects.filter(task_run_id=uuid.uuid4()),
    ],
    ids=["runs of a flow", "states of a flow run", "task runs of a flow run", "states of a task run"],
)
def test_looking_up_by_those_foreign_keys_still_searches_an_index(queryset):
    sql, params = queryset().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH" in plan and "INDEX" in plan, plan


def test_a_flow_run_with_states_and_task_runs_is_deleted_with_them():
    flow = Flow.objects.create(name="indexed")
    run = FlowRun.objects.create(flow=flow, name="r")
    FlowRunState.objects.create(flow_run=run, type="SCHEDULED", name="Scheduled")
    task = TaskRun.objects.create(flow_run=run, name="t", task_key="k", dynamic_key="0")
    TaskRunState.objects.create(task_run=task, type="PENDING", name="Pending")

    run.delete()

    assert not FlowRunState.objects.exists()
    assert not TaskRun.objects.exists()
    assert not TaskRunState.objects.exists()
