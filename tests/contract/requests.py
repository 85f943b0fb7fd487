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
from .world import (
    CRON,
    PROCESS_JOB_TEMPLATE,
    RRULE,
    World,
    client_state,
    deployment_body,
    deployment_run_body,
    flow_run_body,
    interval,
    iso,
    schedule_body,
    task_run_body,
)


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


def _space_separated(value: dt.datetime) -> str:
    """`str(datetime)`, as runners and workers send `scheduled_before`."""
    return str(value.astimezone(dt.UTC))


def _deployment_filter(w: World) -> dict:
    d = w.deployments
    return {
        "flows": {"operator": "and_", "id": {"any_": [w.flow["id"]]}, "name": None, "tags": None},
        "flow_runs": None,
        "task_runs": None,
        "deployments": {
            "operator": "and_",
            "id": {"any_": [d.served["id"], d.pooled["id"]]},
            "name": {"like_": "e"},
            "paused": {"eq_": False},
            "tags": {"operator": "and_", "all_": ["demo"]},
            "work_queue_name": None,
        },
        "work_pools": None,
        "work_pool_queues": None,
    }


def _pooled_filter(w: World) -> dict:
    return {
        "work_pools": {"operator": "and_", "name": {"any_": ["contract-pool"]}, "type": {"any_": ["process"]}},
        "work_pool_queues": {"operator": "and_", "name": {"any_": ["critical"], "startswith_": ["crit"]}},
    }


def _schedules(w: World) -> list[dict]:
    return [
        schedule_body(interval(86400.0), slug="daily"),
        schedule_body({**CRON, "cron": "*/15 * * * *", "day_or": False}, max_scheduled_runs=5),
        schedule_body(RRULE, active=False, parameters={"n": 9}),
    ]


DEPLOYMENT_CALLS: dict[str, Callable[[World, Any], Call]] = {
    # Interval schedules: the client sends seconds as a number (`"interval": 20.0`), where
    # the document's input schema says an ISO 8601 duration string; pydantic takes both.
    "POST /deployments/": lambda w, api: Call(
        loose_request=True,
        body=deployment_body(
            w.flow["id"],
            "wp-dep",
            schedules=[schedule_body(interval(20.0))],
            work_pool_name="contract-pool",
            pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": "/home/user/proj"}}],
            path=None,
        ),
    ),
    # The runner re-anchors its schedule on every start.
    "PATCH /deployments/{id}": lambda w, api: Call(
        loose_request=True,
        params={"id": w.deployments.served["id"]},
        body={
            key: value
            for key, value in deployment_body(
                w.flow["id"], "served", schedules=[schedule_body(interval(1800.0))], concurrency_limit=1
            ).items()
            if key not in ("name", "flow_id", "labels")
        },
    ),
    "POST /deployments/filter": lambda w, api: Call(
        body={**_deployment_filter(w), "sort": "NAME_DESC", "limit": 10, "offset": 0}
    ),
    "POST /deployments/paginate": lambda w, api: Call(body={**_pooled_filter(w), "page": 1, "limit": 5}),
    "POST /deployments/count": lambda w, api: Call(body=_deployment_filter(w)),
    "POST /deployments/bulk_delete": lambda w, api: Call(
        body={"deployments": {"id": {"any_": [w.deployments.served["id"]]}}, "limit": 5}
    ),
    "POST /deployments/get_scheduled_flow_runs": lambda w, api: Call(
        body={
            "deployment_ids": [w.deployments.pooled["id"]],
            "scheduled_before": _space_separated(timezone.now() + dt.timedelta(seconds=10)),
        }
    ),
    "POST /deployments/{id}/schedule": lambda w, api: Call(
        body={
            "start_time": iso(timezone.now()),
            "end_time": iso(timezone.now() + dt.timedelta(days=7)),
            "min_time": 3600,
            "min_runs": 2,
            "max_runs": 20,
        }
    ),
    "POST /deployments/{id}/create_flow_run": lambda w, api: Call(body=deployment_run_body(work_queue_name="critical")),
    "POST /deployments/{id}/create_flow_run/bulk": lambda w, api: Call(
        body=[deployment_run_body(), deployment_run_body(parameters={"n": 4}, tags=["backfill"])]
    ),
    "POST /deployments/{id}/schedules": lambda w, api: Call(body=_schedules(w), loose_request=True),
    "PATCH /deployments/{id}/schedules/{schedule_id}": lambda w, api: Call(
        body={"active": True, "schedule": {**RRULE, "rrule": "FREQ=DAILY;BYHOUR=7"}, "max_scheduled_runs": 3}
    ),
    # work pools, their queues and workers
    "POST /work_pools/": lambda w, api: Call(
        body={"name": "p", "type": "process", "base_job_template": PROCESS_JOB_TEMPLATE, "is_paused": False}
    ),
    "PATCH /work_pools/{name}": lambda w, api: Call(
        body={"description": "Process pool", "is_paused": True, "concurrency_limit": 4}
    ),
    "POST /work_pools/filter": lambda w, api: Call(
        body={"work_pools": _pooled_filter(w)["work_pools"], "limit": None, "offset": 0}
    ),
    "POST /work_pools/count": lambda w, api: Call(body={"work_pools": {"id": {"any_": [w.deployments.pool["id"]]}}}),
    "POST /work_pools/{name}/concurrency_status": lambda w, api: Call(
        body={"page": 1, "limit": 10, "flow_run_limit": 5}
    ),
    "POST /work_pools/{name}/get_scheduled_flow_runs": lambda w, api: Call(
        body={
            "work_queue_names": [],
            "scheduled_before": _space_separated(timezone.now() + dt.timedelta(seconds=10)),
        }
    ),
    "POST /work_pools/{work_pool_name}/queues": lambda w, api: Call(
        body={
            "name": "gpu",
            "description": "",
            "is_paused": False,
            "concurrency_limit": 2,
            "priority": 1,
            "filter": None,
        }
    ),
    "GET /work_pools/{work_pool_name}/queues/{name}": lambda w, api: Call(params={"name": "critical"}),
    "PATCH /work_pools/{work_pool_name}/queues/{name}": lambda w, api: Call(
        params={"name": "backfill"}, body={"is_paused": False, "priority": 1, "concurrency_limit": None}
    ),
    "DELETE /work_pools/{work_pool_name}/queues/{name}": lambda w, api: Call(params={"name": "backfill"}),
    "POST /work_pools/{work_pool_name}/queues/filter": lambda w, api: Call(
        body={"work_queues": None, "limit": None, "offset": None}, loose_request=True
    ),
    "POST /work_pools/{work_pool_name}/workers/heartbeat": lambda w, api: Call(
        body={"name": w.deployments.worker_name, "heartbeat_interval_seconds": 30}
    ),
    "POST /work_pools/{work_pool_name}/workers/filter": lambda w, api: Call(
        body={"workers": {"status": {"any_": ["ONLINE"]}}, "offset": None, "limit": None}, loose_request=True
    ),
    "DELETE /work_pools/{work_pool_name}/workers/{name}": lambda w, api: Call(
        params={"name": w.deployments.worker_name}
    ),
    # the id-addressed work queues
    "POST /work_queues/": lambda w, api: Call(
        body={"name": "agent-queue", "description": None, "is_paused": False, "concurrency_limit": 1, "priority": None}
    ),
    "PATCH /work_queues/{id}": lambda w, api: Call(body={"description": "renamed", "concurrency_limit": 3}),
    "POST /work_queues/{id}/get_runs": lambda w, api: Call(
        body={"scheduled_before": iso(timezone.now() + dt.timedelta(minutes=1)), "limit": 10}
    ),
    "POST /work_queues/filter": lambda w, api: Call(
        body={"work_queues": {"name": {"startswith_": ["crit", "legacy"]}}, "limit": None, "offset": 0}
    ),
    "POST /work_queues/{id}/concurrency_status": lambda w, api: Call(body={"page": 1, "limit": 10}),
    # concurrency limits: tags (v1)
    "POST /concurrency_limits/": lambda w, api: Call(body={"tag": "nightly", "concurrency_limit": 1}),
    "POST /concurrency_limits/filter": lambda w, api: Call(body={"limit": 15, "offset": 0}),
    "POST /concurrency_limits/tag/{tag}/reset": lambda w, api: Call(body={"slot_override": [w.api_task_run["id"]]}),
    "POST /concurrency_limits/increment": lambda w, api: Call(
        body={"names": ["etl", "unlimited"], "task_run_id": w.event_task_run_id}
    ),
    "POST /concurrency_limits/decrement": lambda w, api: Call(
        body={"names": ["etl"], "task_run_id": w.api_task_run["id"]}
    ),
    # concurrency limits: global (v2)
    "POST /v2/concurrency_limits/": lambda w, api: Call(
        body={"name": "name", "limit": 2, "active": True, "active_slots": 0, "slot_decay_per_second": 0.0}
    ),
    "PATCH /v2/concurrency_limits/{id_or_name}": lambda w, api: Call(body={"limit": 4, "active": True}),
    "POST /v2/concurrency_limits/filter": lambda w, api: Call(body={"limit": 100, "offset": 0}),
    "POST /v2/concurrency_limits/increment": lambda w, api: Call(
        body={"names": ["contract-api"], "slots": 1, "mode": "rate_limit", "create_if_missing": None}
    ),
    "POST /v2/concurrency_limits/increment-with-lease": lambda w, api: Call(
        body={
            "names": ["contract-db"],
            "slots": 1,
            "mode": "concurrency",
            "lease_duration": 300,
            "holder": {"type": "task_run", "id": w.event_task_run_id},
        }
    ),
    "POST /v2/concurrency_limits/decrement": lambda w, api: Call(
        body={"names": ["contract-db"], "slots": 1, "occupancy_seconds": 2.5, "create_if_missing": False}
    ),
    "POST /v2/concurrency_limits/decrement-with-lease": lambda w, api: Call(body={"lease_id": w.deployments.lease_id}),
    "POST /v2/concurrency_limits/leases/{lease_id}/renew": lambda w, api: Call(body={"lease_duration": 300}),
    # what the client reaches while deploying, and the UI's flow lists
    "POST /ui/flows/count-deployments": lambda w, api: Call(body={"flow_ids": [w.flow["id"], str(uuid.uuid4())]}),
    "POST /ui/flows/next-runs": lambda w, api: Call(body={"flow_ids": [w.flow["id"], str(uuid.uuid4())]}),
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
    **DEPLOYMENT_CALLS,
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
    "POST /deployments/filter": {
        # Every key of Prefect's DeploymentFilter.
        "every key": lambda w, api: Call(
            body={
                "deployments": {
                    "operator": "or_",
                    "id": {"any_": [w.deployments.pooled["id"]], "not_any_": [str(uuid.uuid4())]},
                    "name": {"any_": ["nightly"], "like_": "night"},
                    "flow_or_deployment_name": {"like_": "contract"},
                    "paused": {"eq_": False},
                    "tags": {"operator": "or_", "all_": ["demo"], "any_": ["demo"], "is_null_": False},
                    "work_queue_name": {"any_": ["critical"]},
                    "concurrency_limit": {"ge_": 1, "le_": 5, "is_null_": False},
                },
                "flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}},
                **_pooled_filter(w),
                "sort": "UPDATED_DESC",
            }
        ),
    },
    "POST /work_pools/{name}/get_scheduled_flow_runs": {
        "named queues": lambda w, api: Call(
            body={
                "work_queue_names": ["critical", "backfill"],
                "scheduled_before": iso(timezone.now() + dt.timedelta(minutes=1)),
                "scheduled_after": iso(timezone.now() - dt.timedelta(days=1)),
                "limit": 5,
            }
        ),
    },
    "POST /v2/concurrency_limits/increment-with-lease": {
        # A tagged task whose tags have no limit still gets a lease id back (PROTOCOL.md §8.11).
        "no limit": lambda w, api: Call(
            body={"names": ["tag:untracked"], "slots": 1, "mode": "concurrency", "lease_duration": 300, "holder": None}
        ),
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
        ("deployments", "id"): world.deployments.pooled["id"],
        ("deployments", "flow_name"): world.flow["name"],
        ("deployments", "deployment_name"): world.deployments.pooled["name"],
        ("deployments", "schedule_id"): world.deployments.schedule_id,
        ("work_pools", "name"): world.deployments.pool["name"],
        ("work_pools", "work_pool_name"): world.deployments.pool["name"],
        ("work_queues", "id"): world.deployments.queue["id"],
        ("work_queues", "name"): world.deployments.legacy_queue["name"],
        ("concurrency_limits", "id"): world.deployments.tag_limit["id"],
        ("concurrency_limits", "tag"): world.deployments.tag_limit["tag"],
        ("v2", "id_or_name"): world.deployments.global_limit["name"],
        ("v2", "lease_id"): world.deployments.lease_id,
        ("automations", "resource_id"): f"prefect.deployment.{world.deployments.pooled['id']}",
        ("collections", "view"): "aggregate-worker-metadata",
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
