"""Dashboard pages of runs: the runs list (flow runs and task runs, with bulk buttons), the
flow-run page and the task-run page, with their buttons and log downloads.

Every page query has a LIMIT and follows an index of runs.models (see each module); every
change of state goes through runs.domain, so through the engine, as the API's does.
"""

from .common import RUN_ROW_FIELDS
from .flow_run import (
    flow_run_cancel,
    flow_run_delete,
    flow_run_detail,
    flow_run_logs_download,
    flow_run_resume,
    flow_run_retry,
    flow_run_set_state,
    flow_run_suspend,
)
from .lists import PAGE_SIZE, bulk_action, runs_list
from .task_run import task_run_detail, task_run_logs_download, task_run_set_state

__all__ = [
    "PAGE_SIZE",
    "RUN_ROW_FIELDS",
    "bulk_action",
    "flow_run_cancel",
    "flow_run_delete",
    "flow_run_detail",
    "flow_run_logs_download",
    "flow_run_resume",
    "flow_run_retry",
    "flow_run_set_state",
    "flow_run_suspend",
    "runs_list",
    "task_run_detail",
    "task_run_logs_download",
    "task_run_set_state",
]
