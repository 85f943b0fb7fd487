"""A flow that pauses until it is resumed. Usage: pausing.py ID_FILE.

Writes its flow run's id to ID_FILE just before pausing, so the test can resume it."""

import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run


@task
def before() -> str:
    return "before"


@task
def after() -> str:
    return "after"


@flow
def waits_for_approval() -> str:
    first = before()
    Path(sys.argv[1]).write_text(str(flow_run.id))
    pause_flow_run(timeout=60, poll_interval=1)
    get_run_logger().info("approved, carrying on")
    return f"{first} {after()}"


if __name__ == "__main__":
    state = waits_for_approval(return_state=True)
    assert state.is_completed() and state.result() == "before after", state
    print(f"RESULT {state.state_details.flow_run_id}", flush=True)
