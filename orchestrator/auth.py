"""The shared API secret (PREFECT_SERVER_API_AUTH_STRING), checked the way Prefect's
client presents it: HTTP basic auth on requests, a token in the websockets' first message."""

from __future__ import annotations

import base64
import hmac

from django.conf import settings


def auth_string() -> str | None:
    return settings.ORCHESTRATOR["AUTH_STRING"]


def token_ok(token: str | None) -> bool:
    expected = auth_string()
    if not expected:
        return True
    return token is not None and hmac.compare_digest(str(token), expected)


def header_ok(header: str | None) -> bool:
    expected = auth_string()
    if not expected:
        return True
    if not header:
        return False
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(credentials.strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(decoded, expected)
