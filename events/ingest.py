"""Taking events in: validated, stored, and turned into task runs in one transaction.

The websocket consumers hand events to `EventIngestor`, which writes them in batches from a
worker thread: while one batch is being written the next one gathers, so a burst of
thousands of events costs a handful of transactions and nothing waits on the event loop.
In a serving process the same ingestor writes the events the server emits about its own
changes, handed over from request and service threads once the change commits (see
events.store).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import close_old_connections, transaction

from runs.recorder import record_task_run_events

from . import store

logger = logging.getLogger("orchestrator.events")

MAX_BATCH = 1000
# How long the events of changes committed on other threads gather before they are queued.
GATHER_SECONDS = 0.05
RETRIES = 5


def ingest(events: list[dict[str, Any]]) -> int:
    """Store events and record the task runs they describe. Returns how many were new."""
    if not events:
        return 0
    prepared = store.prepare(events)  # before the transaction, which holds SQLite's write turn
    with transaction.atomic():
        fresh = store.write(prepared)
        record_task_run_events(fresh)
    return len(fresh)


def _ingest_in_thread(events: list[dict[str, Any]]) -> int:
    close_old_connections()
    try:
        return ingest(events)
    finally:
        close_old_connections()


def _write_now(events: deque[dict[str, Any]]) -> None:
    batch = []
    while events:
        batch.append(events.popleft())
    if batch:
        _ingest_in_thread(batch)


class EventIngestor:
    """One per event loop: a queue of incoming events and the task that writes them."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.writer = SyncToAsync(_ingest_in_thread, thread_sensitive=False)
        self.from_threads: deque[dict[str, Any]] = deque()
        self.gathering = False

    def submit_from_thread(self, events: list[dict[str, Any]]) -> None:
        """Events from another thread (a request's, a service's). They gather for
        GATHER_SECONDS and are then queued together: one wake-up of the loop per batch rather
        than one per committed change."""
        self.from_threads.extend(events)
        if not self.gathering:
            self.gathering = True
            try:
                self.loop.call_soon_threadsafe(self.loop.call_later, GATHER_SECONDS, self._queue_gathered)
            except RuntimeError:  # the loop has closed (the server stopped): write them here
                self.gathering = False
                _write_now(self.from_threads)

    def write_leftovers(self) -> None:
        """Once the loop has stopped: write what was handed over and not written yet."""
        while not self.queue.empty():
            self.from_threads.append(self.queue.get_nowait())
        _write_now(self.from_threads)

    async def flush(self) -> None:
        """Write everything submitted so far, gathered events included (before a stop)."""
        self._queue_gathered()
        await self.drain()

    def _queue_gathered(self) -> None:
        self.gathering = False
        while self.from_threads:
            self.submit(self.from_threads.popleft())

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


def write_emitted_events_here() -> None:
    """From now on, the events this process emits about its changes are written by the
    running loop's ingestor, in batches, after the change commits (see events.store)."""

    store.hand_emitted_events_to(ingestor().submit_from_thread)


def write_emitted_events_in_place() -> None:
    """Back to writing emitted events in their change's transaction (the loop has stopped),
    after writing whatever was handed over and not written yet."""
    store.hand_emitted_events_to(None)
    for writer in list(_ingestors.values()):
        writer.write_leftovers()


_ingestors: dict[int, EventIngestor] = {}


def ingestor() -> EventIngestor:
    loop = asyncio.get_running_loop()
    found = _ingestors.get(id(loop))
    if found is None:
        found = _ingestors[id(loop)] = EventIngestor()
    return found
