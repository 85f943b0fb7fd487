"""Taking events in: validated, stored, and turned into task runs in one transaction.

The websocket consumers hand events to `EventIngestor`, which writes them in batches from a
worker thread: while one batch is being written the next one gathers, so a burst of
thousands of events costs a handful of transactions and nothing waits on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import close_old_connections, transaction

from runs.recorder import record_task_run_events

from .store import record

logger = logging.getLogger("orchestrator.events")

MAX_BATCH = 1000
RETRIES = 5


def ingest(events: list[dict[str, Any]]) -> int:
    """Store events and record the task runs they describe. Returns how many were new."""
    if not events:
        return 0
    with transaction.atomic():
        fresh = record(events)
        record_task_run_events(fresh)
    return len(fresh)


def _ingest_in_thread(events: list[dict[str, Any]]) -> int:
    close_old_connections()
    try:
        return ingest(events)
    finally:
        close_old_connections()


class EventIngestor:
    """One per event loop: a queue of incoming events and the task that writes them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.writer = SyncToAsync(_ingest_in_thread, thread_sensitive=False)

    def submit(self, event: dict[str, Any]) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        self.queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every event submitted so far is written."""
        await self.queue.join()

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        if await self._attempt(batch, RETRIES):
            return
        if len(batch) > 1:
            # One bad event must not cost the others: store them one at a time.
            for event in batch:
                if not await self._attempt([event], 2):
                    logger.error("could not store event %s (%s)", event.get("id"), event.get("event"))

    async def _attempt(self, batch: list[dict[str, Any]], tries: int) -> bool:
        delay = 0.1
        for attempt in range(1, tries + 1):
            try:
                await self.writer(batch)
                return True
            except Exception:  # noqa: BLE001 - keep the pipeline alive, retry, then report
                logger.warning("storing %d events failed (attempt %d)", len(batch), attempt, exc_info=True)
                if attempt < tries:
                    await asyncio.sleep(delay)
                    delay *= 2
        return False


_ingestors: dict[int, EventIngestor] = {}


def ingestor() -> EventIngestor:
    loop = asyncio.get_running_loop()
    found = _ingestors.get(id(loop))
    if found is None:
        found = _ingestors[id(loop)] = EventIngestor()
    return found
