"""State types and their groups, with the colour each one wears on the dashboard."""

from django.db import models


class StateType(models.TextChoices):
    SCHEDULED = "SCHEDULED", "Scheduled"
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"
    CRASHED = "CRASHED", "Crashed"
    PAUSED = "PAUSED", "Paused"
    CANCELLING = "CANCELLING", "Cancelling"

    @classmethod
    def terminal(cls) -> frozenset[str]:
        return TERMINAL

    @classmethod
    def active(cls) -> frozenset[str]:
        return ACTIVE


# A run in one of these states is finished; leaving one is a re-run.
TERMINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED})
# States in which a run holds resources (a worker slot, a concurrency slot).
ACTIVE = frozenset({StateType.PENDING, StateType.RUNNING, StateType.CANCELLING, StateType.PAUSED})
# States that mean something went wrong; the dashboard groups them.
FAILURES = frozenset({StateType.FAILED, StateType.CRASHED})

# Badge colours (CSS custom properties in static/css/orchestrator.css use the same names).
COLORS = {
    StateType.SCHEDULED: "scheduled",
    StateType.PENDING: "pending",
    StateType.RUNNING: "running",
    StateType.COMPLETED: "completed",
    StateType.FAILED: "failed",
    StateType.CANCELLED: "cancelled",
    StateType.CRASHED: "crashed",
    StateType.PAUSED: "paused",
    StateType.CANCELLING: "cancelling",
}


class OrchestrationStatus(models.TextChoices):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    ABORT = "ABORT"
    WAIT = "WAIT"
