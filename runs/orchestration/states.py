"""The state a run is in or is asked to enter, as the orchestration rules see it.

A plain value object: the rules read and adjust it, and only the engine turns it into a
row. `state_details` is kept as JSON-ready values (times as ISO strings, ids as strings),
so what a rule copies is exactly what the client will read back.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from orchestrator.lib.ids import uuid7
from runs.choices import TERMINAL, StateType

# Every key of Prefect's StateDetails with its default; rows store only the keys that
# differ from these, responses always carry all of them.
DETAIL_DEFAULTS: dict[str, Any] = {
    "flow_run_id": None,
    "task_run_id": None,
    "child_flow_run_id": None,
    "scheduled_time": None,
    "cache_key": None,
    "cache_expiration": None,
    "deferred": False,
    "untrackable_result": False,
    "pause_timeout": None,
    "pause_reschedule": False,
    "pause_key": None,
    "run_input_keyset": None,
    "refresh_cache": None,
    "retriable": None,
    "transition_id": None,
    "task_parameters_id": None,
    "traceparent": None,
    "deployment_concurrency_lease_id": None,
}
TIME_DETAILS = ("scheduled_time", "cache_expiration", "pause_timeout")


def iso(value: dt.datetime | None) -> str | None:
    """Times as Prefect writes them: UTC with microseconds and a trailing Z."""
    if value is None:
        return None
    if value.tzinfo is dt.UTC:
        # What both databases' values and timezone.now() carry: the common case, written
        # without the conversions below (a page of 50 runs writes about 500 times).
        return f"{value.isoformat()[:-6]}Z"
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def compact_details(details: dict[str, Any]) -> dict[str, Any]:
    """Drop the keys that hold their default value (what a row stores)."""
    return {k: v for k, v in details.items() if k not in DETAIL_DEFAULTS or v != DETAIL_DEFAULTS[k]}


def full_details(details: dict[str, Any] | None) -> dict[str, Any]:
    return {**DETAIL_DEFAULTS, **(details or {})}


def default_name(state_type: str) -> str:
    return str(state_type).capitalize()


@dataclass
class State:
    type: str
    name: str | None = None
    message: str | None = None
    timestamp: dt.datetime = field(default_factory=timezone.now)
    state_details: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    id: uuid.UUID = field(default_factory=uuid7)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = default_name(self.type)

    @classmethod
    def from_row(cls, row) -> State:
        return cls(
            id=row.id,
            type=row.type,
            name=row.name,
            message=row.message,
            timestamp=row.timestamp,
            state_details=dict(row.state_details or {}),
            data=row.data,
        )

    def copy(self) -> State:
        return State(
            id=self.id,
            type=self.type,
            name=self.name,
            message=self.message,
            timestamp=self.timestamp,
            state_details=copy.deepcopy(self.state_details),
            data=copy.deepcopy(self.data),
        )

    def fresh_copy(self, **changes: Any) -> State:
        """The same state as a new history entry: new id, stamped now."""
        fresh = self.copy()
        fresh.id = uuid7()
        fresh.timestamp = timezone.now()
        for key, value in changes.items():
            setattr(fresh, key, value)
        return fresh

    # --- details -------------------------------------------------------------

    def detail(self, key: str) -> Any:
        return self.state_details.get(key, DETAIL_DEFAULTS.get(key))

    def detail_time(self, key: str) -> dt.datetime | None:
        return parse_iso(self.state_details.get(key))

    def set_detail(self, key: str, value: Any) -> None:
        if isinstance(value, dt.datetime):
            value = iso(value)
        elif isinstance(value, uuid.UUID):
            value = str(value)
        self.state_details[key] = value

    # --- type checks -----------------------------------------------------------

    def is_scheduled(self) -> bool:
        return self.type == StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type == StateType.PENDING

    def is_running(self) -> bool:
        return self.type == StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type == StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type == StateType.FAILED

    def is_cancelling(self) -> bool:
        return self.type == StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type == StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in TERMINAL

    def has_persisted_result(self) -> bool:
        """Result metadata the client stored somewhere (not a placeholder for an unpersisted one)."""
        return isinstance(self.data, dict) and bool(self.data) and self.data.get("type") != "unpersisted"

    # --- output ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "timestamp": iso(self.timestamp),
            "message": self.message,
            "data": self.data,
            "state_details": full_details(self.state_details),
        }


def state_row_json(row) -> dict[str, Any] | None:
    """A stored state as Prefect's State model."""
    if row is None:
        return None
    return {
        "id": str(row.id),
        "type": row.type,
        "name": row.name,
        "timestamp": iso(row.timestamp),
        "message": row.message,
        "data": row.data,
        "state_details": full_details(row.state_details),
    }


# Convenience constructors the rules use for the states the server chooses.


def scheduled(name: str = "Scheduled", at: dt.datetime | None = None, **kw: Any) -> State:
    state = State(type=StateType.SCHEDULED, name=name, **kw)
    state.set_detail("scheduled_time", at or timezone.now())
    return state


def awaiting_retry(at: dt.datetime, message: str | None = None, data: Any = None) -> State:
    return scheduled("AwaitingRetry", at=at, message=message, data=data)


def cancelled(message: str | None = None) -> State:
    return State(type=StateType.CANCELLED, message=message)


def failed(message: str | None = None) -> State:
    return State(type=StateType.FAILED, message=message)
