"""Indexes for the runs lists' name search and tag filters, on PostgreSQL only.

The lists search names with `name__ilike` (runs.queries.ILike: `name ILIKE '%...%'`) and
filter tags with `tags__contains_all` (`tags @> '[...]'`); no B-tree answers either, so a
search that matches few runs would read the whole table (two million task runs). A trigram
GIN index on the name (pg_trgm, as Prefect's own server keeps on run names) and a GIN index on
the tags answer them. The trigram index is on the column itself, not UPPER(name) (Django's
icontains), so the planner estimates a search from the column's statistics: a common word is
still read in index order and stopped after a page, a rare one found through the index. SQLite has neither kind: there the
lists scan, which at SQLite's scale is fine.

pg_trgm is a trusted extension (PostgreSQL 13+), so the database's owner may create it; where
it cannot be created the name indexes are left out and searches scan.
"""

from django.db import migrations

TRIGRAM = (
    ("runs_flowrun", "flow_run_name_trgm"),
    ("runs_taskrun", "task_run_name_trgm"),
)
TAGS = (
    ("runs_flowrun", "flow_run_tags_gin"),
    ("runs_taskrun", "task_run_tags_gin"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, name in TAGS:
            cursor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ("tags")')
        try:
            cursor.execute("SAVEPOINT pg_trgm")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - not installed or not allowed: search still works, unindexed
            cursor.execute("ROLLBACK TO SAVEPOINT pg_trgm")
            print(f"\n  pg_trgm is not available ({exc}); run-name searches will not be indexed.")
            return
        cursor.execute("RELEASE SAVEPOINT pg_trgm")
        for table, name in TRIGRAM:
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ("name" gin_trgm_ops)'
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for _, name in TRIGRAM + TAGS:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("runs", "0002_dashboard_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
