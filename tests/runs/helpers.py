"""Building runs in a chosen state, through the one state-change function."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from runs.models import FlowRun, TaskRun
from runs.orchestration import engine
from runs.orchestration.states import State


def state(type_: str, name: str | None = None, **details) -> State:
    proposed = State(type=type_, name=name)
    for key, value in details.items():
        proposed.set_detail(key, value)
    return proposed


def flow_run_in(flow, type_: str | None, name: str | None = None, **fields) -> FlowRun:
    """A flow run whose current state is (type_, name), forced in without rules."""
    run = FlowRun.objects.create(flow=flow, name=fields.pop("run_name", "test-run"), **fields)
    if type_ is not None:
        details = {}
        if type_ == "SCHEDULED":
            details["scheduled_time"] = timezone.now() - dt.timedelta(seconds=1)
        engine.set_flow_run_state(run.pk, state(type_, name, **details), force=True)
        run.refresh_from_db()
    return run


def task_run_in(flow_run, type_: str | None, name: str | None = None, **fields) -> TaskRun:
    run = TaskRun.objects.create(
        flow_run=flow_run,
        name=fields.pop("run_name", "task"),
        task_key=fields.pop("task_key", "task-key"),
        dynamic_key=fields.pop("dynamic_key", "0"),
        **fields,
    )
    if type_ is not None:
        engine.set_task_run_state(run.pk, state(type_, name), force=True)
        run.refresh_from_db()
    return run


def propose(run, proposed: State, **kwargs):
    if isinstance(run, FlowRun):
        ctx = engine.set_flow_run_state(run.pk, proposed, **kwargs)
    else:
        ctx = engine.set_task_run_state(run.pk, proposed, **kwargs)
    run.refresh_from_db()
    return ctx


def download(url: str) -> tuple[int, dict, str]:
    """GET a streamed download through Django's ASGI handler, as Daphne serves it (an async
    body read a batch at a time): (status, headers, text). Needs a transactional test (the
    handler's database thread does not see the test's transaction)."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    async def fetch():
        response = await AsyncClient().get(url)
        body = b"".join([chunk async for chunk in response.streaming_content]).decode()
        return response.status_code, response.headers, body

    return async_to_sync(fetch)()
