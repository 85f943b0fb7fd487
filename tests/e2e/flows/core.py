"""The everyday flows: plain, submitted and mapped tasks with logging, task and flow retries,
a failing flow and subflows. Prints one JSON line `RESULT {...}` naming each flow run."""

import json

from prefect import flow, get_run_logger, task

attempts = {"task": 0, "flow": 0}


@task
def double(x: int) -> int:
    return 2 * x


@task
def total(values: list[int]) -> int:
    get_run_logger().info("summing %d values", len(values))
    return sum(values)


@flow(log_prints=True)
def pipeline(n: int = 3, label: str = "e2e") -> int:
    first = double.submit(1).result()
    mapped = double.map(range(n)).result()
    result = total([first, *mapped])
    print(f"pipeline result is {result}")
    get_run_logger().warning("a warning from the flow")
    return result


@task(retries=2, retry_delay_seconds=1)  # with no delay the client skips AwaitingRetry
def flaky() -> str:
    attempts["task"] += 1
    if attempts["task"] < 2:
        raise ValueError("first task attempt fails")
    return "ok"


@flow(retries=1, retry_delay_seconds=0)
def recovers() -> str:
    attempts["flow"] += 1
    if attempts["flow"] < 2:
        raise RuntimeError("first flow attempt fails")
    return flaky()


@flow
def broken() -> None:
    raise KeyError("always broken")


@flow
def child(x: int) -> int:
    return x + 1


@flow
def parent() -> int:
    return child(1) + child(2)


def run_id(state) -> str:
    return str(state.state_details.flow_run_id)


if __name__ == "__main__":
    runs = {}
    state = pipeline(n=3, return_state=True)
    assert state.is_completed() and state.result() == 8, state
    runs["pipeline"] = run_id(state)
    state = recovers(return_state=True)
    assert state.is_completed(), state
    runs["recovers"] = run_id(state)
    state = broken(return_state=True)
    assert state.is_failed(), state
    runs["broken"] = run_id(state)
    state = parent(return_state=True)
    assert state.is_completed() and state.result() == 5, state
    runs["parent"] = run_id(state)
    print("RESULT " + json.dumps(runs), flush=True)
