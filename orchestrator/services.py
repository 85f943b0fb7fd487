"""Loop services: background work the server does on a timer (marking late runs, expiring
pauses, trimming old events, ...).

Each service is a small class with a name, an `enabled` flag and a `loop_seconds` interval
from settings, and one `run_once()`. Apps list theirs in `<app>/services.py` as `SERVICES`.
The runner gives each its own thread; stopping lets every service finish the step it is in.

Services must be safe with several server processes on one PostgreSQL database: they
claim the rows they act on (`select_for_update(skip_locked=True)` or a conditional update)
instead of acting on whatever they happened to read.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time

from django.apps import apps
from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger("orchestrator.services")


class Service:
    name: str = ""

    def __init__(self) -> None:
        options = settings.ORCHESTRATOR["SERVICES"].get(self.name, {})
        self.enabled: bool = options.get("enabled", True)
        self.loop_seconds: float = float(options.get("loop_seconds", 60))
        self.options = options

    def run_once(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.name} every {self.loop_seconds:g}s>"


@contextlib.contextmanager
def claimed(model, pk, **still):
    """Lock one row for this process's service, if no other process holds it and it still
    matches `still`; yields the row or None. The work done inside is this process's alone."""
    with transaction.atomic():
        row = model.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk, **still).first()
        yield row


def all_services() -> list[Service]:
    found: list[Service] = []
    for app in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app.name}.services")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.services":
                raise
            continue
        for service_class in getattr(module, "SERVICES", ()):
            found.append(service_class())
    return found


class ServiceRunner:
    def __init__(self, services: list[Service] | None = None):
        self.services = [s for s in (services if services is not None else all_services()) if s.enabled]
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for service in self.services:
            thread = threading.Thread(target=self._loop, args=(service,), name=f"service-{service.name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _loop(self, service: Service) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                close_old_connections()
                service.run_once()
            except Exception:  # noqa: BLE001 - a failing pass is logged; the next one runs on time
                logger.exception("service %s failed", service.name)
            finally:
                close_old_connections()
            elapsed = time.monotonic() - started
            self.stopping.wait(max(0.0, service.loop_seconds - elapsed))

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every service to stop and wait for the step each is in to finish."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class RefreshTableStatistics(Service):
    """Vacuums and analyzes the tables PostgreSQL's autovacuum leaves stale
    (orchestrator.database), so that queries keep good plans and fast scans where autovacuum
    is off."""

    name = "table_statistics"

    def __init__(self) -> None:
        super().__init__()
        self.enabled = self.enabled and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

    def run_once(self) -> dict[str, str]:
        from orchestrator import database

        return database.maintain_stale_tables()


SERVICES = [RefreshTableStatistics]
