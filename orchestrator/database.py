"""Database lifecycle: refuse Prefect's own database, migrate, reset, step back."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

PROJECT_APPS = (
    "orchestrator",
    "runs",
    "events",
    "deployments",
    "concurrency",
    "artifacts",
    "variables",
    "blocks",
    "notifications",
)


def describe() -> str:
    """Where the database is, for messages (never with a password)."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite database {settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"PostgreSQL database {settings_dict.get('NAME')} on {host}:{port}"


def ensure_not_prefect_database() -> None:
    """A database Prefect's own server created has an `alembic_version` table; we must never
    migrate or reset it, so we stop before touching anything."""
    try:
        tables = _table_names()
    except Exception as exc:  # noqa: BLE001 - report any connection failure clearly
        raise CommandError(f"cannot open the {describe()}: {exc}") from exc
    if "alembic_version" in tables:
        raise CommandError(
            f"The {describe()} was created by Prefect's own server (it has an alembic_version table). "
            "Orchestrator will not use or change it. Point PREFECT_API_DATABASE_CONNECTION_URL at a new, "
            "empty database (or unset it to use $PREFECT_HOME/orchestrator.db)."
        )


def _table_names() -> list[str]:
    """The database's tables. A SQLite file is first read through a read-only connection:
    our own connection applies its settings on opening (the WAL journal mode), which would
    already rewrite the header of a file that may turn out to be Prefect's."""
    if connection.vendor == "sqlite" and not _is_memory():
        path = Path(connection.settings_dict["NAME"])
        if not path.exists():
            return []
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as read_only:
                return [name for (name,) in read_only.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        except sqlite3.Error:
            pass  # unreadable that way: let our connection open it and report what it finds
    return connection.introspection.table_names()


# Tables of the server's schema that autovacuum would vacuum or analyze by now, by its own
# server-wide thresholds, but will not: it is off for the server or for the table.
# - analyze: more changed rows since the last analyze than autovacuum_analyze_threshold (50
#   by default) plus autovacuum_analyze_scale_factor (a tenth) of the table;
# - vacuum: more dead rows than autovacuum_vacuum_threshold (50) plus its scale factor (a
#   fifth) of the table, or more rows inserted since the last vacuum than
#   autovacuum_vacuum_insert_threshold (1,000; -1 turns it off) plus its scale factor (a fifth).
# A table never analyzed has reltuples -1, so it qualifies after its first 50 changes.
STALE_TABLES_AUTOVACUUM_SKIPS = """
    SELECT relname, vacuum_due, analyze_due FROM (
        SELECT s.relname,
               s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float
                   + current_setting('autovacuum_vacuum_scale_factor')::float * GREATEST(c.reltuples, 0)
               OR (current_setting('autovacuum_vacuum_insert_threshold')::float >= 0
                   AND s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float
                       + current_setting('autovacuum_vacuum_insert_scale_factor')::float * GREATEST(c.reltuples, 0))
                   AS vacuum_due,
               s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float
                   + current_setting('autovacuum_analyze_scale_factor')::float * GREATEST(c.reltuples, 0)
                   AS analyze_due
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = current_schema()
          AND (current_setting('autovacuum') = 'off'
               OR 'autovacuum_enabled=false' = ANY(COALESCE(c.reloptions, '{}')))
    ) due
    WHERE vacuum_due OR analyze_due
    ORDER BY relname
"""


def maintain_stale_tables() -> dict[str, str]:
    """Vacuum and analyze PostgreSQL tables where autovacuum would, but will not.

    Without fresh statistics the planner takes a table loaded since it was last analyzed for
    the few rows it once had: on a database with autovacuum off, 10,000 runs created after the
    server started were still planned as 3, and the runs history sorted them all (9.7 ms)
    where, analyzed, it hashes them (5.8 ms). Without a vacuum no page is marked all-visible,
    so every scan checks each row's visibility one by one: the 24-hour history of those runs
    took 10 ms through the API before `VACUUM` and 6 ms after it.

    Returns what was done, by table (`VACUUM`, `VACUUM (ANALYZE)` or `ANALYZE`); nothing on
    SQLite, whose plans do not hang on such statistics. VACUUM cannot run in a transaction:
    call this in autocommit mode, as the services do."""
    if connection.vendor != "postgresql":
        return {}
    done = {}
    with connection.cursor() as cursor:
        cursor.execute(STALE_TABLES_AUTOVACUUM_SKIPS)
        for table, vacuum_due, analyze_due in cursor.fetchall():
            command = ("VACUUM (ANALYZE)" if analyze_due else "VACUUM") if vacuum_due else "ANALYZE"
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
            done[table] = command
    return done


def migrate(verbosity: int = 0) -> None:
    ensure_not_prefect_database()
    call_command("migrate", interactive=False, verbosity=verbosity)


def reset(verbosity: int = 0) -> None:
    """Drop every table and apply the schema again."""
    ensure_not_prefect_database()
    if connection.vendor == "sqlite" and not _is_memory():
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(f"{path}{suffix}")
            if candidate.exists():
                os.remove(candidate)
    else:
        tables = connection.introspection.table_names()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
            else:
                cursor.execute("PRAGMA foreign_keys = OFF")
                for table in tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")
                cursor.execute("PRAGMA foreign_keys = ON")
    call_command("migrate", interactive=False, verbosity=verbosity)


def _is_memory() -> bool:
    name = str(connection.settings_dict["NAME"])
    return name == ":memory:" or "mode=memory" in name


def applied_project_migrations() -> list[tuple[str, str]]:
    """(app, name) of applied migrations of our apps, oldest first."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    rows = recorder.migration_qs.filter(app__in=PROJECT_APPS).order_by("applied", "id")
    return [(row.app, row.name) for row in rows]


def downgrade_target(revision: str) -> list[tuple[str, str | None]]:
    """Turn Prefect's `-r` argument into Django migrate targets (app, migration or None=zero)."""
    applied = applied_project_migrations()
    loader = MigrationLoader(connection)
    if revision in ("base", "zero"):
        return [(app, None) for app in PROJECT_APPS if any(a == app for a, _ in applied)]
    if revision.startswith("-") and revision[1:].isdigit():
        steps = int(revision[1:])
        if steps < 1:
            raise CommandError("-r -N needs N of 1 or more")
        if steps > len(applied):
            raise CommandError(f"cannot step back {steps} migrations: only {len(applied)} are applied")
        targets: dict[str, str | None] = {}
        for app, name in reversed(applied[-steps:]):
            targets[app] = _previous(loader, app, name)
        return list(targets.items())
    app, _, name = revision.rpartition(".")
    candidates = [
        (a, n)
        for (a, n) in loader.disk_migrations
        if a in PROJECT_APPS and (n == name or n.startswith(name)) and (not app or a == app)
    ]
    if not candidates:
        raise CommandError(f"no migration named {revision!r}")
    if len(candidates) > 1:
        options = ", ".join(f"{a}.{n}" for a, n in sorted(candidates))
        raise CommandError(f"{revision!r} is ambiguous: {options}")
    return [candidates[0]]


def _previous(loader: MigrationLoader, app: str, name: str) -> str | None:
    migration = loader.disk_migrations[(app, name)]
    parents = [n for (a, n) in migration.dependencies if a == app]
    return parents[0] if parents else None


def downgrade(revision: str, verbosity: int = 0) -> list[str]:
    ensure_not_prefect_database()
    done = []
    for app, target in downgrade_target(revision):
        call_command("migrate", app, target or "zero", interactive=False, verbosity=verbosity)
        done.append(f"{app} -> {target or 'zero'}")
    return done
