"""Work pools and workers with the real client and CLI (PROTOCOL scenario 7): a process pool,
a deployment from local source, `prefect worker start --run-once` running it; queue
priorities and concurrency limits when handing out runs; workers that fall silent."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import PREFECT_CLI, Background, assert_no_client_complaints, parse_time, run, wait_for
from .helpers import FAST_POLLING, create_deployment, create_run, created_run_id, history, propose

pytestmark = pytest.mark.e2e

UTC = dt.UTC
POOL = "e2e-process-pool"

FLOW_SOURCE = """
import os
import time

from prefect import flow, task


@task
def add_hundred(x: int) -> int:
    return x + 100


@flow(log_prints=True)
def pooled(x: int = 1) -> int:
    print(f"pooled flow x={x} mark={os.environ.get('E2E_MARK')}")
    return add_hundred(x)


@flow
def napping(seconds: float = 120) -> None:
    time.sleep(seconds)
"""

DEPLOY = """
import sys
from prefect import flow

deployment_id = flow.from_source(source=sys.argv[1], entrypoint="pooled_module.py:pooled").deploy(
    name="nightly",
    work_pool_name=sys.argv[2],
    parameters={"x": 5},
    job_variables={"env": {"E2E_MARK": "from-job-variables"}},
    build=False,
    push=False,
    print_next_steps=False,
)
flow.from_source(source=sys.argv[1], entrypoint="pooled_module.py:napping").deploy(
    name="long-nap", work_pool_name=sys.argv[2], build=False, push=False, print_next_steps=False
)
print(f"RESULT {deployment_id}")
"""


def scheduled_at(seconds_ago: float) -> dict:
    when = dt.datetime.now(UTC) - dt.timedelta(seconds=seconds_ago)
    return {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": when.isoformat()}}


def handed_out(api, pool: str, **body) -> list[dict]:
    """What a worker polling the pool now is given (POST .../get_scheduled_flow_runs), in order."""
    body.setdefault("scheduled_before", dt.datetime.now(UTC).isoformat())
    return api.post(f"work_pools/{pool}/get_scheduled_flow_runs", body)


def queues_of(api, pool: str) -> dict[str, dict]:
    return {q["name"]: q for q in api.post(f"work_pools/{pool}/queues/filter")}


# --- a process pool, a deployment from source, a worker ----------------------------------------------


@pytest.fixture(scope="module")
def worker_run(prefect, server_api, tmp_path_factory) -> dict:
    """`prefect work-pool create`, deploy from local source, `prefect deployment run`,
    `prefect worker start --run-once`: what each printed and the run's id."""
    created = prefect.cli("work-pool", "create", POOL, "--type", "process")
    pool_before = server_api.get(f"work_pools/{POOL}")
    project = tmp_path_factory.mktemp("pooled-project")
    (project / "pooled_module.py").write_text(FLOW_SOURCE)
    deployed = prefect.python(f"import sys; sys.argv = ['deploy', {str(project)!r}, {POOL!r}]\n{DEPLOY}")
    deployment_id = deployed.result()
    started = prefect.cli("deployment", "run", "pooled/nightly")
    run_id = created_run_id(started.stdout)
    worker = run(
        [PREFECT_CLI, "worker", "start", "--pool", POOL, "--run-once"],
        {**prefect.env, **FAST_POLLING},
        prefect.workdir,
        timeout=120,
    )
    return {
        "created": created,
        "pool_before": pool_before,
        "deployment_id": str(deployment_id),
        "run_id": run_id,
        "worker": worker,
        "project": project,
    }


def test_work_pool_create_makes_a_process_pool_with_a_default_queue(worker_run, server_api):
    assert f"Created work pool {POOL!r}!" in worker_run["created"].stdout
    pool = worker_run["pool_before"]
    assert pool["type"] == "process"
    assert pool["status"] == "NOT_READY"  # no worker yet
    assert pool["is_paused"] is False
    assert "job_configuration" in pool["base_job_template"]
    assert "variables" in pool["base_job_template"]
    default = server_api.get(f"work_pools/{POOL}/queues/default")
    assert pool["default_queue_id"] == default["id"]
    assert default["priority"] == 1


def test_a_deployment_from_source_lands_in_the_pools_default_queue(worker_run, server_api):
    deployment = server_api.get(f"deployments/{worker_run['deployment_id']}")

    assert deployment["work_pool_name"] == POOL
    assert deployment["work_queue_name"] == "default"
    assert deployment["entrypoint"] == "pooled_module.py:pooled"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(worker_run["project"])}}
    ]
    assert deployment["job_variables"] == {"env": {"E2E_MARK": "from-job-variables"}}


def test_the_worker_runs_the_deployment_run_to_completion(worker_run, server_api):
    worker = worker_run["worker"]
    assert "submitted to infrastructure" in worker.output, worker.describe()
    assert_no_client_complaints(worker.output, worker.describe())
    run_ = server_api.flow_run(worker_run["run_id"])

    assert (run_["state_type"], run_["state_name"]) == ("COMPLETED", "Completed")
    assert run_["deployment_id"] == worker_run["deployment_id"]
    assert run_["parameters"] == {"x": 5}
    assert (run_["work_pool_name"], run_["work_queue_name"]) == (POOL, "default")
    assert run_["infrastructure_pid"]
    assert run_["labels"]["prefect.work-pool.name"] == POOL
    assert run_["labels"]["prefect.worker.type"] == "process"
    states = history(server_api, run_["id"])
    assert states[0] == ("SCHEDULED", "Scheduled") and states[-1] == ("COMPLETED", "Completed")
    assert ("PENDING", "Pending") in states and ("RUNNING", "Running") in states
    # The job variables reached the process the worker started.
    wait_for(
        lambda: "pooled flow x=5 mark=from-job-variables" in {log["message"] for log in server_api.logs(run_["id"])},
        "the flow's log line",
    )


def test_the_worker_is_online_and_the_pool_and_queue_ready(worker_run, server_api):
    workers = server_api.post(f"work_pools/{POOL}/workers/filter")

    assert len(workers) == 1
    (worker,) = workers
    assert worker["status"] == "ONLINE"
    assert worker["last_heartbeat_time"]
    assert server_api.get(f"work_pools/{POOL}")["status"] == "READY"
    assert server_api.get(f"work_pools/{POOL}/queues/default")["status"] == "READY"
    assert server_api.get(f"deployments/{worker_run['deployment_id']}")["status"] == "READY"
    online = server_api.post(f"work_pools/{POOL}/workers/filter", {"workers": {"status": {"any_": ["ONLINE"]}}})
    assert [w["name"] for w in online] == [worker["name"]]


def test_a_run_the_worker_started_is_cancelled_from_the_cli(worker_run, prefect, server_api):
    worker = Background(
        [PREFECT_CLI, "worker", "start", "--pool", POOL, "--name", "long-lived"],
        {**prefect.env, **FAST_POLLING},
        prefect.workdir,
        prefect.workdir / "long-lived-worker.log",
    )
    try:
        run_id = created_run_id(prefect.cli("deployment", "run", "napping/long-nap").stdout)
        wait_for(lambda: server_api.flow_run(run_id)["state_type"] == "RUNNING", "the nap to start", timeout=60)

        cancel = prefect.cli("flow-run", "cancel", run_id)
        assert "was successfully scheduled for cancellation" in cancel.stdout

        cancelled = wait_for(
            lambda: (found := server_api.flow_run(run_id))["state_type"] == "CANCELLED" and found,
            "the worker to cancel the run",
            timeout=30,
        )
    finally:
        worker.interrupt()
        worker.kill()
    assert history(server_api, run_id)[-3:] == [
        ("RUNNING", "Running"),
        ("CANCELLING", "Cancelling"),
        ("CANCELLED", "Cancelled"),
    ]
    assert cancelled["infrastructure_pid"]
    assert cancelled["labels"]["prefect.worker.name"] == "long-lived"
    assert_no_client_complaints(worker.output(), worker.describe())


# --- handing out runs: priorities and limits -------------------------------------------------------


def pool_with_runs(api, pool: str, queues: dict[str, dict], runs: list[tuple[str, float]], **pool_fields) -> dict:
    """A pool with these queues ({name: fields}) and one deployment, and runs of it put in the
    named queues, each scheduled so many seconds ago; {run id: queue name}."""
    api.post("work_pools/", {"name": pool, "type": "process", **pool_fields})
    for name, fields in queues.items():
        api.post(f"work_pools/{pool}/queues", {"name": name, **fields})
    deployment = create_deployment(api, f"{pool}-flow", "queued", work_pool_name=pool)
    placed = {}
    for queue, seconds_ago in runs:
        created = create_run(api, deployment["id"], work_queue_name=queue, state=scheduled_at(seconds_ago))
        placed[created["id"]] = queue
    return placed


def test_the_highest_priority_queue_is_served_first(server_api):
    placed = pool_with_runs(
        server_api,
        "priorities",
        {"urgent": {"priority": 1}, "eventually": {"priority": 2}},
        # The low-priority runs are older; priority still comes first.
        [("eventually", 300), ("eventually", 240), ("urgent", 120), ("urgent", 60)],
    )
    queues = queues_of(server_api, "priorities")
    assert (queues["urgent"]["priority"], queues["eventually"]["priority"]) == (1, 2)
    assert queues["default"]["priority"] == 3

    first = handed_out(server_api, "priorities", limit=1)
    everything = handed_out(server_api, "priorities")

    assert [placed[r["flow_run"]["id"]] for r in first] == ["urgent"]
    assert [placed[r["flow_run"]["id"]] for r in everything] == ["urgent", "urgent", "eventually", "eventually"]
    times = [parse_time(r["flow_run"]["next_scheduled_start_time"]) for r in everything]
    assert times[0] < times[1] and times[2] < times[3]
    assert {r["work_queue_id"] for r in first} == {queues["urgent"]["id"]}
    assert {r["work_pool_id"] for r in everything} == {queues["urgent"]["work_pool_id"]}


def test_a_queue_concurrency_limit_caps_the_runs_handed_out(server_api):
    placed = pool_with_runs(
        server_api,
        "queue-limited",
        {"one-at-a-time": {"concurrency_limit": 1}},
        [("one-at-a-time", 90), ("one-at-a-time", 60), ("default", 30)],
    )

    offered = handed_out(server_api, "queue-limited")
    assert sorted(placed[r["flow_run"]["id"]] for r in offered) == ["default", "one-at-a-time"]

    taken = next(r["flow_run"]["id"] for r in offered if placed[r["flow_run"]["id"]] == "one-at-a-time")
    assert propose(server_api, taken, "PENDING")["status"] == "ACCEPT"
    assert [placed[r["flow_run"]["id"]] for r in handed_out(server_api, "queue-limited")] == ["default"]

    assert propose(server_api, taken, "RUNNING")["status"] == "ACCEPT"
    assert propose(server_api, taken, "COMPLETED")["status"] == "ACCEPT"
    assert sorted(placed[r["flow_run"]["id"]] for r in handed_out(server_api, "queue-limited")) == [
        "default",
        "one-at-a-time",
    ]


def test_a_pool_concurrency_limit_caps_the_runs_handed_out(server_api):
    placed = pool_with_runs(
        server_api,
        "pool-limited",
        {"second": {}},
        [("default", 90), ("second", 60), ("default", 30)],
        concurrency_limit=2,
    )

    offered = handed_out(server_api, "pool-limited")
    assert len(offered) == 2

    assert propose(server_api, offered[0]["flow_run"]["id"], "PENDING")["status"] == "ACCEPT"
    assert len(handed_out(server_api, "pool-limited")) == 1
    assert propose(server_api, offered[1]["flow_run"]["id"], "PENDING")["status"] == "ACCEPT"
    assert handed_out(server_api, "pool-limited") == []
    assert len(placed) == 3


def test_a_run_retrying_in_its_own_process_is_not_handed_to_a_worker(server_api):
    placed = pool_with_runs(server_api, "retrying-pool", {}, [("default", 60), ("default", 30)])
    retrying, waiting = placed
    server_api.request("PATCH", f"flow_runs/{retrying}", json={"empirical_policy": {"retries": 1, "retry_delay": 5}})
    for state in ("PENDING", "RUNNING"):
        assert propose(server_api, retrying, state)["status"] == "ACCEPT"
    # The flow fails; its process sleeps and runs it again itself.
    assert propose(server_api, retrying, "FAILED")["state"]["name"] == "AwaitingRetry"
    assert server_api.flow_run(retrying)["empirical_policy"]["retry_type"] == "in_process"

    soon = (dt.datetime.now(UTC) + dt.timedelta(seconds=60)).isoformat()
    assert [r["flow_run"]["id"] for r in handed_out(server_api, "retrying-pool", scheduled_before=soon)] == [waiting]


def test_a_paused_pool_or_queue_hands_out_nothing(server_api):
    pool_with_runs(server_api, "pausable-pool", {"second": {}}, [("default", 60), ("second", 30)])
    assert len(handed_out(server_api, "pausable-pool")) == 2

    server_api.request("PATCH", "work_pools/pausable-pool/queues/second", json={"is_paused": True})
    assert [r["flow_run"]["work_queue_name"] for r in handed_out(server_api, "pausable-pool")] == ["default"]
    assert queues_of(server_api, "pausable-pool")["second"]["status"] == "PAUSED"

    server_api.request("PATCH", "work_pools/pausable-pool", json={"is_paused": True})
    assert handed_out(server_api, "pausable-pool") == []
    assert server_api.get("work_pools/pausable-pool")["status"] == "PAUSED"

    server_api.request("PATCH", "work_pools/pausable-pool", json={"is_paused": False})
    server_api.request("PATCH", "work_pools/pausable-pool/queues/second", json={"is_paused": False})
    assert len(handed_out(server_api, "pausable-pool")) == 2


# --- a worker that stops sending heartbeats -----------------------------------------------------------


def test_a_silent_worker_goes_offline_and_its_pool_not_ready(fast_api, fast_prefect):
    """On the server whose foreman runs every second: a real worker heartbeating every
    second (POST .../workers/heartbeat, as its channel is refused), then killed."""
    fast_api.post("work_pools/", {"name": "watched", "type": "process"})
    worker = Background(
        [PREFECT_CLI, "worker", "start", "--pool", "watched", "--name", "short-lived"],
        {**fast_prefect.env, **FAST_POLLING, "PREFECT_WORKER_HEARTBEAT_SECONDS": "1"},
        fast_prefect.workdir,
        fast_prefect.workdir / "watched-worker.log",
    )
    try:
        online = wait_for(
            lambda: [w for w in fast_api.post("work_pools/watched/workers/filter") if w["status"] == "ONLINE"],
            "the worker to be ONLINE",
            timeout=60,
        )
        assert [(w["name"], w["heartbeat_interval_seconds"]) for w in online] == [("short-lived", 1)]
        wait_for(lambda: fast_api.get("work_pools/watched")["status"] == "READY", "the pool to be READY")
        wait_for(
            lambda: fast_api.get("work_pools/watched/queues/default")["status"] == "READY", "the queue to be READY"
        )
    finally:
        worker.kill()

    # Three missed heartbeats (3 s) and a pass of the foreman later:
    wait_for(
        lambda: fast_api.post("work_pools/watched/workers/filter")[0]["status"] == "OFFLINE",
        "the worker to go OFFLINE",
        timeout=10,
    )
    wait_for(lambda: fast_api.get("work_pools/watched")["status"] == "NOT_READY", "the pool to be NOT_READY", timeout=5)
    wait_for(
        lambda: fast_api.get("work_pools/watched/queues/default")["status"] == "NOT_READY",
        "the unpolled queue to be NOT_READY",
        timeout=5,
    )
