"""Dashboard pages of runs (mounted at /).

Pages answer with and without the trailing slash where Prefect's client prints links to them
(`$PREFECT_UI_URL/runs/flow-run/<id>`); APPEND_SLASH is off.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("runs/", views.runs_list, name="runs"),
    path("runs/bulk", views.bulk_action, name="runs-bulk"),
    path("runs/flow-run/<uuid:pk>", views.flow_run_detail, name="flow-run"),
    path("runs/flow-run/<uuid:pk>/", views.flow_run_detail),
    path("runs/flow-run/<uuid:pk>/retry", views.flow_run_retry, name="flow-run-retry"),
    path("runs/flow-run/<uuid:pk>/cancel", views.flow_run_cancel, name="flow-run-cancel"),
    path("runs/flow-run/<uuid:pk>/suspend", views.flow_run_suspend, name="flow-run-suspend"),
    path("runs/flow-run/<uuid:pk>/resume", views.flow_run_resume, name="flow-run-resume"),
    path("runs/flow-run/<uuid:pk>/set-state", views.flow_run_set_state, name="flow-run-set-state"),
    path("runs/flow-run/<uuid:pk>/delete", views.flow_run_delete, name="flow-run-delete"),
    path("runs/flow-run/<uuid:pk>/logs/download", views.flow_run_logs_download, name="flow-run-logs"),
    path("runs/task-run/<uuid:pk>", views.task_run_detail, name="task-run"),
    path("runs/task-run/<uuid:pk>/", views.task_run_detail),
    path("runs/task-run/<uuid:pk>/set-state", views.task_run_set_state, name="task-run-set-state"),
    path("runs/task-run/<uuid:pk>/logs/download", views.task_run_logs_download, name="task-run-logs"),
]
