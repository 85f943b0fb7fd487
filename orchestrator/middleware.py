"""HTTP middleware: the API's basic auth, and Django's dashboard-only middleware kept off the API."""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

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


class DashboardOnly:
    """Mixed into one of Django's middleware: it runs for the dashboard's pages, and API calls
    go straight past it. Sessions, CSRF tokens, the logged-in user and flash messages are the
    dashboard's; the API is called by programs and uses none of them (and never enforced CSRF).
    Skipping them saves an API call 20-30 us in process (/api/health 228 -> 204 us)."""

    def __call__(self, request):
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)


class DashboardSessionMiddleware(DashboardOnly, SessionMiddleware):
    pass


class DashboardCsrfViewMiddleware(DashboardOnly, CsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class DashboardAuthenticationMiddleware(DashboardOnly, AuthenticationMiddleware):
    pass


class DashboardMessageMiddleware(DashboardOnly, MessageMiddleware):
    """Django's messages ("Run cancelled.") for the dashboard's pages."""
