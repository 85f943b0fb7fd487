"""/api/events/in (clients report events) and /api/events/out (clients follow them)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from orchestrator.api.filters import FilterError
from orchestrator.channels import join, leave
from orchestrator.sockets import NO_CHANNEL_LAYER, PROTOCOL_ERROR, PrefectSocket

from .filters import EventFilter
from .ingest import ingestor
from .schema import InvalidEvent, event_json, parse_event, row_event
from .store import EVENTS_GROUP

logger = logging.getLogger("orchestrator.events")

BACKFILL_PAGE = 250


class EventsInConsumer(PrefectSocket):
    """One JSON event per text frame, nothing sent back; events are stored in batches."""

    channel_layer_alias = NO_CHANNEL_LAYER

    async def on_message(self, message: Any, raw: str) -> None:
        try:
            event = parse_event(message)
        except InvalidEvent as exc:
            logger.warning("ignoring an invalid event: %s", exc)
            return
        ingestor().submit(event)


class EventsOutConsumer(PrefectSocket):
    """After the handshake the client sends its filter; it then receives the matching events
    of the last minutes (backfill) followed by new ones as they happen."""

    event_filter: EventFilter | None = None

    async def on_message(self, message: Any, raw: str) -> None:
        if self.event_filter is not None:
            return  # nothing else is expected from a subscriber
        if not isinstance(message, dict) or message.get("type") != "filter":
            await self.close(code=PROTOCOL_ERROR, reason="Expected 'filter' message")
            return
        try:
            event_filter = EventFilter(message.get("filter"), ("filter",))
        except FilterError as exc:
            await self.close(code=PROTOCOL_ERROR, reason=f"Invalid filter: {exc.msg}"[:120])
            return
        self.sent: set[str] = set()
        await join(self.channel_layer, EVENTS_GROUP, self.channel_name)
        self.event_filter = event_filter  # joined: disconnect() leaves
        if message.get("backfill", True):
            earliest = timezone.now() - dt.timedelta(seconds=settings.ORCHESTRATOR["EVENTS_BACKFILL_SECONDS"])
            for event in await self._backfill(earliest):
                await self._send_event(event)

    @database_sync_to_async
    def _backfill(self, earliest: dt.datetime) -> list[dict[str, Any]]:
        backfill_filter = self.event_filter
        since = max(backfill_filter.since, earliest)
        qs = backfill_filter.queryset().filter(occurred__gte=since).order_by("occurred", "id")
        events: list[dict[str, Any]] = []
        for row in qs[: BACKFILL_PAGE * 40]:
            event = row_event(row)
            if backfill_filter.matches(event):
                events.append(event_json(event))
        return events

    async def _send_event(self, event: dict[str, Any]) -> None:
        if event["id"] in self.sent:
            return
        self.sent.add(event["id"])
        if len(self.sent) > 50_000:
            self.sent.clear()
        await self.send_json({"type": "event", "event": event})

    async def events_published(self, message: dict[str, Any]) -> None:
        if self.event_filter is None:
            return
        for event in message["events"]:
            if self.event_filter.matches(event):
                await self._send_event(event)

    async def disconnect(self, code):
        if self.event_filter is not None:
            await leave(self.channel_layer, EVENTS_GROUP, self.channel_name)
