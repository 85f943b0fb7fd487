"""Prefect's filter JSON turned into Django `Q` objects: the one translator every resource uses.

A Prefect filter is a tree of objects. Leaves are operators (`any_`, `not_any_`, `like_`,
`before_`, `all_`, `is_null_`, ...) applied to one column; inner nodes group criteria and may
carry an `operator` of `and_` or `or_`. Each resource declares its tree once with the
builders below (see `runs/filters.py`); this module validates the JSON against it, reports
bad input with its location (422), and builds the `Q`.

    FLOW_FILTER = Model({
        "id": Model({"any_": in_("id", UUID), "not_any_": not_in("id", UUID)}),
        "name": Model({"any_": in_("name", STR), "like_": icontains("name")}),
    })
    q = FLOW_FILTER.to_q(body.get("flows"), loc=("body", "flows"))
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db.models import JSONField, Lookup, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .errors import BodyInvalid

Loc = tuple


class FilterError(Exception):
    def __init__(self, loc: Loc, msg: str, kind: str = "value_error"):
        super().__init__(msg)
        self.loc = loc
        self.msg = msg
        self.kind = kind

    def as_error(self) -> dict:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.kind}


# -- value parsers ------------------------------------------------------------


def UUID(value: Any, loc: Loc) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise FilterError(loc, "Input should be a valid UUID", "uuid_parsing") from None


def STR(value: Any, loc: Loc) -> str:
    if not isinstance(value, str):
        raise FilterError(loc, "Input should be a valid string", "string_type")
    return value


def INT(value: Any, loc: Loc) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise FilterError(loc, "Input should be a valid integer", "int_type")
    if abs(value) >= 2**63:  # the largest integer SQL compares with
        raise FilterError(loc, "Input should be a 64-bit integer", "int_parsing_size")
    return int(value)


def NUMBER(value: Any, loc: Loc) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FilterError(loc, "Input should be a valid number", "float_type")
    return float(value)


def BOOL(value: Any, loc: Loc) -> bool:
    if not isinstance(value, bool):
        raise FilterError(loc, "Input should be a valid boolean", "bool_type")
    return value


def DATETIME(value: Any, loc: Loc) -> dt.datetime:
    return parse_time(value, loc)


def parse_time(value: Any, loc: Loc = ()) -> dt.datetime:
    """ISO 8601 with `T` or a space (the client sends both), naive times read as UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            try:
                parsed = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise FilterError(loc, "Input should be a valid datetime", "datetime_parsing") from None
    else:
        raise FilterError(loc, "Input should be a valid datetime", "datetime_type")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        # In UTC now, so a time at the edge of the calendar fails here and not in the database.
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise FilterError(loc, "Input should be a valid datetime, dates out of range", "datetime_parsing") from None


def CHOICE(*choices: str) -> Callable[[Any, Loc], str]:
    allowed = set(choices)

    def parse(value: Any, loc: Loc) -> str:
        if value not in allowed:
            options = ", ".join(repr(c) for c in choices)
            raise FilterError(loc, f"Input should be {options}", "enum")
        return value

    return parse


def list_of(parse: Callable[[Any, Loc], Any]) -> Callable[[Any, Loc], list]:
    def parse_list(value: Any, loc: Loc) -> list:
        if not isinstance(value, (list, tuple)):
            raise FilterError(loc, "Input should be a valid list", "list_type")
        return [parse(item, (*loc, i)) for i, item in enumerate(value)]

    return parse_list


# -- JSON list lookups (tags, capabilities) -------------------------------------


@JSONField.register_lookup
class ContainsAll(Lookup):
    """A JSON list column holds every element of the given list."""

    lookup_name = "contains_all"
    prepare_rhs = False

    def get_prep_lookup(self):
        return json.dumps(list(self.rhs))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return (
            f"NOT EXISTS (SELECT 1 FROM json_each(%s) AS want WHERE want.value NOT IN "
            f"(SELECT have.value FROM json_each({lhs}) AS have))",
            [self.rhs, *lhs_params],
        )

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, self.rhs]


@JSONField.register_lookup
class ContainsAny(Lookup):
    """A JSON list column shares at least one element with the given list."""

    lookup_name = "contains_any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [str(v) for v in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return (
            f"EXISTS (SELECT 1 FROM json_each({lhs}) AS have WHERE have.value IN (SELECT value FROM json_each(%s)))",
            [*lhs_params, json.dumps(self.rhs)],
        )

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} ?| %s::text[]", [*lhs_params, self.rhs]


@JSONField.register_lookup
class IsEmptyList(Lookup):
    """`tags__is_empty_list=True` matches `[]` (and NULL); False matches non-empty lists."""

    lookup_name = "is_empty_list"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if self.rhs:
            return f"COALESCE(json_array_length({lhs}), 0) = 0", list(lhs_params)
        return f"COALESCE(json_array_length({lhs}), 0) > 0", list(lhs_params)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if self.rhs:
            return f"({lhs} IS NULL OR {lhs} = '[]'::jsonb)", [*lhs_params, *lhs_params]
        return f"({lhs} IS NOT NULL AND {lhs} <> '[]'::jsonb)", [*lhs_params, *lhs_params]


# -- operator builders ---------------------------------------------------------

Op = Callable[[Any, Loc], Q]


def in_(field: str, parse=UUID) -> Op:
    parse_list = list_of(parse)
    return lambda value, loc: Q(**{f"{field}__in": parse_list(value, loc)})


def not_in(field: str, parse=UUID) -> Op:
    parse_list = list_of(parse)

    def op(value, loc):
        values = parse_list(value, loc)
        return ~Q(**{f"{field}__in": values}) if values else Q()

    return op


def eq(field: str, parse=STR) -> Op:
    return lambda value, loc: Q(**{field: parse(value, loc)})


def ne(field: str, parse=STR) -> Op:
    return lambda value, loc: ~Q(**{field: parse(value, loc)})


def icontains(field: str) -> Op:
    return lambda value, loc: Q(**{f"{field}__icontains": STR(value, loc)}) if value else Q()


def startswith(field: str) -> Op:
    return lambda value, loc: Q(**{f"{field}__startswith": STR(value, loc)})


def compare(field: str, lookup: str, parse=DATETIME) -> Op:
    return lambda value, loc: Q(**{f"{field}__{lookup}": parse(value, loc)})


def before(field: str) -> Op:
    return compare(field, "lte")


def after(field: str) -> Op:
    return compare(field, "gte")


def is_null(field: str) -> Op:
    return lambda value, loc: Q(**{f"{field}__isnull": BOOL(value, loc)})


def exists(field: str) -> Op:
    return lambda value, loc: Q(**{f"{field}__isnull": not BOOL(value, loc)})


def tags_all(field: str) -> Op:
    parse = list_of(STR)

    def op(value, loc):
        tags = parse(value, loc)
        return Q(**{f"{field}__contains_all": tags}) if tags else Q()

    return op


def tags_any(field: str) -> Op:
    parse = list_of(STR)
    return lambda value, loc: Q(**{f"{field}__contains_any": parse(value, loc)})


def tags_empty(field: str) -> Op:
    return lambda value, loc: Q(**{f"{field}__is_empty_list": BOOL(value, loc)})


def custom(build: Callable[[Any], Q], parse: Callable[[Any, Loc], Any]) -> Op:
    """An operator whose condition is not a plain lookup (a subquery, an expression)."""
    return lambda value, loc: build(parse(value, loc))


# -- models --------------------------------------------------------------------


class Model:
    """A filter object: named criteria, combined with `and_` unless it says `or_`."""

    def __init__(self, criteria: Mapping[str, Op | Model], operator: bool = True):
        self.criteria = dict(criteria)
        self.operator = operator

    def __call__(self, value: Any, loc: Loc) -> Q:
        return self.to_q(value, loc) or Q()

    def to_q(self, value: Any, loc: Loc = ("body",)) -> Q | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise FilterError(loc, "Input should be a valid dictionary or object", "model_type")
        combine_or = False
        if self.operator and value.get("operator") is not None:
            op = value["operator"]
            if op not in ("and_", "or_"):
                raise FilterError((*loc, "operator"), "Input should be 'and_' or 'or_'", "enum")
            combine_or = op == "or_"
        parts: list[Q] = []
        for key, item in value.items():
            if key == "operator" and self.operator:
                continue
            handler = self.criteria.get(key)
            if handler is None:
                raise FilterError((*loc, key), "Extra inputs are not permitted", "extra_forbidden")
            if item is None:
                continue
            q = handler(item, (*loc, key))
            if q is not None and q != Q():
                parts.append(q)
        if not parts:
            return None
        result = parts[0]
        for q in parts[1:]:
            result = (result | q) if combine_or else (result & q)
        return result


def parse_filters(body: Mapping[str, Any], models: Mapping[str, tuple[Model, Callable[[Q], Q]]]) -> Q:
    """Build one Q from the filter keys of a request body.

    `models` maps a body key (`flows`, `flow_runs`, ...) to its filter model and a function
    that carries the condition over to the queried resource (a subquery for related ones).
    """
    conditions = Q()
    errors = []
    for key, (model, relate) in models.items():
        try:
            q = model.to_q(body.get(key), ("body", key))
        except FilterError as exc:
            errors.append(exc.as_error())
            continue
        if q is not None:
            conditions &= relate(q)
    if errors:
        raise BodyInvalid(errors, body)
    return conditions


def same(q: Q) -> Q:
    return q


def check_keys(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse keys the endpoint does not know, as Prefect's strict models do."""
    allowed = set(allowed)
    extra = [k for k in body if k not in allowed]
    if extra:
        raise BodyInvalid(
            [{"loc": ["body", k], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} for k in extra],
            body,
        )
