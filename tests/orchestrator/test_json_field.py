"""JSON columns read with orjson hold exactly what Django's JSONField would have read."""

from __future__ import annotations

import json
import math

import pytest
from django.db import connection, models
from django.db.models import TextField
from django.db.models.functions import Cast

from orchestrator.lib.json_field import JSONField
from runs.models import Flow, FlowRun

pytestmark = pytest.mark.django_db

PARAMETERS = [
    {"x": [1, 2.5, None, True, False, "ünï", {"deep": {"er": []}}]},
    {"big": 2**70, "negative_big": -(2**64), "id_like": "12345678901234567890123"},
    {"tiny": 1e-300, "huge_float": 1.5e300, "exact": 0.1},
    ["a", "list", "at", "the", "top"],
    "a string",
    123,
]


def as_django_reads_it(raw):
    return models.JSONField().from_db_value(raw, None, connection)


@pytest.mark.parametrize("parameters", PARAMETERS)
def test_values_read_back_are_what_djangos_json_field_reads(parameters):
    flow = Flow.objects.create(name="json-field")
    run = FlowRun.objects.create(flow=flow, name="r", parameters=parameters)
    read = FlowRun.objects.get(pk=run.pk).parameters
    raw = FlowRun.objects.filter(pk=run.pk).values_list(Cast("parameters", TextField()), flat=True).get()
    expected = as_django_reads_it(raw)
    # Same values and same types (an integer beyond 64 bits stays an integer).
    assert json.dumps(read, sort_keys=True) == json.dumps(expected, sort_keys=True)
    if connection.vendor == "sqlite":  # jsonb rewrites numbers (1.5e300 comes back an integer)
        assert read == parameters


def test_what_orjson_refuses_is_read_by_djangos_own_code():
    field = FlowRun._meta.get_field("parameters")
    assert math.isnan(field.from_db_value('{"x": NaN}', None, connection)["x"])
    assert field.from_db_value('{"n": 123456789012345678901}', None, connection) == {"n": 123456789012345678901}
    assert field.from_db_value(None, None, connection) is None


def test_migrations_see_djangos_json_field():
    _, path, _, kwargs = JSONField(default=dict).deconstruct()
    assert path == "django.db.models.JSONField"
    assert kwargs == models.JSONField(default=dict).deconstruct()[3]
