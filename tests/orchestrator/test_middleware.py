"""Django's session, CSRF, authentication and message middleware serve the dashboard; API
calls go straight past them."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_api_call_gets_no_session_messages_or_csrf_cookie():
    response = Client(enforce_csrf_checks=True).get("/api/health")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert "csrftoken" not in response.cookies


def test_an_api_post_needs_no_csrf_token():
    response = Client(enforce_csrf_checks=True).post(
        "/api/variables/", {"name": "no_token_needed", "value": 1}, content_type="application/json"
    )

    assert response.status_code == 201


def test_a_dashboard_page_still_gets_a_session_and_messages():
    response = Client().get("/")

    request = response.wsgi_request
    assert hasattr(request, "session") and hasattr(request, "_messages") and hasattr(request, "user")
