"""A serving process loads only what serving needs: libraries used by a few endpoints or only
with some schedules are imported where they are used (each costs a server process 1-3 MB), and
optional extras other libraries would load for features the server does not use stay out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a serving process does before its first request: load the ASGI application and the URL
# configuration, build Daphne's server class and the background services.
LOAD_A_SERVER = """
import sys
import orchestrator.asgi
from django.urls import get_resolver
get_resolver().url_patterns
from orchestrator import serving
serving.server_class()
from orchestrator.services import all_services
all_services()
print(" ".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def modules_after_loading_a_server() -> set[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_A_SERVER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_a_server_process_loads_no_jinja_jsonschema_croniter_or_redis_before_they_are_used():
    loaded = modules_after_loading_a_server()

    assert "django" in loaded and "daphne" in loaded
    assert not loaded & {"jinja2", "jsonschema", "croniter", "channels_redis", "redis"}


def test_a_server_process_loads_neither_requests_pygments_nor_pyopenssl():
    """`requests` is loaded by the first notification sent; TLS is never served."""
    loaded = modules_after_loading_a_server()

    assert "rest_framework" in loaded and "twisted" in loaded
    assert not loaded & {"requests", "urllib3", "pygments", "OpenSSL"}


def test_packages_hidden_from_a_library_stay_importable_afterwards():
    done = subprocess.run(
        [sys.executable, "-c", LOAD_A_SERVER + "import requests, OpenSSL, pygments\nprint('imported')"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "imported"
