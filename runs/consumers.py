"""Log lines as they arrive: /api/logs/out for Prefect's client (`prefect flow-run watch`), and
/ws/flow-runs/<id>/logs for the dashboard's run pages."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from orchestrator.api.filters import FilterError, parse_time
from orchestrator.channels import join, leave
from orchestrator.sockets import POLICY_VIOLATION, PROTOCOL_ERROR, PrefectSocket

from .choices import COLORS
from .live import LOGS_GROUP, flow_run_group, state_message
from .logs import LOG_ORDER, min_level
from .models import FlowRun, Log, TaskRun
from .orchestration.states import parse_iso


class LogMatcher:
    """Prefect's LogFilter, decided for one log record."""

    def __init__(self, raw: Any):
        if raw is not None and not isinstance(raw, dict):
            raise FilterError(("filter",), "Input should be a valid dictionary")
        raw = raw or {}
        level = raw.get("level") or {}
        self.level_ge = level.get("ge_")
        self.level_le = level.get("le_")
        stamp = raw.get("timestamp") or {}
        self.after = parse_time(stamp["after_"]) if stamp.get("after_") else None
        self.before = parse_time(stamp["before_"]) if stamp.get("before_") else None
        self.flow_runs = self._ids((raw.get("flow_run_id") or {}).get("any_"))
        task = raw.get("task_run_id") or {}
        self.task_runs = self._ids(task.get("any_"))
        self.task_null = task.get("is_null_")
        self.words = [w.lower() for w in ((raw.get("text") or {}).get("query") or "").split()]

    @staticmethod
    def _ids(values) -> set[str] | None:
        if values is None:
            return None
        try:
            return {str(uuid.UUID(str(v))) for v in values}
        except ValueError:
            raise FilterError(("filter",), "Input should be a list of UUIDs") from None

    def matches(self, log: dict[str, Any]) -> bool:
        if self.level_ge is not None and log["level"] < self.level_ge:
            return False
        if self.level_le is not None and log["level"] > self.level_le:
            return False
        if self.after or self.before:
            stamp = parse_time(log["timestamp"])
            if self.after and stamp < self.after:
                return False
            if self.before and stamp > self.before:
                return False
        if self.flow_runs is not None and log.get("flow_run_id") not in self.flow_runs:
            return False
        if self.task_runs is not None and log.get("task_run_id") not in self.task_runs:
            return False
        if self.task_null is not None and (log.get("task_run_id") is None) != self.task_null:
            return False
        message = (log.get("message") or "").lower()
        for word in self.words:
            if word.startswith("-") and len(word) > 1:
                if word[1:] in message:
                    return False
            elif word not in message:
                return False
        return True


class LogsOutConsumer(PrefectSocket):
    matcher: LogMatcher | None = None

    async def on_message(self, message: Any, raw: str) -> None:
        if self.matcher is not None:
            return
        if not isinstance(message, dict) or message.get("type") != "filter":
            await self.close(code=PROTOCOL_ERROR, reason="Expected 'filter' message")
            return
        try:
            matcher = LogMatcher(message.get("filter"))
        except FilterError as exc:
            await self.close(code=PROTOCOL_ERROR, reason=f"Invalid filter: {exc.msg}"[:120])
            return
        await join(self.channel_layer, LOGS_GROUP, self.channel_name)
        self.matcher = matcher  # joined: disconnect() leaves

    async def logs_published(self, message: dict[str, Any]) -> None:
        if self.matcher is None:
            return
        for log in message["logs"]:
            if self.matcher.matches(log):
                await self.send_json({"type": "log", "log": log})

    async def disconnect(self, code):
        if self.matcher is not None:
            await leave(self.channel_layer, LOGS_GROUP, self.channel_name)


class RunLogsConsumer(AsyncWebsocketConsumer):
    """/ws/flow-runs/<id>/logs: a dashboard page (flow run, or with `?task_run=` one of its task
    runs) follows its run. It joins the run's group (runs.live), first gets the lines written
    after the last one it shows (`?after=<cursor>`, bounded), then each new batch, as table rows
    rendered by the page's own partial and filtered by its level (`?level=WARNING`); a flow-run
    page also gets the run's state whenever it changes.

    Like the dashboard's pages it needs no credentials; a browser's connection from another
    site's page (a different Origin) is refused.
    """

    BACKLOG = 1000
    TASK_NAMES_KEPT = 10_000

    async def connect(self):
        if not same_origin(self.scope):
            await self.close(code=POLICY_VIOLATION)
            return
        self.flow_run_id = self.scope["url_route"]["kwargs"]["pk"]
        params = parse_qs((self.scope.get("query_string") or b"").decode("latin-1"))
        first = {key: values[0][:200] for key, values in params.items() if values}
        self.task_run_id = _uuid(first.get("task_run"))
        _, self.min_level = min_level(first.get("level"))
        after = LOG_ORDER.parse(first.get("after"))
        self.task_names: dict[uuid.UUID, str] = {}

        state = await database_sync_to_async(self._current_state)()
        if state is False:
            await self.close()
            return
        group = flow_run_group(self.flow_run_id)
        await join(self.channel_layer, group, self.channel_name)
        self.group = group  # joined: disconnect() leaves
        await self.accept()
        if state is not None and self.task_run_id is None:
            await self.run_state(state_message(state))
        rows, more = await database_sync_to_async(self._backlog)(after)
        await self._send_rows(rows)
        if more:
            await self.send_json({"type": "overflow"})

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await leave(self.channel_layer, self.group, self.channel_name)

    async def send_json(self, payload: Any) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    # -- what the run's group hears ---------------------------------------------------------

    async def logs_published(self, message: dict[str, Any]) -> None:
        rows = []
        for item in message.get("logs") or []:
            if self.min_level is not None and (item.get("level") or 0) < self.min_level:
                continue
            if self.task_run_id is not None and item.get("task_run_id") != str(self.task_run_id):
                continue
            rows.append(_row(item))
        await self._send_rows(rows)

    async def run_state(self, message: dict[str, Any]) -> None:
        if self.task_run_id is not None:
            return
        badge = render_to_string(
            "partials/state_badge.html",
            {
                "color": COLORS.get(message["state_type"], "none"),
                "type": message["state_type"],
                "name": message["state_name"],
            },
        )
        await self.send_json({**message, "type": "state", "badge": badge})

    # -- helpers ----------------------------------------------------------------------------

    def _current_state(self):
        """The run's current state row, None if it has none, False if there is no such run."""
        run = (
            FlowRun.objects.select_related("state")
            .only("id", "state__type", "state__name", "state__message", "state__timestamp")
            .filter(pk=self.flow_run_id)
            .first()
        )
        if run is None:
            return False
        return run.state if run.state_id else None

    def _logs(self):
        logs = Log.objects.filter(flow_run_id=self.flow_run_id)
        if self.task_run_id is not None:
            logs = Log.objects.filter(task_run_id=self.task_run_id)
        if self.min_level is not None:
            logs = logs.filter(level__gte=self.min_level)
        return logs

    def _backlog(self, after) -> tuple[list, bool]:
        page = LOG_ORDER.page(self._logs(), after=after, size=self.BACKLOG)
        return page.rows, page.next is not None

    def _names(self, ids: set[uuid.UUID]) -> None:
        if len(self.task_names) > self.TASK_NAMES_KEPT:
            self.task_names.clear()
        self.task_names.update(TaskRun.objects.filter(pk__in=ids).values_list("id", "name"))
        for missing in ids - self.task_names.keys():
            self.task_names[missing] = ""

    async def _send_rows(self, rows: list) -> None:
        if not rows:
            return
        unknown = {row.task_run_id for row in rows if row.task_run_id and row.task_run_id not in self.task_names}
        if unknown and self.task_run_id is None:
            await database_sync_to_async(self._names)(unknown)
        html = [
            render_to_string(
                "runs/partials/log_row.html",
                {"log": row, "task_name": self.task_names.get(row.task_run_id) if self.task_run_id is None else None},
            )
            for row in rows
        ]
        await self.send_json({"type": "logs", "rows": html})


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _row(item: dict[str, Any]) -> SimpleNamespace:
    """A published log (Prefect's JSON) as the row the log partial renders."""
    ident = uuid.UUID(item["id"])
    return SimpleNamespace(
        pk=ident,
        id=ident,
        level=item.get("level") or 0,
        name=item.get("name") or "",
        message=item.get("message") or "",
        timestamp=parse_iso(item["timestamp"]),
        task_run_id=_uuid(item.get("task_run_id")),
    )


def same_origin(scope) -> bool:
    """A browser names the page that opened a socket (Origin); it must be one of ours. Programs
    that send no Origin are let in, as they can read the pages anyway."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if not origin:
        return True
    host = (headers.get(b"host") or b"").decode("latin-1").lower()
    return urlsplit(origin.decode("latin-1")).netloc.lower() == host
