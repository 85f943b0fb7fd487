"""API routes of flows, flow runs, task runs, states and logs (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import resource, slashed

from .api import ui
from .api.flow_runs import FlowRunViewSet
from .api.flows import FlowViewSet
from .api.task_runs import LogFilterView, LogsView, StatesView, TaskRunStatesView, TaskRunViewSet


def _action(viewset, method: str, action: str):
    return viewset.as_view({method: action})


urlpatterns = [
    *resource("flows", FlowViewSet),
    path("flows/name/<text:name>", _action(FlowViewSet, "get", "by_name"), name="flows-by-name"),
    *resource("flow_runs", FlowRunViewSet),
    *slashed("flow_runs/lateness", _action(FlowRunViewSet, "post", "lateness")),
    *slashed("flow_runs/history", _action(FlowRunViewSet, "post", "history")),
    *slashed("flow_runs/bulk_set_state", _action(FlowRunViewSet, "post", "bulk_set_state")),
    *slashed("flow_runs/<uuid:pk>/set_state", _action(FlowRunViewSet, "post", "set_state")),
    *slashed("flow_runs/<uuid:pk>/resume", _action(FlowRunViewSet, "post", "resume")),
    path("flow_runs/<uuid:pk>/graph", _action(FlowRunViewSet, "get", "graph")),
    path("flow_runs/<uuid:pk>/graph-v2", _action(FlowRunViewSet, "get", "graph_v2")),
    path("flow_runs/<uuid:pk>/labels", _action(FlowRunViewSet, "patch", "update_labels")),
    path("flow_runs/<uuid:pk>/logs/download", _action(FlowRunViewSet, "get", "download_logs")),
    *slashed("flow_runs/<uuid:pk>/input", _action(FlowRunViewSet, "post", "create_input")),
    *slashed("flow_runs/<uuid:pk>/input/filter", _action(FlowRunViewSet, "post", "filter_inputs")),
    path(
        "flow_runs/<uuid:pk>/input/<text:key>",
        FlowRunViewSet.as_view({"get": "read_input", "delete": "delete_input"}),
    ),
    *resource("task_runs", TaskRunViewSet),
    *slashed("task_runs/history", _action(TaskRunViewSet, "post", "history")),
    *slashed("task_runs/<uuid:pk>/set_state", _action(TaskRunViewSet, "post", "set_state")),
    *slashed("flow_run_states", StatesView.as_view()),
    path("flow_run_states/<uuid:pk>", StatesView.as_view()),
    *slashed("task_run_states", TaskRunStatesView.as_view()),
    path("task_run_states/<uuid:pk>", TaskRunStatesView.as_view()),
    *slashed("logs", LogsView.as_view()),
    *slashed("logs/filter", LogFilterView.as_view()),
    *slashed("ui/flow_runs/history", ui.FlowRunHistoryView.as_view()),
    *slashed("ui/flow_runs/count-task-runs", ui.CountTaskRunsView.as_view()),
    *slashed("ui/task_runs/dashboard/counts", ui.TaskRunDashboardCountsView.as_view()),
    *slashed("ui/task_runs/count", ui.TaskRunCountByStateView.as_view()),
    path("ui/task_runs/<uuid:pk>", ui.UITaskRunView.as_view()),
]
