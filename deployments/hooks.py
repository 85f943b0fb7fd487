"""Plugging deployments and work pools into the runs app."""

from __future__ import annotations

from typing import Any


def _resolve_work_queue(pool_name: str, queue_name: str | None) -> dict[str, Any]:
    from . import pools

    return pools.queue_columns(pools.resolve_queue(pool_name, queue_name, create=False))


def connect() -> None:
    from runs import hooks

    from .filters import register

    register()
    hooks.provide_work_queue_resolver(_resolve_work_queue)
