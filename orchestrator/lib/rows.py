"""Reading and writing rows on the hot paths without compiling a query on every call.

The ORM builds and compiles its SQL afresh for each call: profiling a state change (load the
run, check the state's timestamp, write the state, the event and the run's columns) showed
that compilation costing several times what the database itself spends. The few statements
that run on every API call of a running flow use this module instead. Each statement's SQL is
built once per model, shape and connection from the model's own fields, and every value goes
through the field's own conversions (get_db_prep_value on the way in, the backend's and the
field's from_db converters on the way out), so the rows written and the instances read are the
ones the ORM would write and read. Model signals are not sent (none are connected to the models
that use it).

    run = rows.fetch(FlowRun, pk, related="state", for_update=True, max_of="states__timestamp")
    rows.insert(FlowRunState(...))
    rows.update(run)
    rows.insert_with(state, run)  # both at once: one statement on PostgreSQL
    rows.values(FlowRunState, "timestamp", flow_run_id=pk, timestamp__gte=start)

A row read FOR UPDATE (or passed to `remember`) is remembered as it was, and `update` then
writes only the columns that differ from it. A state change alters a handful of a run's 34
columns; naming all of them made SQLite rewrite the run's entry in every one of its 18 indexes
(it updates each index holding a column the statement sets, whatever the values) and made
PostgreSQL receive every JSON document again: 168 us against 60 us for the changed columns in
a SQLite microbenchmark, inside the transaction every other writer waits for. JSON values are
remembered by their orjson encoding, so a document changed in place is seen to have changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import JSONField, Model
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin

_LOOKUPS = {"": "=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<", "in": "IN"}
_LOADED = "_rows_loaded"  # the instance attribute holding what `remember` saw


class _Unknown:
    """A remembered value that equals nothing, so its column is always written."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None


_UNKNOWN = _Unknown()


def _db():
    """This thread's connection itself (the `connection` proxy costs a lookup per use), and
    the statements built for it: its backend quotes, adapts and converts."""
    db = connections[DEFAULT_DB_ALIAS]
    statements = db.__dict__.get("_orchestrator_rows")
    if statements is None:
        statements = db.__dict__["_orchestrator_rows"] = {}
    return db, statements


def built(key: Any, build: Callable[[Any], Any]) -> tuple[Any, Any]:
    """(connection, statement): `build(connection)` made once per key and connection, for
    statements of other modules that this module's helpers do not cover."""
    db, statements = _db()
    statement = statements.get(key)
    if statement is None:
        statement = statements[key] = build(db)
    return db, statement


def _quote(db, name: str) -> str:
    return db.ops.quote_name(name)


def _converters(db, field) -> list:
    # As the compiler does: a foreign key's column reads as its target field (a UUID).
    col = field.get_col(field.model._meta.db_table)
    return [(converter, col) for converter in db.ops.get_db_converters(col) + col.get_db_converters(db)]


def _convert(db, value: Any, converters: list) -> Any:
    for converter, col in converters:
        value = converter(value, col, db)
    return value


def _prep(db, field, value: Any) -> Any:
    return field.get_db_prep_value(value, db, prepared=False)


# --- reading -------------------------------------------------------------------------------


class _Select:
    """SELECT of a model's concrete columns (and optionally one forward foreign key's row, and
    the greatest value of a column among the rows of a reverse relation)."""

    def __init__(
        self,
        db,
        model: type[Model],
        related: str | None,
        for_update: bool,
        where: tuple[str, ...],
        max_of: str | None = None,
    ):
        meta = model._meta
        self.model = model
        self.fields = list(meta.concrete_fields)
        table = _quote(db, meta.db_table)
        columns = [f"{table}.{_quote(db, f.column)}" for f in self.fields]
        self.max_of = None
        if max_of:
            # As Max("states__timestamp") would annotate: a correlated subquery, which the
            # child's index on (parent, column) answers from its last entry.
            relation, column_name = max_of.split("__")
            reverse = meta.get_field(relation)
            child = reverse.related_model
            child_table = _quote(db, child._meta.db_table)
            max_field = child._meta.get_field(column_name)
            columns.append(
                f"(SELECT MAX({child_table}.{_quote(db, max_field.column)}) FROM {child_table}"
                f" WHERE {child_table}.{_quote(db, reverse.field.column)} = {table}.{_quote(db, meta.pk.column)})"
            )
            self.max_of = (f"{max_of}__max", _converters(db, max_field))
        joins = ""
        self.fk = None
        if related:
            self.fk = meta.get_field(related)
            target = self.fk.related_model
            self.related_fields = list(target._meta.concrete_fields)
            alias = _quote(db, "related")
            columns += [f"{alias}.{_quote(db, f.column)}" for f in self.related_fields]
            joins = (
                f" LEFT OUTER JOIN {_quote(db, target._meta.db_table)} {alias}"
                f" ON {alias}.{_quote(db, target._meta.pk.column)} = {table}.{_quote(db, self.fk.column)}"
            )
            self.related_converters = [_converters(db, f) for f in self.related_fields]
        self.converters = [_converters(db, f) for f in self.fields]
        condition, self.where_fields = _where(db, model, where, table)
        self.sql = f"SELECT {', '.join(columns)} FROM {table}{joins} WHERE {condition}"
        if for_update and db.features.has_select_for_update:
            of = f" OF {table}" if db.features.has_select_for_update_of else ""
            self.sql += f" FOR UPDATE{of}"

    def instances(self, db, rows: Iterable[Sequence[Any]]) -> list[Model]:
        found = []
        width = len(self.fields)
        related_from = width + (self.max_of is not None)
        for row in rows:
            values = [_convert(db, v, c) if c else v for v, c in zip(row[:width], self.converters, strict=True)]
            obj = self.model.from_db(db.alias, None, values)
            if self.max_of is not None:
                name, converters = self.max_of
                value = row[width]
                setattr(obj, name, None if value is None else _convert(db, value, converters))
            if self.fk is not None:
                rel_values = row[related_from:]
                rel = None
                if rel_values[0] is not None:
                    rel_values = [
                        _convert(db, v, c) if c else v for v, c in zip(rel_values, self.related_converters, strict=True)
                    ]
                    rel = self.fk.related_model.from_db(db.alias, None, rel_values)
                self.fk.set_cached_value(obj, rel)
            found.append(obj)
        return found


def _where(db, model: type[Model], keys: tuple[str, ...], table: str) -> tuple[str, list]:
    """`a = %s AND b >= %s` for keys like ("a", "b__gte"), and the fields that prepare the
    values; `x__in` takes a list (one placeholder per item, filled in when run)."""
    parts, fields = [], []
    for key in keys:
        name, _, lookup = key.partition("__")
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        operator = _LOOKUPS[lookup]
        column = f"{table}.{_quote(db, field.column)}"
        parts.append(f"{column} IN ({{}})" if operator == "IN" else f"{column} {operator} %s")
        fields.append((field, operator == "IN"))
    return " AND ".join(parts) or "1 = 1", fields


def _bind(db, statement, conditions: dict[str, Any]) -> tuple[str, list]:
    sql, params = statement.sql, []
    for (field, many), value in zip(statement.where_fields, conditions.values(), strict=True):
        if many:
            items = [_prep(db, field, v) for v in value]
            if not items:
                return "", []
            sql = sql.replace("{}", ", ".join(["%s"] * len(items)), 1)
            params.extend(items)
        else:
            params.append(_prep(db, field, value))
    return sql, params


def select(
    model: type[Model],
    *,
    related: str | None = None,
    for_update: bool = False,
    max_of: str | None = None,
    **conditions,
) -> list[Model]:
    """Instances of `model` matching every condition (`field`, `field__gte`, `field__in`, ...),
    with the `related` foreign key's row cached on each, as select_related would, and with
    `max_of` ("relation__field", a reverse relation's column) as an attribute named as
    `annotate(Max("relation__field"))` names it: "relation__field__max"."""
    db, statements = _db()
    key = ("select", model, related, for_update, max_of, tuple(conditions))
    statement = statements.get(key)
    if statement is None:
        statement = statements[key] = _Select(db, model, related, for_update, tuple(conditions), max_of)
    sql, params = _bind(db, statement, conditions)
    if not sql:
        return []
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = statement.instances(db, cursor.fetchall())
    if for_update:  # read to be written: `update` will write only what changes
        for obj in found:
            remember(obj)
    return found


@functools.cache
def _updated_fields(model: type[Model]) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def _as_loaded(field, value: Any) -> Any:
    """`value` in a form that a later change to the instance (even in place) cannot alter."""
    if isinstance(field, JSONField):
        try:
            return orjson.dumps(value)
        except (orjson.JSONEncodeError, TypeError):
            return _UNKNOWN
    return value


def remember(obj: Model) -> None:
    """Take note of `obj`'s columns as they are in its row, so that `update` writes only what
    changes from here."""
    obj.__dict__[_LOADED] = [_as_loaded(f, obj.__dict__.get(f.attname, _UNKNOWN)) for f in _updated_fields(type(obj))]


def fetch(
    model: type[Model], pk: Any, *, related: str | None = None, for_update: bool = False, max_of: str | None = None
) -> Model:
    """One instance by primary key; raises model.DoesNotExist like QuerySet.get."""
    found = select(model, related=related, for_update=for_update, max_of=max_of, pk=pk)
    if not found:
        raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
    return found[0]


class _Values:
    def __init__(self, db, model: type[Model], names: tuple[str, ...], where: tuple[str, ...]):
        table = _quote(db, model._meta.db_table)
        self.fields = [model._meta.pk if n == "pk" else model._meta.get_field(n) for n in names]
        self.converters = [_converters(db, f) for f in self.fields]
        condition, self.where_fields = _where(db, model, where, table)
        columns = ", ".join(f"{table}.{_quote(db, f.column)}" for f in self.fields)
        self.sql = f"SELECT {columns} FROM {table} WHERE {condition}"


def values(model: type[Model], *names: str, **conditions) -> list:
    """The named columns of the matching rows: a list of values for one name, else of tuples."""
    db, statements = _db()
    key = ("values", model, names, tuple(conditions))
    statement = statements.get(key)
    if statement is None:
        statement = statements[key] = _Values(db, model, names, tuple(conditions))
    sql, params = _bind(db, statement, conditions)
    if not sql:
        return []
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = statement.converters
    converted = [tuple(_convert(db, v, c) if c else v for v, c in zip(row, converters, strict=True)) for row in rows]
    return [row[0] for row in converted] if len(names) == 1 else converted


# --- writing -------------------------------------------------------------------------------


def _stored_fields(model: type[Model]) -> list:
    """Concrete fields a write names: all but an auto-incremented primary key."""
    return [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, AutoFieldMixin))]


def insert(*objs: Model, ignore_conflicts: bool = False, batch_size: int = 500) -> None:
    """INSERT the instances (all of one model), `batch_size` rows per statement. Primary keys
    must be set already unless they are auto-incremented (those are not read back)."""
    if len(objs) > batch_size:
        for start in range(0, len(objs), batch_size):
            insert(*objs[start : start + batch_size], ignore_conflicts=ignore_conflicts, batch_size=batch_size)
        return
    if not objs:
        return
    db, statements = _db()
    sql, params = _insert(db, statements, objs, ignore_conflicts)
    with db.cursor() as cursor:
        cursor.execute(sql, params)


def _insert(db, statements: dict, objs: Sequence[Model], ignore_conflicts: bool = False) -> tuple[str, list]:
    model = type(objs[0])
    key = ("insert", model, ignore_conflicts)
    statement = statements.get(key)
    if statement is None:
        fields = _stored_fields(model)
        on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        columns = ", ".join(_quote(db, f.column) for f in fields)
        suffix = db.ops.on_conflict_suffix_sql(fields, on_conflict, None, None) if on_conflict else ""
        statement = statements[key] = (
            fields,
            f"{db.ops.insert_statement(on_conflict=on_conflict)} {_quote(db, model._meta.db_table)} ({columns}) VALUES ",
            "(" + ", ".join(["%s"] * len(fields)) + ")",
            f" {suffix}" if suffix else "",
        )
    fields, prefix, row, suffix = statement
    params = []
    for obj in objs:
        params.extend(f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields)
        obj._state.adding = False
        obj._state.db = db.alias
    return prefix + ", ".join([row] * len(objs)) + suffix, params


def update(obj: Model) -> int:
    """UPDATE `obj`'s row: the columns that differ from what `remember` saw, or every concrete
    column (as Model.save does) of an instance not remembered. Returns the rows changed."""
    db, statements = _db()
    sql, params, now = _update(db, statements, obj)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        count = cursor.rowcount
    if now is not None:
        obj.__dict__[_LOADED] = now
    return count


def _update(db, statements: dict, obj: Model) -> tuple[str, list, list | None]:
    """The UPDATE's SQL and parameters, and the columns to remember once it has run."""
    model = type(obj)
    fields = _updated_fields(model)
    values = [f.pre_save(obj, False) for f in fields]
    loaded = obj.__dict__.get(_LOADED)
    now = None
    if loaded is None:
        changed = tuple(range(len(fields)))
    else:
        now = [_as_loaded(f, v) for f, v in zip(fields, values, strict=True)]
        changed = tuple(i for i, (was, is_) in enumerate(zip(loaded, now, strict=True)) if is_ != was)
        if not changed:
            changed = tuple(range(len(fields)))  # nothing to change: still one UPDATE, as save() does
    key = ("update", model, changed)
    sql = statements.get(key)
    if sql is None:
        assignments = ", ".join(f"{_quote(db, fields[i].column)} = %s" for i in changed)
        pk = model._meta.pk
        sql = statements[key] = (
            f"UPDATE {_quote(db, model._meta.db_table)} SET {assignments} WHERE {_quote(db, pk.column)} = %s"
        )
    params = [fields[i].get_db_prep_save(values[i], db) for i in changed]
    params.append(_prep(db, model._meta.pk, obj.pk))
    return sql, params, now


def insert_statement(row: Model) -> tuple[str, list]:
    """The INSERT of `row` as `insert` would run it, with its parameters, for `insert_with`:
    made ahead (outside a transaction, say), it is not made again there."""
    db, statements = _db()
    return _insert(db, statements, (row,))


def insert_with(row: Model, obj: Model, *, new: bool = False, row_insert: tuple[str, list] | None = None) -> None:
    """INSERT `row`, then INSERT (`new`) or UPDATE `obj` as `insert` and `update` would: a
    state change's state row and its run's columns. On PostgreSQL the two go in one statement
    (the first as a WITH clause of the second), one round trip to the database instead of
    two; SQLite takes no INSERT in a WITH clause, and runs them one after the other.
    `row_insert` is `insert_statement(row)`, if made already."""
    db, statements = _db()
    first, first_params = row_insert or _insert(db, statements, (row,))
    now = None
    if new:
        second, second_params = _insert(db, statements, (obj,))
    else:
        second, second_params, now = _update(db, statements, obj)
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(f"WITH written AS ({first}) {second}", first_params + second_params)
        else:
            cursor.execute(first, first_params)
            cursor.execute(second, second_params)
    if now is not None:
        obj.__dict__[_LOADED] = now
