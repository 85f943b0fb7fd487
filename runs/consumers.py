"""/api/logs/out: a client (`prefect flow-run watch`) follows new log lines as they arrive."""

from __future__ import annotations

import uuid
from typing import Any

from orchestrator.api.filters import FilterError, parse_time
from orchestrator.sockets import PROTOCOL_ERROR, PrefectSocket

from .api.task_runs import LOGS_GROUP


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
            self.matcher = LogMatcher(message.get("filter"))
        except FilterError as exc:
            await self.close(code=PROTOCOL_ERROR, reason=f"Invalid filter: {exc.msg}"[:120])
            return
        await self.channel_layer.group_add(LOGS_GROUP, self.channel_name)

    async def logs_published(self, message: dict[str, Any]) -> None:
        if self.matcher is None:
            return
        for log in message["logs"]:
            if self.matcher.matches(log):
                await self.send_json({"type": "log", "log": log})

    async def disconnect(self, code):
        if self.matcher is not None:
            await self.channel_layer.group_discard(LOGS_GROUP, self.channel_name)
