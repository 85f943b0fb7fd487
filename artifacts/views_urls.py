"""Dashboard pages of artifacts (mounted at /)."""

from django.urls import path

from . import views

urlpatterns = [
    path("artifacts/", views.artifact_list, name="artifacts"),
    path("artifacts/key/<str:key>/", views.artifact_key, name="artifact-key"),
    path("artifacts/artifact/<uuid:pk>/", views.artifact_detail, name="artifact"),
]
