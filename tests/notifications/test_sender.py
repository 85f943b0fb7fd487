"""The sender: claims, sends through each service's transport, records attempts, retries."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.utils import timezone

from notifications import sender
from notifications.choices import DeliveryStatus
from notifications.http import TransportError
from notifications.messages import SUBJECT
from notifications.models import Delivery, DeliveryAttempt
from tests.runs.helpers import flow_run_in, propose, state

from .cases import CASES
from .conftest import make_block, make_policy, notification_options
from .receiver import Reply

pytestmark = pytest.mark.django_db


def queue(policy, body: str = "the message", **fields) -> Delivery:
    now = timezone.now()
    fields.setdefault("next_attempt_at", now)
    return Delivery.objects.create(policy=policy, subject=SUBJECT, body=body, queued=now, **fields)


def due_now() -> None:
    """Skip the backoff wait of pending retries."""
    Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())


def attempts(delivery) -> list[tuple]:
    return list(
        DeliveryAttempt.objects.filter(delivery=delivery)
        .order_by("started")
        .values_list("number", "outcome", "status_code")
    )


# Each service gets exactly the request its API expects


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_service_gets_the_request_its_api_expects(services, case):
    policy = make_policy(make_block(case.slug, case.data(services.url)))
    delivery = queue(policy, body="The r run of the f flow entered a failed state at 22-06-27 16:21:37 EST.")

    assert sender.send_due() == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.error
    requests = services.to(case.path)
    assert len(requests) == case.count == len(services.requests)
    case.check(requests, delivery.body)
    assert [a[1:] for a in attempts(delivery)] == [("succeeded", 200)] * case.count


def test_an_attempt_records_time_duration_status_and_what_the_service_answered(services, webhook):
    services.reply("/hook", Reply(201, "created: message 42"))
    delivery = queue(make_policy(webhook))

    sender.send_due()

    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.outcome, attempt.status_code) == (1, "succeeded", 201)
    assert attempt.response_excerpt == "created: message 42"
    assert attempt.duration >= 0 and attempt.started <= timezone.now()
    assert attempt.target == "webhook hook"
    delivery.refresh_from_db()
    assert delivery.finished is not None and delivery.attempt_count == 1 and delivery.claim_token is None


def test_email_goes_through_djangos_mail_settings(settings, services):
    notification_options(settings, EMAIL_CONFIGURED=True)
    settings.DEFAULT_FROM_EMAIL = "orchestrator@example.com"
    block = make_block("email", {"emails": ["oncall@example.com", "lead@example.com"], "subject": "ETL alert"})
    delivery = queue(make_policy(block), body="The run failed.")

    sender.send_due()

    (message,) = mail.outbox
    assert (message.subject, message.body, message.to) == (
        "ETL alert",
        "The run failed.",
        ["oncall@example.com", "lead@example.com"],
    )
    assert message.from_email == "orchestrator@example.com"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_email_without_email_url_fails_saying_what_to_set(settings, services):
    notification_options(settings, EMAIL_CONFIGURED=False)
    delivery = queue(make_policy(make_block("email", {"emails": ["a@example.com"]})))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "EMAIL_URL" in delivery.error
    assert not mail.outbox


def test_email_reaches_a_real_smtp_server(settings, services):
    from .receiver import SmtpServer

    with SmtpServer() as smtp:
        notification_options(settings, EMAIL_CONFIGURED=True)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        settings.DEFAULT_FROM_EMAIL = "orchestrator@example.com"
        delivery = queue(make_policy(make_block("email", {"emails": ["oncall@example.com"]})), body="Run failed.")

        sender.send_due()

        (message,) = smtp.wait_for(1)
    assert message["to"] == ["oncall@example.com"]
    assert message["from"] == "orchestrator@example.com"
    assert message["subject"] == SUBJECT
    assert message["body"].strip() == "Run failed."
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_a_refused_smtp_recipient_is_a_permanent_failure(settings, services):
    import smtplib

    class Refusing:
        def __init__(self, *args, **kwargs):
            pass

        def send_messages(self, messages):
            raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})

    notification_options(settings, EMAIL_CONFIGURED=True)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    globals()["RefusingBackend"] = Refusing
    delivery = queue(make_policy(make_block("email", {"emails": ["x@example.com"]})))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "550" in delivery.error and "no such user" in delivery.error
    assert attempts(delivery) == [(1, "permanent", 550)]


# Retries and permanent failures


def test_a_500_then_a_200_is_one_delivery_with_two_attempts(services, webhook):
    services.reply("/hook", Reply(500, "internal error"), Reply(200, "ok"))
    delivery = queue(make_policy(webhook))

    sender.send_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at > delivery.queued
    assert "500" in delivery.error

    due_now()
    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.error is None
    assert attempts(delivery) == [(1, "transient", 500), (2, "succeeded", 200)]
    assert len(services.to("/hook")) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_answers_fail_at_once(services, webhook, status):
    services.reply("/hook", Reply(status, "no such webhook"))
    delivery = queue(make_policy(webhook))

    sender.send_due()
    due_now()
    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert str(status) in delivery.error and "no such webhook" in delivery.error
    assert attempts(delivery) == [(1, "permanent", status)]
    assert len(services.to("/hook")) == 1


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_timeouts_and_server_errors_are_retried(services, webhook, status):
    services.reply("/hook", Reply(status))
    delivery = queue(make_policy(webhook))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert attempts(delivery) == [(1, "transient", status)]


def test_a_429_waits_at_least_as_long_as_retry_after_says(settings, services, webhook):
    notification_options(settings, RETRY_WINDOW_SECONDS=3600.0)
    services.reply("/hook", Reply(429, "slow down", {"Retry-After": "120"}))
    delivery = queue(make_policy(webhook))
    before = timezone.now()

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=119)
    assert "rate limited" in delivery.error


def test_a_429_whose_retry_after_is_past_the_retry_window_fails(settings, services, webhook):
    notification_options(settings, RETRY_WINDOW_SECONDS=60.0)
    services.reply("/hook", Reply(429, "slow down", {"Retry-After": "3600"}))
    delivery = queue(make_policy(webhook))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "gave up" in delivery.error and "429" in delivery.error


def test_no_answer_within_the_timeout_is_retried(settings, services, webhook):
    notification_options(settings, TIMEOUT_SECONDS=0.3)
    services.reply("/hook", Reply(200, delay=2))
    delivery = queue(make_policy(webhook))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert "no answer within 0.3 seconds" in delivery.error
    assert attempts(delivery) == [(1, "transient", None)]


def test_a_refused_connection_is_retried(services):
    closed = make_block("custom-webhook", {"name": "down", "url": "http://127.0.0.1:9/nobody-listens"})
    delivery = queue(make_policy(closed))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert "could not connect" in delivery.error


def test_transient_failures_stop_after_the_attempt_limit(settings, services, webhook):
    notification_options(settings, MAX_ATTEMPTS=3)
    services.reply("/hook", *[Reply(503)] * 5)
    delivery = queue(make_policy(webhook))

    for _ in range(5):
        sender.send_due()
        due_now()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith("gave up after 3 tries")
    assert [a[:2] for a in attempts(delivery)] == [(1, "transient"), (2, "transient"), (3, "transient")]


def test_backoff_doubles_up_to_the_cap_with_jitter():
    low = [sender.backoff_seconds(n, 5, 60, rand=lambda: 0.0) for n in range(1, 7)]
    high = [sender.backoff_seconds(n, 5, 60, rand=lambda: 1.0) for n in range(1, 7)]

    assert high == [5, 10, 20, 40, 60, 60]
    assert low == [2.5, 5, 10, 20, 30, 30]


def test_next_try_classifies_errors():
    now = timezone.now()
    opts = {"max_attempts": 5, "retry_base_seconds": 10, "retry_max_seconds": 100, "retry_window_seconds": 3600}

    permanent, reason = sender.next_try(now, 1, TransportError("404 Not Found", permanent=True), now, opts)
    transient, _ = sender.next_try(now, 1, TransportError("503", permanent=False), now, opts)
    honoured, _ = sender.next_try(now, 1, TransportError("429", permanent=False, retry_after=300), now, opts)
    exhausted, why = sender.next_try(now, 5, TransportError("503", permanent=False), now, opts)

    assert permanent is None and reason == "404 Not Found"
    assert now + dt.timedelta(seconds=5) <= transient <= now + dt.timedelta(seconds=10)
    assert honoured == now + dt.timedelta(seconds=300)
    assert exhausted is None and why.startswith("gave up after 5 tries")


def test_a_retry_skips_the_recipients_already_reached(services):
    block = make_block(
        "twilio-sms",
        {
            "account_sid": "AC1",
            "auth_token": "t",
            "from_phone_number": "+15550000000",
            "to_phone_numbers": ["+15551111111", "+15552222222"],
        },
    )
    services.reply("/2010-04-01", Reply(201), Reply(500), Reply(201))
    delivery = queue(make_policy(block))

    sender.send_due()
    due_now()
    sender.send_due()

    sent_to = [r.form["To"][0] for r in services.requests]
    assert sent_to == ["+15551111111", "+15552222222", "+15552222222"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert attempts(delivery) == [(1, "succeeded", 201), (1, "transient", 500), (2, "succeeded", 201)]


# Bad blocks, paused and deleted policies


def test_a_block_missing_a_required_setting_fails_naming_it(services):
    block = make_block("slack-webhook", {"notify_type": "info"})
    delivery = queue(make_policy(block))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "the block has no webhook URL"
    assert attempts(delivery) == [(1, "permanent", None)]


def test_a_webhook_with_an_unknown_placeholder_fails_naming_it(services, receiver):
    block = make_block("custom-webhook", {"name": "x", "url": f"{receiver.url}/hook", "json_data": {"t": "{{oops}}"}})
    delivery = queue(make_policy(block))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "{{oops}}" in delivery.error
    assert not receiver.requests


def test_deliveries_of_a_paused_policy_are_skipped_not_sent(services, webhook):
    policy = make_policy(webhook)
    delivery = queue(policy)
    policy.is_active = False
    policy.save()

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "paused" in delivery.error
    assert not services.requests
    assert delivery.attempt_count == 0


def test_a_policy_deleted_while_sending_is_no_crash(services, webhook):
    policy = make_policy(webhook)
    queue(policy)
    claimed = sender.claim_one()
    policy.delete()

    sender.deliver(claimed)

    assert not Delivery.objects.exists()


def test_a_policy_deleted_mid_send_loses_only_its_history(transactional_db, services, webhook):
    policy = make_policy(webhook)
    queue(policy)
    claimed = sender.claim_one()

    original = sender._destination

    def delete_then_resolve(p):
        result = original(p)
        p.delete()
        return result

    sender._destination, restore = delete_then_resolve, original
    try:
        sender.deliver(claimed)
    finally:
        sender._destination = restore

    assert not Delivery.objects.exists() and not DeliveryAttempt.objects.exists()


# The private-address guard


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_block_forbidding_private_urls_is_not_sent_to_loopback(services, receiver, host):
    block = make_block(
        "custom-webhook",
        {"name": "x", "url": f"http://{host}:{receiver.port}/hook", "allow_private_urls": False},
    )
    delivery = queue(make_policy(block))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "private" in delivery.error and "allow_private_urls" in delivery.error
    assert attempts(delivery) == [(1, "permanent", None)]
    assert not receiver.requests


def test_blocks_allow_private_urls_unless_they_say_otherwise(services, webhook):
    delivery = queue(make_policy(webhook))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_an_administrators_override_is_trusted_even_when_the_block_forbids_private_urls(services):
    block = make_block("slack-webhook", {"url": "https://hooks.slack.com/services/T/B/C", "allow_private_urls": False})
    delivery = queue(make_policy(block))

    sender.send_due()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert services.to("/services/T/B/C")


# Claims and leases


def test_a_claimed_delivery_is_not_claimed_again(services, webhook):
    policy = make_policy(webhook)
    first, second = queue(policy), queue(policy)

    claims = [sender.claim_one(), sender.claim_one(), sender.claim_one()]

    assert {c.pk for c in claims[:2]} == {first.pk, second.pk}
    assert claims[2] is None
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 2
    assert claims[0].claim_token != claims[1].claim_token


def test_deliveries_not_yet_due_are_left_alone(services, webhook):
    queue(make_policy(webhook), next_attempt_at=timezone.now() + dt.timedelta(minutes=5))

    assert sender.send_due() == 0
    assert not services.requests


def test_an_expired_lease_gives_the_delivery_to_another_sender(services, webhook):
    delivery = queue(make_policy(webhook))
    crashed = sender.claim_one()
    Delivery.objects.filter(pk=crashed.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))

    assert sender.send_due() == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(services.to("/hook")) == 1
    # The crashed sender coming back cannot overwrite the outcome.
    assert not sender._finish(crashed, status=DeliveryStatus.FAILED, error="late")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_a_live_lease_is_respected(services, webhook):
    queue(make_policy(webhook))
    sender.claim_one()

    assert sender.send_due() == 0
    assert not services.requests


def test_concurrent_senders_send_each_delivery_once(services, webhook, transactional_db):
    policy = make_policy(webhook)
    for _ in range(12):
        queue(policy)
    results = []

    def run():
        try:
            results.append(sender.send_due(threads=2))
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(results) == 12
    assert len(services.to("/hook")) == 12
    assert Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 12


def test_a_real_failure_goes_all_the_way_from_state_to_request(services, flow):
    block = make_block("custom-webhook", {"name": "e2e", "url": f"{services.url}/hook", "json_data": {"t": "{{body}}"}})
    make_policy(block, state_names=["Failed"], tags=["etl"])
    run = flow_run_in(flow, "RUNNING", tags=["etl"], run_name="fuzzy-leopard")

    propose(run, state("FAILED"))
    sender.send_due()

    (request,) = services.to("/hook")
    assert request.json["t"].startswith("The fuzzy-leopard run of the etl flow entered a failed state at ")
