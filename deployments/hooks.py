"""Plugging deployments and work pools into the runs app."""

from __future__ import annotations

from typing import Any


def _resolve_work_queue(pool_name: str, queue_name: str | None) -> dict[str, Any]:
    from . import pools

    return pools.queue_columns(pools.resolve_queue(pool_name, queue_name, create=False))


def _drop_concurrency_limit(sender, instance, **kwargs) -> None:
    """A deployment's concurrency limit is a row named after it, not a foreign key: when the
    deployment goes by any road (its own delete, or its flow's), the limit goes with it."""
    from concurrency.models import ConcurrencyLimit

    from .domain import limit_name

    ConcurrencyLimit.objects.filter(name=limit_name(instance)).delete()


def connect() -> None:
    from django.db.models.signals import post_delete

    from runs import hooks

    from .filters import register
    from .models import Deployment

    register()
    hooks.provide_work_queue_resolver(_resolve_work_queue)
    post_delete.connect(_drop_concurrency_limit, sender=Deployment, dispatch_uid="deployment-concurrency-limit")
