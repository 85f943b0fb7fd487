"""Statuses of deliveries and attempts, their groups, and the colour each wears on the dashboard."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first try or for a retry
    SENDING = "sending", "Sending"  # claimed by a sender, which holds a lease on it
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # a permanent error, or transient ones past the retry bounds
    SKIPPED = "skipped", "Skipped"  # its policy was paused before it could be sent

    @classmethod
    def final(cls) -> frozenset[str]:
        return FINAL


# A delivery in one of these states is never sent again (unless someone asks to resend it).
FINAL = frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED})

# Badge colours, named as the run states' (static/css/orchestrator.css).
COLORS = {
    DeliveryStatus.PENDING: "scheduled",
    DeliveryStatus.SENDING: "running",
    DeliveryStatus.SUCCEEDED: "completed",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.SKIPPED: "cancelled",
}


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    TRANSIENT = "transient", "Temporary error"  # network error, timeout, 429, 5xx: worth another try
    PERMANENT = "permanent", "Permanent error"  # other 4xx, a bad block, a refused address
