"""Times as the API writes them: UTC, microseconds when there are any, and a trailing Z."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from runs.orchestration.states import iso

CASES = [
    (dt.datetime(2026, 12, 6, 15, 57, 0, 47000, tzinfo=dt.UTC), "2026-12-06T15:57:00.047000Z"),
    (dt.datetime(2026, 12, 6, 15, 57, tzinfo=dt.UTC), "2026-12-06T15:57:00Z"),
    (dt.datetime(2026, 12, 6, 15, 57, 0, 5, tzinfo=zoneinfo.ZoneInfo("UTC")), "2026-12-06T15:57:00.000005Z"),
    (dt.datetime(2026, 12, 6, 16, 57, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")), "2026-12-06T15:57:00Z"),
    (dt.datetime(2026, 12, 6, 12, 57, tzinfo=dt.timezone(dt.timedelta(hours=-3))), "2026-12-06T15:57:00Z"),
    (dt.datetime(2026, 12, 6, 15, 57), "2026-12-06T15:57:00Z"),
    (None, None),
]


@pytest.mark.parametrize(("value", "written"), CASES, ids=str)
def test_a_time_in_any_zone_is_written_at_utc_with_a_z(value, written):
    assert iso(value) == written
