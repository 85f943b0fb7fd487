"""HTTP middleware for the API."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.http import JsonResponse

from .auth import auth_string, header_ok

OPEN_PATHS = ("/api/health", "/api/ready")


def is_api(request) -> bool:
    """A call of the API (as opposed to a dashboard page)."""
    return request.path.startswith("/api")


class ApiBasicAuthMiddleware:
    """With PREFECT_SERVER_API_AUTH_STRING set, every /api call but health and readiness
    needs it as HTTP basic auth, as Prefect's server requires."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if auth_string() and is_api(request) and request.method != "OPTIONS":
            if request.path.rstrip("/") not in OPEN_PATHS and not header_ok(request.headers.get("Authorization")):
                return JsonResponse({"exception_message": "Unauthorized"}, status=401)
        return self.get_response(request)


class ApiCsrfExemptMiddleware:
    """The API is called by programs, not browser forms: Django's form CSRF check is for the
    dashboard only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


class DashboardMessageMiddleware(MessageMiddleware):
    """Django's messages ("Run cancelled.") for the dashboard's pages; the API never shows
    them, and setting up their storage on every API call cost about 1 % of a server's CPU."""

    def process_request(self, request):
        if not is_api(request):
            super().process_request(request)
