"""API routes of variables (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import resource

from .api.variables import VariableViewSet

urlpatterns = [
    *resource("variables", VariableViewSet, actions=("create", "detail", "filter", "count")),
    path(
        "variables/name/<text:name>",
        VariableViewSet.as_view({"get": "retrieve_by_name", "patch": "update_by_name", "delete": "destroy_by_name"}),
        name="variables-by-name",
    ),
]
