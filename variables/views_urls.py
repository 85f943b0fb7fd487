"""Dashboard pages of variables (mounted at /)."""

from django.urls import path

from . import views

urlpatterns = [
    path("variables/", views.variable_list, name="variables"),
    path("variables/new/", views.variable_create, name="variable-new"),
    path("variables/<uuid:pk>/edit/", views.variable_edit, name="variable-edit"),
    path("variables/<uuid:pk>/delete/", views.variable_delete, name="variable-delete"),
]
