"""JSON columns read with orjson hold exactly what Django's JSONField would have read."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from django.db import connection, models
from django.db.models import TextField
from django.db.models.functions import Cast

from orchestrator.lib.json_field import JSONField, dumps
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


WRITTEN = [*PARAMETERS, {"ünï": "cödé", 'quote"and\\slash': "\u2028"}, {"nested": [[[]], {}], "zero": 0, "neg": -1.25}]


@pytest.mark.parametrize("parameters", WRITTEN)
def test_values_written_are_stored_as_djangos_own_writer_stores_them(parameters):
    flow = Flow.objects.create(name="json-field")
    run = FlowRun.objects.create(flow=flow, name="r", parameters=parameters)
    same = "parameters = %s::jsonb" if connection.vendor == "postgresql" else "json(parameters) = json(%s)"
    assert FlowRun.objects.filter(pk=run.pk).extra(where=[same], params=[json.dumps(parameters)]).exists()


def test_keys_that_are_not_strings_are_written_as_the_standard_library_writes_them():
    flow = Flow.objects.create(name="json-field")
    run = FlowRun.objects.create(flow=flow, name="r", parameters={1: "one", 2.5: "two and a half"})
    assert FlowRun.objects.get(pk=run.pk).parameters == {"1": "one", "2.5": "two and a half"}


def test_a_date_in_a_json_column_is_refused_as_django_always_refused_it():
    flow = Flow.objects.create(name="json-field")
    with pytest.raises(TypeError):
        FlowRun.objects.create(flow=flow, name="r", parameters={"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_json_parameters_are_encoded_by_orjson():
    field = FlowRun._meta.get_field("parameters")
    adapted = field.get_db_prep_value({"a": [1, "é"]}, connection)
    assert adapted.dumps is dumps
    assert adapted.dumps(adapted.obj) == '{"a":[1,"é"]}'.encode()
