"""URL routes: the Prefect-compatible API under /api/, the dashboard at /."""

from django.urls import include, path, re_path

from orchestrator import settings_views
from orchestrator.api import browsable, root, ui
from orchestrator.api.errors import json_not_found
from orchestrator.api.routes import FirstSegmentResolver, by_first_segment, slashed

api_patterns = [
    path("", browsable.api_root, name="api-root"),
    *slashed("health", root.HealthView.as_view()),
    *slashed("ready", root.ReadyView.as_view()),
    *slashed("version", root.ApiVersionView.as_view()),
    *slashed("hello", root.HelloView.as_view()),
    *slashed("admin/version", root.ServerVersionView.as_view()),
    *slashed("admin/settings", root.AdminSettingsView.as_view()),
    *slashed("admin/storage", root.StorageView.as_view()),
    *slashed("csrf-token", root.CsrfTokenView.as_view()),
    path("saved_searches/", ui.SavedSearchesView.as_view()),
    path("saved_searches", ui.SavedSearchesView.as_view()),
    *slashed("saved_searches/filter", ui.SavedSearchFilterView.as_view()),
    path("saved_searches/<uuid:pk>", ui.SavedSearchView.as_view()),
    *slashed("ui/schemas/validate", ui.SchemaValidateView.as_view()),
    *slashed("templates/validate", ui.TemplateValidateView.as_view()),
    *slashed("automations/templates/validate", ui.TemplateValidateView.as_view()),
    *slashed("task_workers/filter", ui.TaskWorkersFilterView.as_view()),
    path("", include("runs.urls")),
    path("", include("events.urls")),
    path("", include("deployments.urls")),
    path("", include("concurrency.urls")),
    path("", include("artifacts.urls")),
    path("", include("variables.urls")),
    path("", include("blocks.urls")),
    path("", include("notifications.urls")),
    re_path(r"^.*$", json_not_found),
]

urlpatterns = [
    path("api/", include([FirstSegmentResolver(by_first_segment(api_patterns))])),
    re_path(r"^api$", json_not_found),
    path("", include("artifacts.views_urls")),
    path("", include("variables.views_urls")),
    path("", include("blocks.views_urls")),
    path("", include("notifications.views_urls")),
    path("", include("concurrency.views_urls")),
    path("", include("deployments.views_urls")),
    path("", include("events.views_urls")),
    *slashed("settings", settings_views.settings_page, name="settings"),
    path("", include("runs.dashboard_urls")),  # the dashboard home and flows, before the runs pages
    path("", include("runs.views_urls")),
]

handler404 = "orchestrator.views.page_not_found"
handler500 = "orchestrator.views.server_error"
