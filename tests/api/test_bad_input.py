"""Bad input is refused the way Prefect's server refuses it, and never crashes the server.

A body that does not validate is a 422 whose `exception_detail` lists every problem as
{loc, msg, type} and whose `detail` names the field; a missing object is a 404, a conflict a
409 and an oversized body a 413, each `{"detail": ...}`. Nothing here may be a 500.

Paths are templates filled with the real ids of the `ids` fixture (`{flow_run}` ...).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

pytestmark = pytest.mark.django_db

# Every in-scope operation that reads a JSON body, with the top-level type it expects.
OBJECT_BODIES = [
    ("post", "flows/"),
    ("patch", "flows/{flow}"),
    ("post", "flows/filter"),
    ("post", "flows/count"),
    ("post", "flows/paginate"),
    ("post", "flows/bulk_delete"),
    ("post", "flow_runs/"),
    ("patch", "flow_runs/{flow_run}"),
    ("post", "flow_runs/filter"),
    ("post", "flow_runs/count"),
    ("post", "flow_runs/paginate"),
    ("post", "flow_runs/lateness"),
    ("post", "flow_runs/history"),
    ("post", "flow_runs/bulk_delete"),
    ("post", "flow_runs/bulk_set_state"),
    ("post", "flow_runs/{flow_run}/set_state"),
    ("post", "flow_runs/{flow_run}/resume"),
    ("patch", "flow_runs/{flow_run}/labels"),
    ("post", "flow_runs/{flow_run}/input"),
    ("post", "flow_runs/{flow_run}/input/filter"),
    ("post", "task_runs/"),
    ("patch", "task_runs/{task_run}"),
    ("post", "task_runs/filter"),
    ("post", "task_runs/count"),
    ("post", "task_runs/paginate"),
    ("post", "task_runs/history"),
    ("post", "task_runs/{task_run}/set_state"),
    ("post", "logs/filter"),
    ("post", "events/filter"),
    ("post", "events/count-by/event"),
    ("post", "ui/flow_runs/history"),
    ("post", "ui/flow_runs/count-task-runs"),
    ("post", "ui/task_runs/dashboard/counts"),
    ("post", "ui/task_runs/count"),
    ("put", "admin/storage"),
]
LIST_BODIES = [("post", "logs/"), ("post", "events")]
BODIES = OBJECT_BODIES + LIST_BODIES

# List endpoints: (path, body key of their own filter, their sort keyword or None).
LISTS = [
    ("flows/filter", "flows", "NAME_ASC"),
    ("flows/count", "flows", None),
    ("flows/paginate", "flows", "NAME_ASC"),
    ("flows/bulk_delete", "flows", None),
    ("flow_runs/filter", "flow_runs", "ID_DESC"),
    ("flow_runs/count", "flow_runs", None),
    ("flow_runs/paginate", "flow_runs", "ID_DESC"),
    ("flow_runs/lateness", "flow_runs", None),
    ("flow_runs/bulk_delete", "flow_runs", None),
    ("task_runs/filter", "task_runs", "ID_DESC"),
    ("task_runs/count", "task_runs", None),
    ("task_runs/paginate", "task_runs", "ID_DESC"),
    ("logs/filter", "logs", "TIMESTAMP_ASC"),
    ("ui/flow_runs/history", "flow_runs", "EXPECTED_START_TIME_DESC"),
    ("ui/task_runs/count", "task_runs", None),
]
HISTORY = {
    "history_start": "2026-01-01T00:00:00Z",
    "history_end": "2026-01-02T00:00:00Z",
    "history_interval_seconds": 3600,
}
COUNTS = {"task_runs": {"start_time": {"after_": "2026-01-01T00:00:00Z"}}}


def fill(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids)


def call(api, method: str, path: str, body=None):
    if method in ("get", "delete"):
        return getattr(api, method)(path)
    return getattr(api, method)(path, body)


def assert_refused(response, status: int = 422, names: str | None = None) -> None:
    """A Prefect-shaped refusal; `names` is the field (as `body.state.type`) it must name."""
    body = response.json_body
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.content[:500]!r}"
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], body
    if status == 422:
        problems = body.get("exception_detail")
        assert isinstance(problems, list) and problems, f"no exception_detail: {body}"
        for problem in problems:
            assert isinstance(problem.get("loc"), list), problem
            assert isinstance(problem.get("msg"), str), problem
            assert isinstance(problem.get("type"), str), problem
        if names:
            assert names in body["detail"], f"{names!r} is not named in {body['detail']!r}"
            locs = [".".join(str(p) for p in problem["loc"]) for problem in problems]
            assert any(loc.startswith(names) or names.startswith(loc) for loc in locs), locs


def ids_of(params) -> list[str]:
    return [f"{method.upper()} /{path}" for method, path in params]


# -- the body as a whole ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), BODIES, ids=ids_of(BODIES))
def test_a_malformed_json_body_is_a_422_naming_the_body(api, ids, method, path):
    response = getattr(api, method)(fill(path, ids), b"{not json")
    assert_refused(response, 422, names="body")
    assert response.json_body["exception_detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(("method", "path"), OBJECT_BODIES, ids=ids_of(OBJECT_BODIES))
def test_a_json_array_where_an_object_is_expected_is_a_422(api, ids, method, path):
    assert_refused(getattr(api, method)(fill(path, ids), [{"name": "x"}]), 422, names="body")


@pytest.mark.parametrize(("method", "path"), LIST_BODIES, ids=ids_of(LIST_BODIES))
def test_a_json_object_where_a_list_is_expected_is_a_422(api, ids, method, path):
    assert_refused(getattr(api, method)(fill(path, ids), {"name": "x"}), 422, names="body")


@pytest.mark.parametrize(("method", "path"), BODIES, ids=ids_of(BODIES))
def test_an_oversized_body_is_a_413(api, ids, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    filler = "x" * 2048
    body = [{"message": filler}] if (method, path) in LIST_BODIES else {"tags": [filler]}
    assert_refused(getattr(api, method)(fill(path, ids), body), 413)


# -- filters, sorts and limits ------------------------------------------------------------


def _list_body(path: str, extra: dict) -> dict:
    if path == "flow_runs/history":
        return {**HISTORY, **extra}
    return extra


FILTER_CASES = [
    pytest.param(path, {key: {"nme": {}}}, f"body.{key}.nme", id=f"{path} {key}.nme") for path, key, _ in LISTS
] + [
    pytest.param("flow_runs/filter", {"flows": {"name": {"like": "x"}}}, "body.flows.name.like", id="nested unknown"),
    pytest.param(
        "flow_runs/filter", {"flow_runs": {"state": {"typ": {"any_": []}}}}, "body.flow_runs.state.typ", id="deep"
    ),
    pytest.param("task_runs/filter", {"flow_runs": {"tags": {"none_": []}}}, "body.flow_runs.tags.none_", id="related"),
    pytest.param("flow_runs/history", {**HISTORY, "flow_runs": {"nme": {}}}, "body.flow_runs.nme", id="history"),
    pytest.param("task_runs/history", {**HISTORY, "task_runs": {"nme": {}}}, "body.task_runs.nme", id="task history"),
    pytest.param("ui/task_runs/dashboard/counts", {**COUNTS, "flows": {"nme": {}}}, "body.flows.nme", id="counts"),
    pytest.param("events/filter", {"filter": {"evnt": {}}}, "body.filter.evnt", id="events"),
    pytest.param("events/filter", {"filter": {"resource": {"idd": []}}}, "body.filter.resource.idd", id="events deep"),
    pytest.param("events/count-by/event", {"filter": {"evnt": {}}}, "body.filter.evnt", id="event counts"),
    pytest.param("flow_runs/filter", {"flow_runs": "completed"}, "body.flow_runs", id="a string for a filter"),
    pytest.param("flow_runs/filter", {"flow_runs": {"operator": "xor_"}}, "body.flow_runs.operator", id="operator"),
]


@pytest.mark.parametrize(("path", "body", "loc"), FILTER_CASES)
def test_an_unknown_key_inside_a_filter_is_refused(api, path, body, loc):
    assert_refused(api.post(path, body), 422, names=loc)


SORTED = [(path, sort) for path, _, sort in LISTS if sort]


@pytest.mark.parametrize(("path", "sort"), SORTED, ids=[p for p, _ in SORTED])
def test_an_unknown_sort_is_refused(api, path, sort):
    assert api.post(path, {"sort": sort}).status_code == 200
    assert_refused(api.post(path, {"sort": "SIDEWAYS"}), 422, names="body.sort")


LIMITS = [
    pytest.param(path, limit, id=f"{path} {limit}")
    for path in ("flows/filter", "flows/paginate", "flow_runs/filter", "flow_runs/paginate", "task_runs/filter")
    + ("task_runs/paginate", "logs/filter")
    for limit in (-1, 201, 10_000)
] + [
    pytest.param("events/filter", -1, id="events/filter -1"),
    pytest.param("events/filter", 51, id="events/filter 51"),
    pytest.param("ui/flow_runs/history", -1, id="ui history -1"),
    pytest.param("ui/flow_runs/history", 1001, id="ui history 1001"),
    pytest.param("flows/bulk_delete", 0, id="flows/bulk_delete 0"),
    pytest.param("flows/bulk_delete", 10_001, id="flows/bulk_delete 10001"),
    pytest.param("flow_runs/bulk_delete", 0, id="flow_runs/bulk_delete 0"),
    pytest.param("flow_runs/bulk_delete", 51, id="flow_runs/bulk_delete 51"),
]


@pytest.mark.parametrize(("path", "limit"), LIMITS)
def test_a_limit_out_of_range_is_refused(api, path, limit):
    assert_refused(api.post(path, {"limit": limit}), 422, names="body.limit")


def test_the_default_limit_is_the_largest_allowed(api):
    assert api.post("flow_runs/filter", {"limit": 200}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("flow_runs/filter", {"limit": "ten"}, "body.limit"),
        ("flow_runs/filter", {"limit": True}, "body.limit"),
        ("flow_runs/filter", {"offset": "0"}, "body.offset"),
        ("flow_runs/filter", {"offset": -1}, "body.offset"),
        ("flows/paginate", {"page": 0}, "body.page"),
        ("flows/paginate", {"page": "one"}, "body.page"),
        ("logs/filter", {"offset": -5}, "body.offset"),
        ("events/filter", {"limit": "50"}, "body.limit"),
        ("ui/flow_runs/history", {"offset": -1}, "body.offset"),
        ("flow_runs/{flow_run}/input/filter", {"prefix": "a", "limit": -1}, "body.limit"),
        ("flow_runs/{flow_run}/input/filter", {"prefix": "a", "limit": "5"}, "body.limit"),
    ],
)
def test_a_paging_value_of_the_wrong_type_or_range_is_refused(api, ids, path, body, loc):
    assert_refused(api.post(fill(path, ids), body), 422, names=loc)


# -- wrong types and unknown enum values ---------------------------------------------------

STATE_TYPE_CASES = [
    ("flow_runs/{flow_run}/set_state", {"state": {"type": "EXPLODED"}}, "body.state.type"),
    ("task_runs/{task_run}/set_state", {"state": {"type": "EXPLODED"}}, "body.state.type"),
    ("flow_runs/bulk_set_state", {"state": {"type": "EXPLODED"}}, "body.state.type"),
    ("flow_runs/", {"flow_id": "{flow}", "state": {"type": "EXPLODED"}}, "body.state.type"),
    ("task_runs/", {"task_key": "k", "dynamic_key": "0", "state": {"type": "EXPLODED"}}, "body.state.type"),
    ("flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["EXPLODED"]}}}}, "body.flow_runs.state.type.any_"),
    ("flows/count", {"flow_runs": {"state": {"type": {"not_any_": ["EXPLODED"]}}}}, "body.flow_runs.state.type"),
    ("task_runs/filter", {"task_runs": {"state": {"type": {"any_": ["EXPLODED"]}}}}, "body.task_runs.state.type.any_"),
    ("flow_runs/{flow_run}/set_state", {"state": {"type": "running"}}, "body.state.type"),
    ("flow_runs/{flow_run}/set_state", {"state": {"type": None}}, "body.state.type"),
]


@pytest.mark.parametrize(("path", "body", "loc"), STATE_TYPE_CASES, ids=[c[2] + " " + c[0] for c in STATE_TYPE_CASES])
def test_an_unknown_state_type_is_refused(api, ids, path, body, loc):
    assert_refused(api.post(fill(path, ids), _with_ids(body, ids)), 422, names=loc)


WRONG_TYPES = [
    # strings for numbers, numbers for strings
    ("post", "flows/", {"name": 42}, "body.name"),
    ("post", "flows/", {"name": "a/b"}, "body.name"),
    ("post", "flows/", {"name": "etl", "tags": "nightly"}, "body.tags"),
    ("post", "flows/", {"name": "etl", "labels": {"team": {"nested": True}}}, "body.labels"),
    ("patch", "flows/{flow}", {"tags": [1, {}]}, "body.tags"),
    ("patch", "flows/{flow}", {"name": "renamed"}, "body.name"),
    ("post", "flow_runs/", {"flow_id": 123}, "body.flow_id"),
    ("post", "flow_runs/", {"flow_id": "not-a-uuid"}, "body.flow_id"),
    ("post", "flow_runs/", {"flow_id": "{flow}", "parameters": [1, 2]}, "body.parameters"),
    ("post", "flow_runs/", {"flow_id": "{flow}", "empirical_policy": {"retries": "three"}}, "body.empirical_policy"),
    ("post", "flow_runs/", {"flow_id": "{flow}", "nme": "typo"}, "body.nme"),
    ("patch", "flow_runs/{flow_run}", {"parameters": "x"}, "body.parameters"),
    ("patch", "flow_runs/{flow_run}", {"state": {"type": "RUNNING"}}, "body.state"),
    ("post", "flow_runs/{flow_run}/set_state", {"state": {"type": "RUNNING"}, "force": "maybe"}, "body.force"),
    ("post", "flow_runs/{flow_run}/set_state", {"state": "RUNNING"}, "body.state"),
    (
        "post",
        "flow_runs/{flow_run}/set_state",
        {"state": {"type": "SCHEDULED", "state_details": {"scheduled_time": "tomorrow"}}},
        "body.state.state_details.scheduled_time",
    ),
    ("post", "flow_runs/{flow_run}/resume", {"run_input": [1]}, "body.run_input"),
    ("post", "flow_runs/{flow_run}/input", {"key": "k", "value": {"not": "text"}}, "body.value"),
    ("post", "flow_runs/{flow_run}/input/filter", {"prefix": "a", "exclude_keys": "b"}, "body.exclude_keys"),
    ("post", "flow_runs/filter", {"flow_runs": {"id": {"any_": [123]}}}, "body.flow_runs.id.any_"),
    ("post", "flow_runs/filter", {"flow_runs": {"id": {"any_": "not-a-list"}}}, "body.flow_runs.id.any_"),
    ("post", "flow_runs/filter", {"flow_runs": {"start_time": {"before_": "soon"}}}, "body.flow_runs.start_time"),
    ("post", "flow_runs/filter", {"flow_runs": {"tags": {"all_": [1]}}}, "body.flow_runs.tags.all_"),
    ("post", "flow_runs/filter", {"flow_runs": {"parent_task_run_id": {"is_null_": "yes"}}}, "body.flow_runs"),
    ("post", "flow_runs/bulk_set_state", {"flow_runs": {"id": {"any_": ["{flow_run}"]}}}, "body.state"),
    ("post", "flow_runs/history", {**HISTORY, "history_interval_seconds": "hourly"}, "body.history_interval_seconds"),
    ("post", "flow_runs/history", {**HISTORY, "history_start": "yesterday"}, "body.history_start"),
    ("post", "flow_runs/history", {**HISTORY, "history_interval_seconds": 0}, "body.history_interval_seconds"),
    ("post", "task_runs/", {"task_key": 1, "dynamic_key": "0"}, "body.task_key"),
    ("post", "task_runs/", {"id": 7, "task_key": "k", "dynamic_key": "0"}, "body.id"),
    ("post", "task_runs/", {"task_key": "k", "dynamic_key": "0", "flow_run_id": "nope"}, "body.flow_run_id"),
    ("post", "task_runs/", {"task_key": "k", "dynamic_key": "0", "task_inputs": []}, "body.task_inputs"),
    (
        "post",
        "task_runs/",
        {"task_key": "k", "dynamic_key": "0", "empirical_policy": {"retry_delay": "soon"}},
        "body.empirical_policy.retry_delay",
    ),
    ("patch", "task_runs/{task_run}", {"name": 5}, "body.name"),
    ("post", "task_runs/filter", {"task_runs": {"flow_run_id": {"any_": [1]}}}, "body.task_runs.flow_run_id.any_"),
    ("post", "task_runs/filter", {"task_runs": {"subflow_runs": {"exists_": "no"}}}, "body.task_runs.subflow_runs"),
    (
        "post",
        "logs/",
        [{"name": "n", "level": "INFO", "message": "m", "timestamp": "2026-01-01T00:00:00Z"}],
        "body.0.level",
    ),
    ("post", "logs/", [{"name": "n", "level": 20, "message": "m", "timestamp": "noon"}], "body.0.timestamp"),
    (
        "post",
        "logs/",
        [{"name": "n", "level": 20, "message": "m", "timestamp": "2026-01-01T00:00:00Z", "flow_run_id": 1}],
        "body.0.flow_run_id",
    ),
    ("post", "logs/filter", {"logs": {"level": {"ge_": "INFO"}}}, "body.logs.level.ge_"),
    ("post", "logs/filter", {"logs": {"flow_run_id": {"any_": ["x"]}}}, "body.logs.flow_run_id.any_"),
    ("post", "events", [{"event": "x", "resource": {"prefect.resource.id": "a"}}], "body.0"),
    ("post", "events", [{"occurred": "2026-01-01T00:00:00Z", "event": 5, "resource": {}}], "body.0"),
    ("post", "events", ["not an event"], "body.0"),
    ("post", "events/filter", {"filter": {"occurred": {"since": "long ago"}}}, "body.filter.occurred.since"),
    ("post", "events/filter", {"filter": {"order": "SIDEWAYS"}}, "body.filter.order"),
    ("post", "events/filter", {"filter": {"id": {"id": [1]}}}, "body.filter.id.id"),
    ("post", "events/filter", {"filter": {"event": {"prefix": [1]}}}, "body.filter.event.prefix"),
    ("post", "events/filter", {"filter": "everything"}, "body.filter"),
    ("post", "events/count-by/time", {"filter": {}, "time_unit": "fortnight"}, "body.time_unit"),
    ("post", "events/count-by/time", {"filter": {}, "time_interval": 0}, "body.time_interval"),
    ("post", "events/count-by/time", {"filter": {}, "time_interval": "1"}, "body.time_interval"),
    ("post", "events/count-by/weekly", {"filter": {}}, "path.countable"),
    ("post", "ui/flow_runs/count-task-runs", {"flow_run_ids": [1]}, "body.flow_run_ids"),
    ("post", "ui/flow_runs/count-task-runs", {"flow_run_ids": "{flow_run}"}, "body.flow_run_ids"),
    ("post", "ui/task_runs/dashboard/counts", {"task_runs": {"start_time": {"after_": "soon"}}}, "body.task_runs"),
    ("post", "ui/task_runs/dashboard/counts", {"task_runs": {"start_time": "soon"}}, "body.task_runs.start_time"),
    ("post", "ui/task_runs/dashboard/counts", {"task_runs": {"start_time": {}}}, "body.task_runs.start_time.after_"),
    ("post", "ui/flow_runs/history", {"limit": "all"}, "body.limit"),
    ("put", "admin/storage", {"default_result_storage_block_id": 5}, "body.default_result_storage_block_id"),
]


def _with_ids(body, ids):
    text = json.dumps(body)
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    return json.loads(text)


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"), WRONG_TYPES, ids=[f"{m.upper()} /{p} {loc}" for m, p, _, loc in WRONG_TYPES]
)
def test_a_value_of_the_wrong_type_is_refused(api, ids, method, path, body, loc):
    assert_refused(call(api, method, fill(path, ids), _with_ids(body, ids)), 422, names=loc)


# -- missing fields -----------------------------------------------------------------------

MISSING = [
    ("flows/", {}, "body.name"),
    ("flow_runs/", {"name": "x"}, "body.flow_id"),
    ("flow_runs/{flow_run}/set_state", {}, "body.state"),
    ("flow_runs/{flow_run}/set_state", {"state": {"name": "Running"}}, "body.state.type"),
    ("task_runs/{task_run}/set_state", {"force": True}, "body.state"),
    ("flow_runs/bulk_set_state", {}, "body.state"),
    ("flow_runs/history", {"history_start": "2026-01-01T00:00:00Z"}, "body.history_end"),
    ("task_runs/history", {}, "body.history_start"),
    ("flow_runs/{flow_run}/input", {"value": "v"}, "body.key"),
    ("flow_runs/{flow_run}/input", {"key": "k"}, "body.value"),
    ("flow_runs/{flow_run}/input/filter", {}, "body.prefix"),
    ("task_runs/", {"task_key": "k"}, "body.dynamic_key"),
    ("task_runs/", {"dynamic_key": "0"}, "body.task_key"),
    ("logs/", [{"level": 20, "message": "m", "timestamp": "2026-01-01T00:00:00Z"}], "body.0.name"),
    ("logs/", [{}], "body.0"),
    ("events", [{}], "body.0"),
    ("events/count-by/event", {}, "body.filter"),
    ("ui/flow_runs/count-task-runs", {}, "body.flow_run_ids"),
    ("ui/task_runs/dashboard/counts", {}, "body.task_runs"),
]


@pytest.mark.parametrize(("path", "body", "loc"), MISSING, ids=[f"/{p} {loc}" for p, _, loc in MISSING])
def test_a_missing_required_field_is_refused_by_name(api, ids, path, body, loc):
    assert_refused(api.post(fill(path, ids), body), 422, names=loc)


def test_storage_needs_its_block_id(api):
    assert_refused(api.put("admin/storage", {}), 422, names="body.default_result_storage_block_id")


# -- ids and query parameters ---------------------------------------------------------------

PATH_IDS = [
    ("get", "flows/{id}"),
    ("patch", "flows/{id}"),
    ("delete", "flows/{id}"),
    ("get", "flow_runs/{id}"),
    ("patch", "flow_runs/{id}"),
    ("delete", "flow_runs/{id}"),
    ("get", "flow_runs/{id}/graph"),
    ("get", "flow_runs/{id}/graph-v2"),
    ("get", "flow_runs/{id}/logs/download"),
    ("post", "flow_runs/{id}/set_state"),
    ("post", "flow_runs/{id}/resume"),
    ("patch", "flow_runs/{id}/labels"),
    ("post", "flow_runs/{id}/input"),
    ("post", "flow_runs/{id}/input/filter"),
    ("get", "flow_runs/{id}/input/approval"),
    ("delete", "flow_runs/{id}/input/approval"),
    ("get", "task_runs/{id}"),
    ("patch", "task_runs/{id}"),
    ("delete", "task_runs/{id}"),
    ("post", "task_runs/{id}/set_state"),
    ("get", "flow_run_states/{id}"),
    ("get", "task_run_states/{id}"),
    ("get", "ui/task_runs/{id}"),
]
VALID_BODIES = {
    "set_state": {"state": {"type": "RUNNING"}},
    "resume": {"run_input": None},
    "input": {"key": "k", "value": "v"},
    "filter": {"prefix": "a"},
}


def _valid_body(path: str):
    return VALID_BODIES.get(path.rsplit("/", 1)[-1], {})


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "0" * 33])
@pytest.mark.parametrize(("method", "path"), PATH_IDS, ids=ids_of(PATH_IDS))
def test_a_non_uuid_id_in_a_path_is_a_404(api, ids, method, path, bad_id):
    assert_refused(call(api, method, path.format(id=bad_id), _valid_body(path)), 404)


# Prefect lists the inputs of an unknown run as none at all, and so do we.
KNOWN_OR_NOT = [("post", "flow_runs/{id}/input/filter")]
UNKNOWN_IDS = [op for op in PATH_IDS if op not in KNOWN_OR_NOT]


@pytest.mark.parametrize(("method", "path"), UNKNOWN_IDS, ids=ids_of(UNKNOWN_IDS))
def test_an_unknown_id_is_a_404_saying_what_was_not_found(api, ids, method, path):
    response = call(api, method, path.format(id=uuid.uuid4()), _valid_body(path))
    assert_refused(response, 404)
    assert response.json_body["detail"] != "Not Found", "an unknown object must not look like an unknown path"


def test_an_unknown_flow_name_is_a_404(api):
    assert_refused(api.get("flows/name/no-such-flow"), 404)


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("flow_run_states/", "query.flow_run_id"),
        ("flow_run_states/?flow_run_id=not-a-uuid", "query.flow_run_id"),
        ("task_run_states/?task_run_id=42", "query.task_run_id"),
        ("csrf-token", "query.client"),
        ("events/filter/next", "query.page-token"),
        ("flow_runs/{flow_run}/graph-v2?since=whenever", "query.since"),
    ],
)
def test_a_bad_query_parameter_is_a_422_naming_it(api, ids, path, loc):
    assert_refused(api.get(fill(path, ids)), 422, names=loc)


def test_a_forged_page_token_is_a_404(api):
    assert_refused(api.get("events/filter/next?page-token=forged"), 404)


# -- conflicts ------------------------------------------------------------------------------


def test_a_flow_run_of_an_unknown_flow_is_a_409(api):
    assert_refused(api.post("flow_runs/", {"flow_id": str(uuid.uuid4())}), 409)


def test_a_task_run_of_an_unknown_flow_run_is_a_409(api):
    body = {"task_key": "k", "dynamic_key": "0", "flow_run_id": str(uuid.uuid4())}
    assert_refused(api.post("task_runs/", body), 409)


def test_a_second_input_with_the_same_key_is_a_409(api, ids):
    assert_refused(api.post(fill("flow_runs/{flow_run}/input", ids), {"key": "approval", "value": '"no"'}), 409)


def test_a_missing_input_is_a_404(api, ids):
    assert_refused(api.get(fill("flow_runs/{flow_run}/input/nothing-here", ids)), 404)
    assert_refused(api.delete(fill("flow_runs/{flow_run}/input/nothing-here", ids)), 404)


# -- what no database can store -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "etl", "labels": {"x": NaN}}', b'{"name": "etl", "labels": {"x": -Infinity}}', b'{"name": "\xff"}'],
    ids=["NaN", "Infinity", "not UTF-8"],
)
def test_a_body_that_is_not_strict_json_is_a_422_naming_the_body(api, raw):
    response = api.post("flows/", raw)
    assert_refused(response, 422, names="body")
    assert response.json_body["exception_detail"][0]["type"] == "json_invalid"


UNSTORABLE = [
    ("flows/", {"name": "a\u0000b"}, "body.name"),
    ("flows/", {"name": "a\ud800b"}, "body.name"),
    ("flow_runs/", {"flow_id": "{flow}", "parameters": {"x": ["ok", "a\u0000"]}}, "body.parameters.x.1"),
    ("flow_runs/", {"flow_id": "{flow}", "labels": {"a\u0000": "key"}}, "body.labels"),
    ("flow_runs/filter", {"flow_runs": {"name": {"like_": "a\u0000"}}}, "body.flow_runs.name.like_"),
    ("events", [{"occurred": "2026-01-01T00:00:00Z", "event": "x\u0000", "resource": {}}], "body.0.event"),
]


@pytest.mark.parametrize(("path", "body", "loc"), UNSTORABLE, ids=[loc for _, _, loc in UNSTORABLE])
def test_a_string_with_a_nul_or_a_lone_surrogate_is_refused_by_name(api, ids, path, body, loc):
    # json.dumps writes both as \u escapes, as any client would have to.
    assert_refused(api.post(path, _with_ids(body, ids)), 422, names=loc)


OUT_OF_RANGE = [
    ("flow_runs/filter", {"offset": 10**20}, "body.offset"),
    ("flows/paginate", {"page": 10**20}, "body.page"),
    ("logs/", [{"name": "n", "level": 10**20, "message": "m", "timestamp": "2026-01-01T00:00:00Z"}], "body.0.level"),
    ("logs/filter", {"logs": {"level": {"ge_": 10**20}}}, "body.logs.level.ge_"),
    ("flow_runs/filter", {"flow_runs": {"start_time": {"before_": "0001-01-01T00:00:00+05:00"}}}, "body.flow_runs"),
    ("task_runs/filter", {"task_runs": {"end_time": {"after_": "9999-12-31T23:59:59-05:00"}}}, "body.task_runs"),
    ("flow_runs/history", {**HISTORY, "history_interval_seconds": 1e300}, "body.history_interval_seconds"),
    ("events/filter", {"filter": {"occurred": {"since": "0001-01-01T00:00:00+01:00"}}}, "body.filter.occurred"),
]


@pytest.mark.parametrize(("path", "body", "loc"), OUT_OF_RANGE, ids=[loc for _, _, loc in OUT_OF_RANGE])
def test_a_number_or_time_beyond_what_the_database_holds_is_refused(api, path, body, loc):
    assert_refused(api.post(path, body), 422, names=loc)


@pytest.mark.parametrize("path", ["flows/name/a%00b", "flow_runs/{flow_run}/input/a%00b"])
def test_a_nul_in_a_path_is_a_404(api, ids, path):
    assert_refused(api.get(fill(path, ids)), 404)


# -- task-run events the recorder cannot use --------------------------------------------------


def _task_run_events(ids: dict[str, str], task_run_id: str) -> list[dict]:
    from tests.contract.world import task_run_events

    flow = {"id": ids["flow"], "name": ids["flow_name"]}
    flow_run = {"id": ids["flow_run"], "name": "run"}
    return task_run_events(task_run_id, flow, flow_run, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_count", "abc"),
        ("run_count", 10**12),
        ("total_run_time", "slow"),
        ("name", 5),
        ("name", "x" * 300),
        ("tags", "etl"),
        ("labels", ["x"]),
        ("task_inputs", [1]),
        ("dynamic_key", {"a": 1}),
        ("task_version", "v" * 300),
    ],
)
def test_a_task_run_event_field_of_the_wrong_type_is_left_out(api, ids, field, value):
    task_run_id = str(uuid.uuid4())
    events = _task_run_events(ids, task_run_id)
    for event in events:
        event["payload"]["task_run"][field] = value
    assert api.post("events", events).status_code == 204
    recorded = api.get(f"task_runs/{task_run_id}").json_body
    assert recorded["state_type"] == "COMPLETED"
    assert recorded[field] != value


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("validated_state", "type", "EXPLODED"),
        ("validated_state", "name", "n" * 300),
        ("validated_state", "message", 5),
        ("validated_state", "state_details", "x"),
        ("task_run", "task_key", ["a"]),
    ],
)
def test_a_task_run_event_with_an_unusable_state_is_stored_but_not_recorded(api, ids, where, field, value):
    task_run_id = str(uuid.uuid4())
    events = _task_run_events(ids, task_run_id)
    for event in events:
        event["payload"][where][field] = value
    assert api.post("events", events).status_code == 204
    assert_refused(api.get(f"task_runs/{task_run_id}"), 404)
    stored = api.post("events/filter", {"filter": {"resource": {"id": [f"prefect.task-run.{task_run_id}"]}}})
    assert stored.json_body["total"] == 3
