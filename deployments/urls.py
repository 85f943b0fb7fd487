"""API routes of deployments, work pools, work queues and workers (mounted under /api/)."""

from django.urls import path

from events import automations
from orchestrator.api.routes import resource, slashed

from .api import ui
from .api.collections import CollectionView
from .api.deployments import DeploymentViewSet
from .api.work_pools import WorkPoolViewSet, WorkQueueViewSet


def _action(viewset, method: str, action: str):
    return viewset.as_view({method: action})


D = DeploymentViewSet
P = WorkPoolViewSet
Q = WorkQueueViewSet

urlpatterns = [
    # deployments
    *slashed("deployments/get_scheduled_flow_runs", _action(D, "post", "get_scheduled_flow_runs")),
    *resource("deployments", D),
    path("deployments/name/<text:flow_name>/<text:deployment_name>", _action(D, "get", "by_name")),
    *slashed("deployments/<uuid:pk>/create_flow_run", _action(D, "post", "create_flow_run")),
    *slashed("deployments/<uuid:pk>/create_flow_run/bulk", _action(D, "post", "create_flow_runs")),
    *slashed("deployments/<uuid:pk>/schedule", _action(D, "post", "schedule")),
    *slashed("deployments/<uuid:pk>/pause_deployment", _action(D, "post", "pause")),
    *slashed("deployments/<uuid:pk>/resume_deployment", _action(D, "post", "resume")),
    path("deployments/<uuid:pk>/work_queue_check", _action(D, "get", "work_queue_check")),
    *slashed("deployments/<uuid:pk>/schedules", D.as_view({"get": "list_schedules", "post": "create_schedules"})),
    path(
        "deployments/<uuid:pk>/schedules/<uuid:schedule_id>",
        D.as_view({"patch": "update_schedule", "delete": "delete_schedule"}),
    ),
    # work pools, addressed by name: fixed paths first
    path("work_pools/", _action(P, "post", "create")),
    path("work_pools", _action(P, "post", "create")),
    *slashed("work_pools/filter", _action(P, "post", "filter")),
    *slashed("work_pools/count", _action(P, "post", "count")),
    path("work_pools/<text:name>", P.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})),
    *slashed("work_pools/<text:name>/concurrency_status", _action(P, "post", "concurrency_status")),
    *slashed("work_pools/<text:name>/get_scheduled_flow_runs", _action(P, "post", "get_scheduled_flow_runs")),
    *slashed("work_pools/<text:name>/queues", _action(P, "post", "create_queue")),
    *slashed("work_pools/<text:name>/queues/filter", _action(P, "post", "filter_queues")),
    path(
        "work_pools/<text:name>/queues/<text:queue_name>",
        P.as_view({"get": "read_queue", "patch": "update_queue", "delete": "delete_queue"}),
    ),
    *slashed("work_pools/<text:name>/workers/heartbeat", _action(P, "post", "heartbeat")),
    *slashed("work_pools/<text:name>/workers/filter", _action(P, "post", "filter_workers")),
    path("work_pools/<text:name>/workers/<text:worker_name>", _action(P, "delete", "delete_worker")),
    # the id-addressed work queue API
    *resource("work_queues", Q, actions=("create", "detail", "filter")),
    path("work_queues/name/<text:name>", _action(Q, "get", "by_name")),
    *slashed("work_queues/<uuid:pk>/get_runs", _action(Q, "post", "get_runs")),
    *slashed("work_queues/<uuid:pk>/concurrency_status", _action(Q, "post", "concurrency_status")),
    path("work_queues/<uuid:pk>/status", _action(Q, "get", "status_detail")),
    # the parts of other resources the client and CLI reach while deploying
    *slashed("ui/flows/count-deployments", ui.CountDeploymentsView.as_view()),
    *slashed("ui/flows/next-runs", ui.NextRunsView.as_view()),
    path("collections/views/<text:view>", CollectionView.as_view()),
    path("automations/owned-by/<text:resource_id>", automations.OwnedByView.as_view()),
    path("automations/related-to/<text:resource_id>", automations.RelatedToView.as_view()),
]
