"""API routes of notification policies and deliveries (mounted under /api/)."""

from django.urls import path

from orchestrator.api.routes import resource, slashed

from .api.deliveries import DeliveryViewSet
from .api.policies import PolicyViewSet

urlpatterns = [
    *resource("flow_run_notification_policies", PolicyViewSet, actions=("create", "detail", "filter", "count")),
    *slashed(
        "flow_run_notification_policies/<uuid:pk>/test",
        PolicyViewSet.as_view({"post": "send_test"}),
        name="flow_run_notification_policies-test",
    ),
    path(
        "notification_deliveries/<uuid:pk>",
        DeliveryViewSet.as_view({"get": "retrieve"}),
        name="notification_deliveries-detail",
    ),
    *resource("notification_deliveries", DeliveryViewSet, actions=("filter", "count", "paginate")),
    *slashed(
        "notification_deliveries/<uuid:pk>/resend",
        DeliveryViewSet.as_view({"post": "resend"}),
        name="notification_deliveries-resend",
    ),
]
