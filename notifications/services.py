"""The notifications sender, a loop service (`flow_run_notifications`, as Prefect 2 named it)."""

from __future__ import annotations

import time

from django.db import close_old_connections

from orchestrator.services import Service

from .enqueue import wake_sender
from .sender import seconds_until_due, send_due


class SendNotifications(Service):
    """Sends due deliveries (see `notifications.sender`). Within one pass of `loop_seconds`
    it also wakes the moment a state in this process enqueues a delivery, so a notification
    leaves within a second of the state; deliveries enqueued by other processes and retries
    are picked up by polling."""

    name = "flow_run_notifications"

    def run_once(self) -> int:
        deadline = time.monotonic() + self.loop_seconds
        handled = 0
        while True:
            wake_sender.clear()
            handled += send_due()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return handled
            # Sleep until woken, until the next retry is due, or until the pass ends.
            due_in = seconds_until_due()
            if due_in is not None and due_in < remaining:
                wake_sender.wait(max(0.2, due_in))
            elif not wake_sender.wait(remaining):
                return handled
            close_old_connections()


SERVICES = [SendNotifications]
