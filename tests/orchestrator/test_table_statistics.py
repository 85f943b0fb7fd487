"""The table_statistics service: PostgreSQL tables that autovacuum leaves unanalyzed are
analyzed once they have changed as much as autovacuum's own threshold allows."""

from __future__ import annotations

import pytest
from django.db import connection

from orchestrator import database
from orchestrator.services import RefreshTableStatistics
from variables.models import Variable

pytestmark = pytest.mark.django_db(transaction=True)
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")

TABLE = Variable._meta.db_table


def set_autovacuum_for_table(enabled: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} SET (autovacuum_enabled = {'true' if enabled else 'false'})")


def times_analyzed() -> int:
    with connection.cursor() as cursor:
        # This backend's counts reach the statistics views at once, not at its next flush.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", [TABLE])
        return cursor.fetchone()[0]


@pytest.fixture
def autovacuum_off_for_the_table():
    set_autovacuum_for_table(False)
    with connection.cursor() as cursor:
        # Start from no changes: other tests in this database (rolled back or flushed ones too)
        # count towards the table's changes since it was last analyzed.
        cursor.execute(f"ANALYZE {TABLE}")
    yield
    set_autovacuum_for_table(True)


def add_variables(n: int) -> None:
    Variable.objects.bulk_create([Variable(name=f"v{i}", value=i) for i in range(n)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


@postgresql_only
def test_a_table_autovacuum_skips_is_analyzed_after_more_changes_than_its_threshold(autovacuum_off_for_the_table):
    before = times_analyzed()
    add_variables(60)  # autovacuum's threshold: 50 rows plus a tenth of an empty table

    assert TABLE in database.analyze_stale_tables()
    assert times_analyzed() == before + 1
    assert TABLE not in database.analyze_stale_tables()  # nothing has changed since


@postgresql_only
def test_a_table_with_fewer_changes_than_the_threshold_is_left_alone(autovacuum_off_for_the_table):
    before = times_analyzed()
    add_variables(10)

    assert TABLE not in database.analyze_stale_tables()
    assert times_analyzed() == before


@postgresql_only
def test_the_service_runs_on_postgresql_and_reports_what_it_analyzed(autovacuum_off_for_the_table):
    add_variables(60)
    service = RefreshTableStatistics()

    assert service.enabled
    assert TABLE in service.run_once()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_on_sqlite_the_service_is_off_and_analyzes_nothing():
    assert not RefreshTableStatistics().enabled
    assert database.analyze_stale_tables() == []
