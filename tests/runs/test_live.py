"""Run pages follow their run live: log lines and states go to the run's channel-layer group
when written (runs.live), and /ws/flow-runs/<id>/logs (runs.consumers.RunLogsConsumer) sends
them to the page as table rows, after the lines written since the page was drawn."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

import orchestrator.channels
from orchestrator.channels import bind_loop
from orchestrator.routing import websocket_urlpatterns
from runs import live
from runs.logs import LOG_ORDER
from runs.models import Flow, Log
from runs.orchestration.states import iso
from tests.runs.helpers import flow_run_in, task_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
application = URLRouter(websocket_urlpatterns)


@pytest.fixture
def sent(monkeypatch):
    """What runs.live broadcast, as (group, message) pairs, every group having a listener."""
    found = []
    monkeypatch.setattr(live, "broadcast", lambda group, message: found.append((group, message)))
    monkeypatch.setattr(live, "may_listen", lambda group: True)
    return found


@pytest.fixture
def server_loop(monkeypatch):
    """Broadcasts reach the test's event loop, as they reach the server's (orchestrator.channels)."""
    monkeypatch.setattr(orchestrator.channels, "_loop", None)


def log(run, message: str, level: int = 20, seconds: float = 0, task=None) -> Log:
    return Log.objects.create(
        name="prefect.flow_runs",
        level=level,
        message=message,
        timestamp=T0 + dt.timedelta(seconds=seconds),
        flow_run_id=run.pk,
        task_run_id=task.pk if task else None,
    )


def post_logs(run, *lines: tuple[str, int], task=None) -> None:
    """POST /api/logs/ as the Prefect client sends a batch."""
    body = [
        {
            "name": "prefect.task_runs" if task else "prefect.flow_runs",
            "level": level,
            "message": message,
            "timestamp": iso(dt.datetime.now(dt.UTC)),
            "flow_run_id": str(run.pk),
            "task_run_id": str(task.pk) if task else None,
        }
        for message, level in lines
    ]
    response = Client().post("/api/logs/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content


def socket(path: str, origin: str | None = "http://testserver") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


def messages_of(rows: list[str]) -> list[str]:
    return [re.search(r'<td class="long-text log-message">(.*?)</td>', row, re.S).group(1) for row in rows]


# --- what is published ---------------------------------------------------------------------


def test_a_batch_of_logs_goes_to_each_runs_group_and_to_the_logs_out_stream(db, sent, settings):
    settings.ORCHESTRATOR = {**settings.ORCHESTRATOR, "LOGS_STREAM_OUT_ENABLED": True}
    flow = Flow.objects.create(name="etl")
    one, two = flow_run_in(flow, "RUNNING"), flow_run_in(flow, "RUNNING")
    logs = [log(one, "a"), log(two, "b"), log(one, "c")]
    logs.append(Log.objects.create(name="worker", level=20, message="no run", timestamp=T0))

    live.publish_logs(logs)

    groups = {group: [item["message"] for item in message["logs"]] for group, message in sent}
    assert groups == {
        "logs": ["a", "b", "c", "no run"],
        f"flow-run.{one.pk}": ["a", "c"],
        f"flow-run.{two.pk}": ["b"],
    }
    assert all(message["type"] == "logs.published" for _, message in sent)


def test_logs_of_runs_nobody_follows_are_not_broadcast(db, sent, settings, monkeypatch):
    settings.ORCHESTRATOR = {**settings.ORCHESTRATOR, "LOGS_STREAM_OUT_ENABLED": True}
    flow = Flow.objects.create(name="etl")
    watched, unwatched = flow_run_in(flow, "RUNNING"), flow_run_in(flow, "RUNNING")
    monkeypatch.setattr(live, "may_listen", lambda group: group == f"flow-run.{watched.pk}")

    live.publish_logs([log(unwatched, "x")])

    assert sent == []


def test_run_pages_hear_logs_even_with_the_logs_out_stream_off(db, sent, settings):
    settings.ORCHESTRATOR = {**settings.ORCHESTRATOR, "LOGS_STREAM_OUT_ENABLED": False}
    run = flow_run_in(Flow.objects.create(name="etl"), "RUNNING")

    live.publish_logs([log(run, "a")])

    assert [group for group, _ in sent] == [f"flow-run.{run.pk}"]


def test_a_new_state_is_announced_to_the_runs_group_once_committed(db, sent, django_capture_on_commit_callbacks):
    flow = Flow.objects.create(name="etl")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = flow_run_in(flow, "RUNNING")
    assert sent == []  # nothing before the commit

    for callback in callbacks:
        callback()

    assert (f"flow-run.{run.pk}", live.state_message(run.state)) in sent
    assert sent[-1][1]["state_name"] == "Running"


def test_the_schedulers_batches_of_new_runs_are_not_announced(db, sent, django_capture_on_commit_callbacks):
    flow = Flow.objects.create(name="etl")
    runs = [flow_run_in(flow, None, run_name=f"r{i}") for i in range(live.LIVE_STATE_BATCH + 1)]
    with django_capture_on_commit_callbacks(execute=True):
        live.on_flow_run_states_written(None, states=[(run, object()) for run in runs])
    assert sent == []


# --- the page's socket ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_page_gets_the_lines_written_since_it_was_drawn_then_new_ones_as_they_come(server_loop):
    flow = Flow.objects.create(name="etl")
    run = flow_run_in(flow, "RUNNING", run_name="chatty")
    task = task_run_in(run, "RUNNING", run_name="load-0")
    shown = log(run, "drawn on the page", seconds=0)
    log(run, "written before the socket opened", seconds=1, task=task)
    cursor = LOG_ORDER.cursor_of(shown)

    async def scenario():
        bind_loop(asyncio.get_running_loop())
        page = socket(f"/ws/flow-runs/{run.pk}/logs?after={cursor}")
        connected, _ = await page.connect()
        assert connected
        state = await page.receive_json_from(timeout=5)
        backlog = await page.receive_json_from(timeout=5)
        await database_sync_to_async(post_logs)(run, ("tick 1", 20), ("tick 2", 10))
        fresh = await page.receive_json_from(timeout=5)
        await page.disconnect()
        return state, backlog, fresh

    state, backlog, fresh = async_to_sync(scenario)()

    assert state["type"] == "state" and state["state_name"] == "Running"
    assert 'class="badge state-running"' in state["badge"]
    assert backlog["type"] == "logs"
    assert messages_of(backlog["rows"]) == ["written before the socket opened"]
    # Rendered by the page's own row partial: its id, cursor and task link.
    assert f'href="/runs/task-run/{task.pk}">load-0</a>' in backlog["rows"][0]
    assert 'id="log-' in backlog["rows"][0] and "data-cursor=" in backlog["rows"][0]
    assert messages_of(fresh["rows"]) == ["tick 1", "tick 2"]


@pytest.mark.django_db(transaction=True)
def test_the_page_hears_the_runs_new_state(server_loop):
    from runs.domain import cancel_flow_run

    run = flow_run_in(Flow.objects.create(name="etl"), "RUNNING")

    async def scenario():
        bind_loop(asyncio.get_running_loop())
        page = socket(f"/ws/flow-runs/{run.pk}/logs")
        assert (await page.connect())[0]
        await page.receive_json_from(timeout=5)  # the current state
        await database_sync_to_async(cancel_flow_run)(run.pk)
        update = await page.receive_json_from(timeout=5)
        await page.disconnect()
        return update

    update = async_to_sync(scenario)()

    assert update["type"] == "state"
    assert (update["state_type"], update["state_name"]) == ("CANCELLING", "Cancelling")
    assert 'class="badge state-cancelling"' in update["badge"]


@pytest.mark.django_db(transaction=True)
def test_the_page_gets_only_the_levels_and_the_task_run_it_shows(server_loop):
    run = flow_run_in(Flow.objects.create(name="etl"), "RUNNING")
    task = task_run_in(run, "RUNNING")

    async def scenario():
        bind_loop(asyncio.get_running_loop())
        warnings = socket(f"/ws/flow-runs/{run.pk}/logs?level=warning")
        task_page = socket(f"/ws/flow-runs/{run.pk}/logs?task_run={task.pk}")
        for page in (warnings, task_page):
            assert (await page.connect())[0]
        await warnings.receive_json_from(timeout=5)  # the flow run's state; a task page gets none
        await database_sync_to_async(post_logs)(run, ("info line", 20), ("warning line", 30))
        await database_sync_to_async(post_logs)(run, ("task line", 40), task=task)
        got = (await warnings.receive_json_from(timeout=5), await warnings.receive_json_from(timeout=5))
        task_got = await task_page.receive_json_from(timeout=5)
        assert await task_page.receive_nothing(timeout=0.3)
        for page in (warnings, task_page):
            await page.disconnect()
        return got, task_got

    (first, second), task_got = async_to_sync(scenario)()

    assert messages_of(first["rows"]) == ["warning line"]
    assert messages_of(second["rows"]) == ["task line"]
    assert messages_of(task_got["rows"]) == ["task line"]


@pytest.mark.django_db(transaction=True)
def test_a_page_behind_by_more_than_it_can_take_is_told_to_reload(server_loop, monkeypatch):
    from runs.consumers import RunLogsConsumer

    monkeypatch.setattr(RunLogsConsumer, "BACKLOG", 2)
    run = flow_run_in(Flow.objects.create(name="etl"), "COMPLETED")
    for i in range(3):
        log(run, f"line {i}", seconds=i)

    async def scenario():
        page = socket(f"/ws/flow-runs/{run.pk}/logs")
        assert (await page.connect())[0]
        received = [await page.receive_json_from(timeout=5) for _ in range(3)]
        await page.disconnect()
        return received

    state, backlog, overflow = async_to_sync(scenario)()

    assert state["type"] == "state"
    assert messages_of(backlog["rows"]) == ["line 0", "line 1"]
    assert overflow == {"type": "overflow"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path, origin",
    [
        ("/ws/flow-runs/{missing}/logs", "http://testserver"),  # no such run
        ("/ws/flow-runs/{run}/logs", "http://evil.example"),  # another site's page
    ],
)
def test_the_socket_is_refused_for_unknown_runs_and_other_sites(path, origin):
    import uuid

    run = flow_run_in(Flow.objects.create(name="etl"), "RUNNING")

    async def scenario():
        page = socket(path.format(missing=uuid.uuid4(), run=run.pk), origin=origin)
        connected, _ = await page.connect()
        await page.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


@pytest.mark.django_db(transaction=True)
def test_odd_query_parameters_are_ignored(server_loop):
    run = flow_run_in(Flow.objects.create(name="etl"), "RUNNING")
    log(run, "only line")

    async def scenario():
        page = socket(f"/ws/flow-runs/{run.pk}/logs?after=nonsense&level=LOUD&task_run=42&x=%ff")
        assert (await page.connect())[0]
        received = [await page.receive_json_from(timeout=5) for _ in range(2)]
        await page.disconnect()
        return received

    _, backlog = async_to_sync(scenario)()
    assert messages_of(backlog["rows"]) == ["only line"]
