"""Statuses of deployments, work pools, work queues and workers."""

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


class CollisionStrategy(models.TextChoices):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"
