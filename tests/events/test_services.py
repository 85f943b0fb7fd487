from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from events.ingest import ingest
from events.models import Event, EventResource
from events.schema import parse_event
from events.services import TrimOldEvents

pytestmark = pytest.mark.django_db


def event(age: dt.timedelta):
    return parse_event(
        {
            "occurred": (timezone.now() - age).isoformat(),
            "event": "something.happened",
            "resource": {"prefect.resource.id": "thing.1"},
            "related": [{"prefect.resource.id": "thing.2", "prefect.resource.role": "other"}],
            "id": str(uuid.uuid4()),
        }
    )


def test_events_past_the_retention_period_are_deleted_with_their_resources():
    ingest([event(dt.timedelta(days=8)), event(dt.timedelta(days=1))])
    assert TrimOldEvents().run_once() == 1
    assert Event.objects.count() == 1
    assert EventResource.objects.count() == 2
