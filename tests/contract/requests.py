"""What to send to each operation: real ids from the world, and the body the client sends.

An operation without an entry in `CALLS` gets its path parameters from `PATH_VALUES` (or a
made-up value) and the smallest body its request schema allows, which is enough to check
that it is routed; an entry makes the call realistic, so its answer can be checked.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from .openapi import Operation, example_from_schema, load
from .world import World, client_state, flow_run_body, iso, task_run_body


@dataclass
class Call:
    params: dict[str, str] = field(default_factory=dict)  # path parameters overriding PATH_VALUES
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # The status and `detail` we answer on purpose where Prefect's document says 2xx.
    expect_status: int | None = None
    expect_detail: str | None = None
    # The orchestration status an OrchestrationResult must carry.
    expect_result: str | None = None
    # The body departs from the request schema on purpose (e.g. a null Prefect would refuse).
    loose_request: bool = False


def _window(hours: int = 1) -> tuple[str, str]:
    now = timezone.now()
    return iso(now - dt.timedelta(hours=hours)), iso(now + dt.timedelta(minutes=5))


def _history(w: World, api) -> Call:
    start, end = _window()
    return Call(body={"history_start": start, "history_end": end, "history_interval_seconds": 600})


def _next_page(w: World, api) -> Call:
    first = api.post("events/filter", {"filter": None, "limit": 1}).json_body
    assert first["next_page"], f"POST /events/filter with limit 1 gave no next_page: {first}"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(first["next_page"]).query))
    return Call(query=query)


def _scheduled_later(api, w: World) -> str:
    at = iso(timezone.now() + dt.timedelta(minutes=10))
    body = flow_run_body(w.flow["id"], state=client_state("SCHEDULED", "Scheduled", scheduled_time=at))
    return api.post("flow_runs/", body).json_body["id"]


def _cancelling(api, w: World) -> str:
    body = {"state": client_state("CANCELLING", "Cancelling"), "force": False}
    assert api.post(f"flow_runs/{w.running_run['id']}/set_state", body).json_body["status"] == "ACCEPT"
    return w.running_run["id"]


def _flow_run_filter(w: World) -> dict:
    return {
        "flows": {"operator": "and_", "id": {"any_": [w.flow["id"]]}, "name": None, "tags": None},
        "flow_runs": {
            "operator": "and_",
            "state": {"operator": "and_", "type": {"any_": ["COMPLETED", "FAILED", "RUNNING", "PAUSED", "SCHEDULED"]}},
            "tags": {"all_": ["contract"]},
        },
        "task_runs": None,
        "deployments": None,
        "work_pools": None,
        "work_pool_queues": None,
    }


CALLS: dict[str, Callable[[World, Any], Call]] = {
    "GET /csrf-token": lambda w, api: Call(
        query={"client": str(uuid.uuid4())}, expect_status=422, expect_detail="CSRF protection is disabled."
    ),
    "PUT /admin/storage": lambda w, api: Call(body={"default_result_storage_block_id": None}, loose_request=True),
    # flows
    "POST /flows/": lambda w, api: Call(body={"name": "basic-flow", "tags": [], "labels": {}}),
    "PATCH /flows/{id}": lambda w, api: Call(body={"tags": ["etl", "nightly"]}),
    "POST /flows/filter": lambda w, api: Call(
        body={
            "flows": {"operator": "and_", "id": {"any_": [w.flow["id"]]}, "name": None, "tags": None},
            "flow_runs": None,
            "task_runs": None,
            "deployments": None,
            "work_pools": None,
            "work_queues": None,
            "sort": None,
            "limit": None,
            "offset": 0,
        }
    ),
    "POST /flows/count": lambda w, api: Call(body={"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}),
    "POST /flows/paginate": lambda w, api: Call(body={"page": 1, "limit": 10, "sort": "CREATED_DESC"}),
    "POST /flows/bulk_delete": lambda w, api: Call(body={"flows": {"name": {"any_": ["contract-etl"]}}, "limit": 5}),
    # flow runs
    "POST /flow_runs/": lambda w, api: Call(body=flow_run_body(w.flow["id"])),
    "PATCH /flow_runs/{id}": lambda w, api: Call(
        params={"id": w.scheduled_run["id"]},
        body={
            "flow_version": "71ca2578e0beb5de70dce3be6da8864a",
            "empirical_policy": {
                "max_retries": 0,
                "retry_delay_seconds": 0.0,
                "retries": 0,
                "retry_delay": 0,
                "pause_keys": [],
                "resuming": False,
                "retry_type": None,
            },
        },
    ),
    "POST /flow_runs/filter": lambda w, api: Call(
        body={**_flow_run_filter(w), "sort": "EXPECTED_START_TIME_DESC", "limit": 10, "offset": 0}
    ),
    "POST /flow_runs/count": lambda w, api: Call(body=_flow_run_filter(w)),
    "POST /flow_runs/paginate": lambda w, api: Call(body={**_flow_run_filter(w), "page": 1, "limit": 2}),
    "POST /flow_runs/lateness": lambda w, api: Call(body={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}),
    "POST /flow_runs/history": _history,
    "POST /flow_runs/bulk_delete": lambda w, api: Call(
        body={"flow_runs": {"id": {"any_": [w.failed_run["id"]]}}, "limit": 10}
    ),
    "POST /flow_runs/bulk_set_state": lambda w, api: Call(
        body={
            "flow_runs": {"id": {"any_": [w.running_run["id"], w.scheduled_run["id"]]}},
            "state": client_state("CANCELLED", "Cancelled"),
            "force": False,
            "limit": 10,
        }
    ),
    "POST /flow_runs/{id}/set_state": lambda w, api: Call(
        params={"id": w.running_run["id"]},
        body={"state": client_state("COMPLETED", "Completed", flow_run_id=w.running_run["id"]), "force": False},
        expect_result="ACCEPT",
    ),
    "POST /flow_runs/{id}/resume": lambda w, api: Call(
        params={"id": w.paused_run["id"]}, body={"run_input": {"approved": True}}, expect_result="ACCEPT"
    ),
    "GET /flow_runs/{id}/graph-v2": lambda w, api: Call(query={"since": iso(timezone.now() - dt.timedelta(days=1))}),
    "PATCH /flow_runs/{id}/labels": lambda w, api: Call(
        body={"prefect.worker.name": "ProcessWorker 1fb6c052", "prefect.worker.type": "process"}
    ),
    "POST /flow_runs/{id}/input": lambda w, api: Call(
        params={"id": w.paused_run["id"]},
        body={"key": "paused-1-description", "value": '"Approve the release?"', "sender": None},
    ),
    "POST /flow_runs/{id}/input/filter": lambda w, api: Call(
        params={"id": w.paused_run["id"]}, body={"prefix": "paused-1", "limit": 5, "exclude_keys": []}
    ),
    "GET /flow_runs/{id}/input/{key}": lambda w, api: Call(params={"id": w.paused_run["id"]}),
    "DELETE /flow_runs/{id}/input/{key}": lambda w, api: Call(params={"id": w.paused_run["id"]}),
    # task runs
    "POST /task_runs/": lambda w, api: Call(body=task_run_body(w.running_run["id"], "child-9a8b")),
    "PATCH /task_runs/{id}": lambda w, api: Call(body={"name": "renamed"}),
    "POST /task_runs/filter": lambda w, api: Call(
        body={
            "flows": None,
            "flow_runs": {"id": {"any_": [w.completed_run["id"], w.running_run["id"]]}},
            "task_runs": {"state": {"type": {"any_": ["COMPLETED", "PENDING"]}}, "subflow_runs": {"exists_": False}},
            "deployments": None,
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": 10,
            "offset": 0,
        }
    ),
    "POST /task_runs/count": lambda w, api: Call(body={"task_runs": {"tags": {"all_": ["etl"]}}}),
    "POST /task_runs/paginate": lambda w, api: Call(body={"page": 1, "limit": 1, "sort": "NAME_ASC"}),
    "POST /task_runs/history": _history,
    "POST /task_runs/{id}/set_state": lambda w, api: Call(
        params={"id": w.api_task_run["id"]},
        body={"state": client_state("RUNNING", "Running", task_run_id=w.api_task_run["id"]), "force": False},
        expect_result="ACCEPT",
    ),
    # states
    "GET /flow_run_states/": lambda w, api: Call(query={"flow_run_id": w.completed_run["id"]}),
    "GET /task_run_states/": lambda w, api: Call(query={"task_run_id": w.event_task_run_id}),
    # logs
    "POST /logs/": lambda w, api: Call(
        body=[
            {
                "name": "prefect.flow_runs",
                "level": 20,
                "message": "flow starting with n=2",
                "timestamp": iso(timezone.now()),
                "flow_run_id": w.running_run["id"],
                "task_run_id": None,
            }
        ]
    ),
    "POST /logs/filter": lambda w, api: Call(
        body={
            "logs": {
                "operator": "and_",
                "level": {"ge_": 10},
                "timestamp": None,
                "flow_run_id": {"any_": [w.completed_run["id"]]},
                "task_run_id": None,
                "text": None,
            },
            "limit": None,
            "offset": 0,
            "sort": "TIMESTAMP_ASC",
        }
    ),
    # events
    "POST /events": lambda w, api: Call(
        body=[
            {
                "occurred": iso(timezone.now()),
                "event": "prefect.flow-run.heartbeat",
                "resource": {
                    "prefect.resource.id": f"prefect.flow-run.{w.running_run['id']}",
                    "prefect.resource.name": w.running_run["name"],
                },
                "related": [
                    {
                        "prefect.resource.id": f"prefect.flow.{w.flow['id']}",
                        "prefect.resource.role": "flow",
                        "prefect.resource.name": w.flow["name"],
                    }
                ],
                "payload": {},
                "id": str(uuid.uuid4()),
                "follows": None,
            }
        ]
    ),
    "POST /events/filter": lambda w, api: Call(
        body={
            "filter": {
                "occurred": {"since": iso(timezone.now() - dt.timedelta(hours=1)), "until": iso(timezone.now())},
                "event": {"prefix": ["prefect.task-run."]},
                "any_resource": {"id_prefix": ["prefect.task-run."]},
                "order": "DESC",
            },
            "limit": 2,
        }
    ),
    "GET /events/filter/next": _next_page,
    "POST /events/count-by/{countable}": lambda w, api: Call(
        params={"countable": "time"},
        body={
            "filter": {
                "occurred": {"since": iso(timezone.now() - dt.timedelta(hours=2)), "until": iso(timezone.now())}
            },
            "time_unit": "hour",
            "time_interval": 1.0,
        },
    ),
    # ui
    "POST /ui/flow_runs/history": lambda w, api: Call(
        body={"sort": "EXPECTED_START_TIME_DESC", "limit": 100, "offset": 0, "flows": {"id": {"any_": [w.flow["id"]]}}}
    ),
    "POST /ui/flow_runs/count-task-runs": lambda w, api: Call(body={"flow_run_ids": w.flow_run_ids}),
    "POST /ui/task_runs/dashboard/counts": lambda w, api: Call(
        body={"task_runs": {"start_time": {"after_": iso(timezone.now() - dt.timedelta(hours=1))}}}
    ),
    "POST /ui/task_runs/count": lambda w, api: Call(body={"flow_runs": {"id": {"any_": w.flow_run_ids}}}),
}

# Extra variants of one operation, checked as cases of their own.
VARIANTS: dict[str, dict[str, Callable[[World, Any], Call]]] = {
    "POST /events/filter": {
        # Every key of Prefect's EventFilter, so none of them is refused as unknown.
        "every key": lambda w, api: Call(
            body={
                "filter": {
                    "occurred": {"since": iso(timezone.now() - dt.timedelta(hours=1)), "until": iso(timezone.now())},
                    "event": {"prefix": ["prefect."], "exclude_prefix": ["x."], "name": None, "exclude_name": ["y"]},
                    "resource": {
                        "id": None,
                        "id_prefix": ["prefect.task-run."],
                        "labels": {"prefect.resource.name": "double-*"},
                        "distinct": True,
                    },
                    "related": {
                        "id": [f"prefect.flow-run.{w.completed_run['id']}"],
                        "role": ["flow-run"],
                        "resources_in_roles": [[f"prefect.flow-run.{w.completed_run['id']}", "flow-run"]],
                        "labels": None,
                    },
                    "any_resource": [{"id": None, "id_prefix": ["prefect.flow."], "labels": None}],
                    "id": {"id": [e["id"] for e in w.events]},
                    "text": {"query": "double -nothing"},
                    "order": "ASC",
                },
                "limit": 50,
            }
        ),
    },
    "POST /events/count-by/{countable}": {
        countable: (lambda c: lambda w, api: Call(params={"countable": c}, body={"filter": {}}))(countable)
        for countable in ("day", "event", "resource")
    },
    "POST /flow_runs/{id}/set_state": {
        # A cancelling run may only become Cancelled: the answer is still an OrchestrationResult.
        "reject": lambda w, api: Call(
            params={"id": _cancelling(api, w)},
            body={"state": client_state("COMPLETED", "Completed"), "force": False},
            expect_result="REJECT",
        ),
        # A running run cannot go back to Pending (the runner's duplicate-submission guard).
        "abort": lambda w, api: Call(
            params={"id": w.running_run["id"]},
            body={"state": client_state("PENDING", "Pending"), "force": False},
            expect_result="ABORT",
        ),
        # A run asked to start before its scheduled time waits.
        "wait": lambda w, api: Call(
            params={"id": _scheduled_later(api, w)},
            body={"state": client_state("RUNNING", "Running"), "force": False},
            expect_result="WAIT",
        ),
    },
}


def path_values(world: World) -> dict[tuple[str, str], str]:
    """(resource, parameter) -> a real value; the resource is the first path segment."""
    return {
        ("flows", "id"): world.flow["id"],
        ("flows", "name"): world.flow["name"],
        ("flow_runs", "id"): world.completed_run["id"],
        ("flow_runs", "key"): world.input_key,
        ("task_runs", "id"): world.event_task_run_id,
        ("flow_run_states", "id"): world.flow_run_state_id,
        ("task_run_states", "id"): world.task_run_state_id,
        ("ui/task_runs", "id"): world.event_task_run_id,
        ("events", "countable"): "event",
    }


def resource_of(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/".join(parts[:2]) if parts[0] == "ui" else parts[0]


def made_up(parameter: dict) -> str:
    schema = parameter.get("schema", {})
    if schema.get("format") == "uuid" or parameter["name"] == "id" or parameter["name"].endswith("_id"):
        return str(uuid.uuid4())
    return "contract"


def call_for(operation: Operation, world: World, api, variant: str | None = None) -> tuple[str, Call]:
    """The URL (under /api) and the call to make for an operation."""
    if variant is not None:
        call = VARIANTS[operation.id][variant](world, api)
    elif operation.id in CALLS:
        call = CALLS[operation.id](world, api)
    else:
        call = Call(body=example_from_schema(operation.request_schema, load()))
        for parameter in operation.params("query"):
            if parameter.get("required"):
                call.query[parameter["name"]] = made_up(parameter)
    known = path_values(world)
    resource = resource_of(operation.path)
    path = operation.path
    for name in operation.path_params:
        value = call.params.get(name) or known.get((resource, name))
        if value is None:
            value = made_up({"name": name})
        path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
    if call.query:
        path = f"{path}?{urllib.parse.urlencode(call.query)}"
    return path, call


def send(api, operation: Operation, path: str, call: Call):
    """Make the call like the shared `api` fixture does, reading streamed answers too."""
    method = operation.method.lower()
    kwargs = {}
    if method not in ("get", "delete"):
        body = {} if call.body is None and operation.request_schema is None else call.body
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    response = getattr(api.client, method)(f"/api/{path.lstrip('/')}", **kwargs)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    response.raw_body = content
    try:
        response.json_body = json.loads(content) if content else None
    except ValueError:
        response.json_body = None
    return response
