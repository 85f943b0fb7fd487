"""The checker itself: it resolves the document's references and names what broke."""

from __future__ import annotations

import uuid

import pytest

from . import openapi

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

OPERATIONS = {operation.id: operation for operation in openapi.operations()}


def test_a_mismatch_names_the_operation_and_the_field():
    errors = openapi.schema_errors(OPERATIONS["GET /flows/{id}"], {"id": "not-a-uuid", "name": 5})
    text = "\n".join(errors)
    assert "GET /flows/{id}: $.name: 5 is not of type 'string'" in text
    assert "GET /flows/{id}: $.id: 'not-a-uuid' is not a 'uuid'" in text
    assert "'created' is a required property" in text


def test_a_mismatch_deep_inside_a_referenced_schema_is_found():
    run = {"id": str(uuid.uuid4()), "flow_id": str(uuid.uuid4()), "created": None, "updated": None}
    run["state"] = {"id": str(uuid.uuid4()), "type": "EXPLODED", "timestamp": "2026-01-01T00:00:00"}
    errors = openapi.schema_errors(OPERATIONS["GET /flow_runs/{id}"], run)
    assert any(e.startswith("GET /flow_runs/{id}: $.state") and "EXPLODED" in e for e in errors), errors
    assert any("has no UTC offset" in e or "date-time" in e for e in errors), errors


def test_a_matching_answer_has_no_errors():
    flow = {"id": str(uuid.uuid4()), "created": "2026-01-01T00:00:00Z", "updated": None, "name": "etl", "tags": []}
    assert openapi.schema_errors(OPERATIONS["GET /flows/{id}"], flow) == []


def test_a_duration_setting_must_be_iso_8601():
    assert openapi.format_checker.conforms("PT15M", "duration")
    assert openapi.format_checker.conforms("P7D", "duration")
    assert not openapi.format_checker.conforms("900.0", "duration")
