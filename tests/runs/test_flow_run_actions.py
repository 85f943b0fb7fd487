"""The flow-run page's buttons (retry, cancel, pause, resume, change state, delete), which
change the run through runs.domain as the API does; its timeline and live-log hooks; and the
download of a run's logs."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from runs import logs as run_logs
from runs.models import Flow, FlowRun, FlowRunInput, Log, TaskRun
from runs.orchestration.states import parse_iso
from tests.pages import page
from tests.runs.helpers import download, flow_run_in, propose, state, task_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def press(client: Client, run: FlowRun, action: str, **data) -> list[str]:
    """POST a button of the run's page; the messages it left, after checking it went back."""
    response = client.post(f"/runs/flow-run/{run.pk}/{action}", data)
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == f"/runs/flow-run/{run.pk}"
    run.refresh_from_db()
    return [str(m) for m in response.wsgi_request._messages._queued_messages]


def deployed(flow, type_: str, name: str | None = None, **fields) -> FlowRun:
    return flow_run_in(flow, type_, name, deployment_id=uuid.uuid4(), **fields)


def buttons(html: str) -> dict[str, bool]:
    """The header's buttons by the last part of their form's address, and whether each shows
    (a button in a menu shows or hides with its menu)."""
    header = html[html.index('class="header-actions run-actions"') : html.index("</header>")]
    found, menu = {}, None
    for tag, attrs in re.findall(r"<(form|details|a)\b([^>]*)>", header):
        if tag == "details":
            menu = attrs
        elif tag == "form":
            action = re.search(r'action="[^"]*/([a-z-]+)"', attrs).group(1)
            found[action] = " hidden" not in (menu if menu is not None else attrs)
            menu = None
        elif "/delete" in attrs:
            found["delete"] = True
    return found


# --- which buttons a run gets ---------------------------------------------------------------------


def test_a_running_run_of_a_deployment_can_be_cancelled_paused_or_changed(client, flow):
    html = page(client, f"/runs/flow-run/{deployed(flow, 'RUNNING').pk}")

    assert buttons(html) == {
        "retry": False,
        "resume": False,
        "suspend": True,
        "cancel": True,
        "set-state": True,
        "delete": True,
    }
    # Hidden buttons carry the states they apply in, for the page to show them live.
    assert 'data-when="CANCELLED COMPLETED CRASHED FAILED"' in html


def test_a_finished_run_of_a_deployment_can_be_retried(client, flow):
    shown = buttons(page(client, f"/runs/flow-run/{deployed(flow, 'FAILED').pk}"))

    assert shown["retry"] and not shown["cancel"] and not shown["suspend"]


def test_a_run_without_a_deployment_cannot_be_retried_or_paused(client, flow):
    shown = buttons(page(client, f"/runs/flow-run/{flow_run_in(flow, 'RUNNING').pk}"))

    assert "retry" not in shown and "suspend" not in shown
    assert shown["cancel"]


def test_a_subflow_is_cancelled_with_its_parent_not_alone(client, flow):
    parent = flow_run_in(flow, "RUNNING")
    stand_in = task_run_in(parent, "RUNNING")
    child = flow_run_in(flow, "RUNNING", parent_task_run_id=stand_in.pk, run_name="child")

    assert "cancel" not in buttons(page(client, f"/runs/flow-run/{child.pk}"))


def test_a_paused_run_waiting_for_input_asks_for_it(client, flow):
    run = flow_run_in(flow, "RUNNING")
    propose(run, state("PAUSED", run_input_keyset={"schema": "s", "response": "r"}, pause_key="1"))

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert buttons(html)["resume"]
    assert 'name="input"' in html


# --- the buttons -----------------------------------------------------------------------------


def test_retry_schedules_a_finished_deployment_run_to_run_again_now(client, flow):
    run = deployed(flow, "COMPLETED")
    before = timezone.now()

    said = press(client, run, "retry")

    assert (run.state_type, run.state_name) == ("SCHEDULED", "AwaitingRetry")
    assert run.state.message == "Retry from the dashboard"
    # Due at once: the deployment's worker or serve process asks for runs due by now.
    assert before <= run.next_scheduled_start_time <= timezone.now()
    assert parse_iso(run.state.state_details["scheduled_time"]) == run.next_scheduled_start_time
    assert said == ["The run is now AwaitingRetry."]


def test_retry_refuses_runs_nothing_would_pick_up(client, flow):
    plain = flow_run_in(flow, "FAILED")
    running = deployed(flow, "RUNNING")

    assert press(client, plain, "retry") == ["Only a run of a deployment can be retried: nothing would pick it up."]
    assert press(client, running, "retry") == ["Only a finished run can be retried."]
    assert plain.state_type == "FAILED" and running.state_type == "RUNNING"


def test_cancel_asks_a_running_run_to_stop_and_cancels_a_scheduled_one_at_once(client, flow):
    running = deployed(flow, "RUNNING")
    scheduled = deployed(flow, "SCHEDULED")

    assert press(client, running, "cancel") == ["The run is now Cancelling."]
    said = press(client, scheduled, "cancel")

    assert (running.state_type, running.state.message) == ("CANCELLING", "Cancelled from the dashboard")
    assert scheduled.state_type == "CANCELLED"
    assert said[0].startswith("The server put the run in Cancelled instead:")


def test_cancel_leaves_a_finished_run_alone_and_says_why(client, flow):
    run = flow_run_in(flow, "COMPLETED")

    said = press(client, run, "cancel")

    assert run.state_type == "COMPLETED"
    assert said == ["Not changed: The run has already finished in a COMPLETED state."]


def test_pause_suspends_a_running_deployment_run_until_a_timeout(client, flow):
    run = deployed(flow, "RUNNING")

    said = press(client, run, "suspend", timeout="600")

    assert (run.state_type, run.state_name) == ("PAUSED", "Suspended")
    details = run.state.state_details
    assert details["pause_reschedule"] is True
    timeout = parse_iso(details["pause_timeout"]) - timezone.now()
    assert dt.timedelta(seconds=590) < timeout <= dt.timedelta(seconds=600)
    assert said == ["The run is now Suspended."]


@pytest.mark.parametrize("timeout", ["", "2", "soon", str(10**9)])
def test_pause_needs_a_sensible_timeout(client, flow, timeout):
    run = deployed(flow, "RUNNING")

    said = press(client, run, "suspend", timeout=timeout)

    if timeout == "":  # the default
        assert run.state_type == "PAUSED"
    else:
        assert run.state_type == "RUNNING"
        assert said[0].startswith("The timeout must be a whole number of seconds")


def test_resume_reschedules_a_suspended_run(client, flow):
    run = deployed(flow, "RUNNING")
    press(client, run, "suspend", timeout="600")

    said = press(client, run, "resume")

    assert (run.state_type, run.state_name) == ("SCHEDULED", "Resuming")
    assert said == ["The run is now Resuming."]


def test_resume_checks_the_input_a_paused_run_asked_for(client, flow):
    run = flow_run_in(flow, "RUNNING")
    schema = {"type": "object", "properties": {"approved": {"type": "boolean"}}, "required": ["approved"]}
    FlowRunInput.objects.create(flow_run=run, key="paused-1-schema", value=json.dumps(schema))
    keyset = {"schema": "paused-1-schema", "response": "paused-1-response", "description": "d"}
    propose(run, state("PAUSED", run_input_keyset=keyset, pause_key="1"))

    assert press(client, run, "resume", input="[1]") == ['The input must be a JSON object, such as {"approved": true}.']
    assert press(client, run, "resume", input="{oops")[0].startswith("The input is not JSON")
    said = press(client, run, "resume", input='{"approved": "yes"}')
    assert run.state_type == "PAUSED"
    assert said[0].startswith("Not changed: The input does not match the run's schema")

    assert press(client, run, "resume", input='{"approved": true}') == ["The run is now Running."]
    assert json.loads(FlowRunInput.objects.get(flow_run=run, key="paused-1-response").value) == {"approved": True}


def test_resume_by_the_api_goes_through_the_same_domain_function(api, flow):
    run = flow_run_in(flow, "RUNNING")

    response = api.post(f"flow_runs/{run.pk}/resume", {})

    assert response.json_body["status"] == "ABORT"
    assert response.json_body["details"]["reason"] == "Only a paused flow run can be resumed."
    propose(run, state("PAUSED", pause_key="1"))
    response = api.post(f"flow_runs/{run.pk}/resume", {})
    assert response.status_code == 201 and response.json_body["status"] == "ACCEPT"
    assert response.json_body["state"]["type"] == "RUNNING"


def test_change_state_proposes_the_chosen_state_with_its_message(client, flow):
    run = flow_run_in(flow, "RUNNING")

    said = press(client, run, "set-state", state="CRASHED", message="The machine lost power")

    assert (run.state_type, run.state.message) == ("CRASHED", "The machine lost power")
    assert said == ["The run is now Crashed."]


def test_change_state_goes_through_the_rules_a_client_meets(client, flow):
    run = flow_run_in(flow, "RUNNING", empirical_policy={"retries": 2, "retry_delay": 0})

    said = press(client, run, "set-state", state="FAILED")

    # A run with retries left is scheduled again instead of failing, as for a client.
    assert (run.state_type, run.state_name) == ("SCHEDULED", "AwaitingRetry")
    assert said[0].startswith("The server put the run in AwaitingRetry instead")


@pytest.mark.parametrize("chosen", ["RUNNING", "", "BOGUS"])
def test_change_state_offers_only_final_states(client, flow, chosen):
    run = flow_run_in(flow, "RUNNING")

    assert press(client, run, "set-state", state=chosen) == ["Choose one of the states offered."]
    assert run.state_type == "RUNNING"


def test_delete_asks_first_then_deletes_the_run_and_what_hangs_off_it(client, flow):
    run = flow_run_in(flow, "COMPLETED", run_name="old-run")
    task_run_in(run, "COMPLETED")
    Log.objects.create(name="x", level=20, message="m", timestamp=T0, flow_run_id=run.pk)

    html = page(client, f"/runs/flow-run/{run.pk}/delete")
    assert "Delete the flow run old-run?" in html and 'method="post"' in html
    assert FlowRun.objects.filter(pk=run.pk).exists()

    response = client.post(f"/runs/flow-run/{run.pk}/delete")

    assert response.status_code == 302 and response["Location"] == "/runs/"
    assert not FlowRun.objects.filter(pk=run.pk).exists()
    assert not TaskRun.objects.exists() and not Log.objects.exists()


@pytest.mark.parametrize("action", ["retry", "cancel", "suspend", "resume", "set-state", "delete"])
def test_buttons_of_a_run_that_is_gone_are_404(client, db, action):
    assert client.post(f"/runs/flow-run/{uuid.uuid4()}/{action}").status_code == 404


@pytest.mark.parametrize("action", ["retry", "cancel", "suspend", "resume", "set-state"])
def test_buttons_need_a_post_with_the_csrf_token(flow, action):
    run = deployed(flow, "RUNNING")
    client = Client(enforce_csrf_checks=True)

    assert client.get(f"/runs/flow-run/{run.pk}/{action}").status_code == 405
    assert client.post(f"/runs/flow-run/{run.pk}/{action}", {"state": "FAILED"}).status_code == 403
    run.refresh_from_db()
    assert run.state_type == "RUNNING"


# --- the timeline and the live logs ---------------------------------------------------------------


def test_the_timeline_draws_task_and_subflow_runs_by_their_times(client, flow):
    run = flow_run_in(flow, "COMPLETED")
    FlowRun.objects.filter(pk=run.pk).update(start_time=T0, end_time=T0 + dt.timedelta(seconds=16))
    for i, (start, seconds, type_) in enumerate([(0, 10, "COMPLETED"), (2, 4, "FAILED"), (12, 3, "COMPLETED")]):
        task = task_run_in(run, type_, run_name=f"task-{i}", dynamic_key=str(i))
        TaskRun.objects.filter(pk=task.pk).update(
            start_time=T0 + dt.timedelta(seconds=start),
            end_time=T0 + dt.timedelta(seconds=start + seconds),
            expected_start_time=T0 + dt.timedelta(seconds=start),
        )
    stand_in = TaskRun.objects.get(name="task-2")
    child = flow_run_in(Flow.objects.create(name="child"), "COMPLETED", run_name="child-run")
    FlowRun.objects.filter(pk=child.pk).update(
        parent_task_run_id=stand_in.pk, start_time=T0 + dt.timedelta(seconds=12), end_time=T0 + dt.timedelta(seconds=15)
    )
    task_run_in(run, "PENDING", run_name="waiting", dynamic_key="9")

    html = page(client, f"/runs/flow-run/{run.pk}")

    chart = html[html.index('class="timeline-chart"') : html.index("</figure>")]
    bars = re.findall(r'<g class="state-(\w+)[^"]*"><rect class="bar" x="([\d.]+)"[^>]*><title>([^<]*)</title>', chart)
    assert [(color, title.split(" · ")[0]) for color, _, title in bars] == [
        ("completed", "task-0"),
        ("failed", "task-1"),
        ("completed", "Subflow run child-run"),
    ]
    assert float(bars[0][1]) == 0.0
    # Two ran side by side, so they take two lanes; the subflow fits on the first again.
    assert len(set(re.findall(r'<rect class="bar" x="[\d.]+" y="([\d.]+)"', chart))) == 2
    assert f'href="/runs/flow-run/{child.pk}"' in chart
    assert "1 not started yet." in html


def test_the_page_of_the_last_log_lines_follows_new_ones_live(client, flow):
    run = flow_run_in(flow, "RUNNING")

    html = page(client, f"/runs/flow-run/{run.pk}?level=warning")

    assert f'data-live-logs="/ws/flow-runs/{run.pk}/logs?level=WARNING"' in html
    assert '<script src="/static/js/run-live.js"></script>' in html
    assert "New lines show here as the run writes them." not in html  # a level filter: says so
    assert "No logs at WARNING or above yet." in html


# --- downloads ----------------------------------------------------------------------------------


def write_logs(run, count: int, task=None) -> None:
    for i in range(count):
        Log.objects.create(
            name="prefect.flow_runs",
            level=(10, 20, 30, 40)[i % 4],
            message=f"line {i}\nsecond line" if i == 1 else f"line {i}",
            timestamp=T0 + dt.timedelta(seconds=i),
            flow_run_id=run.pk,
            task_run_id=task.pk if task else None,
        )


@pytest.mark.django_db(transaction=True)
def test_the_logs_download_as_plain_text_a_batch_at_a_time(monkeypatch):
    monkeypatch.setattr(run_logs, "BATCH", 2)
    run = flow_run_in(Flow.objects.create(name="etl"), "COMPLETED", run_name="nightly")
    write_logs(run, 5)

    status, headers, body = download(f"/runs/flow-run/{run.pk}/logs/download")

    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "filename*=UTF-8''nightly-logs.log" in headers["Content-Disposition"]
    assert body.splitlines() == [
        "2024-05-01 12:00:00.000 DEBUG    prefect.flow_runs | line 0",
        "2024-05-01 12:00:01.000 INFO     prefect.flow_runs | line 1",
        "    second line",
        "2024-05-01 12:00:02.000 WARNING  prefect.flow_runs | line 2",
        "2024-05-01 12:00:03.000 ERROR    prefect.flow_runs | line 3",
        "2024-05-01 12:00:04.000 DEBUG    prefect.flow_runs | line 4",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_logs_download_as_json_lines_at_the_pages_level():
    run = flow_run_in(Flow.objects.create(name="etl"), "COMPLETED")
    write_logs(run, 4)

    status, headers, body = download(f"/runs/flow-run/{run.pk}/logs/download?format=jsonl&level=warning")

    assert headers["Content-Type"] == "application/jsonl; charset=utf-8"
    lines = [json.loads(line) for line in body.splitlines()]
    assert [(line["message"], line["level_name"]) for line in lines] == [("line 2", "WARNING"), ("line 3", "ERROR")]
    assert lines[0]["timestamp"] == "2024-05-01T12:00:02Z" and lines[0]["flow_run_id"] == str(run.pk)


def test_the_logs_are_read_in_keyset_batches(flow, django_assert_num_queries):
    run = flow_run_in(flow, "COMPLETED")
    write_logs(run, 5)

    with django_assert_num_queries(3):
        batches = list(run_logs.log_batches(Log.objects.filter(flow_run_id=run.pk), size=2))

    assert [[log.message for log in batch] for batch in batches] == [
        ["line 0", "line 1\nsecond line"],
        ["line 2", "line 3"],
        ["line 4"],
    ]


@pytest.mark.parametrize("query", ["format=xml", "level=LOUD", "format=&level="])
def test_odd_download_parameters_fall_back_to_plain_text(client, flow, query):
    run = flow_run_in(flow, "COMPLETED")

    response = client.get(f"/runs/flow-run/{run.pk}/logs/download?{query}")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")


def test_a_download_of_an_unknown_run_is_404(client, db):
    assert client.get(f"/runs/flow-run/{uuid.uuid4()}/logs/download").status_code == 404
