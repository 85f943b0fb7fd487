"""/api/flows"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from orchestrator.api.views import PrefectViewSet
from runs.deletion import delete_flows
from runs.filters import FLOW_SORTS, flow_body_filters
from runs.models import Flow

from .serializers import FlowSerializer, FlowUpdateSerializer


class FlowViewSet(PrefectViewSet):
    model = Flow
    serializer_class = FlowSerializer
    update_serializer_class = FlowUpdateSerializer
    sorts = FLOW_SORTS
    default_sort = "NAME_ASC"
    not_found = "Flow not found"

    @property
    def filter_models(self):
        return flow_body_filters()

    def perform_create(self, data):
        """Creating a flow that exists returns it (Prefect's upsert by name)."""
        existing = Flow.objects.filter(name=data["name"]).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                return Flow.objects.create(name=data["name"], tags=data["tags"], labels=data["labels"] or {}), True
        except IntegrityError:  # created concurrently by another request
            return Flow.objects.get(name=data["name"]), False

    def perform_destroy(self, flow):
        delete_flows([flow.pk])

    def delete_many(self, queryset):
        return delete_flows(list(queryset.values_list("pk", flat=True)))

    def by_name(self, request, name=None):
        return Response(self.present(self.get_object(name=name)))
