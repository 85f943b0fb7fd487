"""Dashboard pages of notifications (mounted at /). The list and the form also answer without
the trailing slash, as Prefect's own UI addresses them (APPEND_SLASH is off)."""

from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications", views.notification_list),
    path("notifications/new/", views.notification_create, name="notification-new"),
    path("notifications/new", views.notification_create),
    path("notifications/<uuid:pk>/", views.notification_detail, name="notification"),
    path("notifications/<uuid:pk>/edit/", views.notification_edit, name="notification-edit"),
    path("notifications/<uuid:pk>/delete/", views.notification_delete, name="notification-delete"),
    path("notifications/<uuid:pk>/active/", views.notification_active, name="notification-active"),
    path("notifications/<uuid:pk>/test/", views.notification_test, name="notification-test"),
    path(
        "notifications/<uuid:pk>/deliveries/<uuid:delivery_pk>/resend/",
        views.delivery_resend,
        name="notification-resend",
    ),
]
