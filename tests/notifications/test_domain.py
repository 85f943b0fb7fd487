"""The domain functions the dashboard calls: a policy with its block, pause, describe, delete."""

from __future__ import annotations

import pytest

from blocks import crypto
from blocks.models import BlockDocument
from notifications import domain
from notifications.models import Delivery, NotificationPolicy
from orchestrator.api.errors import NotFound, Unprocessable

from .conftest import make_block, make_policy

pytestmark = pytest.mark.django_db


def test_a_policy_and_its_anonymous_block_are_created_together():
    policy = domain.create_policy_with_block(
        block_type_slug="slack-webhook",
        block_data={"url": "https://hooks.slack.com/services/T/B/C", "notify_type": "failure"},
        state_names=["Failed", "Failed", "Crashed"],
        tags=["daily-etl"],
    )

    document = policy.block_document
    assert document.is_anonymous and document.block_type.slug == "slack-webhook"
    assert crypto.decrypt(document.data)["url"] == "https://hooks.slack.com/services/T/B/C"
    assert policy.state_names == ["Failed", "Crashed"]
    assert domain.describe(policy) == (
        "If a run of any flow with daily-etl tag enters a failed or crashed state, "
        "send a notification to a Slack Webhook block"
    )


def test_a_named_block_shows_by_name():
    policy = domain.create_policy_with_block(
        block_type_slug="discord-webhook",
        block_data={"webhook_id": "1", "webhook_token": "t"},
        block_name="team-discord",
        state_names=[],
        tags=[],
    )

    assert not policy.block_document.is_anonymous
    assert domain.describe(policy) == "If a run of any flow enters any state, send a notification to team-discord"


def test_describing_several_tags_and_states():
    block = make_block("custom-webhook", {"name": "x", "url": "http://127.0.0.1:9/"}, name="hook")
    policy = make_policy(block, tags=["a", "b", "c"], state_names=["Late", "TimedOut", "Failed"])

    assert domain.describe(policy) == (
        "If a run of any flow with any of the tags a, b or c enters a late, timed out or failed state, "
        "send a notification to hook"
    )


def test_nothing_is_created_when_the_template_is_bad():
    with pytest.raises(Unprocessable, match="Invalid template variable provided: 'nope'"):
        domain.create_policy_with_block(
            block_type_slug="slack-webhook", block_data={"url": "https://x"}, message_template="{nope}"
        )

    assert not BlockDocument.objects.exists() and not NotificationPolicy.objects.exists()


def test_only_notification_block_types_are_offered_and_accepted():
    slugs = list(domain.notification_block_types().values_list("slug", flat=True))

    assert set(slugs) == {
        "slack-webhook",
        "ms-teams-webhook",
        "discord-webhook",
        "mattermost-webhook",
        "opsgenie-webhook",
        "pager-duty-webhook",
        "sendgrid-email",
        "twilio-sms",
        "custom-webhook",
        "email",
    }
    with pytest.raises(Unprocessable):
        domain.create_policy_with_block(block_type_slug="secret", block_data={"value": "x"})
    with pytest.raises(NotFound):
        domain.create_policy_with_block(block_type_slug="no-such-type", block_data={})


def test_editing_the_block_keeps_a_secret_sent_back_masked():
    policy = domain.create_policy_with_block(
        block_type_slug="slack-webhook", block_data={"url": "https://hooks.slack.com/services/T/B/C"}
    )

    domain.update_policy_block(policy.pk, {"url": "********", "notify_type": "warning"})

    data = crypto.decrypt(BlockDocument.objects.get(pk=policy.block_document_id).data)
    assert data == {"url": "https://hooks.slack.com/services/T/B/C", "notify_type": "warning"}


def test_pause_and_resume():
    policy = domain.create_policy_with_block(block_type_slug="email", block_data={"emails": ["a@example.com"]})

    assert domain.set_active(policy.pk, False).is_active is False
    assert domain.set_active(policy.pk, True).is_active is True


def test_deleting_a_policy_deletes_the_anonymous_block_made_for_it():
    policy = domain.create_policy_with_block(block_type_slug="email", block_data={"emails": ["a@example.com"]})
    Delivery.objects.create(policy=policy, subject="s", body="b")

    domain.delete_policy(policy.pk)

    assert not NotificationPolicy.objects.exists()
    assert not BlockDocument.objects.exists()
    assert not Delivery.objects.exists()


def test_a_named_or_shared_block_outlives_the_policy():
    named = make_block("email", {"emails": ["a@example.com"]}, name="team-mail")
    shared = make_block("email", {"emails": ["b@example.com"]})
    first, _second = make_policy(shared), make_policy(shared)

    domain.delete_policy(make_policy(named).pk)
    domain.delete_policy(first.pk)

    assert set(BlockDocument.objects.values_list("pk", flat=True)) == {named.pk, shared.pk}


def test_deleting_the_block_deletes_its_policies():
    block = make_block("email", {"emails": ["a@example.com"]}, name="mail")
    make_policy(block)

    block.delete()

    assert not NotificationPolicy.objects.exists()


def test_a_missing_policy_is_not_found():
    with pytest.raises(NotFound, match="Flow run notification policy not found"):
        domain.set_active("00000000-0000-4000-8000-000000000000", False)
