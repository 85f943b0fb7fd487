"""Writing events: each stored once, with one resource row per resource it names."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from events import store
from events.models import Event, EventResource
from events.schema import parse_event
from events.store import record

pytestmark = pytest.mark.django_db


def event(name: str = "something.happened", related: int = 1, event_id: str | None = None) -> dict:
    return parse_event(
        {
            "id": event_id or str(uuid.uuid4()),
            "occurred": (timezone.now() - dt.timedelta(minutes=1)).isoformat(),
            "event": name,
            "resource": {"prefect.resource.id": "thing.1", "prefect.resource.name": "one"},
            "related": [
                {"prefect.resource.id": f"thing.{n + 2}", "prefect.resource.role": f"role-{n}"} for n in range(related)
            ],
            "payload": {"size": 3, "nested": {"list": [1, "two"]}},
        }
    )


def resources_of(event_id) -> list[tuple[str, str]]:
    return sorted(EventResource.objects.filter(event_id=event_id).values_list("resource_id", "resource_role"))


def test_an_event_is_stored_with_a_resource_row_for_itself_and_each_related_resource():
    given = event(related=2)

    assert record([given], publish=False) == [given]

    stored = Event.objects.get(pk=given["id"])
    assert stored.event == "something.happened"
    assert stored.resource == {"prefect.resource.id": "thing.1", "prefect.resource.name": "one"}
    assert stored.payload == {"size": 3, "nested": {"list": [1, "two"]}}
    assert stored.occurred == given["occurred"]
    assert resources_of(given["id"]) == [("thing.1", ""), ("thing.2", "role-0"), ("thing.3", "role-1")]
    assert EventResource.objects.get(event_id=given["id"], resource_role="").resource == given["resource"]


def test_an_event_already_stored_is_not_returned_and_its_resources_are_not_written_twice():
    old = event()
    record([old], publish=False)
    new = event()

    assert record([dict(old, event="changed"), new], publish=False) == [new]

    assert Event.objects.get(pk=old["id"]).event == "something.happened"
    assert resources_of(old["id"]) == [("thing.1", ""), ("thing.2", "role-0")]
    assert resources_of(new["id"]) == [("thing.1", ""), ("thing.2", "role-0")]


def test_the_same_event_twice_in_one_batch_is_stored_once():
    given = event()

    assert record([given, dict(given)], publish=False) == [given]

    assert Event.objects.count() == 1
    assert len(resources_of(given["id"])) == 2


def test_a_batch_over_the_parameter_limit_is_written_in_several_statements(monkeypatch):
    monkeypatch.setattr(store, "MAX_PARAMS", 60)  # three events of two resource rows each (20 parameters apiece)
    given = [event(related=1) for _ in range(5)]

    assert record(given, publish=False) == given

    assert Event.objects.count() == 5
    assert EventResource.objects.count() == 10


def test_nothing_is_written_for_no_events():
    assert record([], publish=False) == []
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ingesting_converts_the_events_before_its_transaction_and_writes_them_in_it(monkeypatch):
    from django.db import connection

    from events.ingest import ingest

    seen = []
    for name in ("_prepare", "_write"):
        original = getattr(store, name)

        def spy(batch, original=original, name=name):
            seen.append((name, connection.in_atomic_block))
            return original(batch)

        monkeypatch.setattr(store, name, spy)
    given = [event(), event(related=3)]

    assert ingest(given) == 2

    assert seen == [("_prepare", False), ("_write", True)]
    assert Event.objects.filter(pk__in=[e["id"] for e in given]).count() == 2
