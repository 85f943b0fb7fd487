"""Dashboard pages of runs (mounted at /)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/", views.runs_list, name="runs"),
    path("runs/flow-run/<uuid:pk>", views.flow_run_detail, name="flow-run"),
]
