"""Every in-scope operation, called with valid input against realistic data, answers what
Prefect's OpenAPI document says: the documented status and a body its schema accepts."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from . import openapi
from .requests import CALLS, VARIANTS, call_for, send

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

CASES = [
    pytest.param(operation, variant, id=operation.id + (f" [{variant}]" if variant else ""))
    for operation in openapi.operations()
    for variant in (None, *VARIANTS.get(operation.id, {}))
]


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def request_errors(operation: openapi.Operation, body) -> list[str]:
    """Our test's own body checked against the request schema, so the calls stay realistic.

    The client sends every optional field, null or not, and Prefect's server takes nulls its
    document does not mention, so they are left out of the check."""
    body = without_nulls(body)
    schema = operation.request_schema
    if schema is None:
        return []
    validator = Draft202012Validator(
        {
            "$ref": f"{openapi.DOCUMENT_URI}#/paths/{operation.path.replace('/', '~1')}/"
            f"{operation.method.lower()}/requestBody/content/application~1json/schema"
        },
        registry=openapi.registry(),
    )
    return [f"{operation.id} request: {e.json_path}: {e.message}" for e in validator.iter_errors(body)]


@pytest.mark.parametrize(("operation", "variant"), CASES)
def test_an_operation_answers_what_the_document_says(operation, variant, api, world):
    path, call = call_for(operation, world, api, variant)
    if operation.method in ("POST", "PUT", "PATCH") and not call.loose_request and operation.id in CALLS:
        assert not request_errors(operation, call.body), "\n".join(request_errors(operation, call.body))
    response = send(api, operation, path, call)
    status = response.status_code
    if call.expect_status is not None:
        assert status == call.expect_status, f"{operation.id}: expected {call.expect_status}, got {status}"
        assert response.json_body == {"detail": call.expect_detail}, f"{operation.id}: {response.json_body}"
        return
    if operation.id not in CALLS and variant is None and status == 404:
        pytest.skip(f"{operation.id}: 404 for made-up ids; give it a call in tests/contract/requests.py CALLS")
    documented, _ = operation.success
    assert status < 300 and status >= 200, f"{operation.id}: {path} answered {status} {response.raw_body[:500]!r}"
    if documented == "204":
        assert status == 204 and not response.raw_body, f"{operation.id}: expected an empty 204, got {status}"
        return
    if operation.response_pointer is None:
        return
    assert response.json_body is not None or response.raw_body == b"null", (
        f"{operation.id}: the answer is not JSON: {response.raw_body[:200]!r}"
    )
    errors = openapi.schema_errors(operation, response.json_body)
    assert not errors, "the answer does not match the document:\n" + "\n".join(errors[:20])
    if call.expect_result is not None:
        assert response.json_body["status"] == call.expect_result, f"{operation.id}: {response.json_body}"
