"""Timestamps read from PostgreSQL through psycopg's C loader (orchestrator.lib.pg_timestamps)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from runs.models import Flow

pytestmark = pytest.mark.django_db

VALUES = [
    "2026-12-05 14:12:43.975340+00",
    "2026-03-29 01:30:00.000001+02",
    "2025-10-26 23:59:59-09:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def read(cursor) -> list:
    cursor.execute("SELECT " + ", ".join(f"'{v}'::timestamptz" for v in VALUES))
    return list(cursor.fetchone())


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    connection.ensure_connection()


def test_a_postgresql_connection_reads_timestamps_exactly_as_djangos_own_loader_does(postgresql):
    with connection.cursor() as cursor:
        ours = read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's, on this cursor only
        djangos = read(cursor)
    assert ours == djangos
    assert [value.tzinfo for value in ours] == [dt.UTC] * len(VALUES)
    assert ours[1].isoformat() == "2026-03-28T23:30:00.000001+00:00"


def test_models_read_back_the_aware_times_they_were_saved_with(postgresql):
    moment = dt.datetime(2026, 12, 5, 14, 12, 43, 975340, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    flow = Flow.objects.create(name="timestamps")
    Flow.objects.filter(pk=flow.pk).update(created=moment)
    assert Flow.objects.get(pk=flow.pk).created == moment
    assert Flow.objects.get(pk=flow.pk).created.tzinfo == dt.UTC


def test_the_c_loader_is_the_one_installed(postgresql):
    from psycopg.postgres import types
    from psycopg.pq import Format

    loader = connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
    assert loader.__name__ == "UtcTimestamptzLoader"
