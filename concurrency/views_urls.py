"""Dashboard pages of concurrency limits (mounted at /), at the addresses of Prefect's own UI.

A limit's page answers with and without the trailing slash (APPEND_SLASH is off).
"""

from django.urls import path

from . import views

urlpatterns = [
    path("concurrency-limits/", views.limits_list, name="concurrency-limits"),
    path("concurrency-limits", views.limits_list),
    path("concurrency-limits/new/", views.limit_create, name="concurrency-limit-new"),
    path("concurrency-limits/tag/new/", views.tag_limit_create, name="tag-limit-new"),
    path("concurrency-limits/concurrency-limit/<uuid:pk>/", views.limit_detail, name="concurrency-limit"),
    path("concurrency-limits/concurrency-limit/<uuid:pk>", views.limit_detail),
    path("concurrency-limits/concurrency-limit/<uuid:pk>/edit/", views.limit_edit, name="concurrency-limit-edit"),
    path("concurrency-limits/concurrency-limit/<uuid:pk>/reset", views.limit_reset, name="concurrency-limit-reset"),
    path("concurrency-limits/concurrency-limit/<uuid:pk>/delete/", views.limit_delete, name="concurrency-limit-delete"),
]
