"""The automation calls the client makes while deploying and inspecting, answered for a
server that has no automations: nothing is owned by or related to any resource."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView


class OwnedByView(APIView):
    def delete(self, request, resource_id=None):
        return Response(status=status.HTTP_202_ACCEPTED)


class RelatedToView(APIView):
    def get(self, request, resource_id=None):
        return Response([])
