"""/api/notification_deliveries: the delivery history, with every attempt (ours, not Prefect's)."""

from __future__ import annotations

from rest_framework.response import Response

from orchestrator.api.views import PrefectViewSet, body_of

from .. import domain
from ..filters import DELIVERY_BODY_FILTERS, DELIVERY_SORTS
from ..models import Delivery
from .serializers import DeliverySerializer, delivery_json


class DeliveryViewSet(PrefectViewSet):
    model = Delivery
    serializer_class = DeliverySerializer
    filter_models = DELIVERY_BODY_FILTERS
    sorts = DELIVERY_SORTS
    default_sort = "CREATED_DESC"
    not_found = "Delivery not found"

    def get_queryset(self):
        return domain.with_attempts()

    def resend(self, request, pk=None):
        """POST /notification_deliveries/{id}/resend: queue a finished delivery again."""
        body_of(request)
        return Response(delivery_json(domain.resend(pk)))
