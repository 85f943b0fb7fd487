"""The dashboard home and the flows pages (mounted at /, before runs.views_urls).

Pages answer with and without the trailing slash where Prefect's client prints links to them
(`$PREFECT_UI_URL/flows/flow/<id>`); APPEND_SLASH is off.
"""

from django.urls import path

from . import dashboard_views, flow_views

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("dashboard", dashboard_views.dashboard),
    path("dashboard/", dashboard_views.dashboard),
    path("flows/", flow_views.flows_list, name="flows"),
    path("flows", flow_views.flows_list),
    path("flows/flow/<uuid:pk>", flow_views.flow_detail, name="flow"),
    path("flows/flow/<uuid:pk>/", flow_views.flow_detail),
    path("flows/flow/<uuid:pk>/delete", flow_views.flow_delete, name="flow-delete"),
]
