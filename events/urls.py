"""API routes of events (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import slashed

from . import api

urlpatterns = [
    *slashed("events", api.EventsView.as_view()),
    *slashed("events/filter", api.EventFilterView.as_view()),
    path("events/filter/next", api.EventFilterNextView.as_view()),
    *slashed("events/count-by/<str:countable>", api.EventCountView.as_view()),
]
