"""Fixtures of the notification tests: a local receiver standing in for every service, settings
that point the services at it with quick retries, and builders for blocks and policies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from blocks import documents
from blocks.models import BlockSchema, BlockType
from notifications.models import NotificationPolicy

from .cases import OVERRIDDEN
from .receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def notification_options(settings, **changes: Any) -> dict:
    """Change settings.ORCHESTRATOR["NOTIFICATIONS"] for one test (restored afterwards)."""
    orchestrator = copy.deepcopy(settings.ORCHESTRATOR)
    orchestrator["NOTIFICATIONS"].update(changes)
    settings.ORCHESTRATOR = orchestrator
    return orchestrator["NOTIFICATIONS"]


@pytest.fixture
def services(settings, receiver) -> Receiver:
    """Every service's base URL at the receiver; short timeouts. A retry is never due within the
    same pass of the sender, however slow a loaded machine makes that pass: tests that want
    the next attempt skip the wait (test_sender.due_now)."""
    notification_options(
        settings,
        SERVICE_URLS={service: receiver.url for service in OVERRIDDEN},
        TIMEOUT_SECONDS=2.0,
        MAX_ATTEMPTS=4,
        RETRY_BASE_SECONDS=30.0,
        RETRY_MAX_SECONDS=60.0,
        RETRY_WINDOW_SECONDS=60.0,
        TIME_ZONE="UTC",
    )
    return receiver


def make_block(slug: str, data: dict[str, Any], name: str | None = None):
    block_type = BlockType.objects.get(slug=slug)
    schema = BlockSchema.objects.filter(block_type=block_type).order_by("-created").first()
    document = documents.create(
        {
            "name": name,
            "is_anonymous": name is None,
            "data": data,
            "block_type_id": block_type.pk,
            "block_schema_id": schema.pk,
        }
    )
    return document


def make_policy(block, **fields: Any) -> NotificationPolicy:
    fields.setdefault("state_names", ["Failed"])
    fields.setdefault("tags", [])
    return NotificationPolicy.objects.create(block_document=block, **fields)


@pytest.fixture
def webhook(receiver):
    """A custom-webhook block posting {"text": body} to the receiver's /hook."""
    return make_block(
        "custom-webhook",
        {"name": "hook", "url": f"{receiver.url}/hook", "json_data": {"text": "{{body}}"}},
        name="test-hook",
    )
