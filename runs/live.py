"""Live updates of runs over websockets: which channel-layer group hears what.

Two kinds of listener:

- `/api/logs/out` (Prefect's `flow-run watch`) filters every new log line: it joins
  LOGS_GROUP, which hears every batch while PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED is on.
- The dashboard's flow-run and task-run pages follow one flow run: they join that run's own
  group (`flow_run_group`), which hears the run's log lines and its new states, so a page is
  not sent every line every run writes.

Everything is sent after the writing transaction commits, through orchestrator.channels'
broadcast, so a rolled-back write is never announced; with REDIS_URL the channels-redis layer
carries it to the pages open on every server process.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction

from orchestrator.channels import broadcast, may_listen
from runs.orchestration.states import iso

LOGS_GROUP = "logs"

# The scheduler announces the runs it inserts in batches; no page follows a run that did not
# exist a moment ago, so only the engine's one-state-at-a-time writes are sent live.
LIVE_STATE_BATCH = 10


def flow_run_group(flow_run_id: uuid.UUID | str) -> str:
    """The group of one flow run's dashboard pages (a valid channel-layer group name)."""
    return f"flow-run.{flow_run_id}"


def publish_logs(logs: list) -> None:
    """Announce stored log rows: to /api/logs/out (when enabled) and to each run's pages."""
    from runs.api.serializers import log_json

    # Rows become JSON only for the groups someone may be listening to.
    if settings.ORCHESTRATOR["LOGS_STREAM_OUT_ENABLED"] and may_listen(LOGS_GROUP):
        broadcast(LOGS_GROUP, {"type": "logs.published", "logs": [log_json(log) for log in logs]})
    by_run: dict[Any, list] = defaultdict(list)
    for log in logs:
        if log.flow_run_id:
            by_run[log.flow_run_id].append(log)
    for run_id, run_logs in by_run.items():
        group = flow_run_group(run_id)
        if may_listen(group):
            broadcast(group, {"type": "logs.published", "logs": [log_json(log) for log in run_logs]})


def state_message(state) -> dict[str, Any]:
    return {
        "type": "run.state",
        "state_type": state.type,
        "state_name": state.name,
        "message": state.message or "",
        "timestamp": iso(state.timestamp),
    }


def on_flow_run_states_written(sender, states, **kwargs) -> None:
    """runs.signals.flow_run_states_written: tell the run's open pages, once committed."""
    if len(states) > LIVE_STATE_BATCH:
        return
    for run, state in states:
        if state is None:
            continue
        group, message = flow_run_group(run.pk), state_message(state)
        transaction.on_commit(lambda group=group, message=message: broadcast(group, message))
