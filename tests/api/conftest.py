"""The small cast the bad-input tests address: a flow, a running flow run, a task run."""

from __future__ import annotations

import pytest

from runs.models import FlowRunInput
from tests.runs.helpers import flow_run_in, task_run_in


@pytest.fixture
def ids(flow) -> dict[str, str]:
    """Real ids to put in paths, by name: `flow_runs/{flow_run}/set_state`."""
    flow_run = flow_run_in(flow, "RUNNING")
    task_run = task_run_in(flow_run, "RUNNING")
    FlowRunInput.objects.create(flow_run=flow_run, key="approval", value='"yes"')
    return {
        "flow": str(flow.pk),
        "flow_name": flow.name,
        "flow_run": str(flow_run.pk),
        "task_run": str(task_run.pk),
        "flow_run_state": str(flow_run.state_id),
        "task_run_state": str(task_run.state_id),
    }
