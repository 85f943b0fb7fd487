"""The `flows` scenario's client: run by the Prefect venv's python, not by ours.

    python flow_script.py --flows K --tasks M [--warmup 1] [--task-mode call|submit]

Runs `warmup` untimed flow runs, prints `STARTED`, runs K flow runs of a flow that calls a trivial
task M times, and prints `RESULT {json}` with the wall time, each flow run's duration and id, and
any flow run that did not complete. Configured only by the environment (PREFECT_API_URL,
PREFECT_HOME), exactly as a user's script is. Imports nothing from the bench package.
"""

import argparse
import json
import sys
import time
import uuid

from prefect import flow, task


@task(name="bench-task")
def bench_task(x: int) -> int:
    return x + 1


def body(tasks: int, mode: str) -> int:
    if mode == "submit":
        futures = [bench_task.submit(i) for i in range(tasks)]
        return sum(f.result() for f in futures)
    return sum(bench_task(i) for i in range(tasks))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--task-mode", choices=("call", "submit"), default="call")
    args = parser.parse_args()

    timed = flow(name=f"bench-flow-{uuid.uuid4().hex[:8]}", log_prints=False)(body)
    warmup = flow(name="bench-flow-warmup")(body)
    for _ in range(args.warmup):
        warmup(args.tasks, args.task_mode, return_state=True)

    print("STARTED", flush=True)
    durations, ids, not_completed = [], [], []
    started = time.perf_counter()
    for _ in range(args.flows):
        t0 = time.perf_counter()
        state = timed(args.tasks, args.task_mode, return_state=True)
        durations.append(time.perf_counter() - t0)
        ids.append(str(state.state_details.flow_run_id))
        if not state.is_completed():
            not_completed.append(f"{state.type}: {state.message}")
    wall = time.perf_counter() - started
    result = {"wall_s": wall, "durations_s": durations, "flow_run_ids": ids, "not_completed": not_completed}
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
