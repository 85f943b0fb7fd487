"""Flows served by the deployment and cancellation tests. Usage: served.py SPEC_JSON

SPEC_JSON is {"deployments": [{"flow": <name of a flow below>, "name": ..., <keyword arguments
of Flow.serve / Flow.to_deployment>}], "block_events_out": false}. One deployment is served with
`flow.serve(...)`, as a user serves one flow; several, or one with a concurrency limit (which
only `to_deployment` takes), with `prefect.serve(...)`.

With "block_events_out" the runner cannot open /api/events/out (its subscriber fails to
connect, as behind a proxy that refuses websockets), so it must notice cancellations by
polling POST /api/flow_runs/filter."""

import json
import sys
import time

from prefect import flow, serve, task
from prefect.flow_runs import suspend_flow_run


@task
def double(x: int) -> int:
    return 2 * x


@flow(log_prints=True)
def adder(x: int = 1) -> int:
    print(f"adder got x={x}")
    return double(x)


@flow
def sleeper(seconds: float = 120) -> str:
    time.sleep(seconds)
    return "woke up"


@task
def prepare() -> str:
    return "prepared"


@flow(log_prints=True)
def suspender() -> str:
    first = prepare()
    suspend_flow_run(timeout=60)
    print("resumed after the suspension")
    return first


FLOWS = {f.name: f for f in (adder, sleeper, suspender)}


def block_events_out() -> None:
    import prefect._internal.observers as observers

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("/api/events/out is blocked by the test")

    observers.get_events_subscriber = refuse


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    if spec.get("block_events_out"):
        block_events_out()
    deployments = [dict(d) for d in spec["deployments"]]
    if len(deployments) == 1 and "concurrency_limit" not in deployments[0]:
        options = deployments[0]
        FLOWS[options.pop("flow")].serve(**options)
    else:
        serve(*[FLOWS[options.pop("flow")].to_deployment(**options) for options in deployments])
