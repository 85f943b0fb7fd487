"""API responses written by orjson read back exactly as DRF's own encoder wrote them."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from rest_framework.renderers import JSONRenderer

from orchestrator.api.renderers import PrefectJSONRenderer

RUN_ID = uuid.UUID("0191e0b2-0000-7000-8000-000000000001")


def ours(data, media_type=None, context=None) -> bytes:
    return PrefectJSONRenderer().render(data, media_type, context)


def drfs(data) -> bytes:
    renderer = JSONRenderer()
    renderer.compact, renderer.ensure_ascii = True, False
    return renderer.render(data)


def test_a_typical_answer_is_byte_for_byte_what_drf_writes():
    data = [
        {
            "id": str(RUN_ID),
            "name": "ünïcode-run",
            "tags": ["a", "b"],
            "parameters": {"x": [1, 2.5, None, True], "nested": {"deep": {"er": "yes"}}},
            "estimated_run_time": 0.0,
            "run_count": 3,
            "state": None,
        }
    ]
    assert ours(data) == drfs(data)


def test_datetimes_uuids_and_decimals_are_written_as_drf_writes_them():
    moment = dt.datetime(2026, 12, 5, 15, 0, 1, 250, tzinfo=dt.UTC)
    data = {"at": moment, "day": moment.date(), "id": RUN_ID, "price": decimal.Decimal("1.5")}
    assert json.loads(ours(data)) == json.loads(drfs(data))
    assert json.loads(ours(data))["at"] == "2026-12-05T15:00:01.000250Z"


def test_keys_that_are_not_strings_become_strings_as_with_the_standard_encoder():
    assert json.loads(ours({1: "a", False: "b", None: "c"})) == {"1": "a", "false": "b", "null": "c"}


def test_integers_beyond_64_bits_and_very_deep_nesting_still_render():
    huge = {"n": 2**70}
    assert ours(huge) == drfs(huge)
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert json.loads(ours(deep)) == deep


def test_line_and_paragraph_separators_stay_escaped():
    assert ours({"text": "a\u2028b\u2029c"}) == b'{"text":"a\\u2028b\\u2029c"}'


def test_nothing_to_render_is_an_empty_body_and_indented_output_is_drfs():
    assert ours(None) == b""
    assert ours({"a": 1}, context={"indent": 4}) == b'{\n    "a": 1\n}'


def test_nan_which_json_cannot_hold_is_written_as_null():
    assert json.loads(ours({"x": float("nan")})) == {"x": None}
