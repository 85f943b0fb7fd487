"""Writing logs through the API: a batch is stored whole."""

from __future__ import annotations

import json

import pytest

from runs.models import Log
from tests.runs.helpers import flow_run_in

pytestmark = pytest.mark.django_db


def test_a_nul_character_in_a_log_message_is_replaced_and_the_batch_kept(client, flow):
    run = flow_run_in(flow, "RUNNING")
    batch = [
        {
            "name": "prefect",
            "level": 20,
            "message": message,
            "timestamp": "2024-05-01T12:00:00Z",
            "flow_run_id": str(run.pk),
        }
        for message in ("before", "bytes: a\x00b", "after", "half an emoji: \ud83d")
    ]

    response = client.post("/api/logs/", json.dumps(batch), content_type="application/json")

    assert response.status_code == 201, response.content
    assert sorted(Log.objects.filter(flow_run_id=run.pk).values_list("message", flat=True)) == [
        "after",
        "before",
        "bytes: a\ufffdb",
        "half an emoji: \ufffd",
    ]


RUN = "0191e0b2-0000-7000-8000-000000000001"
PLAIN = {"name": "prefect.flow_runs", "level": 20, "message": "hello", "timestamp": "2024-05-01T12:00:00.123456Z"}

# Records the serializer accepts, in the forms clients send them.
ACCEPTED = [
    PLAIN,
    {**PLAIN, "flow_run_id": RUN, "task_run_id": None},
    {**PLAIN, "flow_run_id": RUN.replace("-", "").upper(), "worker_id": RUN},
    {**PLAIN, "timestamp": "2024-05-01T14:00:00+02:00", "level": -32768},
    {**PLAIN, "timestamp": "2024-05-01 12:00", "level": 32767, "name": "n" * 255},
    {**PLAIN, "message": "", "name": ""},
    {**PLAIN, "message": "  padded  \n", "name": "émoji 🎉"},
]

# Records the serializer refuses, or reads differently from what JSON gives (a level "20").
NOT_PLAIN = [
    {**PLAIN, "extra": 1},
    {key: value for key, value in PLAIN.items() if key != "timestamp"},
    {**PLAIN, "level": True},
    {**PLAIN, "level": 20.0},
    {**PLAIN, "level": "20"},
    {**PLAIN, "level": 32768},
    {**PLAIN, "name": "n" * 256},
    {**PLAIN, "name": None},
    {**PLAIN, "message": 42},
    {**PLAIN, "message": "a\x00b"},
    {**PLAIN, "message": "half an emoji: \ud83d"},
    {**PLAIN, "timestamp": None},
    {**PLAIN, "timestamp": 1714564800},
    {**PLAIN, "timestamp": "yesterday"},
    {**PLAIN, "flow_run_id": ""},
    {**PLAIN, "flow_run_id": 12},
    {**PLAIN, "task_run_id": "not-a-uuid"},
    ["not", "a", "record"],
]


@pytest.mark.parametrize("record", ACCEPTED)
def test_a_plain_record_is_validated_to_exactly_what_the_serializer_gives(record):
    from runs.api.serializers import LogCreateSerializer, plain_log_records

    serializer = LogCreateSerializer(data=[record], many=True)
    assert serializer.is_valid(), serializer.errors

    assert plain_log_records([record]) == [dict(item) for item in serializer.validated_data]


@pytest.mark.parametrize("record", NOT_PLAIN)
def test_a_batch_with_any_record_not_in_plain_form_is_left_to_the_serializer(record):
    from runs.api.serializers import plain_log_records

    assert plain_log_records([PLAIN, record]) is None


# Of NOT_PLAIN, those the serializer refuses (it reads a level "20" or 20.0, and the parser
# repairs a NUL or a lone surrogate before it sees them).
REFUSED = [r for r in NOT_PLAIN[:-1] if type(r.get("level")) not in (str, float) and r.get("message") in ("hello", 42)]


@pytest.mark.parametrize("record", REFUSED)
def test_a_batch_with_a_bad_record_is_refused_whole(client, flow, record):
    batch = [PLAIN, record]

    response = client.post("/api/logs/", json.dumps(batch), content_type="application/json")

    assert response.status_code == 422, response.content
    assert not Log.objects.exists()
