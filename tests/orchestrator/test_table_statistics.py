"""The table_statistics service: PostgreSQL tables that autovacuum leaves alone are analyzed,
and vacuumed, once they have changed as much as autovacuum's own thresholds allow."""

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


def times(done: str) -> int:
    """How often the table was analyzed or vacuumed (`done`), by hand."""
    with connection.cursor() as cursor:
        # This backend's counts reach the statistics views at once, not at its next flush.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(f"SELECT {done}_count FROM pg_stat_user_tables WHERE relname = %s", [TABLE])
        return cursor.fetchone()[0]


def pages_all_visible() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = %s", [TABLE])
        return cursor.fetchone()[0]


@pytest.fixture
def autovacuum_off_for_the_table():
    set_autovacuum_for_table(False)
    with connection.cursor() as cursor:
        # Start from no changes: other tests in this database (rolled back or flushed ones too)
        # count towards the table's changes since it was last vacuumed and analyzed.
        cursor.execute(f"VACUUM (ANALYZE) {TABLE}")
    yield
    set_autovacuum_for_table(True)


def add_variables(n: int) -> None:
    Variable.objects.bulk_create([Variable(name=f"v{i}", value=i) for i in range(n)])
    flush_statistics()


def flush_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


@postgresql_only
def test_a_table_autovacuum_skips_is_analyzed_after_more_changes_than_its_threshold(autovacuum_off_for_the_table):
    before = times("analyze")
    add_variables(60)  # autovacuum's threshold: 50 rows plus a tenth of an empty table

    assert database.maintain_stale_tables()[TABLE] == "ANALYZE"
    assert times("analyze") == before + 1
    assert TABLE not in database.maintain_stale_tables()  # nothing has changed since


@postgresql_only
def test_a_table_autovacuum_skips_is_vacuumed_after_more_inserts_than_its_threshold(autovacuum_off_for_the_table):
    vacuumed, analyzed = times("vacuum"), times("analyze")
    add_variables(1100)  # autovacuum's insert threshold: 1,000 rows plus a fifth of an empty table

    assert database.maintain_stale_tables()[TABLE] == "VACUUM (ANALYZE)"
    assert (times("vacuum"), times("analyze")) == (vacuumed + 1, analyzed + 1)
    assert pages_all_visible() > 0  # what lets scans skip checking each row
    assert TABLE not in database.maintain_stale_tables()


@postgresql_only
def test_a_table_autovacuum_skips_is_vacuumed_after_more_deletions_than_its_threshold(autovacuum_off_for_the_table):
    add_variables(200)
    database.maintain_stale_tables()  # analyzed: 200 rows, so the thresholds are 90 dead and 70 changed
    vacuumed = times("vacuum")
    Variable.objects.filter(name__in=[f"v{i}" for i in range(100)]).delete()
    flush_statistics()

    assert database.maintain_stale_tables()[TABLE] == "VACUUM (ANALYZE)"
    assert times("vacuum") == vacuumed + 1


@postgresql_only
def test_a_table_with_fewer_changes_than_the_threshold_is_left_alone(autovacuum_off_for_the_table):
    before = times("analyze"), times("vacuum")
    add_variables(10)

    assert TABLE not in database.maintain_stale_tables()
    assert (times("analyze"), times("vacuum")) == before


@postgresql_only
def test_the_service_runs_on_postgresql_and_reports_what_it_did(autovacuum_off_for_the_table):
    add_variables(60)
    service = RefreshTableStatistics()

    assert service.enabled
    assert service.run_once()[TABLE] == "ANALYZE"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_on_sqlite_the_service_is_off_and_does_nothing():
    assert not RefreshTableStatistics().enabled
    assert database.maintain_stale_tables() == {}
