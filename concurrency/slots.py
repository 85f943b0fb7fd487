"""Taking and giving back concurrency slots; leases that return them if a holder vanishes.

Limits are locked in id order, so two requests for overlapping limits never deadlock, and
a request takes slots on all of its limits or on none.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import ConcurrencyLimit, Lease

OCCUPANCY_WEIGHT = 0.2  # how fast the average slot occupancy follows new observations
END_BATCH = 500  # leases ended per query when a limit is reset or deleted


@dataclass
class Acquired:
    limits: list[ConcurrencyLimit]
    lease: Lease | None


class LimitsFull(Exception):
    """Not enough free slots; `retry_after` says when trying again is sensible."""

    def __init__(self, limits: list[ConcurrencyLimit], retry_after: float):
        super().__init__("concurrency limits are full")
        self.limits = limits
        self.retry_after = retry_after


def available(limit: ConcurrencyLimit, now: dt.datetime | None = None) -> int:
    """Slots in use now, after the decay of a rate limit since its last change."""
    if limit.slot_decay_per_second > 0 and limit.active_slots > 0:
        elapsed = ((now or timezone.now()) - limit.updated).total_seconds()
        decayed = math.floor(max(0.0, elapsed) * limit.slot_decay_per_second)
        return max(0, limit.active_slots - decayed)
    return limit.active_slots


def _locked(limit_ids: Iterable) -> list[ConcurrencyLimit]:
    return list(ConcurrencyLimit.objects.select_for_update().filter(id__in=list(limit_ids)).order_by("id"))


def acquire(
    limits: Iterable[ConcurrencyLimit],
    slots: int,
    *,
    lease_seconds: float | None = None,
    holder: dict[str, Any] | None = None,
) -> Acquired:
    """Take `slots` on every active limit, or raise LimitsFull having taken none."""
    ids = [limit.id for limit in limits]
    lease = None
    with transaction.atomic():
        locked = [limit for limit in _locked(ids) if limit.active]
        now = timezone.now()
        full = [limit for limit in locked if available(limit, now) + slots > limit.limit]
        if full:
            # The refusal is recorded (denied_slots) even though nothing is taken.
            ConcurrencyLimit.objects.filter(id__in=[limit.id for limit in full]).update(
                denied_slots=F("denied_slots") + slots
            )
        else:
            for limit in locked:
                limit.active_slots = available(limit, now) + slots
                limit.updated = now
                ConcurrencyLimit.objects.filter(id=limit.id).update(active_slots=limit.active_slots, updated=now)
            if lease_seconds is not None and locked:
                lease = Lease.objects.create(
                    expires=now + dt.timedelta(seconds=lease_seconds),
                    limit_ids=[str(limit.id) for limit in locked],
                    slots=slots,
                    holder=holder,
                )
    if full:
        raise LimitsFull(full, retry_after(full, slots))
    return Acquired(locked, lease)


def retry_after(full: list[ConcurrencyLimit], slots: int) -> float:
    """How long until a slot is likely free: decay time for rate limits, else the typical hold."""
    waits = []
    for limit in full:
        if limit.slot_decay_per_second > 0:
            waits.append(slots / limit.slot_decay_per_second)
        else:
            waits.append(limit.avg_slot_occupancy_seconds or 2.0)
    return max(0.1, min(max(waits), 60.0))


def release(limit_ids: Iterable, slots: int, occupancy_seconds: float | None = None) -> int:
    """Give back `slots` on each limit; returns how many limits were found."""
    with transaction.atomic():
        locked = _locked(limit_ids)
        now = timezone.now()
        for limit in locked:
            current = available(limit, now)
            if limit.slot_decay_per_second > 0:
                continue  # rate limits give slots back by decaying, not by release
            values = {"active_slots": max(0, current - slots), "updated": now}
            if occupancy_seconds is not None and slots > 0:
                per_slot = max(0.0, occupancy_seconds / slots)
                values["avg_slot_occupancy_seconds"] = (
                    limit.avg_slot_occupancy_seconds + (per_slot - limit.avg_slot_occupancy_seconds) * OCCUPANCY_WEIGHT
                )
            ConcurrencyLimit.objects.filter(id=limit.id).update(**values)
        return len(locked)


def release_lease(lease_id) -> bool:
    """Give back a lease's slots and end it; False if there is no such lease (any more)."""
    with transaction.atomic():
        lease = Lease.objects.select_for_update().filter(id=lease_id).first()
        if lease is None:
            return False
        occupancy = (timezone.now() - lease.created).total_seconds()
        release(lease.limit_ids, lease.slots, occupancy)
        lease.delete()
        return True


def renew_lease(lease_id, seconds: float) -> bool:
    updated = Lease.objects.filter(id=lease_id).update(expires=timezone.now() + dt.timedelta(seconds=seconds))
    return bool(updated)


def reap_expired_leases(batch: int = 200) -> int:
    """Return the slots of leases nobody renewed in time (their holder crashed)."""
    reaped = 0
    now = timezone.now()
    while True:
        with transaction.atomic():
            expired = list(
                Lease.objects.select_for_update(skip_locked=True).filter(expires__lt=now).order_by("expires")[:batch]
            )
            for lease in expired:
                release(lease.limit_ids, lease.slots, (now - lease.created).total_seconds())
                lease.delete()
                reaped += 1
        if len(expired) < batch:
            return reaped


def end_leases(limit: ConcurrencyLimit, keep_holders: Iterable[str] = ()) -> int:
    """Free the limit's slots held under leases, except those of the holders (ids) named in
    `keep_holders`; the caller holds the limit's lock in a transaction. A lease that also holds
    other limits keeps those: it just stops naming this one, so giving it back later cannot
    touch this limit's count again. Returns how many leases were ended."""
    keep = {str(holder) for holder in keep_holders}
    limit_id = str(limit.pk)
    ended = 0
    after = None
    while True:
        leases = Lease.objects.select_for_update().filter(limit_ids__contains_any=[limit_id]).order_by("id")
        if after is not None:
            leases = leases.filter(id__gt=after)
        batch = list(leases[:END_BATCH])
        for lease in batch:
            if (lease.holder or {}).get("id") in keep:
                continue
            others = [other for other in lease.limit_ids if other != limit_id]
            if others:
                Lease.objects.filter(pk=lease.pk).update(limit_ids=others)
            else:
                Lease.objects.filter(pk=lease.pk).delete()
            ended += 1
        if len(batch) < END_BATCH:
            return ended
        after = batch[-1].pk


def delete_limit(limit: ConcurrencyLimit) -> None:
    """Delete a limit and end the leases that hold it (the caller is in a transaction)."""
    locked = ConcurrencyLimit.objects.select_for_update().filter(pk=limit.pk).first()
    if locked is not None:
        end_leases(locked)
        locked.delete()
