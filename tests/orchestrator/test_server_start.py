"""What `server start` does to a process before it serves its first request."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command

from orchestrator import serving

pytestmark = pytest.mark.django_db


def test_start_up_objects_are_set_aside_from_the_collector_before_serving(monkeypatch):
    seen = {}

    class Recorder:
        listening_addresses = ["127.0.0.1:0"]

        def __init__(self, **kwargs):
            pass

        def run(self):
            seen["frozen"] = gc.get_freeze_count()

    monkeypatch.setattr(serving, "server_class", lambda: Recorder)
    monkeypatch.setattr("orchestrator.database.migrate", lambda: None)
    gc.unfreeze()
    try:
        call_command("server", "start", "--no-services", "--port", "4999")
    finally:
        gc.unfreeze()
    assert seen["frozen"] > 10_000  # the modules, settings and URL patterns of a loaded server


LOAD_A_SERVING_PROCESS = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "settings.base"
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
import orchestrator.asgi, orchestrator.services, daphne.server
import rest_framework.compat
loaded = [name for name in ("requests", "urllib3", "pygments") if name in sys.modules]
import requests  # still importable for whoever needs it
print(json.dumps({"loaded": loaded, "drf_requests": rest_framework.compat.requests is None}))
"""


def test_a_serving_process_loads_neither_requests_nor_pygments_until_it_sends(tmp_path):
    """They cost every process about 6 MB; only notification delivery needs `requests`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PREFECT_", "ORCHESTRATOR_"))}
    env.update(PREFECT_HOME=str(tmp_path), PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite:///{tmp_path}/x.db")
    result = subprocess.run(
        [sys.executable, "-c", LOAD_A_SERVING_PROCESS],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"loaded": [], "drf_requests": True}
