"""Concurrency slots: taking them on several limits at once, giving them back, leases that
return them when their holder vanishes, and rate limits that free them by decaying."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from concurrency import slots
from concurrency.models import ConcurrencyLimit, Lease
from concurrency.services import ReapExpiredLeases

pytestmark = pytest.mark.django_db


def limit(name: str, size: int, **fields) -> ConcurrencyLimit:
    return ConcurrencyLimit.objects.create(name=name, limit=size, **fields)


def used(*limits: ConcurrencyLimit) -> list[int]:
    return [ConcurrencyLimit.objects.get(pk=row.pk).active_slots for row in limits]


def aged(row: ConcurrencyLimit, seconds: float) -> ConcurrencyLimit:
    """The limit as if its slots last changed `seconds` ago."""
    ConcurrencyLimit.objects.filter(pk=row.pk).update(updated=timezone.now() - dt.timedelta(seconds=seconds))
    return ConcurrencyLimit.objects.get(pk=row.pk)


class TestAcquire:
    def test_it_takes_slots_on_every_limit(self):
        db, api = limit("db", 2), limit("api", 5)
        acquired = slots.acquire([db, api], 2)
        assert {row.name for row in acquired.limits} == {"db", "api"}
        assert used(db, api) == [2, 2]
        assert acquired.lease is None

    def test_it_takes_nothing_when_one_limit_is_full(self):
        db, api = limit("db", 1, active_slots=1), limit("api", 5)
        with pytest.raises(slots.LimitsFull) as full:
            slots.acquire([db, api], 1)
        assert [row.name for row in full.value.limits] == ["db"]
        assert used(db, api) == [1, 0]

    def test_a_refusal_is_counted_on_the_full_limits_only(self):
        db, api = limit("db", 3, active_slots=2), limit("api", 5)
        with pytest.raises(slots.LimitsFull):
            slots.acquire([db, api], 2)
        assert [ConcurrencyLimit.objects.get(pk=row.pk).denied_slots for row in (db, api)] == [2, 0]

    def test_an_inactive_limit_is_not_held(self):
        off = limit("off", 1, active_slots=1, active=False)
        acquired = slots.acquire([off], 1)
        assert acquired.limits == []
        assert used(off) == [1]

    def test_with_a_lease_it_records_what_is_held_and_by_whom(self):
        db = limit("db", 2)
        holder = {"type": "task_run", "id": "6c1d9a3e-2f69-4f0e-9a55-1f1b4a8f0c11"}
        acquired = slots.acquire([db], 1, lease_seconds=300, holder=holder)
        lease = Lease.objects.get(pk=acquired.lease.pk)
        assert (lease.limit_ids, lease.slots, lease.holder) == ([str(db.pk)], 1, holder)
        assert timezone.now() + dt.timedelta(seconds=290) < lease.expires <= timezone.now() + dt.timedelta(seconds=300)

    def test_no_lease_is_made_when_no_limit_is_held(self):
        assert slots.acquire([], 1, lease_seconds=300).lease is None
        assert not Lease.objects.exists()

    def test_retry_after_is_the_typical_hold_of_a_slot(self):
        db = limit("db", 1, active_slots=1, avg_slot_occupancy_seconds=7.5)
        with pytest.raises(slots.LimitsFull) as full:
            slots.acquire([db], 1)
        assert full.value.retry_after == 7.5
        assert slots.retry_after([limit("slow", 1, avg_slot_occupancy_seconds=600)], 1) == 60.0
        assert slots.retry_after([limit("quick", 1, avg_slot_occupancy_seconds=0.0)], 1) == 2.0


class TestRelease:
    def test_it_gives_slots_back(self):
        db = limit("db", 3, active_slots=3)
        assert slots.release([db.pk], 2) == 1
        assert used(db) == [1]

    def test_it_never_goes_below_zero(self):
        db = limit("db", 3, active_slots=1)
        slots.release([db.pk], 5)
        assert used(db) == [0]

    def test_it_learns_how_long_slots_are_held(self):
        db = limit("db", 3, active_slots=1, avg_slot_occupancy_seconds=2.0)
        slots.release([db.pk], 1, occupancy_seconds=12.0)
        assert ConcurrencyLimit.objects.get(pk=db.pk).avg_slot_occupancy_seconds == pytest.approx(4.0)

    def test_an_unknown_limit_is_skipped(self):
        assert slots.release(["00000000-0000-0000-0000-000000000000"], 1) == 0


class TestLeases:
    def test_releasing_a_lease_returns_its_slots_and_ends_it(self):
        db, api = limit("db", 2), limit("api", 2)
        lease = slots.acquire([db, api], 1, lease_seconds=300).lease
        assert slots.release_lease(lease.pk) is True
        assert used(db, api) == [0, 0]
        assert not Lease.objects.exists()
        assert slots.release_lease(lease.pk) is False
        assert used(db, api) == [0, 0]

    def test_renewing_a_lease_moves_its_expiry(self):
        db = limit("db", 2)
        lease = slots.acquire([db], 1, lease_seconds=60).lease
        assert slots.renew_lease(lease.pk, 600) is True
        assert Lease.objects.get(pk=lease.pk).expires > timezone.now() + dt.timedelta(seconds=590)

    def test_renewing_an_unknown_lease_says_so(self):
        assert slots.renew_lease("00000000-0000-0000-0000-000000000000", 60) is False

    def test_expired_leases_are_reaped_and_their_slots_returned(self):
        db = limit("db", 3)
        expired = slots.acquire([db], 2, lease_seconds=60).lease
        live = slots.acquire([db], 1, lease_seconds=600).lease
        Lease.objects.filter(pk=expired.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))
        assert slots.reap_expired_leases() == 1
        assert list(Lease.objects.values_list("pk", flat=True)) == [live.pk]
        assert used(db) == [1]
        assert slots.renew_lease(expired.pk, 60) is False

    def test_the_reaper_service_reaps(self):
        db = limit("db", 1)
        lease = slots.acquire([db], 1, lease_seconds=60).lease
        Lease.objects.filter(pk=lease.pk).update(expires=timezone.now() - dt.timedelta(minutes=5))
        assert ReapExpiredLeases().run_once() == 1
        assert used(db) == [0]

    def test_reaping_in_batches_reaps_them_all(self):
        db = limit("db", 10)
        for _ in range(5):
            slots.acquire([db], 1, lease_seconds=60)
        Lease.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
        assert slots.reap_expired_leases(batch=2) == 5
        assert used(db) == [0]


class TestRateLimits:
    def test_slots_decay_with_time(self):
        api = aged(limit("api", 10, active_slots=5, slot_decay_per_second=1.0), 3.2)
        assert slots.available(api) == 2

    def test_they_decay_to_zero_and_no_further(self):
        api = aged(limit("api", 10, active_slots=5, slot_decay_per_second=0.5), 60)
        assert slots.available(api) == 0

    def test_a_limit_without_decay_keeps_its_slots(self):
        db = aged(limit("db", 10, active_slots=5), 600)
        assert slots.available(db) == 5

    def test_taking_a_slot_counts_from_what_has_decayed(self):
        api = aged(limit("api", 2, active_slots=2, slot_decay_per_second=1.0), 1.5)
        slots.acquire([api], 1)
        assert used(api) == [2]  # one decayed, one taken

    def test_a_full_rate_limit_asks_to_wait_for_the_decay(self):
        api = limit("api", 2, active_slots=2, slot_decay_per_second=0.25)
        with pytest.raises(slots.LimitsFull) as full:
            slots.acquire([api], 1)
        assert full.value.retry_after == 4.0

    def test_releasing_does_not_free_a_rate_limit(self):
        api = limit("api", 2, active_slots=2, slot_decay_per_second=0.01)
        slots.release([api.pk], 2)
        assert used(api) == [2]
