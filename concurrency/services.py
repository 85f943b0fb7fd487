"""Loop services of the concurrency app."""

from __future__ import annotations

from orchestrator.services import Service

from .slots import reap_expired_leases


class ReapExpiredLeases(Service):
    """Slots held under a lease nobody renewed in time go back to their limits: a crashed
    task or flow cannot keep them forever."""

    name = "lease_reaper"

    def run_once(self) -> int:
        return reap_expired_leases()


SERVICES = [ReapExpiredLeases]
