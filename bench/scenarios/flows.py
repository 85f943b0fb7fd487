"""flows: the real Prefect client runs K flows of M tasks against the server.

The client (`bench/flow_script.py`) runs in the Prefect venv as a separate process, as a user's
script does. Task runs reach the server as events over the `/api/events/in` websocket and are
recorded after the fact, so once the last flow returns the scenario polls the counts of COMPLETED
flow runs and task runs every 0.1 s and reports how long it took until all were visible.
Headline: wall time of the K flow runs, task runs/s, and that visibility delay.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import verify
from ..client import Tally
from ..servers import PREFECT_PYTHON, clean_env
from ..stats import latency_summary, rate
from . import Context, load_figures

SCRIPT = Path(__file__).resolve().parents[1] / "flow_script.py"


def run(ctx: Context) -> dict[str, Any]:
    options = ctx.options
    flows, tasks = options.size(options.flows, 20), options.tasks
    python = ctx.prefect_python or PREFECT_PYTHON
    home = Path(tempfile.mkdtemp(prefix="orchestrator-bench-client-"))
    env = clean_env(PREFECT_API_URL=ctx.api.api_url, PREFECT_HOME=str(home))
    args = [str(python), str(SCRIPT), "--flows", str(flows), "--tasks", str(tasks)]
    args += ["--warmup", str(options.warmup), "--task-mode", options.task_mode]
    stderr = (home / "client.log").open("w")
    client = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    phase = ctx.phase()
    result: dict[str, Any] | None = None
    flows_ended = None
    try:
        for line in client.stdout:
            if line.startswith("STARTED"):
                phase.start()
            elif line.startswith("RESULT "):
                flows_ended = time.perf_counter()
                result = json.loads(line[len("RESULT ") :])
                break
        if result is None:
            client.wait(timeout=60)
            stderr.close()
            raise RuntimeError(
                f"the flow client exited with {client.returncode} before finishing:\n"
                + (home / "client.log").read_text(errors="replace")[-3000:]
            )
        visible = wait_until_visible(ctx, result["flow_run_ids"], flows, tasks, flows_ended, options.verify_timeout)
    finally:
        if phase.started:
            phase.stop()
        client.wait(timeout=120)
        stderr.close()

    return {
        "params": {"flows": flows, "tasks_per_flow": tasks, "task_mode": options.task_mode, "warmup": options.warmup},
        "wall_s": round(result["wall_s"], 3),
        "flow_runs_per_s": rate(flows, result["wall_s"]),
        "task_runs_per_s": rate(flows * tasks, result["wall_s"]),
        "flow_run_duration": latency_summary(result["durations_s"]),
        "not_completed": result["not_completed"][:10],
        "flow_runs_visible_after_s": visible["flow_runs_after_s"],
        "task_runs_visible_after_s": visible["task_runs_after_s"],
        "verify": verify.flows(
            flows=flows,
            tasks=tasks,
            flow_runs_completed=visible["flow_runs"],
            task_runs_completed=visible["task_runs"],
        ),
        **load_figures(Tally(), phase),
    }


def wait_until_visible(
    ctx: Context, ids: list[str], flows: int, tasks: int, since: float, timeout: float
) -> dict[str, Any]:
    """Poll until every flow run and task run is COMPLETED through the API, or time runs out."""
    flow_body = {"flow_runs": {"id": {"any_": ids}, "state": {"type": {"any_": ["COMPLETED"]}}}}
    task_body = {"flow_runs": {"id": {"any_": ids}}, "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    seen = {"flow_runs": -1, "task_runs": -1, "flow_runs_after_s": None, "task_runs_after_s": None}
    while True:
        if seen["flow_runs_after_s"] is None:
            seen["flow_runs"] = ctx.count_flow_runs(flow_body)
            if seen["flow_runs"] >= flows:
                seen["flow_runs_after_s"] = round(time.perf_counter() - since, 3)
        if seen["task_runs_after_s"] is None:
            seen["task_runs"] = ctx.api.post("task_runs/count", task_body)
            if seen["task_runs"] >= flows * tasks:
                seen["task_runs_after_s"] = round(time.perf_counter() - since, 3)
        done = seen["flow_runs_after_s"] is not None and seen["task_runs_after_s"] is not None
        if done or time.perf_counter() - since > timeout:
            return seen
        time.sleep(0.1)
