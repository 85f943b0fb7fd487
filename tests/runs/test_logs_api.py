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
