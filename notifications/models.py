"""Notification policies, the delivery outbox, and the record of every attempt.

A policy (Prefect 2's flow-run notification policy) names the states and tags that trigger
it and the notification block it sends through. When a flow run enters a state, the
transaction that writes the state also writes one `Delivery` per matching policy, with the
message already rendered: a committed state always has its deliveries, a rolled-back one
has none, and deleting the run later does not lose the alert. The sender service claims due
deliveries, sends them, and writes a `DeliveryAttempt` for every request it makes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from blocks.models import BlockDocument
from orchestrator.lib.ids import uuid7
from orchestrator.lib.json_field import JSONField
from runs.models import PrefectModel, empty_list

from .choices import AttemptOutcome, DeliveryStatus
from .messages import TemplateError, validate_template


class NotificationPolicy(PrefectModel):
    is_active = models.BooleanField(default=True)
    # State names (`Failed`, `Late`, `Crashed`, ...); empty means every state.
    state_names = JSONField(default=empty_list)
    # A run with any one of these tags is covered; empty means every run.
    tags = JSONField(default=empty_list)
    # Deleting the block deletes its policies, as in Prefect.
    block_document = models.ForeignKey(BlockDocument, on_delete=models.CASCADE, related_name="notification_policies")
    # Null: the default message (see notifications.messages).
    message_template = models.TextField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification policies"
        indexes = [models.Index(fields=["-created"], name="notification_policy_created")]

    def __str__(self) -> str:
        return f"notification policy {self.pk}"

    def clean(self) -> None:
        if self.message_template:
            try:
                validate_template(self.message_template)
            except TemplateError as exc:
                raise ValidationError({"message_template": [str(exc)]}) from None

    def matches(self, state_name: str | None, tags: list | None) -> bool:
        """Prefect's rule: the state's name is listed (or none are), and the run shares a tag
        with the policy (or the policy names none)."""
        if not self.is_active:
            return False
        if self.state_names and state_name not in self.state_names:
            return False
        if self.tags and not set(self.tags).intersection(tags or ()):
            return False
        return True


class Delivery(PrefectModel):
    # Indexed by notif_delivery_policy (policy, -created).
    policy = models.ForeignKey(NotificationPolicy, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # A test notification sent from the dashboard or the API, not caused by a run.
    is_test = models.BooleanField(default=False)

    # The run and state that caused it, copied: no foreign keys, so runs can be deleted.
    flow_run_id = models.UUIDField(null=True)
    flow_run_name = models.CharField(max_length=255, null=True)
    flow_id = models.UUIDField(null=True)
    flow_name = models.CharField(max_length=255, null=True)
    state_id = models.UUIDField(null=True)
    state_type = models.CharField(max_length=16, null=True)
    state_name = models.CharField(max_length=255, null=True)
    state_timestamp = models.DateTimeField(null=True)

    # The message as rendered when the state was written.
    subject = models.TextField()
    body = models.TextField()

    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # When it was queued (or queued again by a resend): the retry window counts from here.
    queued = models.DateTimeField(default=timezone.now)
    attempt_count = models.IntegerField(default=0)  # tries so far
    next_attempt_at = models.DateTimeField(null=True)  # when a pending delivery is due
    # A sender's claim: its token and how long it holds it (a crashed sender's claims expire).
    claim_token = models.UUIDField(null=True)
    claimed_until = models.DateTimeField(null=True)
    # Targets (recipients, channels) already sent to, so a retry does not repeat them.
    sent_targets = JSONField(default=empty_list)
    finished = models.DateTimeField(null=True)
    error = models.TextField(null=True)  # why it failed or was skipped

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The sender's claim query: due pending deliveries, oldest due first.
            models.Index(
                fields=["next_attempt_at"], name="notif_delivery_due", condition=models.Q(status=DeliveryStatus.PENDING)
            ),
            # The sender's lease check: claims whose sender stopped before finishing.
            models.Index(
                fields=["claimed_until"],
                name="notif_delivery_leased",
                condition=models.Q(status=DeliveryStatus.SENDING),
            ),
            # History, newest first: of a policy, by status, of a run, or all.
            models.Index(fields=["policy", "-created"], name="notif_delivery_policy"),
            models.Index(fields=["status", "-created"], name="notif_delivery_status"),
            models.Index(fields=["flow_run_id"], name="notif_delivery_flow_run"),
            models.Index(fields=["-created"], name="notif_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in DeliveryStatus.final()


class DeliveryAttempt(models.Model):
    """One request made for a delivery (a service with several recipients makes one each)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by notif_attempt_delivery (delivery, started).
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    number = models.IntegerField()  # the delivery's try this request belonged to (1, 2, ...)
    target = models.CharField(max_length=255, default="")  # who was addressed, never a secret
    started = models.DateTimeField()
    duration = models.FloatField()  # seconds
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.IntegerField(null=True)  # HTTP (or SMTP) status, when there was an answer
    response_excerpt = models.TextField(null=True)
    error = models.TextField(null=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "started"], name="notif_attempt_delivery")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
