"""Statuses of deployments, work pools, work queues and workers, with the colour each wears."""

from django.db import models


class DeploymentStatus(models.TextChoices):
    READY = "READY"
    NOT_READY = "NOT_READY"


class WorkPoolStatus(models.TextChoices):
    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkQueueStatus(models.TextChoices):
    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkerStatus(models.TextChoices):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


# Badge colours of the statuses of deployments, pools, queues and workers; the CSS classes
# `.state-<colour>` in static/css/orchestrator.css give them their look, as for run states
# (runs.choices.COLORS). A paused pool or queue wears the colour of a paused run.
STATUS_COLORS = {
    DeploymentStatus.READY: "ready",
    DeploymentStatus.NOT_READY: "not-ready",
    WorkPoolStatus.PAUSED: "paused",
    WorkerStatus.ONLINE: "online",
    WorkerStatus.OFFLINE: "offline",
}


class CollisionStrategy(models.TextChoices):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"
