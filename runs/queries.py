"""SQL expressions for run timing that both databases compute: seconds between two times,
a run's estimated run time and lateness, and time buckets for histories; and the `ilike`
lookup the runs lists search names with."""

from __future__ import annotations

import datetime as dt

from django.db.models import CharField, F, FloatField, Func, Lookup, Value

from .choices import TERMINAL, StateType


class SecondsBetween(Func):
    """`later - earlier` in seconds, as a float."""

    output_field = FloatField()

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra):
        later, later_params = compiler.compile(self.source_expressions[0])
        earlier, earlier_params = compiler.compile(self.source_expressions[1])
        return self.sql(connection, later, earlier), [*later_params, *earlier_params]

    @staticmethod
    def sql(connection, later: str, earlier: str) -> str:
        if connection.vendor == "sqlite":
            return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
        # date_part is double precision arithmetic; EXTRACT computes a numeric, which took
        # the 24-hour history of 10,000 runs about twice as long.
        return f"date_part('epoch', {later} - {earlier})"


class BucketIndex(Func):
    """Which interval of `width` seconds after `start` a time falls in (0, 1, 2, ...)."""

    def __init__(self, expression, start: dt.datetime, width: float, **extra):
        from django.db.models import IntegerField

        super().__init__(
            SecondsBetween(expression, Value(start)), Value(float(width)), output_field=IntegerField(), **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        seconds, params = compiler.compile(self.source_expressions[0])
        width, width_params = compiler.compile(self.source_expressions[1])
        return f"CAST(({seconds}) / {width} AS INTEGER)", [*params, *width_params]

    def as_postgresql(self, compiler, connection, **extra):
        seconds, params = compiler.compile(self.source_expressions[0])
        width, width_params = compiler.compile(self.source_expressions[1])
        return f"FLOOR(({seconds}) / {width})::integer", [*params, *width_params]


class RunTiming(Func):
    """A figure of a run's timing, written out as one SQL expression over the run's columns.

    The histories compute these for every request. Built from Case, When and Q objects, they
    cost more Python to resolve and compile than SQLite takes to aggregate them over the
    10,000 runs of a 24-hour history; written out, they cost a few column references."""

    output_field = FloatField()
    columns: tuple[str, ...] = ()

    def __init__(self, now: dt.datetime):
        super().__init__(*(F(column) for column in self.columns), Value(now))

    def as_sql(self, compiler, connection, **extra):
        compiled = dict(zip([*self.columns, "now"], map(compiler.compile, self.source_expressions), strict=True))
        params: list = []

        def value(name: str) -> str:
            # Called in the order the SQL names them (an f-string is evaluated left to right),
            # so the parameters line up with their placeholders.
            sql, value_params = compiled[name]
            params.extend(value_params)
            return sql

        def seconds(later: str, earlier: str) -> str:
            return SecondsBetween.sql(connection, value(later), value(earlier))

        greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
        return self.render(value, seconds, greatest), params

    def render(self, value, seconds, greatest: str) -> str:
        raise NotImplementedError


class EstimatedRunTime(RunTiming):
    """Time spent running, including the current stretch of a run that is running now."""

    columns = ("total_run_time", "state_type", "state_timestamp")

    def render(self, value, seconds, greatest):
        return (
            f"({value('total_run_time')} + CASE WHEN {value('state_type')} = '{StateType.RUNNING.value}' "
            f"AND {value('state_timestamp')} IS NOT NULL "
            f"THEN {greatest}({seconds('now', 'state_timestamp')}, 0.0) ELSE 0.0 END)"
        )


class EstimatedLateness(RunTiming):
    """How late a run started, or how late it is now if it has neither started nor ended."""

    columns = ("start_time", "expected_start_time", "state_type")
    ENDED = ", ".join(f"'{state_type.value}'" for state_type in sorted(TERMINAL))

    def render(self, value, seconds, greatest):
        return (
            f"CASE WHEN {value('start_time')} > {value('expected_start_time')} "
            f"THEN {seconds('start_time', 'expected_start_time')} "
            f"WHEN {value('start_time')} IS NULL AND {value('expected_start_time')} < {value('now')} "
            f"AND ({value('state_type')} IS NULL OR {value('state_type')} NOT IN ({self.ENDED})) "
            f"THEN {seconds('now', 'expected_start_time')} ELSE 0.0 END"
        )


@CharField.register_lookup
class ILike(Lookup):
    """`name__ilike="otter"`: the text contains "otter" in any case (`%` and `_` match
    themselves). Django's icontains is `UPPER(name) LIKE` on PostgreSQL, which no index on the
    column answers and whose selectivity the planner guesses blind; `name ILIKE` is answered by
    the trigram index of migration runs 0003 and estimated from the column's statistics.
    SQLite's LIKE ignores ASCII case, as icontains does there."""

    lookup_name = "ilike"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [f"%{connection.ops.prep_for_like_query(value)}%"]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs}::text ILIKE {rhs}", [*lhs_params, *rhs_params]
