"""The graph of one flow run: its task runs and subflow runs, how data flowed between
them, and the run's state history, for the timeline on the flow-run page and
`/flow_runs/{id}/graph-v2`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from .models import FlowRun, FlowRunState, TaskRun
from .orchestration.states import iso

MAX_NODES = 10_000


def _upstream(task_inputs: dict | None) -> tuple[set[str], set[str]]:
    """Task runs this one consumed data from, and ones it merely waited for (`wait_for`/parents)."""
    data, waits = set(), set()
    for name, inputs in (task_inputs or {}).items():
        for item in inputs or []:
            if isinstance(item, dict) and item.get("input_type") == "task_run" and item.get("id"):
                (waits if name in ("wait_for", "__parents__") else data).add(str(item["id"]))
    return data, waits


def flow_run_graph(run: FlowRun, since: dt.datetime | None = None) -> dict[str, Any] | None:
    tasks = TaskRun.objects.filter(flow_run=run).filter(
        Q(start_time__isnull=False) | Q(expected_start_time__isnull=False)
    )
    if since is not None:
        tasks = tasks.filter(Q(end_time__isnull=True) | Q(end_time__gte=since))
    tasks = list(
        tasks.order_by("start_time", "expected_start_time").only(
            "id", "name", "state_type", "start_time", "expected_start_time", "end_time", "task_inputs"
        )[: MAX_NODES + 1]
    )
    if len(tasks) > MAX_NODES:
        return None
    subflows = {
        str(child.parent_task_run_id): child
        for child in FlowRun.objects.filter(parent_task_run_id__in=[t.id for t in tasks]).only(
            "id", "name", "state_type", "start_time", "expected_start_time", "end_time", "parent_task_run_id"
        )
    }
    # A subflow is drawn as itself, in place of the task run that stands for it.
    node_id = {str(t.id): str(subflows[str(t.id)].id) if str(t.id) in subflows else str(t.id) for t in tasks}
    nodes: dict[str, dict[str, Any]] = {}
    for task in tasks:
        child = subflows.get(str(task.id))
        source = child or task
        start = source.start_time or source.expected_start_time or task.expected_start_time
        if start is None:
            continue
        nid = node_id[str(task.id)]
        nodes[nid] = {
            "kind": "flow-run" if child else "task-run",
            "id": nid,
            "label": source.name,
            "state_type": source.state_type or "PENDING",
            "start_time": iso(start),
            "end_time": iso(source.end_time),
            "parents": [],
            "children": [],
            "encapsulating": [],
            "artifacts": [],
        }
    for task in tasks:
        nid = node_id[str(task.id)]
        if nid not in nodes:
            continue
        data, waits = _upstream(task.task_inputs)
        for parent in data:
            pid = node_id.get(parent)
            if pid in nodes and pid != nid:
                nodes[nid]["parents"].append({"id": pid})
                nodes[pid]["children"].append({"id": nid})
        for parent in waits:
            pid = node_id.get(parent)
            if pid in nodes and pid != nid:
                nodes[nid]["encapsulating"].append({"id": pid})
    states = [
        {"id": str(s.id), "timestamp": iso(s.timestamp), "type": s.type, "name": s.name}
        for s in FlowRunState.objects.filter(flow_run=run).order_by("timestamp")
    ]
    return {
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "root_node_ids": [nid for nid, node in nodes.items() if not node["parents"]],
        "nodes": [[nid, node] for nid, node in nodes.items()],
        "artifacts": [],
        "states": states,
    }
