"""Dashboard pages of events (mounted at /)."""

from django.urls import path

from . import views

urlpatterns = [
    path("events/", views.events_list, name="events"),
    path("events", views.events_list),
    path("events/event/<uuid:pk>", views.event_detail, name="event"),
    path("events/event/<uuid:pk>/", views.event_detail),
]
