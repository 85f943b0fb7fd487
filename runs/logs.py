"""Reading a run's logs in order, a bounded batch at a time, and writing them out as text.

Logs are read in (timestamp, id) order with a keyset cursor (orchestrator.paging), which the
(flow_run_id, timestamp) and (task_run_id, timestamp) indexes answer, so the millionth line
costs what the first does. Downloads go through `astream_lines`: an async generator, because
under ASGI Django serves a synchronous streaming body by first reading all of it into memory.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from orchestrator.paging import Cursor, Keyset
from runs.orchestration.states import iso

# Python's logging levels, highest first: a custom level shows as the nearest one below it.
LOG_LEVELS = (("CRITICAL", 50), ("ERROR", 40), ("WARNING", 30), ("INFO", 20), ("DEBUG", 10))

LOG_ORDER = Keyset("timestamp", times=True)
BATCH = 1000


def level_name(level: int | None) -> str:
    """A numeric logging level as its name: 20 -> "INFO"; 25 -> "INFO" (the nearest below)."""
    if level is None:
        return "—"
    for name, number in LOG_LEVELS:
        if level >= number:
            return name
    return "DEBUG"


def min_level(name: str | None) -> tuple[str, int | None]:
    """A level filter's name as given in a link ("warning") and its number; ("", None) for
    a missing or unknown one (all levels)."""
    name = (name or "").upper()
    levels = dict(LOG_LEVELS)
    return (name, levels[name]) if name in levels else ("", None)


def log_batches(logs: QuerySet, size: int | None = None, after: Cursor | None = None) -> Iterator[list]:
    """Every row of `logs`, in order, `size` rows (one query) at a time."""
    size = size or BATCH
    cursor = after
    while True:
        page = LOG_ORDER.page(logs, after=cursor, size=size)
        if page.rows:
            yield page.rows
        if page.next is None:
            return
        cursor = page.next


def text_line(log) -> str:
    """`2024-05-01 12:00:05.123 INFO     prefect.flow_runs | message`: one line a log (UTC),
    the message's own line breaks indented beneath it."""
    stamp = log.timestamp.astimezone(dt.UTC)
    shown = stamp.strftime("%Y-%m-%d %H:%M:%S") + f".{stamp.microsecond // 1000:03d}"
    message = (log.message or "").replace("\n", "\n    ")
    return f"{shown} {level_name(log.level):<8} {log.name} | {message}\n"


def json_line(log) -> str:
    """One JSON object a line (JSON Lines), the fields of Prefect's log plus the level's name."""
    return (
        json.dumps(
            {
                "timestamp": iso(log.timestamp),
                "level": log.level,
                "level_name": level_name(log.level),
                "name": log.name,
                "message": log.message,
                "flow_run_id": str(log.flow_run_id) if log.flow_run_id else None,
                "task_run_id": str(log.task_run_id) if log.task_run_id else None,
            },
            ensure_ascii=False,
        )
        + "\n"
    )


async def astream_lines(logs: QuerySet, line: Callable, *, size: int | None = None) -> AsyncIterator[str]:
    """The rows of `logs` as text, one batch (one query) at a time: memory stays bounded by
    the batch whatever the run wrote."""
    size = size or BATCH
    cursor = None
    while True:
        page = await sync_to_async(LOG_ORDER.page)(logs, cursor, None, size)
        if page.rows:
            yield "".join(line(log) for log in page.rows)
        if page.next is None:
            return
        cursor = page.next
