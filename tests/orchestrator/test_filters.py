"""Prefect's filter JSON through the one translator, checked against real rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orchestrator.api.errors import BodyInvalid
from orchestrator.api.filters import parse_filters
from runs.filters import flow_run_body_filters
from runs.models import Flow, FlowRun
from tests.runs.helpers import flow_run_in, task_run_in

pytestmark = pytest.mark.django_db


def names(body) -> set[str]:
    return set(FlowRun.objects.filter(parse_filters(body, flow_run_body_filters())).values_list("name", flat=True))


@pytest.fixture
def runs(flow):
    other = Flow.objects.create(name="reports")
    a = flow_run_in(flow, "COMPLETED", run_name="a", tags=["daily", "etl"])
    b = flow_run_in(flow, "FAILED", run_name="b", tags=["daily"])
    c = flow_run_in(other, "RUNNING", run_name="c", tags=[])
    return a, b, c


def test_tags_all_needs_every_tag(runs):
    assert names({"flow_runs": {"tags": {"all_": ["daily", "etl"]}}}) == {"a"}


def test_tags_any_needs_one_of_them(runs):
    assert names({"flow_runs": {"tags": {"any_": ["etl", "nope"]}}}) == {"a"}


def test_tags_is_null_means_no_tags(runs):
    assert names({"flow_runs": {"tags": {"is_null_": True}}}) == {"c"}
    assert names({"flow_runs": {"tags": {"is_null_": False}}}) == {"a", "b"}


def test_state_type_and_name(runs):
    assert names({"flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED"]}}}}) == {"a", "b"}
    assert names({"flow_runs": {"state": {"type": {"not_any_": ["COMPLETED"]}}}}) == {"b", "c"}
    assert names({"flow_runs": {"state": {"name": {"any_": ["Running"]}}}}) == {"c"}


def test_or_operator_combines_criteria_with_or(runs):
    body = {"flow_runs": {"operator": "or_", "name": {"any_": ["a"]}, "state": {"type": {"any_": ["RUNNING"]}}}}
    assert names(body) == {"a", "c"}


def test_like_is_a_case_insensitive_substring(runs):
    assert names({"flows": {"name": {"like_": "REPO"}}}) == {"c"}


def test_a_filter_on_flows_narrows_flow_runs(runs, flow):
    assert names({"flows": {"id": {"any_": [str(flow.pk)]}}}) == {"a", "b"}


def test_a_filter_on_task_runs_narrows_flow_runs(runs):
    a, _, _ = runs
    task_run_in(a, "COMPLETED")
    assert names({"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}) == {"a"}


def test_start_time_falls_back_to_the_expected_start(runs):
    later = timezone.now() + dt.timedelta(hours=1)
    assert names({"flow_runs": {"start_time": {"after_": later.isoformat()}}}) == set()
    earlier = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert names({"flow_runs": {"start_time": {"after_": earlier}}}) == {"a", "b", "c"}


def test_times_with_a_space_instead_of_t_are_understood(runs):
    earlier = str(timezone.now() - dt.timedelta(hours=1))
    assert "T" not in earlier
    assert names({"flow_runs": {"expected_start_time": {"after_": earlier}}}) == {"a", "b", "c"}


def test_parent_flow_run_finds_subflows(runs, flow):
    a, _, _ = runs
    placeholder = task_run_in(a, "RUNNING")
    flow_run_in(flow, "RUNNING", run_name="child", parent_task_run_id=placeholder.pk)
    assert names({"flow_runs": {"parent_flow_run_id": {"any_": [str(a.pk)]}}}) == {"child"}


def test_created_by_matches_json_fields(flow):
    flow_run_in(
        flow,
        "SCHEDULED",
        run_name="s",
        created_by={"id": "0d8d7a1c-2a0e-4b9e-8a77-0d3b8d8b6f10", "type": "SCHEDULE", "display_value": "x"},
    )
    assert names({"flow_runs": {"created_by": {"type_": ["SCHEDULE"]}}}) == {"s"}
    assert names({"flow_runs": {"created_by": {"id_": ["0d8d7a1c-2a0e-4b9e-8a77-0d3b8d8b6f10"]}}}) == {"s"}


def test_an_empty_any_matches_nothing(runs):
    assert names({"flow_runs": {"id": {"any_": []}}}) == set()


def test_null_criteria_are_ignored(runs):
    assert names({"flows": None, "flow_runs": {"name": None, "tags": None}}) == {"a", "b", "c"}


def test_a_filter_on_deployments_matches_nothing_without_deployments(runs):
    assert names({"deployments": {"id": {"any_": ["0d8d7a1c-2a0e-4b9e-8a77-0d3b8d8b6f10"]}}}) == set()


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"flow_runs": {"nme": {}}}, ["body", "flow_runs", "nme"]),
        ({"flow_runs": {"id": {"any_": ["not-a-uuid"]}}}, ["body", "flow_runs", "id", "any_", 0]),
        ({"flow_runs": {"state": {"type": {"any_": ["EXPLODED"]}}}}, ["body", "flow_runs", "state", "type", "any_", 0]),
        ({"flow_runs": {"operator": "xor_"}}, ["body", "flow_runs", "operator"]),
        ({"flow_runs": {"start_time": {"after_": "yesterday"}}}, ["body", "flow_runs", "start_time", "after_"]),
        ({"flow_runs": []}, ["body", "flow_runs"]),
    ],
)
def test_bad_filters_are_refused_with_their_location(db, body, loc):
    with pytest.raises(BodyInvalid) as caught:
        parse_filters(body, flow_run_body_filters())
    assert caught.value.errors[0]["loc"] == loc
