"""Every field of every in-scope request body, given a value of the wrong type, is refused
with a Prefect-shaped 422, never accepted and never a 500.

Starting from the realistic call of `requests.py`, one field at a time (down through nested
objects and filters, as the request schema describes them) is replaced by values Prefect's
models refuse: a number for a string, words for a number, a string for a list or an object,
an unknown enum member, a malformed UUID or time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from . import openapi
from .requests import call_for, send

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

DOCUMENT = openapi.load()
SCHEMAS = DOCUMENT["components"]["schemas"]
MAX_DEPTH = 4
# Filters of resources not in scope yet: their keys are accepted and ignored until their
# app exists. Drop a name here when its resource joins IN_SCOPE.
PENDING_FILTERS: tuple[str, ...] = ()

OPERATIONS = [op for op in openapi.operations() if op.request_schema is not None]


def resolve(schema: dict) -> dict:
    """Follow $ref and take the non-null branch of `X | None`."""
    while True:
        if "$ref" in schema:
            schema = SCHEMAS[schema["$ref"].split("/")[-1]]
            continue
        options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
        if len(options) == 1:
            schema = options[0]
            continue
        return schema


def ref_name(schema: dict) -> str | None:
    for candidate in (schema, *schema.get("anyOf", [])):
        if "$ref" in candidate:
            return candidate["$ref"].split("/")[-1]
    return None


def wrong_values(schema: dict) -> list[Any]:
    """Values Prefect's (pydantic, lax mode) models refuse for this schema."""
    schema = resolve(schema)
    if "anyOf" in schema:  # a union of several real types (e.g. retry_delay): leave it
        return []
    if "enum" in schema:
        return ["EXPLODED"]
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "uuid":
            return ["not-a-uuid", 123]
        if fmt == "date-time":
            return ["not-a-time", True]
        return [12345, {"a": 1}]
    if kind == "integer":
        return ["not-a-number", 1.5]
    if kind == "number":
        return ["not-a-number"]
    if kind == "boolean":
        return ["maybe"]
    if kind == "array":
        wrong = ["not-a-list"]
        items = resolve(schema.get("items", {}))
        if items.get("type") in ("string", "integer") or "enum" in items:
            wrong += [[value] for value in wrong_values(items)[:1]]
        return wrong
    if kind == "object" or "properties" in schema:
        return ["not-an-object", [1]]
    return []


def fields(schema: dict, path: tuple = (), depth: int = 0) -> Iterator[tuple[tuple, dict]]:
    """(path, schema) of every property, depth first."""
    name = ref_name(schema)
    if name and name.startswith(PENDING_FILTERS):
        return
    resolved = resolve(schema)
    if resolved.get("type") == "array" and not path:  # a list body: its first item
        yield from fields(resolved.get("items", {}), (0,), depth)
        return
    for key, child in resolved.get("properties", {}).items():
        child_name = ref_name(child)
        if child_name and child_name.startswith(PENDING_FILTERS):
            continue
        yield (*path, key), child
        if depth < MAX_DEPTH:
            yield from fields(child, (*path, key), depth + 1)


def put(body: Any, path: tuple, value: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        if isinstance(target, list):
            target = target[key]
            continue
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return body


def located(problem: dict, path: tuple) -> bool:
    loc = [str(p) for p in problem.get("loc", [])]
    want = ["body", *(str(p) for p in path)]
    return loc[: len(want)] == want or want[: len(loc)] == loc


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.id)
def test_a_value_of_the_wrong_type_is_refused_by_name(operation, api, world):
    path, call = call_for(operation, world, api)
    base = call.body if call.body is not None else {}
    failures = []
    for field_path, schema in fields(operation.request_schema):
        for wrong in wrong_values(schema):
            body = put(base, field_path, wrong)
            response = send(api, operation, path, type(call)(params=call.params, query=call.query, body=body))
            where = ".".join(str(p) for p in field_path)
            status, answer = response.status_code, response.json_body
            if status != 422:
                failures.append(f"{operation.id} {where}={wrong!r}: {status} {response.raw_body[:200]!r}")
                continue
            problems = answer.get("exception_detail") if isinstance(answer, dict) else None
            if not problems or not isinstance(answer.get("detail"), str):
                failures.append(f"{operation.id} {where}={wrong!r}: not Prefect's 422 shape: {answer}")
            elif not any(located(problem, field_path) for problem in problems):
                failures.append(f"{operation.id} {where}={wrong!r}: 422 locates {[p['loc'] for p in problems]}")
    assert not failures, f"{len(failures)} wrong values were not refused by name:\n" + "\n".join(failures[:40])


def extreme_values(schema: dict) -> list[Any]:
    """Values of the right type at the edge of what a database holds: they may be taken or
    refused, but never crash the server."""
    schema = resolve(schema)
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        return [10**20, -(10**20)]
    if kind == "number":
        return [1e300, -1e300]
    if kind == "string" and fmt == "date-time":
        return ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
    if kind == "string" and "enum" not in schema and fmt != "uuid":
        return ["x" * 3000]
    return []


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.id)
def test_a_value_at_the_edge_of_its_type_is_never_a_500(operation, api, world):
    path, call = call_for(operation, world, api)
    base = call.body if call.body is not None else {}
    failures = []
    for field_path, schema in fields(operation.request_schema):
        for extreme in extreme_values(schema):
            body = put(base, field_path, extreme)
            response = send(api, operation, path, type(call)(params=call.params, query=call.query, body=body))
            where = ".".join(str(p) for p in field_path)
            shown = repr(extreme)[:30]
            if response.status_code >= 500:
                failures.append(f"{operation.id} {where}={shown}: {response.status_code}")
            elif response.status_code >= 400 and not isinstance((response.json_body or {}).get("detail"), str):
                failures.append(f"{operation.id} {where}={shown}: not Prefect's shape: {response.raw_body[:200]!r}")
    assert not failures, f"{len(failures)} edge values broke the server:\n" + "\n".join(failures[:40])
