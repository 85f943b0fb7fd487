"""Sending deliveries: claim one, send it outside any transaction, record what happened.

Claiming is safe with several senders (threads, or processes on one PostgreSQL): a sender
picks a due row with `SELECT ... FOR UPDATE SKIP LOCKED` and marks it `sending` with its own
claim token and a lease (`claimed_until`) in the same transaction; every later write is
conditional on that token. A sender that dies mid-send leaves the row `sending`; once the
lease has passed, the row is pending again and another sender takes it. A notification is
therefore sent at least once, and exactly once unless a sender dies between the service
accepting a request and the sender recording it.

Outcomes: success; a permanent failure (other 4xx, a bad block, a refused address) fails the
delivery at once; a transient one (network, timeout, 408, 429, 5xx) is retried with
exponential backoff and jitter, honouring Retry-After, until the attempt count or the retry
window runs out. A delivery whose policy was paused before it was sent is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from blocks import documents
from blocks.crypto import DecryptionError

from . import transports
from .choices import AttemptOutcome, DeliveryStatus
from .models import Delivery, DeliveryAttempt, NotificationPolicy
from .outcomes import TransportError

logger = logging.getLogger("orchestrator.notifications")

# Deliveries sent at the same time by one sender, so one slow service does not hold up the rest.
SENDER_THREADS = 4
EXCERPT_CHARS = 2000

PAUSED = "The policy was paused before this notification was sent."


def options() -> dict[str, Any]:
    values = settings.ORCHESTRATOR.get("NOTIFICATIONS", {})
    return {
        "max_attempts": max(1, int(values.get("MAX_ATTEMPTS", 10))),
        "retry_base_seconds": float(values.get("RETRY_BASE_SECONDS", 5.0)),
        "retry_max_seconds": float(values.get("RETRY_MAX_SECONDS", 900.0)),
        "retry_window_seconds": float(values.get("RETRY_WINDOW_SECONDS", 3600.0)),
        "lease_seconds": float(values.get("LEASE_SECONDS", 300.0)),
    }


# -- when to try again ---------------------------------------------------------------------------


def backoff_seconds(tries: int, base: float, cap: float, rand=random.random) -> float:
    """The wait after the `tries`-th failed try: base, 2*base, 4*base, ... up to cap, with
    "equal jitter" (between half and all of it) so senders that failed together spread out."""
    delay = min(cap, base * 2 ** max(0, tries - 1))
    return delay / 2 + rand() * delay / 2


def next_try(
    queued: dt.datetime, tries: int, error: TransportError, now: dt.datetime, opts: dict[str, Any] | None = None
) -> tuple[dt.datetime | None, str]:
    """When to try again after the `tries`-th try failed with `error` (None: never), and the
    error to record. The retry window counts from when the delivery was queued."""
    opts = opts or options()
    if error.permanent:
        return None, error.message
    if tries >= opts["max_attempts"]:
        return None, f"gave up after {tries} tries; the last one failed with: {error.message}"
    delay = backoff_seconds(tries, opts["retry_base_seconds"], opts["retry_max_seconds"])
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    when = now + dt.timedelta(seconds=delay)
    if when > queued + dt.timedelta(seconds=opts["retry_window_seconds"]):
        return None, (
            f"gave up after {tries} tries: the next one would be more than "
            f"{opts['retry_window_seconds']:g} seconds after the notification was queued; "
            f"the last one failed with: {error.message}"
        )
    return when, error.message


# -- claiming ------------------------------------------------------------------------------------


def release_expired_claims(now: dt.datetime | None = None) -> int:
    """Make deliveries whose sender's lease ran out pending again (the sender stopped)."""
    now = now or timezone.now()
    expired = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now)
    if not expired.exists():  # a read, so an idle poll takes no write lock
        return 0
    released = expired.update(
        status=DeliveryStatus.PENDING, claim_token=None, claimed_until=None, next_attempt_at=now, updated=now
    )
    if released:
        logger.warning("%d notification deliveries were claimed by a sender that stopped; sending them again", released)
    return released


def claim_one(now: dt.datetime | None = None) -> Delivery | None:
    """Claim the delivery that has been due longest, or None when nothing is due."""
    now = now or timezone.now()
    token = uuid.uuid4()
    lease = dt.timedelta(seconds=options()["lease_seconds"])
    while True:
        with transaction.atomic():
            pk = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                return None
            claimed = Delivery.objects.filter(pk=pk, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.SENDING, claim_token=token, claimed_until=now + lease, updated=now
            )
        if claimed:
            delivery = Delivery.objects.filter(pk=pk, claim_token=token).first()
            if delivery is not None:
                return delivery


def has_due(now: dt.datetime | None = None, limit: int = 1) -> int:
    now = now or timezone.now()
    return len(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).values_list("pk", flat=True)[
            :limit
        ]
    )


def seconds_until_due(now: dt.datetime | None = None) -> float | None:
    """Seconds until the next pending delivery is due (0 if one is), None if none is pending."""
    now = now or timezone.now()
    first = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return None if first is None else max(0.0, (first - now).total_seconds())


# -- sending ---------------------------------------------------------------------------------------


def _destination(policy: NotificationPolicy) -> tuple[transports.Transport, dict[str, Any]]:
    document = documents.documents().filter(pk=policy.block_document_id).first()
    if document is None:
        raise TransportError("the policy's block document no longer exists", permanent=True)
    transport = transports.for_slug(document.block_type.slug)
    if transport is None:
        raise TransportError(
            f"blocks of type {document.block_type.slug!r} cannot send notifications; "
            f"choose one of: {', '.join(transports.TRANSPORTS)}",
            permanent=True,
        )
    try:
        data = documents.document_json(document, include_secrets=True)["data"]
    except DecryptionError as exc:
        raise TransportError(f"the block's settings cannot be read: {exc}", permanent=True) from None
    return transport, data


def _record(
    delivery: Delivery,
    number: int,
    target: str,
    started: dt.datetime,
    clock: float,
    outcome: str,
    status_code: int | None = None,
    excerpt: str | None = None,
    error: str | None = None,
) -> bool:
    """Write one attempt; False if the delivery is gone (its policy was deleted meanwhile)."""
    try:
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            target=target[:255],
            started=started,
            duration=round(time.monotonic() - clock, 6),
            outcome=outcome,
            status_code=status_code,
            response_excerpt=excerpt[:EXCERPT_CHARS] if excerpt else excerpt,
            error=error,
        )
    except IntegrityError:
        return False
    return True


def _finish(delivery: Delivery, **changes: Any) -> bool:
    """Write the delivery's outcome if this sender still holds its claim."""
    now = timezone.now()
    changes.setdefault("claim_token", None)
    changes.setdefault("claimed_until", None)
    changes["updated"] = now
    if changes.get("status") in DeliveryStatus.final():
        changes.setdefault("finished", now)
        changes.setdefault("next_attempt_at", None)
    written = Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token).update(**changes)
    if not written:
        logger.warning(
            "delivery %s was deleted or claimed by another sender before its outcome was written", delivery.pk
        )
    for key, value in changes.items():
        setattr(delivery, key, value)
    return bool(written)


def deliver(delivery: Delivery, *, retry: bool = True) -> Delivery:
    """Send a claimed delivery and record the outcome. With retry=False (test notifications)
    the first failure is final."""
    try:
        policy = NotificationPolicy.objects.get(pk=delivery.policy_id)
    except NotificationPolicy.DoesNotExist:
        return delivery  # deleted with its policy
    if not policy.is_active and not delivery.is_test:
        _finish(delivery, status=DeliveryStatus.SKIPPED, error=PAUSED)
        return delivery
    number = delivery.attempt_count + 1
    Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token).update(attempt_count=number)
    delivery.attempt_count = number
    started, clock = timezone.now(), time.monotonic()
    try:
        transport, data = _destination(policy)
        calls = transport.calls(data, delivery.subject, delivery.body)
    except TransportError as exc:
        _record(delivery, number, "", started, clock, AttemptOutcome.PERMANENT, error=exc.message)
        _finish(delivery, status=DeliveryStatus.FAILED, error=exc.message)
        return delivery
    except Exception as exc:  # noqa: BLE001 - a broken block must not stop the sender
        logger.exception("building the notification of delivery %s failed", delivery.pk)
        message = f"the block's settings cannot be used: {exc}"
        _record(delivery, number, "", started, clock, AttemptOutcome.PERMANENT, error=message)
        _finish(delivery, status=DeliveryStatus.FAILED, error=message)
        return delivery

    sent = list(delivery.sent_targets or [])
    for call in calls:
        if call.target in sent:
            continue
        started, clock = timezone.now(), time.monotonic()
        try:
            outcome = call.send()
        except TransportError as exc:
            kind = AttemptOutcome.PERMANENT if exc.permanent else AttemptOutcome.TRANSIENT
            if not _record(
                delivery, number, call.target, started, clock, kind, exc.status_code, exc.excerpt, exc.message
            ):
                return delivery
            if not retry and not exc.permanent:
                _finish(delivery, status=DeliveryStatus.FAILED, error=exc.message)
                return delivery
            when, error = next_try(delivery.queued, number, exc, timezone.now())
            if when is None:
                _finish(delivery, status=DeliveryStatus.FAILED, error=error)
            else:
                _finish(delivery, status=DeliveryStatus.PENDING, next_attempt_at=when, error=error)
            return delivery
        except Exception as exc:  # noqa: BLE001 - an unexpected error is recorded, not raised
            logger.exception("sending delivery %s failed unexpectedly", delivery.pk)
            message = f"unexpected error: {exc.__class__.__name__}: {exc}"
            _record(delivery, number, call.target, started, clock, AttemptOutcome.PERMANENT, error=message)
            _finish(delivery, status=DeliveryStatus.FAILED, error=message)
            return delivery
        if not _record(
            delivery,
            number,
            call.target,
            started,
            clock,
            AttemptOutcome.SUCCEEDED,
            outcome.status_code,
            outcome.excerpt,
        ):
            return delivery
        sent.append(call.target)
        Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token).update(sent_targets=sent)
        delivery.sent_targets = sent
    _finish(delivery, status=DeliveryStatus.SUCCEEDED, error=None)
    return delivery


def _drain(close_connection: bool = False) -> int:
    """Claim and send until nothing is due; how many were handled."""
    handled = 0
    try:
        while True:
            delivery = claim_one()
            if delivery is None:
                return handled
            deliver(delivery)
            handled += 1
    finally:
        if close_connection:
            connections.close_all()


def send_due(threads: int = SENDER_THREADS) -> int:
    """One pass of the sender: give back expired claims, then send everything that is due."""
    try:
        release_expired_claims()
        due = has_due(limit=threads)
    except DatabaseError:
        logger.exception("could not look for due notifications")
        return 0
    if due <= 1:
        return _drain() if due else 0
    with ThreadPoolExecutor(max_workers=due, thread_name_prefix="notification-sender") as pool:
        futures = [pool.submit(_drain, True) for _ in range(due)]
        return sum(future.result() for future in futures)


def resend(delivery_id: Any) -> Delivery | None:
    """Queue a finished delivery to be sent again now; its attempts so far are kept. A failed
    one skips the recipients it already reached; a succeeded one goes to everyone again."""
    from .enqueue import wake_sender

    now = timezone.now()
    changes = {
        "status": DeliveryStatus.PENDING,
        "next_attempt_at": now,
        "queued": now,
        "finished": None,
        "error": None,
        "updated": now,
    }
    with transaction.atomic():
        finished = Delivery.objects.filter(pk=delivery_id, status__in=DeliveryStatus.final())
        finished.filter(status=DeliveryStatus.SUCCEEDED).update(sent_targets=[])
        if finished.update(**changes):
            transaction.on_commit(wake_sender.set)
    return Delivery.objects.filter(pk=delivery_id).first()
