"""SQL expressions for run timing that both databases compute: seconds between two times,
a run's estimated run time and lateness, and time buckets for histories; and the `ilike`
lookup the runs lists search names with."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, F, FloatField, Func, Lookup, Q, Value, When
from django.db.models.functions import Greatest

from .choices import TERMINAL, StateType


class SecondsBetween(Func):
    """`later - earlier` in seconds, as a float."""

    output_field = FloatField()

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        later, later_params = compiler.compile(self.source_expressions[0])
        earlier, earlier_params = compiler.compile(self.source_expressions[1])
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)", [*later_params, *earlier_params]

    def as_postgresql(self, compiler, connection, **extra):
        later, later_params = compiler.compile(self.source_expressions[0])
        earlier, earlier_params = compiler.compile(self.source_expressions[1])
        # date_part is double precision arithmetic; EXTRACT computes a numeric, which took
        # the 24-hour history of 10,000 runs about twice as long.
        return f"date_part('epoch', {later} - {earlier})", [*later_params, *earlier_params]


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


def estimated_run_time(now: dt.datetime):
    """Time spent running, including the current stretch of a run that is running now."""
    return F("total_run_time") + Case(
        When(
            state_type=StateType.RUNNING,
            state_timestamp__isnull=False,
            then=Greatest(SecondsBetween(Value(now), F("state_timestamp")), Value(0.0)),
        ),
        default=Value(0.0),
        output_field=FloatField(),
    )


def estimated_lateness(now: dt.datetime):
    """How late a run started, or how late it is now if it has not started."""
    return Case(
        When(
            Q(start_time__isnull=False, expected_start_time__isnull=False) & Q(start_time__gt=F("expected_start_time")),
            then=SecondsBetween(F("start_time"), F("expected_start_time")),
        ),
        When(
            Q(start_time__isnull=True, expected_start_time__lt=now) & ~Q(state_type__in=list(TERMINAL)),
            then=SecondsBetween(Value(now), F("expected_start_time")),
        ),
        default=Value(0.0),
        output_field=FloatField(),
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
