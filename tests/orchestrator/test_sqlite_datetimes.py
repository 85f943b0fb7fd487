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


STORED = [
    "2026-12-05 21:30:44.951160",
    "2024-01-01 00:00:00",
    "2024-01-01",
    "2024-01-01T10:20:30.5",
    "2024-01-01 10:20:30+02:00",
    "2024-01-01 10:20:30.123456-03:30",
    dt.datetime(2024, 1, 1, 10, 20, 30),
    dt.datetime(2024, 1, 1, 10, 20, 30, tzinfo=dt.UTC),
    None,
]


@pytest.mark.parametrize("stored", STORED, ids=str)
def test_a_stored_datetime_is_read_as_djangos_own_sqlite_backend_reads_it(stored):
    ours = connection.ops.convert_datetimefield_value(stored, None, connection)
    django = DjangoOperations(connection).convert_datetimefield_value(stored, None, connection)
    assert ours == django
    assert getattr(ours, "tzinfo", None) == getattr(django, "tzinfo", None)


def test_text_that_is_not_a_datetime_fails_as_it_does_in_django():
    with pytest.raises(Exception) as django:
        DjangoOperations(connection).convert_datetimefield_value("not a time", None, connection)
    with pytest.raises(Exception) as ours:
        connection.ops.convert_datetimefield_value("not a time", None, connection)
    assert type(ours.value) is type(django.value)


QUERIES = [
    ("SELECT 1", None),
    ('SELECT "a" FROM "t" WHERE "b" = %s AND "c" IN (%s, %s)', None),
    ("SELECT '100%%' WHERE name LIKE %s", None),
    ("SELECT %(a)s, %(b)s", ["a", "b"]),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "names"), QUERIES, ids=str)
def test_placeholders_are_rewritten_as_django_rewrites_them_each_time(query, names):
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        expected = SQLiteCursorWrapper.convert_query(cursor, query, param_names=names)
        assert cursor.convert_query(query, param_names=names) == expected
        assert cursor.convert_query(query, param_names=names) == expected


@pytest.mark.django_db
def test_the_rewritten_statements_kept_are_bounded(monkeypatch):
    from orchestrator.backends.sqlite import base

    monkeypatch.setattr(base, "_QMARK", {})
    monkeypatch.setattr(base, "QMARK_CACHE_SIZE", 3)
    with connection.cursor() as wrapper:
        for i in range(10):
            assert wrapper.cursor.convert_query(f"SELECT %s + {i}") == f"SELECT ? + {i}"
    assert 0 < len(base._QMARK) <= 3
