"""The API's front page for people exploring `/api/` in a browser: DRF's browsable page
listing where to start.

Only a browser asking for HTML gets it. Everything else (the Prefect client sends
`Accept: */*`) gets what `/api/` always answered, Prefect's own answer: 404
`{"detail": "Not Found"}`. Every other endpoint is browsable already: the negotiation in
orchestrator.api.renderers gives HTML to requests that ask for it first, and JSON to the rest.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import json_not_found

# (path, what it answers): read-only ones first; the rest take a JSON body by POST, which
# their browsable pages offer a form for.
ENDPOINTS = (
    ("health", "GET: whether the server answers"),
    ("version", "GET: the REST API version"),
    ("admin/version", "GET: the Prefect server version clients check"),
    ("admin/settings", "GET: the server's settings, secrets masked"),
    ("flows/filter", "POST: flows"),
    ("flow_runs/filter", "POST: flow runs"),
    ("task_runs/filter", "POST: task runs"),
    ("deployments/filter", "POST: deployments"),
    ("work_pools/filter", "POST: work pools"),
    ("logs/filter", "POST: logs"),
    ("events/filter", "POST: events"),
    ("artifacts/filter", "POST: artifacts"),
    ("variables/filter", "POST: variables"),
    ("block_types/filter", "POST: block types"),
    ("block_documents/filter", "POST: block documents (secrets masked)"),
    ("v2/concurrency_limits/filter", "POST: global concurrency limits"),
    ("concurrency_limits/filter", "POST: task-run tag concurrency limits"),
    ("flow_run_notification_policies/filter", "POST: notification policies"),
)


class ApiRoot(APIView):
    """The Prefect-compatible REST API. The Prefect client (`PREFECT_API_URL` pointing here)
    uses it; its contract is Prefect 3's OpenAPI document. List endpoints are
    `POST /<resource>/filter` with a JSON body (`{}` for everything, `{"limit": 10}`),
    single objects `GET /<resource>/<id>`."""

    def get(self, request):
        base = request.build_absolute_uri("/api/")
        return Response({path: {"url": f"{base}{path}", "answers": answers} for path, answers in ENDPOINTS})

    def get_view_name(self) -> str:
        return "Orchestrator API"


browsable_root = ApiRoot.as_view()


def api_root(request: HttpRequest) -> HttpResponse:
    """`/api/`: the browsable front page for a browser, Prefect's 404 for everyone else."""
    if request.method == "GET" and request.META.get("HTTP_ACCEPT", "").startswith("text/html"):
        return browsable_root(request)
    return json_not_found(request)
