"""What `server start` does to a process before it serves its first request."""

from __future__ import annotations

import gc

import pytest
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
