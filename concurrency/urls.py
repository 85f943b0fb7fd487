"""API routes of concurrency limits (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import slashed

from .api import views

urlpatterns = [
    path("v2/concurrency_limits/", views.LimitsView.as_view()),
    path("v2/concurrency_limits", views.LimitsView.as_view()),
    *slashed("v2/concurrency_limits/filter", views.LimitFilterView.as_view()),
    *slashed("v2/concurrency_limits/increment", views.IncrementView.as_view()),
    *slashed("v2/concurrency_limits/increment-with-lease", views.IncrementWithLeaseView.as_view()),
    *slashed("v2/concurrency_limits/decrement", views.DecrementView.as_view()),
    *slashed("v2/concurrency_limits/decrement-with-lease", views.DecrementWithLeaseView.as_view()),
    *slashed("v2/concurrency_limits/leases/<uuid:lease_id>/renew", views.RenewLeaseView.as_view()),
    path("v2/concurrency_limits/<text:id_or_name>", views.LimitView.as_view()),
    path("concurrency_limits/", views.TagLimitsView.as_view()),
    path("concurrency_limits", views.TagLimitsView.as_view()),
    *slashed("concurrency_limits/filter", views.TagLimitFilterView.as_view()),
    *slashed("concurrency_limits/increment", views.TagIncrementView.as_view()),
    *slashed("concurrency_limits/decrement", views.TagDecrementView.as_view()),
    path("concurrency_limits/tag/<text:tag>", views.TagLimitByTagView.as_view()),
    *slashed("concurrency_limits/tag/<text:tag>/reset", views.TagLimitResetView.as_view()),
    path("concurrency_limits/<uuid:pk>", views.TagLimitByIdView.as_view()),
]
