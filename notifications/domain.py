"""Writes and reads of notification policies that the API and the dashboard share.

- `create_policy` / `update_policy`: a policy on an existing notification block document
  (Prefect 2's API shape);
- `create_policy_with_block` / `update_policy_block`: what the dashboard's form does, a policy
  together with the block document that holds its destination (anonymous unless named);
- `set_active`, `delete_policy`, `send_test`;
- `deliveries()`: delivery history with attempts, newest first;
- `describe()`: the policy as a sentence for lists.

Errors are the API's (`NotFound`, `Unprocessable`, `Conflict`), so both callers show the same words.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from blocks import documents
from blocks.models import BlockDocument, BlockSchema, BlockType
from orchestrator.api.errors import NotFound, Unprocessable

from . import messages, sender, transports
from .choices import DeliveryStatus
from .models import Delivery, DeliveryAttempt, NotificationPolicy

POLICY_NOT_FOUND = "Flow run notification policy not found"
FIELDS = ("is_active", "state_names", "tags", "block_document_id", "message_template")


# -- rules -----------------------------------------------------------------------------------


def check_template(template: str | None) -> str | None:
    """The template, or None for the default message; a bad one is a 422 naming the problem."""
    if template is None or template == "":
        return None
    try:
        messages.validate_template(template)
    except messages.TemplateError as exc:
        raise Unprocessable(str(exc)) from None
    return template


def unique(values: Iterable[str]) -> list[str]:
    """The values once each, in the order given."""
    return list(dict.fromkeys(values))


def notification_block(block_document_id: Any) -> BlockDocument:
    """The block document a policy may send through: it exists and its type has a transport."""
    document = BlockDocument.objects.select_related("block_type").filter(pk=block_document_id).first()
    if document is None:
        raise NotFound("Block document not found")
    if transports.for_slug(document.block_type.slug) is None:
        raise Unprocessable(
            f"Block document {document.name!r} is a {document.block_type.name} block, which cannot send "
            f"notifications. Use a block of one of these types: {', '.join(transports.TRANSPORTS)}."
        )
    return document


def notification_block_types() -> QuerySet:
    """Block types a policy can send through, by name (for the dashboard's choice of service)."""
    return BlockType.objects.filter(slug__in=list(transports.TRANSPORTS)).order_by("name")


# -- policies ---------------------------------------------------------------------------------


def create_policy(
    *,
    block_document_id: Any,
    state_names: Iterable[str] = (),
    tags: Iterable[str] = (),
    is_active: bool = True,
    message_template: str | None = None,
) -> NotificationPolicy:
    document = notification_block(block_document_id)
    return NotificationPolicy.objects.create(
        block_document=document,
        state_names=unique(state_names),
        tags=unique(tags),
        is_active=is_active,
        message_template=check_template(message_template),
    )


def get_policy(policy_id: Any, *, for_update: bool = False) -> NotificationPolicy:
    qs = NotificationPolicy.objects.select_related("block_document__block_type")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    policy = qs.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(POLICY_NOT_FOUND)
    return policy


def update_policy(policy_id: Any, changes: dict[str, Any]) -> NotificationPolicy:
    """Change the fields given; a None value leaves a field as it is, except message_template,
    where None (or "") means the default message."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        policy = get_policy(policy_id, for_update=True)
        if changes.get("block_document_id") is not None:
            policy.block_document = notification_block(changes["block_document_id"])
        if changes.get("state_names") is not None:
            policy.state_names = unique(changes["state_names"])
        if changes.get("tags") is not None:
            policy.tags = unique(changes["tags"])
        if changes.get("is_active") is not None:
            policy.is_active = bool(changes["is_active"])
        if "message_template" in changes:
            policy.message_template = check_template(changes["message_template"])
        policy.save()
    return policy


def set_active(policy_id: Any, active: bool) -> NotificationPolicy:
    """Pause or resume. Deliveries of a paused policy that are not sent yet are skipped."""
    return update_policy(policy_id, {"is_active": active})


def _latest_schema(block_type: BlockType) -> BlockSchema:
    schema = BlockSchema.objects.filter(block_type=block_type).order_by("-created", "-id").first()
    if schema is None:
        raise NotFound(f"Block type {block_type.slug!r} has no schema")
    return schema


def create_policy_with_block(
    *,
    block_type_slug: str,
    block_data: dict[str, Any],
    block_name: str | None = None,
    state_names: Iterable[str] = (),
    tags: Iterable[str] = (),
    is_active: bool = True,
    message_template: str | None = None,
) -> NotificationPolicy:
    """A policy and, in the same transaction, the block document holding its destination:
    named when `block_name` is given (it then shows on the Blocks page), anonymous otherwise."""
    block_type = BlockType.objects.filter(slug=block_type_slug).first()
    if block_type is None:
        raise NotFound("Block type not found")
    if transports.for_slug(block_type.slug) is None:
        raise Unprocessable(f"{block_type.name} blocks cannot send notifications")
    template = check_template(message_template)
    with transaction.atomic():
        document = documents.create(
            {
                "name": block_name or None,
                "is_anonymous": not block_name,
                "data": block_data,
                "block_type_id": block_type.pk,
                "block_schema_id": _latest_schema(block_type).pk,
            }
        )
        return create_policy(
            block_document_id=document.pk,
            state_names=state_names,
            tags=tags,
            is_active=is_active,
            message_template=template,
        )


def update_policy_block(policy_id: Any, block_data: dict[str, Any]) -> None:
    """Replace the data of the policy's block document; a secret sent back as the mask
    (`********`) keeps its stored value, as the Blocks pages do."""
    policy = get_policy(policy_id)
    documents.update(policy.block_document, block_data, merge=False)


def delete_policy(policy_id: Any, *, delete_anonymous_block: bool = True) -> None:
    """Delete a policy with its delivery history. Its block document goes too when it is
    anonymous and no other policy uses it (the dashboard made it for this policy)."""
    with transaction.atomic():
        policy = get_policy(policy_id, for_update=True)
        document = policy.block_document
        policy.delete()
        if (
            delete_anonymous_block
            and document.is_anonymous
            and not NotificationPolicy.objects.filter(block_document=document).exists()
        ):
            document.delete()


def describe(policy: NotificationPolicy) -> str:
    """`If a run of any flow with daily-etl tag enters a failed state, send a notification to my-slack`."""
    document = policy.block_document
    if document.is_anonymous:
        destination = f"a {document.block_type.name} block"
    else:
        destination = document.name
    return messages.describe_policy(policy.state_names, policy.tags, destination)


# -- test notifications ------------------------------------------------------------------------


def example_message(policy: NotificationPolicy) -> str:
    """What a test notification says: the policy's own message, about an example run."""
    now = timezone.now()
    example_run = uuid.UUID(int=0)
    values = messages.template_values(
        policy_id=policy.pk,
        flow_id=uuid.UUID(int=0),
        flow_name="example-flow",
        flow_run_id=example_run,
        flow_run_name="example-run",
        parameters={},
        state_type="FAILED",
        state_name="Failed",
        state_timestamp=now,
        state_message="This is a test notification.",
    )
    rendered = messages.render(policy.message_template, values, "Failed", now)
    return f"This is a test notification from Orchestrator; no flow run failed.\n\n{rendered}"


def send_test(policy_id: Any) -> Delivery:
    """Send a test notification now, in this thread, and return its delivery with the outcome
    (sent whether or not the policy is paused; tried once, no retries)."""
    policy = get_policy(policy_id)
    now = timezone.now()
    delivery = Delivery.objects.create(
        policy=policy,
        is_test=True,
        subject=messages.SUBJECT,
        body=example_message(policy),
        status=DeliveryStatus.SENDING,
        queued=now,
        claim_token=uuid.uuid4(),
        claimed_until=now + dt.timedelta(seconds=sender.options()["lease_seconds"]),
    )
    sender.deliver(delivery, retry=False)
    return with_attempts().get(pk=delivery.pk)


# -- delivery history ----------------------------------------------------------------------------


def with_attempts(queryset: QuerySet | None = None) -> QuerySet:
    """Deliveries with their attempts in the order they were made (one extra query per page)."""
    queryset = Delivery.objects.all() if queryset is None else queryset
    return queryset.prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("started", "id")))


def deliveries(*, policy_id: Any = None, statuses: Iterable[str] | None = None, flow_run_id: Any = None) -> QuerySet:
    """Delivery history, newest first, with attempts; slice it to page."""
    qs = Delivery.objects.all()
    if policy_id is not None:
        qs = qs.filter(policy_id=policy_id)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    if flow_run_id is not None:
        qs = qs.filter(flow_run_id=flow_run_id)
    return with_attempts(qs.order_by("-created", "-id"))


def resend(delivery_id: Any) -> Delivery:
    """Send a finished delivery again (the sender picks it up within seconds)."""
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("Delivery not found")
    if delivery.status not in DeliveryStatus.final():
        raise Unprocessable(f"This delivery is {delivery.status}; only a finished delivery can be sent again.")
    sender.resend(delivery_id)
    return with_attempts().get(pk=delivery_id)
