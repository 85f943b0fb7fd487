"""Health, readiness, versions, admin and CSRF endpoints (/api/...)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator import config
from orchestrator.models import Configuration
from orchestrator.version import API_VERSION, PREFECT_COMPATIBLE_VERSION

from .errors import BodyInvalid, NotFound, Unprocessable
from .views import body_of

STORAGE_KEY = "default_result_storage"
# Service settings Prefect types as durations (ours are seconds).
DURATION_SERVICE_SETTINGS = {
    ("late_runs", "after_seconds"),
    ("scheduler", "min_scheduled_time"),
    ("scheduler", "max_scheduled_time"),
}


class HealthView(APIView):
    def get(self, request):
        return Response(True)


class ReadyView(APIView):
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response({"message": "Database is not available"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"message": "OK"})


class ApiVersionView(APIView):
    def get(self, request):
        return Response(API_VERSION)


class HelloView(APIView):
    def get(self, request):
        return Response("👋")


class ServerVersionView(APIView):
    def get(self, request):
        return Response(PREFECT_COMPATIBLE_VERSION)


def iso_duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration, as Prefect's settings serialise a timedelta ("PT15M")."""
    value = dt.timedelta(seconds=float(seconds))
    hours, rest = divmod(value.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs += value.microseconds / 1e6
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs:g}S" if secs else "")
    text = "P" + (f"{value.days}D" if value.days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0S"


def settings_document() -> dict:
    """The server's settings as a nested document, secrets masked."""
    values = config.resolve()

    def shown(name: str):
        return values[name].display

    return {
        "home": str(config.prefect_home()),
        "profiles_path": str(config.profiles_path()),
        "debug_mode": settings.DEBUG,
        "ui_url": shown("PREFECT_UI_URL"),
        "api": {
            "url": None,
            "auth_string": shown("PREFECT_SERVER_API_AUTH_STRING"),
            "default_limit": shown("PREFECT_SERVER_API_DEFAULT_LIMIT"),
        },
        "server": {
            "logging_level": shown("PREFECT_SERVER_LOGGING_LEVEL"),
            "api": {
                "host": shown("PREFECT_SERVER_API_HOST"),
                "port": shown("PREFECT_SERVER_API_PORT"),
                "auth_string": shown("PREFECT_SERVER_API_AUTH_STRING"),
                "default_limit": shown("PREFECT_SERVER_API_DEFAULT_LIMIT"),
            },
            "database": {
                "connection_url": shown("PREFECT_API_DATABASE_CONNECTION_URL"),
                "migrate_on_start": shown("PREFECT_API_DATABASE_MIGRATE_ON_START"),
                "echo": shown("PREFECT_API_DATABASE_ECHO"),
                "timeout": shown("PREFECT_API_DATABASE_TIMEOUT"),
                "connection_timeout": shown("PREFECT_API_DATABASE_CONNECTION_TIMEOUT"),
            },
            "events": {
                "retention_period": iso_duration(shown("PREFECT_SERVER_EVENTS_RETENTION_PERIOD")),
                "maximum_websocket_backfill": iso_duration(shown("PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL")),
                "stream_out_enabled": shown("PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED"),
            },
            "logs": {"stream_out_enabled": shown("PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED")},
            "services": {
                name: {
                    key: iso_duration(value) if (name, key) in DURATION_SERVICE_SETTINGS else value
                    for key, value in service.items()
                }
                for name, service in settings.ORCHESTRATOR["SERVICES"].items()
            },
        },
    }


class AdminSettingsView(APIView):
    def get(self, request):
        return Response(settings_document())


class StorageView(APIView):
    """The server's default result storage: a block document id, or null."""

    def get(self, request):
        return Response({"default_result_storage_block_id": Configuration.read(STORAGE_KEY, {}).get("block_id")})

    def put(self, request):
        body = body_of(request)
        if "default_result_storage_block_id" not in body:
            raise BodyInvalid(
                [{"loc": ["body", "default_result_storage_block_id"], "msg": "Field required", "type": "missing"}], body
            )
        raw = body["default_result_storage_block_id"]
        block_id = None
        if raw is not None:
            try:
                block_id = uuid.UUID(str(raw))
            except ValueError:
                raise BodyInvalid(
                    [
                        {
                            "loc": ["body", "default_result_storage_block_id"],
                            "msg": "Input should be a valid UUID",
                            "type": "uuid_parsing",
                        }
                    ],
                    body,
                ) from None
            if not _block_document_exists(block_id):
                raise NotFound("Block document not found")
        Configuration.write(STORAGE_KEY, {"block_id": str(block_id) if block_id else None})
        return Response({"default_result_storage_block_id": str(block_id) if block_id else None})

    def delete(self, request):
        Configuration.objects.filter(key=STORAGE_KEY).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _block_document_exists(block_id: uuid.UUID) -> bool:
    if not apps.is_installed("blocks"):
        return False
    return apps.get_model("blocks", "BlockDocument").objects.filter(pk=block_id).exists()


class CsrfTokenView(APIView):
    """CSRF tokens for API clients are not needed: the API is not a browser form target."""

    def get(self, request):
        if not request.query_params.get("client"):
            raise BodyInvalid([{"loc": ["query", "client"], "msg": "Field required", "type": "missing"}], None)
        raise Unprocessable("CSRF protection is disabled.")
