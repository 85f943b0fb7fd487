"""/api/flow_run_notification_policies: Prefect 2's API, plus sending a test notification."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from orchestrator.api.views import PrefectViewSet, body_of

from .. import domain
from ..filters import POLICY_BODY_FILTERS, POLICY_SORTS
from ..models import NotificationPolicy
from .serializers import PolicyCreateSerializer, PolicyUpdateSerializer, delivery_json


class PolicyViewSet(PrefectViewSet):
    model = NotificationPolicy
    serializer_class = PolicyCreateSerializer
    update_serializer_class = PolicyUpdateSerializer
    filter_models = POLICY_BODY_FILTERS
    sorts = POLICY_SORTS
    default_sort = "ID_ASC"
    not_found = domain.POLICY_NOT_FOUND

    def perform_create(self, data):
        return domain.create_policy(**data), True

    def partial_update(self, request, pk=None):
        serializer = self.update_serializer_class(data=body_of(request), partial=True)
        serializer.is_valid(raise_exception=True)
        domain.update_policy(pk, dict(serializer.validated_data))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def destroy(self, request, pk=None):
        # The API deletes only the policy, as Prefect's did; the dashboard also removes the
        # anonymous block it created for the policy.
        domain.delete_policy(pk, delete_anonymous_block=False)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def send_test(self, request, pk=None):
        """POST /flow_run_notification_policies/{id}/test: send now, answer the delivery."""
        body_of(request)  # a body, if any, must be an object
        return Response(delivery_json(domain.send_test(pk)), status=status.HTTP_201_CREATED)
