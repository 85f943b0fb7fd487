"""Counts of flow runs by state type that cost the same at a thousand runs and at millions.

Database triggers on runs_flowrun write a row of `runs_flowruncount` for every change in the
number of runs of a state type (+1 for the type a run enters or is created in, -1 for the one
it leaves or is deleted from), whichever code makes the change: the engine, the scheduler's bulk
inserts, deletions, a bulk load. The run_counts service folds those rows into one per type now
and then; a count adds up what is there. After every migration and flush the triggers are put
in place again (a SQLite table rebuilt by a later migration loses its triggers) and the counts
are rebuilt from the runs themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

TABLE = "runs_flowruncount"
TRIGGERS = ("runs_flowrun_count_insert", "runs_flowrun_count_update", "runs_flowrun_count_delete")


def _postgres_statements() -> list[str]:
    # Inserts and deletes come in bulk (the scheduler, deletions, a load): one statement-level
    # trigger each, counting its transition table. A state change updates one run, and most
    # updates leave the type alone: a row trigger whose WHEN clause PostgreSQL checks itself.
    function = """CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {statements}
        RETURN NULL;
    END $$"""
    add = f"INSERT INTO {TABLE} (state_type, delta)"
    triggers = {
        "runs_flowrun_count_insert": (
            f"{add} SELECT state_type, count(*) FROM new_rows GROUP BY state_type;",
            "AFTER INSERT ON runs_flowrun REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
        ),
        "runs_flowrun_count_delete": (
            f"{add} SELECT state_type, -count(*) FROM old_rows GROUP BY state_type;",
            "AFTER DELETE ON runs_flowrun REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
        ),
        "runs_flowrun_count_update": (
            f"{add} VALUES (OLD.state_type, -1), (NEW.state_type, 1);",
            "AFTER UPDATE OF state_type ON runs_flowrun FOR EACH ROW "
            "WHEN (OLD.state_type IS DISTINCT FROM NEW.state_type)",
        ),
    }
    statements = []
    for name, (body, when) in triggers.items():
        statements.append(function.format(name=name, statements=body))
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON runs_flowrun")
        statements.append(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {name}()")
    return statements


def _sqlite_statements() -> list[str]:
    add = f"INSERT INTO {TABLE} (state_type, delta) VALUES"
    triggers = {
        "runs_flowrun_count_insert": f"AFTER INSERT ON runs_flowrun BEGIN {add} (NEW.state_type, 1); END",
        "runs_flowrun_count_update": (
            "AFTER UPDATE OF state_type ON runs_flowrun WHEN OLD.state_type IS NOT NEW.state_type "
            f"BEGIN {add} (OLD.state_type, -1), (NEW.state_type, 1); END"
        ),
        "runs_flowrun_count_delete": f"AFTER DELETE ON runs_flowrun BEGIN {add} (OLD.state_type, -1); END",
    }
    statements = []
    for name, definition in triggers.items():
        statements += [f"DROP TRIGGER IF EXISTS {name}", f"CREATE TRIGGER {name} {definition}"]
    return statements


def installed_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'runs_flowrun'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'runs_flowrun'")
        return {name for (name,) in cursor.fetchall()} & set(TRIGGERS)


def install() -> None:
    """Put the triggers in place and count the runs afresh, with writes to the runs held off
    meanwhile so that no change slips between. Runs after every migration and every flush (a
    flush empties the tables one by one, and emptying the runs fires triggers)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE runs_flowrun IN SHARE ROW EXCLUSIVE MODE")
        # Replaced every time, so a changed definition reaches existing databases.
        for statement in _postgres_statements() if connection.vendor == "postgresql" else _sqlite_statements():
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} (state_type, delta) SELECT state_type, count(*) FROM runs_flowrun GROUP BY state_type"
        )


def flow_runs_by_type(state_types: Iterable[str] | None = None) -> int:
    """How many flow runs are in these state types (all runs for None)."""
    with connection.cursor() as cursor:
        if state_types is None:
            cursor.execute(f"SELECT COALESCE(SUM(delta), 0) FROM {TABLE}")
        else:
            types = list(state_types)
            if not types:
                return 0
            marks = ", ".join(["%s"] * len(types))
            cursor.execute(f"SELECT COALESCE(SUM(delta), 0) FROM {TABLE} WHERE state_type IN ({marks})", types)
        return int(cursor.fetchone()[0])


# Rows removed by one fold past which PostgreSQL's table is vacuumed at once: a count reads
# every page of it, dead rows' pages included, until autovacuum comes round (up to a minute,
# after a burst that wrote tens of thousands of rows).
VACUUM_AFTER = 1_000


# Rows the table may hold before the run_counts service folds them: a count adds up this many
# in well under a millisecond, and leaving them costs the server no write every second.
FOLD_PAST = 100


def worth_folding() -> bool:
    """Whether the table holds more than FOLD_PAST rows (read without counting them all)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TABLE} LIMIT 1 OFFSET %s", [FOLD_PAST])
        return cursor.fetchone() is not None


def fold() -> int:
    """Replace the rows of each state type by one with their sum; returns the rows removed."""
    removed = _fold()
    if removed >= VACUUM_AFTER and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {TABLE}")
    return removed


def _fold() -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: rows other transactions add meanwhile are neither deleted nor summed,
            # and two processes folding at once never sum a row twice.
            cursor.execute(
                f"""WITH moved AS (DELETE FROM {TABLE} RETURNING state_type, delta),
                    summed AS (INSERT INTO {TABLE} (state_type, delta)
                               SELECT state_type, SUM(delta) FROM moved GROUP BY state_type
                               HAVING SUM(delta) <> 0 RETURNING 1)
                    SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM summed)"""
            )
        else:
            # SQLite has one writer at a time: nothing else changes the table inside this transaction.
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS folded (state_type TEXT, delta INTEGER)")
            cursor.execute("DELETE FROM folded")
            cursor.execute(f"INSERT INTO folded SELECT state_type, SUM(delta) FROM {TABLE} GROUP BY state_type")
            cursor.execute(f"DELETE FROM {TABLE}")
            removed = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {TABLE} (state_type, delta) SELECT state_type, delta FROM folded WHERE delta <> 0"
            )
            return removed - cursor.rowcount
        return int(cursor.fetchone()[0])


# --- answering a count from them ---------------------------------------------------------------

_FILTER_KEYS = ("flows", "flow_runs", "task_runs", "deployments", "work_pools", "work_pool_queues")


def _meaningful(value):
    """A filter without its nulls and its default `operator: and_` keys."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if key == "operator" and item == "and_":
                continue
            item = _meaningful(item)
            if item is not None and item != {}:
                kept[key] = item
        return kept
    return value


class NotByTypeOnly(Exception):
    """The count's filter asks for more than state types: it is counted from the runs."""


def state_types_asked(body: dict) -> list[str] | None:
    """The state types a `/flow_runs/count` body filters on, when that is all it filters on
    (None: every run); raises NotByTypeOnly otherwise. The body has passed the full filter's
    checks already."""
    from .choices import StateType

    if not isinstance(body, dict) or set(body) - set(_FILTER_KEYS):
        raise NotByTypeOnly
    asked = _meaningful({key: body.get(key) for key in _FILTER_KEYS})
    if not asked:
        return None
    if set(asked) != {"flow_runs"} or set(asked["flow_runs"]) != {"state"}:
        raise NotByTypeOnly
    state = asked["flow_runs"]["state"]
    if set(state) != {"type"} or set(state["type"]) != {"any_"}:
        raise NotByTypeOnly
    types = state["type"]["any_"]
    if not isinstance(types, list) or not all(isinstance(t, str) and t in StateType.values for t in types):
        raise NotByTypeOnly
    return types
