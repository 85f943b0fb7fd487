"""Events the server emits about its own changes: written in the change's transaction, or, in a
serving process, handed to the loop's event writer once the change commits."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from events import ingest, store
from events.models import Event
from events.schema import parse_event


def event(name: str = "prefect.flow-run.Running") -> dict:
    return parse_event(
        {
            "id": str(uuid.uuid4()),
            "occurred": (timezone.now() - dt.timedelta(seconds=1)).isoformat(),
            "event": name,
            "resource": {"prefect.resource.id": f"prefect.flow-run.{uuid.uuid4()}"},
            "related": [{"prefect.resource.id": "prefect.tag.a", "prefect.resource.role": "tag"}],
            "payload": {},
        }
    )


@pytest.fixture
def handed_over(monkeypatch):
    """A hand-off that only remembers what it was given."""
    given: list[list[dict]] = []
    monkeypatch.setattr(store, "_hand_off", given.append)
    return given


@pytest.mark.django_db
def test_without_a_server_emitted_events_are_written_in_the_change_s_transaction():
    emitted = event()
    with transaction.atomic():
        store.record_emitted(lambda: [emitted])
        assert Event.objects.filter(pk=emitted["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_in_a_serving_process_emitted_events_are_handed_over_only_once_the_change_commits(handed_over):
    emitted = event()
    with transaction.atomic():
        store.record_emitted(lambda: [emitted])
        assert handed_over == []
        assert not Event.objects.filter(pk=emitted["id"]).exists()
    assert handed_over == [[emitted]]


@pytest.mark.django_db(transaction=True)
def test_in_a_serving_process_emitted_events_are_built_after_the_change_commits(handed_over):
    from django.db import connection

    built_in_transaction = []

    def build():
        built_in_transaction.append(connection.in_atomic_block)
        return [event()]

    with transaction.atomic():
        store.record_emitted(build)
        assert built_in_transaction == []
    assert built_in_transaction == [False]
    assert len(handed_over) == 1


@pytest.mark.django_db(transaction=True)
def test_the_events_of_a_change_rolled_back_are_never_handed_over(handed_over):
    with pytest.raises(RuntimeError), transaction.atomic():
        store.record_emitted(lambda: [event()])
        raise RuntimeError("the change fails")
    assert handed_over == []


@pytest.mark.django_db(transaction=True)
def test_events_handed_over_from_threads_are_written_together_in_one_batch(monkeypatch):
    batches: list[int] = []
    real_ingest = ingest.ingest

    def counting_ingest(events):
        batches.append(len(events))
        return real_ingest(events)

    monkeypatch.setattr(ingest, "ingest", counting_ingest)
    emitted = [event() for _ in range(30)]

    async def main() -> None:
        writer = ingest.EventIngestor()
        threads = [
            threading.Thread(target=writer.submit_from_thread, args=(emitted[i : i + 10],)) for i in range(0, 30, 10)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        await asyncio.sleep(ingest.GATHER_SECONDS * 2)
        await writer.drain()

    asyncio.run(main())
    assert batches == [30]
    assert Event.objects.filter(pk__in=[e["id"] for e in emitted]).count() == 30


@pytest.mark.django_db(transaction=True)
def test_flushing_writes_events_still_gathering():
    emitted = [event() for _ in range(3)]

    async def main() -> None:
        writer = ingest.EventIngestor()
        writer.submit_from_thread(emitted)
        await writer.flush()  # at once, not after GATHER_SECONDS

    asyncio.run(main())
    assert Event.objects.filter(pk__in=[e["id"] for e in emitted]).count() == 3


@pytest.mark.django_db(transaction=True)
def test_events_handed_over_after_the_loop_closed_are_written_at_once():
    async def make() -> ingest.EventIngestor:
        return ingest.EventIngestor()

    writer = asyncio.run(make())  # asyncio.run closes its loop on the way out
    emitted = event()
    writer.submit_from_thread([emitted])
    assert Event.objects.filter(pk=emitted["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_leftovers_are_written_when_the_server_stops(monkeypatch):
    monkeypatch.setattr(ingest, "_ingestors", {})
    monkeypatch.setattr(store, "_hand_off", None)  # put back whatever happens below
    emitted = [event() for _ in range(2)]

    async def main() -> None:
        ingest.write_emitted_events_here()
        # A request thread's change: handed over, gathering, not written yet.
        await asyncio.get_running_loop().run_in_executor(None, store.record_emitted, lambda: emitted)

    asyncio.run(main())
    assert not Event.objects.filter(pk__in=[e["id"] for e in emitted]).exists()
    ingest.write_emitted_events_in_place()
    assert store._hand_off is None
    assert Event.objects.filter(pk__in=[e["id"] for e in emitted]).count() == 2
