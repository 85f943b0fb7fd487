"""Datetimes written to SQLite: the quick path for UTC values writes what Django writes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseOperations as DjangoOperations

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")

VALUES = [
    dt.datetime(2026, 12, 5, 21, 30, 44, 951160, tzinfo=dt.UTC),
    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=zoneinfo.ZoneInfo("UTC")),
    dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    dt.datetime(2024, 3, 31, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/London")),
    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    dt.datetime(2024, 7, 1, 12, 0, 0, 5),
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_a_datetime_is_written_as_djangos_own_sqlite_backend_writes_it(value):
    assert connection.ops.adapt_datetimefield_value(value) == DjangoOperations(connection).adapt_datetimefield_value(
        value
    )
