"""/api/ui/flows/...: per-flow counts of deployments and next runs, for flow lists."""

from __future__ import annotations

import uuid

from django.db.models import Count
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import BodyInvalid
from orchestrator.api.views import body_of
from runs.choices import StateType
from runs.models import FlowRun
from runs.orchestration.states import iso

from ..models import Deployment

MAX_FLOWS = 200


def flow_ids(body: dict) -> list[uuid.UUID]:
    raw = body.get("flow_ids")
    if not isinstance(raw, list) or len(raw) > MAX_FLOWS:
        raise BodyInvalid(
            [
                {
                    "loc": ["body", "flow_ids"],
                    "msg": f"A list of at most {MAX_FLOWS} flow ids is required",
                    "type": "list_type",
                }
            ],
            body,
        )
    try:
        return [uuid.UUID(str(v)) for v in raw]
    except ValueError:
        raise BodyInvalid(
            [{"loc": ["body", "flow_ids"], "msg": "Input should be a list of UUIDs", "type": "uuid_parsing"}], body
        ) from None


class CountDeploymentsView(APIView):
    def post(self, request):
        ids = flow_ids(body_of(request))
        counts = dict(
            Deployment.objects.filter(flow_id__in=ids)
            .values("flow_id")
            .annotate(n=Count("id"))
            .values_list("flow_id", "n")
        )
        return Response({str(i): counts.get(i, 0) for i in ids})


class NextRunsView(APIView):
    def post(self, request):
        ids = flow_ids(body_of(request))
        result: dict[str, dict | None] = {str(i): None for i in ids}
        for flow_id in ids:
            run = (
                FlowRun.objects.filter(
                    flow_id=flow_id, state_type=StateType.SCHEDULED, next_scheduled_start_time__isnull=False
                )
                .order_by("next_scheduled_start_time")
                .only("id", "flow_id", "name", "state_name", "state_type", "next_scheduled_start_time")
                .first()
            )
            if run is not None:
                result[str(flow_id)] = {
                    "id": str(run.id),
                    "flow_id": str(run.flow_id),
                    "name": run.name,
                    "state_name": run.state_name,
                    "state_type": run.state_type,
                    "next_scheduled_start_time": iso(run.next_scheduled_start_time),
                }
        return Response(result)
