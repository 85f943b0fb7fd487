"""A local flow that runs until a file appears. Usage: until_released.py ID_FILE RELEASE_FILE.

Writes its flow run's id to ID_FILE once running, then waits (at most 60 s) for RELEASE_FILE
and finishes normally: a local flow is not stopped by a cancellation, it only learns of it
when the server refuses its final state."""

import sys
import time
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run


@flow
def until_released() -> str:
    Path(sys.argv[1]).write_text(str(flow_run.id))
    release = Path(sys.argv[2])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return "released" if release.exists() else "gave up"


if __name__ == "__main__":
    state = until_released(return_state=True)
    print(f"RESULT {state.type.value} {state.name}", flush=True)
