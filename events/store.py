"""Storing events and handing them to live subscribers.

`record()` writes events in the caller's transaction, so an event exists exactly when the
change it describes was committed; subscribers of /api/events/out hear about them only after
that commit.

The events the server emits about its own changes (a run's state changed) go through
`record_emitted()`. In a process without a server, they are written in the change's
transaction. In a serving process (`orchestrator server start`) they are handed, once the
change commits, to the process's event writer (events.ingest), which writes whatever has
gathered in one transaction, as Prefect's server does with its event persister. A state change
then writes one row and the run's columns, not also an event and its resource rows: on SQLite,
where writers take turns, that is about a fifth of each turn. The event is stored a few
milliseconds after the change, and is lost only if the process dies in between. Such events are
also built only once the change commits (`record_emitted` takes a function that builds them):
building one (its resources, names, payload) took a tenth of a state change's turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from orchestrator.lib import rows

from .models import Event, EventResource
from .schema import event_json

logger = logging.getLogger("orchestrator.events")

EVENTS_GROUP = "events"


# Bound parameters per statement, under both backends' limits (PostgreSQL 65,535; the SQLite
# this runs on, 32,766).
MAX_PARAMS = 30_000
EVENT_FIELDS = (
    "id",
    "occurred",
    "event",
    "resource_id",
    "resource",
    "related",
    "payload",
    "received",
    "recorded",
    "follows",
)
RESOURCE_FIELDS = ("event", "occurred", "resource_id", "resource_role", "resource")


# Set in a serving process (events.ingest.write_emitted_events_here): takes a committed change's
# events to the process's event writer.
_hand_off: Callable[[list[dict[str, Any]]], None] | None = None


def hand_emitted_events_to(hand_off: Callable[[list[dict[str, Any]]], None] | None) -> None:
    global _hand_off
    _hand_off = hand_off


def record_emitted(build: Callable[[], list[dict[str, Any]]]) -> None:
    """Store the events `build()` returns, which the server emits about a change it is making:
    built and written in the change's transaction, or, in a serving process, built and handed
    to the event writer once the change commits (see the module's note). `build` must not
    depend on what the change's transaction does after this call."""
    hand_off = _hand_off
    if hand_off is None:
        record(build())
    else:
        transaction.on_commit(lambda: hand_off(build()))


def record(events: list[dict[str, Any]], *, publish: bool = True) -> list[dict[str, Any]]:
    """Store events (ignoring ones already stored) and publish them after commit.

    Returns the events that were new.
    """
    return write(prepare(events), publish=publish)


def prepare(events: list[dict[str, Any]]) -> list[_Batch]:
    """The statements' parameters for storing `events`, in batches under the parameter limit.

    Converting the events to column values (their JSON above all) is most of the work of
    storing them, and needs no transaction: a writer that prepares before its transaction holds
    SQLite's write turn only for the INSERTs (events.ingest)."""
    unique: dict[Any, dict[str, Any]] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    batches: list[_Batch] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for event in unique.values():
        params = len(EVENT_FIELDS) + len(RESOURCE_FIELDS) * (1 + len(event["related"]))
        if batch and size + params > MAX_PARAMS:
            batches.append(_prepare(batch))
            batch, size = [], 0
        batch.append(event)
        size += params
    if batch:
        batches.append(_prepare(batch))
    return batches


def write(batches: list[_Batch], *, publish: bool = True) -> list[dict[str, Any]]:
    """Store prepared events (see `prepare`), ignoring ones already stored, and publish them
    after commit. Returns the events that were new."""
    fresh: list[dict[str, Any]] = []
    for batch in batches:
        fresh += _write(batch)
    if fresh and publish:
        transaction.on_commit(lambda: publish_events(fresh))
    return fresh


class _Statements:
    """The SQL that writes a batch of events and their resource rows, for one connection.

    On PostgreSQL it is one statement: the events' INSERT, skipping ids already stored, feeds
    the resource rows' INSERT, which keeps only the rows of events just written and returns
    their ids. SQLite cannot write from a WITH clause, so there it is two.
    """

    def __init__(self, db):
        quote = db.ops.quote_name
        self.event_fields = [Event._meta.get_field(name) for name in EVENT_FIELDS]
        self.resource_fields = [EventResource._meta.get_field(name) for name in RESOURCE_FIELDS]
        self.id_field = Event._meta.pk
        event_columns = ", ".join(quote(f.column) for f in self.event_fields)
        self.resource_columns = ", ".join(quote(f.column) for f in self.resource_fields)
        self.event_row = "(" + ", ".join(["%s"] * len(self.event_fields)) + ")"
        self.resource_row = "(" + ", ".join(["%s"] * len(self.resource_fields)) + ")"
        ignore = db.ops.on_conflict_suffix_sql(self.event_fields, OnConflict.IGNORE, None, None)
        self.insert_events = " ".join(
            part
            for part in (
                db.ops.insert_statement(on_conflict=OnConflict.IGNORE),
                quote(Event._meta.db_table),
                f"({event_columns}) VALUES {{}}",
                ignore,  # "" where the statement itself says so (SQLite's INSERT OR IGNORE)
                f"RETURNING {quote(self.id_field.column)}",
            )
            if part
        )
        self.insert_resources = (
            f"INSERT INTO {quote(EventResource._meta.db_table)} ({self.resource_columns}) VALUES {{}}"
        )
        self.one_statement = db.vendor == "postgresql"
        if self.one_statement:
            event_id = quote(self.resource_fields[0].column)
            self.insert_both = (
                f"WITH stored AS ({self.insert_events}) "
                f"INSERT INTO {quote(EventResource._meta.db_table)} ({self.resource_columns}) "
                f"SELECT {self.resource_columns} FROM (VALUES {{}}) AS given ({self.resource_columns}) "
                f"WHERE given.{event_id} IN (SELECT {quote(self.id_field.column)} FROM stored) "
                f"RETURNING {event_id}"
            )

    def prepared(self, db, fields, values) -> list[Any]:
        return [field.get_db_prep_value(value, db, prepared=False) for field, value in zip(fields, values, strict=True)]


@dataclass
class _Batch:
    """A batch of events as column values: the events by their id as the database returns it,
    the events' parameters and their resource rows' (one row of RESOURCE_FIELDS each)."""

    by_id: dict[Any, dict[str, Any]]
    event_params: list[Any]
    resource_params: list[Any]


def _prepare(events: list[dict[str, Any]]) -> _Batch:
    db, sql = rows.built("events.store", _Statements)
    now = timezone.now()
    batch = _Batch({}, [], [])
    for e in events:
        row = sql.prepared(
            db,
            sql.event_fields,
            (
                e["id"],
                e["occurred"],
                e["event"],
                e["resource"]["prefect.resource.id"],
                e["resource"],
                e["related"],
                e["payload"],
                e["received"],
                now,
                e.get("follows"),
            ),
        )
        batch.by_id[row[0]] = e
        batch.event_params += row
        for resource, role in ((e["resource"], ""), *((r, r.get("prefect.resource.role", "")) for r in e["related"])):
            batch.resource_params += sql.prepared(
                db, sql.resource_fields, (e["id"], e["occurred"], resource["prefect.resource.id"], role, resource)
            )
    return batch


def _write(batch: _Batch) -> list[dict[str, Any]]:
    """INSERT a prepared batch; returns the events that were not stored already."""
    db, sql = rows.built("events.store", _Statements)
    per_row = len(sql.resource_fields)
    event_rows = ", ".join([sql.event_row] * len(batch.by_id))
    resource_rows = ", ".join([sql.resource_row] * (len(batch.resource_params) // per_row))
    with db.cursor() as cursor:
        if sql.one_statement:
            cursor.execute(
                sql.insert_both.format(event_rows, resource_rows), batch.event_params + batch.resource_params
            )
            stored = {row[0] for row in cursor.fetchall()}
        else:
            cursor.execute(sql.insert_events.format(event_rows), batch.event_params)
            stored = {row[0] for row in cursor.fetchall()}
            if stored:
                params = batch.resource_params
                keep = [params[i : i + per_row] for i in range(0, len(params), per_row) if params[i] in stored]
                cursor.execute(
                    sql.insert_resources.format(", ".join([sql.resource_row] * len(keep))),
                    [value for row in keep for value in row],
                )
    return [event for event_id, event in batch.by_id.items() if event_id in stored]


def publish_events(events: list[dict[str, Any]]) -> None:
    """Send events to every /api/events/out subscriber (in every server process with Redis)."""
    from django.conf import settings

    if not settings.ORCHESTRATOR["EVENTS_STREAM_OUT_ENABLED"] or not events:
        return
    from orchestrator.channels import broadcast

    broadcast(EVENTS_GROUP, {"type": "events.published", "events": [event_json(e) for e in events]})
