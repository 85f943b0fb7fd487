"""The settings page (`/settings`): the server's versions, its database and Redis, its loop
services, and every setting with its source, as `orchestrator config view --show-sources`
prints them. Secrets are shown as `********`, and passwords inside URLs too.

The values are those the server started with (`settings.CONF`, resolved once by
orchestrator.config when the settings were loaded), which are the ones it uses.
"""

from __future__ import annotations

import os
import sqlite3

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import config
from .lib.masking import mask_url_password
from .services import all_services
from .version import API_VERSION, ORCHESTRATOR_VERSION, PREFECT_COMPATIBLE_VERSION


def _values() -> dict[str, config.Value]:
    return getattr(settings, "CONF", None) or config.resolve()


def _database(values: dict[str, config.Value]) -> dict[str, str]:
    database = connection.settings_dict
    url = values["PREFECT_API_DATABASE_CONNECTION_URL"].value
    if connection.vendor == "postgresql":
        connection.ensure_connection()  # its server version comes with the connection, no query
        version = connection.pg_version
        shown_version = f"{version // 10000}.{version % 10000}" if version else ""
        backend = "PostgreSQL"
    else:
        shown_version = sqlite3.sqlite_version
        backend = "SQLite"
    return {
        "backend": backend,
        "version": shown_version,
        "url": mask_url_password(url) if url else f"sqlite:///{database['NAME']} (the default)",
        "name": str(database.get("NAME") or ""),
    }


def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    sentence, found, _ = text.partition(". ")
    return sentence + "." if found else text


def settings_page(request: HttpRequest) -> HttpResponse:
    values = _values()
    home_source = "env" if "PREFECT_HOME" in os.environ else "defaults"
    rows = [
        ("PREFECT_HOME", str(config.prefect_home()), home_source, "", "Where the database, profiles and keys live.")
    ]
    for name in sorted(values):
        value = values[name]
        shown = value.display
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        alias = value.raw_name if value.raw_name != name else ""
        rows.append((name, shown, value.source, alias, value.setting.help))
    redis = values["REDIS_URL"].value
    services = sorted(all_services(), key=lambda service: service.name)
    return render(
        request,
        "settings/settings.html",
        {
            "section": "settings",
            "versions": {
                "prefect": PREFECT_COMPATIBLE_VERSION,
                "api": API_VERSION,
                "orchestrator": ORCHESTRATOR_VERSION,
            },
            "database": _database(values),
            "redis": mask_url_password(redis) if redis else None,
            "profile": config.active_profile_name(),
            "profiles_path": str(config.profiles_path()),
            "services": [
                (service.name, service.enabled, service.loop_seconds, _first_sentence(type(service).__doc__))
                for service in services
            ],
            "rows": rows,
            "mask": config.MASK,
        },
    )
