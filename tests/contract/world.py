"""A realistic little world, built through the API the way the Prefect 3.8.8 client builds it.

Bodies are the client's own (captured in PROTOCOL.md §3.2 and §5): every field of its
`*Create` models with nulls, task runs arriving as `prefect.task-run.*` events, logs in
batches, flow-run inputs from `pause_flow_run(wait_for_input=...)`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

STATE_DETAILS_KEYS = (
    "flow_run_id",
    "task_run_id",
    "child_flow_run_id",
    "scheduled_time",
    "cache_key",
    "cache_expiration",
    "deferred",
    "pause_timeout",
    "pause_key",
    "run_input_keyset",
    "refresh_cache",
    "retriable",
    "transition_id",
    "task_parameters_id",
    "traceparent",
    "deployment_concurrency_lease_id",
)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def client_state(type_: str, name: str, **details: Any) -> dict[str, Any]:
    """A StateCreate as the client serialises it: every detail key, nulls included."""
    state_details: dict[str, Any] = {key: None for key in STATE_DETAILS_KEYS}
    state_details.update(untrackable_result=False, pause_reschedule=False)
    state_details.update(details)
    return {"type": type_, "name": name, "message": None, "state_details": state_details, "data": None}


def flow_run_body(flow_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "state": {"type": "PENDING", "name": "Pending", "message": None, "state_details": {"traceparent": None}},
        "name": None,
        "flow_id": flow_id,
        "flow_version": "4596bbedf7b44d4bdff5f5532cf0cef9",
        "parameters": {"n": 2},
        "context": {},
        "parent_task_run_id": None,
        "empirical_policy": {"retries": 0, "retry_delay": 0},
        "tags": ["contract"],
    }
    body.update(fields)
    return body


def task_run_body(flow_run_id: str | None, task_key: str, **fields: Any) -> dict[str, Any]:
    body = {
        "state": client_state("PENDING", "Pending"),
        "name": f"{task_key}-0",
        "flow_run_id": flow_run_id,
        "task_key": task_key,
        "dynamic_key": "0",
        "cache_key": None,
        "cache_expiration": None,
        "task_version": "30704f5b3ce008c5b134c7021e11a9a7",
        "empirical_policy": {
            "max_retries": 0,
            "retry_delay_seconds": 0.0,
            "retries": 0,
            "retry_delay": 0,
            "retry_jitter_factor": None,
        },
        "tags": [],
        "labels": {},
        "task_inputs": {"x": []},
    }
    body.update(fields)
    return body


def task_run_events(task_run_id: str, flow: dict, flow_run: dict, start: dt.datetime) -> list[dict[str, Any]]:
    """Pending -> Running -> Completed of one task, exactly as `emit_task_run_state_change_event`."""
    steps = [("PENDING", "Pending", None), ("RUNNING", "Running", "PENDING"), ("COMPLETED", "Completed", "RUNNING")]
    events, previous = [], None
    for index, (type_, name, from_type) in enumerate(steps):
        at = start + dt.timedelta(milliseconds=50 * index)
        task_run: dict[str, Any] = {
            "name": "double-0",
            "task_key": "double-d410725f",
            "dynamic_key": "0",
            "empirical_policy": {"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0},
            "tags": ["etl"],
            "labels": {},
            "task_inputs": {"x": [{"input_type": "parameter", "name": "n"}]},
            "run_count": 0 if type_ == "PENDING" else 1,
            "flow_run_run_count": 1,
            "expected_start_time": iso(start),
            "total_run_time": 0.0 if type_ != "COMPLETED" else 0.1,
        }
        if type_ != "PENDING":
            task_run["start_time"] = iso(start + dt.timedelta(milliseconds=50))
        if type_ == "COMPLETED":
            task_run["end_time"] = iso(at)
        event_id = str(uuid.uuid4())
        events.append(
            {
                "occurred": iso(at),
                "event": f"prefect.task-run.{name}",
                "resource": {
                    "prefect.resource.id": f"prefect.task-run.{task_run_id}",
                    "prefect.resource.name": "double-0",
                    "prefect.run-count": str(task_run["run_count"]),
                    "prefect.state-message": "",
                    "prefect.state-name": name,
                    "prefect.state-timestamp": at.isoformat(),
                    "prefect.state-type": type_,
                    "prefect.orchestration": "client",
                },
                "related": [
                    {"prefect.resource.id": "prefect.tag.etl", "prefect.resource.role": "tag"},
                    {
                        "prefect.resource.id": f"prefect.flow-run.{flow_run['id']}",
                        "prefect.resource.role": "flow-run",
                        "prefect.resource.name": flow_run["name"],
                    },
                    {
                        "prefect.resource.id": f"prefect.flow.{flow['id']}",
                        "prefect.resource.role": "flow",
                        "prefect.resource.name": flow["name"],
                    },
                ],
                "payload": {
                    "intended": {"from": from_type, "to": type_},
                    "initial_state": (
                        {"type": from_type, "name": steps[index - 1][1], "message": "", "state_details": {}}
                        if from_type
                        else None
                    ),
                    "validated_state": {
                        "type": type_,
                        "name": name,
                        "message": "",
                        "state_details": {"untrackable_result": True} if type_ == "COMPLETED" else {},
                        "data": None,
                    },
                    "task_run": task_run,
                },
                "id": event_id,
                "follows": previous,
            }
        )
        previous = event_id
    return events


@dataclass
class Deployments:
    """What a served flow, a work pool with a worker, and concurrency limits leave behind."""

    pool: dict  # `contract-pool`, a process pool with a worker heartbeating
    queue: dict  # `critical`, priority 1 of the pool, with a concurrency limit
    spare_queue: dict  # `backfill`, priority 2, paused
    legacy_queue: dict  # made through the id-addressed /work_queues API
    worker_name: str
    served: dict  # `served` of flow.serve(): an interval schedule, no pool
    pooled: dict  # `nightly` on the pool: cron and rrule schedules, a concurrency limit of 2
    schedule_id: str  # the rrule schedule of `pooled`
    run: dict  # a run of `pooled`, Running, holding a slot of its concurrency limit
    waiting_run: dict  # a run of `pooled` created with run_deployment(), still Scheduled
    global_limit: dict  # v2 limit `contract-db`, one slot held under `lease_id`
    rate_limit: dict  # v2 limit with a slot decay
    tag_limit: dict  # v1 limit for the tag `etl`, held by the API task run
    lease_id: str


@dataclass
class World:
    flow: dict
    completed_run: dict  # RUNNING -> COMPLETED through set_state, with task runs and logs
    running_run: dict
    paused_run: dict  # waiting for input, with its schema stored as a flow-run input
    scheduled_run: dict  # late
    failed_run: dict
    subflow_run: dict  # child of `placeholder_task_run`
    event_task_run_id: str  # recorded from prefect.task-run.* events
    api_task_run: dict  # created with POST /task_runs/, still PENDING
    placeholder_task_run: dict
    flow_run_state_id: str
    task_run_state_id: str
    input_key: str
    deployments: Deployments
    events: list[dict] = field(default_factory=list)

    @property
    def flow_run_ids(self) -> list[str]:
        runs = (self.completed_run, self.running_run, self.paused_run, self.scheduled_run, self.failed_run)
        return [run["id"] for run in runs]


def _ok(response, what: str) -> Any:
    assert 200 <= response.status_code < 300, (
        f"building the world: {what} -> {response.status_code} {response.content!r}"
    )
    return response.json_body


PROCESS_JOB_TEMPLATE = {
    "job_configuration": {
        "command": "{{ command }}",
        "env": "{{ env }}",
        "labels": "{{ labels }}",
        "name": "{{ name }}",
        "stream_output": "{{ stream_output }}",
        "working_dir": "{{ working_dir }}",
    },
    "variables": {
        "type": "object",
        "properties": {
            "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Name"},
            "env": {"additionalProperties": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "type": "object"},
            "labels": {"additionalProperties": {"type": "string"}, "type": "object"},
            "command": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Command"},
            "stream_output": {"default": True, "title": "Stream Output", "type": "boolean"},
            "working_dir": {"anyOf": [{"format": "path", "type": "string"}, {"type": "null"}], "default": None},
        },
    },
}
PARAMETER_SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {"n": {"default": 1, "position": 0, "title": "n", "type": "integer"}},
}


def schedule_body(schedule: dict, **fields: Any) -> dict[str, Any]:
    """A DeploymentScheduleCreate as `flow.serve()` and `.deploy()` send it."""
    return {
        "schedule": schedule,
        "active": True,
        "max_scheduled_runs": None,
        "parameters": {},
        "slug": None,
        "replaces": None,
        **fields,
    }


def deployment_body(flow_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """A DeploymentCreate with every field the 3.8.8 client sends."""
    version = "71ca2578e0beb5de70dce3be6da8864a"
    body = {
        "name": name,
        "flow_id": flow_id,
        "paused": False,
        "schedules": [],
        "concurrency_limit": None,
        "concurrency_options": None,
        "enforce_parameter_schema": True,
        "parameter_openapi_schema": PARAMETER_SCHEMA,
        "parameters": {"n": 3},
        "tags": ["demo"],
        "labels": {},
        "pull_steps": None,
        "work_queue_name": None,
        "work_pool_name": None,
        "storage_document_id": None,
        "infrastructure_document_id": None,
        "description": None,
        "path": ".",
        "entrypoint": "contract.py:etl",
        "job_variables": {},
        "version": version,
        "version_info": {"type": "prefect:simple", "version": version},
    }
    body.update(fields)
    return body


def deployment_run_body(**fields: Any) -> dict[str, Any]:
    """What `run_deployment()` sends to /deployments/{id}/create_flow_run."""
    body = {
        "state": {
            "type": "SCHEDULED",
            "name": "Scheduled",
            "message": None,
            "state_details": {"scheduled_time": iso(timezone.now()), "traceparent": None},
            "data": None,
        },
        "name": None,
        "parameters": {"n": 21},
        "context": {},
        "tags": [],
        "idempotency_key": None,
        "parent_task_run_id": None,
        "job_variables": None,
        "labels": {},
    }
    body.update(fields)
    return body


def interval(seconds: float = 3600.0) -> dict[str, Any]:
    return {"interval": seconds, "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"}


CRON = {"cron": "0 9 * * 1-5", "timezone": "America/New_York", "day_or": True}
RRULE = {"rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=6;BYMINUTE=30", "timezone": "Europe/Paris"}


def build_deployments(api, flow: dict, task_run_id: str) -> Deployments:
    """A pool with a worker and two queues, a served and a pooled deployment with runs,
    and global, rate and tag concurrency limits with slots held."""
    pool_body = {
        "name": "contract-pool",
        "type": "process",
        "base_job_template": PROCESS_JOB_TEMPLATE,
        "is_paused": False,
    }
    _ok(api.post("work_pools/", pool_body), "POST /work_pools/")
    queue_body = {"description": "Runs that must not wait", "is_paused": False, "filter": None}
    queue = _ok(
        api.post(
            "work_pools/contract-pool/queues", {**queue_body, "name": "critical", "priority": 1, "concurrency_limit": 5}
        ),
        "POST /work_pools/{name}/queues",
    )
    spare = _ok(
        api.post(
            "work_pools/contract-pool/queues", {**queue_body, "name": "backfill", "priority": 2, "is_paused": True}
        ),
        "a paused queue",
    )
    legacy = _ok(api.post("work_queues/", {"name": "legacy-queue", "concurrency_limit": None}), "POST /work_queues/")
    worker_name = "ProcessWorker cd8f2651-2014-417a-8774-fea2b474b909"
    beat = api.post(
        "work_pools/contract-pool/workers/heartbeat", {"name": worker_name, "heartbeat_interval_seconds": 30}
    )
    assert beat.status_code == 204, f"building the world: heartbeat -> {beat.status_code}"

    served = _ok(
        api.post("deployments/", deployment_body(flow["id"], "served", schedules=[schedule_body(interval(3600.0))])),
        "POST /deployments/ (served)",
    )
    pooled = _ok(
        api.post(
            "deployments/",
            deployment_body(
                flow["id"],
                "nightly",
                schedules=[schedule_body(CRON), schedule_body(RRULE, slug="mwf-morning", parameters={"n": 7})],
                concurrency_limit=2,
                concurrency_options={"collision_strategy": "ENQUEUE", "grace_period_seconds": 600},
                work_pool_name="contract-pool",
                work_queue_name="critical",
                pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": "/srv/contract"}}],
                path=None,
                description="Nightly load",
            ),
        ),
        "POST /deployments/ (pooled)",
    )
    schedule_id = next(s["id"] for s in pooled["schedules"] if s["slug"] == "mwf-morning")

    run = _ok(api.post(f"deployments/{pooled['id']}/create_flow_run", deployment_run_body()), "create_flow_run")
    for proposed in (client_state("PENDING", "Pending"), client_state("RUNNING", "Running")):
        result = _ok(api.post(f"flow_runs/{run['id']}/set_state", {"state": proposed, "force": False}), "set_state")
        assert result["status"] == "ACCEPT", f"building the world: a deployment run's {proposed['type']} was {result}"
    waiting = _ok(api.post(f"deployments/{pooled['id']}/create_flow_run", deployment_run_body()), "create_flow_run")

    limit_body = {"active": True, "active_slots": 0, "slot_decay_per_second": 0.0}
    global_limit = _ok(
        api.post("v2/concurrency_limits/", {**limit_body, "name": "contract-db", "limit": 2}), "v2 limit"
    )
    rate_limit = _ok(
        api.post(
            "v2/concurrency_limits/", {**limit_body, "name": "contract-api", "limit": 10, "slot_decay_per_second": 1.0}
        ),
        "a rate limit",
    )
    lease = _ok(
        api.post(
            "v2/concurrency_limits/increment-with-lease",
            {"names": ["contract-db"], "slots": 1, "mode": "concurrency", "lease_duration": 300},
        ),
        "increment-with-lease",
    )
    assert lease["limits"], f"building the world: no limit held by {lease}"
    _ok(api.post("concurrency_limits/", {"tag": "etl", "concurrency_limit": 3}), "POST /concurrency_limits/")
    _ok(api.post("concurrency_limits/increment", {"names": ["etl"], "task_run_id": task_run_id}), "v1 increment")

    read = lambda path: _ok(api.get(path), f"GET {path}")  # noqa: E731
    return Deployments(
        pool=read("work_pools/contract-pool"),
        queue=queue,
        spare_queue=spare,
        legacy_queue=legacy,
        worker_name=worker_name,
        served=read(f"deployments/{served['id']}"),
        pooled=read(f"deployments/{pooled['id']}"),
        schedule_id=schedule_id,
        run=read(f"flow_runs/{run['id']}"),
        waiting_run=read(f"flow_runs/{waiting['id']}"),
        global_limit=read(f"v2/concurrency_limits/{global_limit['id']}"),
        rate_limit=rate_limit,
        tag_limit=read("concurrency_limits/tag/etl"),
        lease_id=lease["lease_id"],
    )


def build(api) -> World:
    now = timezone.now()

    flow = _ok(api.post("flows/", {"name": "contract-etl", "tags": [], "labels": {}}), "POST /flows/")

    def new_run(what: str, **fields: Any) -> dict:
        return _ok(api.post("flow_runs/", flow_run_body(flow["id"], **fields)), what)

    def propose(run: dict, state: dict, force: bool = False) -> dict:
        result = _ok(api.post(f"flow_runs/{run['id']}/set_state", {"state": state, "force": force}), "set_state")
        assert result["status"] == "ACCEPT", f"building the world: {state['type']} was {result}"
        return result

    completed = new_run("a completed run")
    propose(completed, client_state("RUNNING", "Running", flow_run_id=completed["id"]))

    placeholder = _ok(
        api.post("task_runs/", task_run_body(completed["id"], "child-3c59c5fd")), "a subflow placeholder task run"
    )
    subflow = new_run("a subflow run", parent_task_run_id=placeholder["id"], parameters={"x": 0})
    propose(subflow, client_state("RUNNING", "Running"))
    propose(subflow, client_state("COMPLETED", "Completed"))

    event_task_run_id = str(uuid.uuid4())
    events = task_run_events(event_task_run_id, flow, completed, now - dt.timedelta(seconds=5))
    response = api.post("events", events)
    assert response.status_code == 204, f"building the world: POST /events -> {response.status_code}"

    logs = [
        {
            "name": "prefect.flow_runs",
            "level": 20,
            "message": "Beginning flow run 'contract' for flow 'contract-etl'",
            "timestamp": iso(now - dt.timedelta(seconds=6)),
            "flow_run_id": completed["id"],
            "task_run_id": None,
        },
        {
            "name": "prefect.task_runs",
            "level": 40,
            "message": "Finished in state Completed()",
            "timestamp": iso(now - dt.timedelta(seconds=4)),
            "flow_run_id": completed["id"],
            "task_run_id": event_task_run_id,
        },
    ]
    assert api.post("logs/", logs).status_code == 201, "building the world: POST /logs/"
    propose(completed, client_state("COMPLETED", "Completed", flow_run_id=completed["id"]))

    running = new_run("a running run")
    propose(running, client_state("RUNNING", "Running"))
    api_task_run = _ok(api.post("task_runs/", task_run_body(running["id"], "add-1f2e")), "POST /task_runs/")

    paused = new_run("a paused run")
    propose(paused, client_state("RUNNING", "Running"))
    keyset = {"description": "paused-1-description", "response": "paused-1-response", "schema": "paused-1-schema"}
    schema = {"type": "object", "properties": {"approved": {"type": "boolean"}}, "required": ["approved"]}
    created = api.post(
        f"flow_runs/{paused['id']}/input", {"key": keyset["schema"], "value": json.dumps(schema), "sender": None}
    )
    assert created.status_code == 201, "building the world: POST /flow_runs/{id}/input"
    propose(
        paused,
        client_state(
            "PAUSED",
            "Paused",
            pause_key="paused-1",
            pause_timeout=iso(now + dt.timedelta(hours=1)),
            run_input_keyset=keyset,
        ),
    )

    scheduled = new_run(
        "a late scheduled run",
        state=client_state("SCHEDULED", "Scheduled", scheduled_time=iso(now - dt.timedelta(minutes=5))),
    )
    failed = new_run("a failed run", tags=["contract", "nightly"])
    propose(failed, client_state("RUNNING", "Running"))
    propose(failed, client_state("FAILED", "Failed"))

    read = lambda path: _ok(api.get(path), f"GET {path}")  # noqa: E731
    task_states = read(f"task_run_states/?task_run_id={event_task_run_id}")
    assert [s["type"] for s in task_states] == ["PENDING", "RUNNING", "COMPLETED"], task_states
    return World(
        flow=flow,
        completed_run=read(f"flow_runs/{completed['id']}"),
        running_run=read(f"flow_runs/{running['id']}"),
        paused_run=read(f"flow_runs/{paused['id']}"),
        scheduled_run=read(f"flow_runs/{scheduled['id']}"),
        failed_run=read(f"flow_runs/{failed['id']}"),
        subflow_run=read(f"flow_runs/{subflow['id']}"),
        event_task_run_id=event_task_run_id,
        api_task_run=api_task_run,
        placeholder_task_run=placeholder,
        flow_run_state_id=read(f"flow_runs/{completed['id']}")["state_id"],
        task_run_state_id=task_states[-1]["id"],
        input_key=keyset["schema"],
        deployments=build_deployments(api, flow, api_task_run["id"]),
        events=events,
    )
