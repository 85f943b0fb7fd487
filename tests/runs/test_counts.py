"""Counts of flow runs by state type kept by database triggers (runs.counts), on either database."""

from __future__ import annotations

import pytest
from django.db import connection

from runs import counts
from runs.choices import StateType
from runs.models import Flow, FlowRun, FlowRunCount
from runs.orchestration import engine
from runs.services import FoldRunCounts
from tests.runs.helpers import flow_run_in, state

pytestmark = pytest.mark.django_db


def assert_counts_match_the_runs() -> None:
    for type_ in [*StateType.values, None]:
        actual = FlowRun.objects.filter(state_type=type_).count()
        if type_ is not None:
            assert counts.flow_runs_by_type([type_]) == actual, type_
    assert counts.flow_runs_by_type(None) == FlowRun.objects.count()


def test_counts_follow_runs_created_moved_bulk_inserted_and_deleted(flow):
    running = flow_run_in(flow, "RUNNING")
    flow_run_in(flow, "COMPLETED")
    flow_run_in(flow, None)  # no state yet
    assert_counts_match_the_runs()

    engine.set_flow_run_state(running.pk, state("COMPLETED"))
    FlowRun.objects.bulk_create(
        [FlowRun(flow=flow, name=f"bulk-{i}", state_type="SCHEDULED", state_name="Scheduled") for i in range(5)]
    )
    assert counts.flow_runs_by_type(["COMPLETED"]) == 2
    assert counts.flow_runs_by_type(["SCHEDULED", "COMPLETED"]) == 7
    assert_counts_match_the_runs()

    FlowRun.objects.filter(name__startswith="bulk-").delete()
    assert_counts_match_the_runs()

    Flow.objects.filter(pk=flow.pk).delete()  # the runs go with their flow
    assert counts.flow_runs_by_type(None) == 0
    assert_counts_match_the_runs()


def test_a_change_that_keeps_the_state_type_writes_nothing(flow):
    run = flow_run_in(flow, "RUNNING")
    before = FlowRunCount.objects.count()
    FlowRun.objects.filter(pk=run.pk).update(name="renamed", state_name="Still running")
    assert FlowRunCount.objects.count() == before


def test_folding_leaves_one_row_per_type_with_the_same_totals(flow):
    for type_ in ["RUNNING", "COMPLETED", "COMPLETED", "FAILED"]:
        flow_run_in(flow, type_)
    FlowRun.objects.filter(state_type="FAILED").delete()
    rows_before = FlowRunCount.objects.count()

    removed = counts.fold()

    assert removed > 0
    assert FlowRunCount.objects.count() == rows_before - removed
    by_type = list(FlowRunCount.objects.values_list("state_type", flat=True))
    assert len(by_type) == len(set(by_type))  # one row per type, none for FAILED (sum 0)
    assert "FAILED" not in by_type
    assert_counts_match_the_runs()
    assert counts.fold() == 0


def test_install_puts_back_a_missing_trigger_and_counts_the_runs_afresh(flow):
    flow_run_in(flow, "COMPLETED")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER runs_flowrun_count_insert ON runs_flowrun")
        else:
            cursor.execute("DROP TRIGGER runs_flowrun_count_insert")
    assert "runs_flowrun_count_insert" not in counts.installed_triggers()
    flow_run_in(flow, "COMPLETED")  # not seen by the missing trigger
    FlowRunCount.objects.create(state_type="COMPLETED", delta=1000)  # and a count gone wrong

    counts.install()

    assert counts.installed_triggers() == set(counts.TRIGGERS)
    assert_counts_match_the_runs()
    flow_run_in(flow, "COMPLETED")
    assert counts.flow_runs_by_type(["COMPLETED"]) == 3


# --- the /flow_runs/count endpoint -----------------------------------------------------------------

CLIENT_SHAPED = {
    # What the Prefect client sends for FlowRunFilter(state={"type": {"any_": [...]}}): every field,
    # nulls and default operators included.
    "flows": None,
    "flow_runs": {
        "operator": "and_",
        "id": None,
        "name": None,
        "tags": None,
        "state": {"operator": "and_", "type": {"any_": ["COMPLETED"], "not_any_": None}, "name": None},
        "start_time": None,
    },
    "task_runs": None,
    "deployments": None,
    "work_pools": None,
    "work_pool_queues": None,
}


@pytest.mark.parametrize(
    ("body", "asked"),
    [
        ({}, None),
        ({"flow_runs": None}, None),
        ({"flow_runs": {"state": {"type": {"any_": ["FAILED", "CRASHED"]}}}}, ["FAILED", "CRASHED"]),
        (CLIENT_SHAPED, ["COMPLETED"]),
    ],
)
def test_a_filter_on_state_types_alone_is_answered_from_the_counts(body, asked):
    assert counts.state_types_asked(body) == asked


@pytest.mark.parametrize(
    "body",
    [
        {"flow_runs": {"state": {"type": {"not_any_": ["COMPLETED"]}}}},
        {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}, "name": {"any_": ["Late"]}}}},
        {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}, "tags": {"all_": ["etl"]}}},
        {"flow_runs": {"operator": "or_", "state": {"type": {"any_": ["COMPLETED"]}}}},
        {"flows": {"name": {"any_": ["etl"]}}},
        {"flow_runs": {"state": {"type": {"any_": ["NOT_A_STATE"]}}}},
    ],
)
def test_any_other_filter_is_counted_from_the_runs(body):
    with pytest.raises(counts.NotByTypeOnly):
        counts.state_types_asked(body)


def test_the_count_endpoint_uses_the_counts_only_for_state_type_filters(api, flow):
    flow_run_in(flow, "COMPLETED")
    flow_run_in(flow, "COMPLETED", run_name="nightly")
    assert api.post("flow_runs/count", CLIENT_SHAPED).json_body == 2
    assert api.post("flow_runs/count", {}).json_body == 2

    # Seen through a count that went wrong on purpose: only the type-only filter reads it.
    FlowRunCount.objects.create(state_type="COMPLETED", delta=1000)
    assert api.post("flow_runs/count", CLIENT_SHAPED).json_body == 1002
    by_name = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}, "name": {"any_": ["nightly"]}}}
    assert api.post("flow_runs/count", by_name).json_body == 1
    assert api.post("flow_runs/count", {"flow_runs": {"nme": {}}}).status_code == 422


def test_a_state_type_count_with_a_key_no_filter_knows_is_refused_before_the_counts_answer(api):
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"], "sometimes": None}}}}
    response = api.post("flow_runs/count", body)
    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "flow_runs", "state", "type", "sometimes"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_a_large_fold_vacuums_the_table_on_postgresql(monkeypatch):
    FlowRunCount.objects.bulk_create([FlowRunCount(state_type="COMPLETED", delta=1) for _ in range(5)])
    monkeypatch.setattr(counts, "VACUUM_AFTER", 4)

    assert counts.fold() == 4

    with connection.cursor() as cursor:
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [counts.TABLE])
        assert cursor.fetchone()[0] >= 1
    assert counts.flow_runs_by_type(["COMPLETED"]) == 5


def test_the_service_leaves_up_to_a_hundred_rows_and_folds_more(flow):
    flow_run_in(flow, "COMPLETED")
    service = FoldRunCounts()
    up_to = counts.FOLD_PAST - FlowRunCount.objects.count()
    FlowRunCount.objects.bulk_create([FlowRunCount(state_type="RUNNING", delta=0) for _ in range(up_to)])

    assert service.run_once() == 0
    assert FlowRunCount.objects.count() == counts.FOLD_PAST

    FlowRunCount.objects.create(state_type="RUNNING", delta=0)
    assert service.run_once() == counts.FOLD_PAST  # all but one row: COMPLETED's total
    assert_counts_match_the_runs()
