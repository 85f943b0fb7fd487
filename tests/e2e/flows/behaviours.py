"""Timeouts, state hooks and caching. Usage: behaviours.py MARKER_DIR CACHE_NONCE.

Hooks write a file named after the hook into MARKER_DIR holding the run's id, so the test
sees that they ran. Prints one JSON line `RESULT {...}` naming each flow run."""

import json
import sys
import time
from pathlib import Path

from prefect import flow, task

MARKERS = Path(sys.argv[1])
NONCE = sys.argv[2]


def marker(name: str):
    def hook(*args):
        run = args[1]  # (flow, flow_run, state) for flows, (task, task_run, state) for tasks
        (MARKERS / name).write_text(f"{run.id} {args[2].name}")

    hook.__name__ = name
    return hook


@flow(timeout_seconds=1)
def too_slow() -> None:
    time.sleep(5)


@task(timeout_seconds=1)
def slow_task() -> None:
    time.sleep(5)


@flow
def task_times_out() -> str:
    return slow_task(return_state=True).name


@task(on_completion=[marker("task_completed")], on_failure=[marker("task_failed")])
def hooked_task(fail: bool) -> str:
    if fail:
        raise ValueError("hooked task fails")
    return "done"


@flow(on_completion=[marker("flow_completed")], on_failure=[marker("flow_failed")])
def hooked(fail: bool = False) -> str:
    return hooked_task(fail)


@task(cache_key_fn=lambda context, parameters: f"e2e-{NONCE}-{parameters['x']}")
def expensive(x: int) -> int:
    return x * 10


@flow
def cached_flow(x: int) -> int:
    return expensive(x)


def run_id(state) -> str:
    return str(state.state_details.flow_run_id)


if __name__ == "__main__":
    runs = {}
    state = too_slow(return_state=True)
    assert state.is_failed() and state.name == "TimedOut", state
    runs["flow_timeout"] = run_id(state)
    state = task_times_out(return_state=True)
    assert state.is_completed() and state.result() == "TimedOut", state
    runs["task_timeout"] = run_id(state)
    state = hooked(return_state=True)
    assert state.is_completed(), state
    runs["hooked_ok"] = run_id(state)
    state = hooked(fail=True, return_state=True)
    assert state.is_failed(), state
    runs["hooked_fail"] = run_id(state)
    first = cached_flow(7, return_state=True)
    second = cached_flow(7, return_state=True)
    assert first.result() == second.result() == 70, (first, second)
    runs["cache_first"] = run_id(first)
    runs["cache_second"] = run_id(second)
    print("RESULT " + json.dumps(runs), flush=True)
