"""The sender as a loop service: registered, configured from settings, woken by new deliveries."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from notifications.choices import DeliveryStatus
from notifications.models import Delivery
from notifications.services import SendNotifications
from orchestrator.services import all_services
from tests.runs.helpers import flow_run_in, propose, state

from .conftest import make_policy


def test_it_runs_with_the_other_services_under_prefects_setting_names(settings):
    settings.ORCHESTRATOR = {
        **settings.ORCHESTRATOR,
        "SERVICES": {
            **settings.ORCHESTRATOR["SERVICES"],
            "flow_run_notifications": {"enabled": False, "loop_seconds": 7.0},
        },
    }

    (service,) = [s for s in all_services() if s.name == "flow_run_notifications"]

    assert isinstance(service, SendNotifications)
    assert (service.enabled, service.loop_seconds) == (False, 7.0)


def test_a_failed_state_wakes_the_sender_at_once(transactional_db, services, webhook, flow):
    make_policy(webhook, tags=["etl"])
    service = SendNotifications()
    service.loop_seconds = 4.0  # one pass; the send must not wait for the next
    handled = []

    def loop():
        try:
            handled.append(service.run_once())
        finally:
            connection.close()

    # One pass with nothing to do, then a state commits while the sender sleeps.
    run = flow_run_in(flow, "RUNNING", tags=["etl"])
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    propose(run, state("FAILED"))

    services.wait_for("/hook", 1, timeout=10)

    assert time.monotonic() - started < 2
    thread.join(10)
    assert handled == [1]
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_pass_ends_after_loop_seconds_when_idle(services):
    service = SendNotifications()
    service.loop_seconds = 0.3
    started = time.monotonic()

    assert service.run_once() == 0

    assert 0.25 <= time.monotonic() - started < 3
