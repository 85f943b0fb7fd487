"""Unknown keys in a request body: refused where Prefect's model forbids them, ignored where
Prefect's endpoint reads several named fields from the body.

Prefect's action models (`FlowRunCreate`, `DeploymentUpdate`, ...) forbid extra keys, so a
typo is a 422 that names it. Endpoints that take several body fields (the filters, heartbeat,
increment-with-lease, set_state, ...) pick out the fields they know and ignore the rest, and
newer clients rely on that: a worker with integrations installed sends `metadata` with its
heartbeat, which a server that refused it would turn into a dead worker.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import openapi
from .requests import call_for, send

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

SCHEMAS = openapi.load()["components"]["schemas"]
UNKNOWN = "key_from_a_newer_client"


def body_model(operation) -> tuple[str | None, dict]:
    schema = operation.request_schema or {}
    name = schema.get("$ref", "").split("/")[-1] or None
    return name, SCHEMAS.get(name, {}) if name else schema


def _operations(multi_field: bool) -> list:
    found = []
    for operation in openapi.operations():
        name, model = body_model(operation)
        if name is None:
            continue
        if name.startswith("Body_") == multi_field and (multi_field or model.get("additionalProperties") is False):
            found.append(operation)
    return found


def refusals_of(response, key: str) -> list[Any]:
    answer = response.json_body if isinstance(response.json_body, dict) else {}
    return [p for p in answer.get("exception_detail") or [] if list(p.get("loc", []))[-1:] == [key]]


@pytest.mark.parametrize("operation", _operations(multi_field=True), ids=lambda o: o.id)
def test_an_unknown_key_beside_the_fields_of_a_multi_field_body_is_ignored(operation, api, world):
    path, call = call_for(operation, world, api)
    body = dict(call.body or {}, **{UNKNOWN: {"anything": 1}})

    response = send(api, operation, path, type(call)(params=call.params, query=call.query, body=body))

    assert response.status_code < 500, response.raw_body[:300]
    assert not refusals_of(response, UNKNOWN), f"{operation.id}: {response.raw_body[:300]!r}"


@pytest.mark.parametrize("operation", _operations(multi_field=False), ids=lambda o: o.id)
def test_an_unknown_key_in_a_model_that_forbids_extras_is_refused_by_name(operation, api, world):
    path, call = call_for(operation, world, api)
    body = dict(call.body or {}, **{UNKNOWN: 1})

    response = send(api, operation, path, type(call)(params=call.params, query=call.query, body=body))

    assert response.status_code == 422, f"{operation.id}: {response.status_code} {response.raw_body[:300]!r}"
    assert refusals_of(response, UNKNOWN), response.raw_body[:300]
