"""What the artifacts app does when other apps change things."""

from __future__ import annotations

from .domain import delete_artifacts_of_flow_runs


def delete_artifacts_of_deleted_flow_runs(sender, ids, **kwargs) -> None:
    """runs.signals.flow_runs_deleted: a run's artifacts go with it (inside its transaction)."""
    delete_artifacts_of_flow_runs(ids)
