"""The task-run page: state and history, logs (live on the last page), artifacts, the task's
inputs, details, and changing its state through the engine."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from artifacts import domain as artifacts
from runs.models import FlowRun, Log, TaskRun
from tests.pages import page
from tests.runs.helpers import download, flow_run_in, task_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(flow) -> FlowRun:
    return flow_run_in(flow, "RUNNING", run_name="nightly")


def test_the_page_shows_the_task_runs_state_history_logs_and_artifacts(client, run):
    task = task_run_in(run, "RUNNING", run_name="extract-0", tags=["io"])
    TaskRun.objects.filter(pk=task.pk).update(cache_key="k-1")
    Log.objects.create(
        name="prefect.task_runs", level=30, message="slow <disk>", timestamp=T0, flow_run_id=run.pk, task_run_id=task.pk
    )
    Log.objects.create(
        name="prefect.flow_runs", level=20, message="the flow's own line", timestamp=T0, flow_run_id=run.pk
    )
    artifacts.create_artifact(
        {"key": "rows", "type": "markdown", "data": "# 3", "flow_run_id": run.pk, "task_run_id": task.pk}
    )
    artifacts.create_artifact({"key": "flow-report", "type": "markdown", "data": "# x", "flow_run_id": run.pk})

    html = page(client, f"/runs/task-run/{task.pk}")

    assert '<h1><span class="muted">nightly /</span> extract-0</h1>' in html
    assert re.search(r'class="header-badge"><span class="badge state-running"', html)
    assert f'href="/runs/flow-run/{run.pk}">etl / nightly</a>' in html
    logs = html[html.index('id="logs"') : html.index('id="artifacts"')]
    assert "slow &lt;disk&gt;" in logs and "the flow's own line" not in logs
    assert f'data-live-logs="/ws/flow-runs/{run.pk}/logs?task_run={task.pk}"' in logs
    assert f'href="/runs/task-run/{task.pk}/logs/download"' in logs
    found = html[html.index('id="artifacts"') : html.index('id="inputs"')]
    assert "rows" in found and "flow-report" not in found
    assert '<span class="tag">io</span>' in html and "k-1" in html
    history = html[html.index('id="states"') :]
    assert re.findall(r'class="badge state-[a-z]+"[^>]*>(\w+)</span>', history) == ["Running"]


def test_the_page_names_the_task_runs_its_inputs_came_from(client, run):
    upstream = task_run_in(run, "COMPLETED", run_name="extract-0")
    missing = uuid.uuid4()
    task = task_run_in(
        run,
        "COMPLETED",
        run_name="load-0",
        task_key="load",
        task_inputs={
            "rows": [{"input_type": "task_run", "id": str(upstream.pk)}],
            "other": [{"input_type": "task_run", "id": str(missing)}],
            "limit": [{"input_type": "parameter", "name": "limit"}],
            "constant": [],
        },
    )

    html = page(client, f"/runs/task-run/{task.pk}")

    inputs = html[html.index('id="task-inputs"') :]
    assert f'<code>rows</code></td>\n              <td><a href="/runs/task-run/{upstream.pk}">extract-0</a>' in inputs
    assert "a task run not recorded" in inputs
    assert "parameter" in inputs and "A value passed directly" in inputs


def test_a_task_run_that_stands_for_a_subflow_links_it(client, run, flow):
    task = task_run_in(run, "COMPLETED", run_name="child-0")
    child = flow_run_in(flow, "COMPLETED", run_name="child-run", parent_task_run_id=task.pk)

    assert f'subflow run <a href="/runs/flow-run/{child.pk}">child-run</a>' in page(client, f"/runs/task-run/{task.pk}")


def test_a_task_run_outside_a_flow_run_renders(client, db):
    task = TaskRun.objects.create(name="background-0", task_key="bg", dynamic_key="0")

    html = page(client, f"/runs/task-run/{task.pk}")

    assert "A task run outside any flow run" in html
    assert "data-live-logs" not in html
    assert "This task run has not sent any logs." in html
    assert "This task was called without arguments." in html


def test_change_state_proposes_the_state_under_the_task_policy(client, run):
    task = task_run_in(run, "RUNNING")

    response = client.post(f"/runs/task-run/{task.pk}/set-state", {"state": "FAILED", "message": "Stuck"})

    assert response.status_code == 302 and response["Location"] == f"/runs/task-run/{task.pk}"
    task.refresh_from_db()
    assert (task.state_type, task.state.message) == ("FAILED", "Stuck")
    assert [str(m) for m in response.wsgi_request._messages._queued_messages] == ["The run is now Failed."]


def test_change_state_offers_only_final_states(client, run):
    task = task_run_in(run, "RUNNING")

    response = client.post(f"/runs/task-run/{task.pk}/set-state", {"state": "PENDING"})

    task.refresh_from_db()
    assert task.state_type == "RUNNING"
    assert [str(m) for m in response.wsgi_request._messages._queued_messages] == ["Choose one of the states offered."]


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_logs_download(run):
    task = task_run_in(run, "COMPLETED", run_name="extract-0")
    Log.objects.create(
        name="prefect.task_runs", level=20, message="mine", timestamp=T0, flow_run_id=run.pk, task_run_id=task.pk
    )
    Log.objects.create(name="prefect.flow_runs", level=20, message="not mine", timestamp=T0, flow_run_id=run.pk)

    status, _, body = download(f"/runs/task-run/{task.pk}/logs/download")

    assert status == 200
    assert body == "2024-05-01 12:00:00.000 INFO     prefect.task_runs | mine\n"


def test_the_page_uses_a_bounded_number_of_queries(client, run, django_assert_max_num_queries):
    upstream = [task_run_in(run, "COMPLETED", run_name=f"u-{i}", dynamic_key=str(i)) for i in range(10)]
    task = task_run_in(
        run,
        "COMPLETED",
        task_key="load",
        task_inputs={f"x{i}": [{"input_type": "task_run", "id": str(u.pk)}] for i, u in enumerate(upstream)},
    )
    for i in range(20):
        Log.objects.create(name="p", level=20, message="m", timestamp=T0, flow_run_id=run.pk, task_run_id=task.pk)
        artifacts.create_artifact({"key": f"a-{i}", "type": "progress", "data": 50, "task_run_id": task.pk})

    # The task run, its states, subflow, upstream names, a page of logs, artifacts (two).
    with django_assert_max_num_queries(7):
        page(client, f"/runs/task-run/{task.pk}")


@pytest.mark.parametrize("query", ["level=LOUD", "logs_after=zzz", "logs_before=2024~x", "level=&logs_after=~"])
def test_odd_query_parameters_never_break_the_page(client, run, query):
    task = task_run_in(run, "COMPLETED")

    assert client.get(f"/runs/task-run/{task.pk}?{query}").status_code == 200


def test_an_unknown_task_run_is_404(client, db):
    assert client.get(f"/runs/task-run/{uuid.uuid4()}").status_code == 404
    assert client.get("/runs/task-run/not-a-uuid").status_code == 404
