"""POST /flow_runs/ writes a run once, with its first state, and keeps nothing of a lost race."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Event
from runs import counts
from runs.api import flow_runs as flow_runs_api
from runs.models import Flow, FlowRun, FlowRunState

pytestmark = pytest.mark.django_db


def test_a_new_run_is_inserted_once_with_its_first_state_columns(api, flow):
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/flow_runs/", {"flow_id": str(flow.pk), "state": {"type": "PENDING"}})
    assert response.status_code == 201, response.json_body
    # On PostgreSQL the run's INSERT carries its state's (WITH written AS (INSERT ...) INSERT ...).
    writes = [
        write
        for q in queries.captured_queries
        for write in ('INSERT INTO "runs_flowrun" (', 'UPDATE "runs_flowrun" ')
        if write in q["sql"]
    ]
    assert writes == ['INSERT INTO "runs_flowrun" (']
    run = FlowRun.objects.select_related("state").get(pk=response.json_body["id"])
    assert (run.state_type, run.state_name) == ("PENDING", "Pending")
    assert run.state.flow_run_id == run.pk
    assert run.state_timestamp == run.state.timestamp
    assert counts.flow_runs_by_type(["PENDING"]) == 1


def test_a_run_made_meanwhile_with_the_same_idempotency_key_is_the_answer(api, flow, monkeypatch):
    def another_request_wins():
        # Called while this request builds its run, after it found no run with the key: the
        # other request's run is in the database first.
        FlowRun.objects.create(flow=flow, name="winner", idempotency_key="nightly")
        return "loser"

    monkeypatch.setattr(flow_runs_api, "run_name", another_request_wins)
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/flow_runs/", {"flow_id": str(flow.pk), "idempotency_key": "nightly"})
    assert response.status_code == 200, response.json_body
    assert response.json_body["name"] == "winner"
    assert any('INSERT INTO "runs_flowrunstate"' in q["sql"] for q in queries.captured_queries)
    assert list(FlowRun.objects.values_list("name", flat=True)) == ["winner"]
    assert not FlowRunState.objects.exists()
    assert not Event.objects.filter(event__startswith="prefect.flow-run.").exists()


@pytest.mark.django_db(transaction=True)
def test_a_flow_deleted_while_its_run_is_built_is_answered_as_a_missing_flow(api, flow, monkeypatch):
    def flow_deleted_meanwhile():
        # The run is built after its flow was read, outside the transaction that stores it.
        Flow.objects.filter(pk=flow.pk)._raw_delete(connection.alias)
        return "orphan"

    monkeypatch.setattr(flow_runs_api, "run_name", flow_deleted_meanwhile)
    response = api.post("/flow_runs/", {"flow_id": str(flow.pk)})
    assert response.status_code == 409, response.json_body
    assert response.json_body == {"detail": f"Flow {flow.pk} does not exist."}
    assert not FlowRun.objects.exists()
    assert not FlowRunState.objects.exists()


def test_a_run_created_scheduled_without_a_time_is_due_now_and_visible_to_workers(api, flow):
    response = api.post("/flow_runs/", {"flow_id": str(flow.pk), "state": {"type": "SCHEDULED"}})
    assert response.status_code == 201, response.json_body
    body = response.json_body
    due = body["state"]["state_details"]["scheduled_time"]
    assert due == body["state"]["timestamp"]
    assert body["expected_start_time"] == body["next_scheduled_start_time"] == due

    due_runs = api.post("/flow_runs/filter", {"flow_runs": {"next_scheduled_start_time": {"before_": due}}})
    assert [run["id"] for run in due_runs.json_body] == [body["id"]]


def test_a_scheduled_state_proposed_without_a_time_is_due_now_and_one_with_a_time_keeps_it(api, flow):
    run = api.post("/flow_runs/", {"flow_id": str(flow.pk), "state": {"type": "PENDING"}}).json_body
    answer = api.post(f"/flow_runs/{run['id']}/set_state", {"state": {"type": "SCHEDULED"}, "force": True})
    assert answer.json_body["status"] == "ACCEPT"
    state = answer.json_body["state"]
    assert state["state_details"]["scheduled_time"] == state["timestamp"]

    later = "2031-01-02T03:04:05.000006Z"
    answer = api.post(
        f"/flow_runs/{run['id']}/set_state",
        {"state": {"type": "SCHEDULED", "state_details": {"scheduled_time": later}}, "force": True},
    )
    assert answer.json_body["state"]["state_details"]["scheduled_time"] == later
    assert api.get(f"/flow_runs/{run['id']}").json_body["next_scheduled_start_time"] == later


def test_a_task_run_created_scheduled_without_a_time_is_due_now(api, flow):
    flow_run = api.post("/flow_runs/", {"flow_id": str(flow.pk)}).json_body
    body = {"flow_run_id": flow_run["id"], "task_key": "t", "dynamic_key": "0", "state": {"type": "SCHEDULED"}}
    task_run = api.post("/task_runs/", body).json_body
    assert task_run["state"]["state_details"]["scheduled_time"] == task_run["state"]["timestamp"]
