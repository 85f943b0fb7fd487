"""Extension points other apps fill in.

The runs app knows nothing about work pools; when a flow run is created with a work pool
name, the deployments app resolves it into the run's queue and pool columns. Until an app
provides a hook, the behaviour is that of a server with no such objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.api.errors import NotFound

_work_queue_resolver: Callable[[str, str | None], dict[str, Any]] | None = None


def provide_work_queue_resolver(resolver: Callable[[str, str | None], dict[str, Any]]) -> None:
    global _work_queue_resolver
    _work_queue_resolver = resolver


def work_queue_for_run(pool_name: str, queue_name: str | None) -> dict[str, Any]:
    """The work_queue_id/work_queue_name/work_pool_id/work_pool_name of a new run."""
    if _work_queue_resolver is None:
        raise NotFound(f"Work pool {pool_name!r} not found.")
    return _work_queue_resolver(pool_name, queue_name)
