"""Bad input to deployments, schedules, work pools, work queues, workers and concurrency
limits is refused the way Prefect's server refuses it, and never crashes the server.

Paths are templates filled with the real names and ids of the `objects` fixture
(`deployments/{deployment}/schedules/{schedule}` ...).
"""

from __future__ import annotations

import uuid

import pytest

from tests.contract.world import CRON, PROCESS_JOB_TEMPLATE, RRULE, deployment_body, interval, schedule_body

from .test_bad_input import _with_ids, assert_refused, call, fill, ids_of

pytestmark = pytest.mark.django_db


def assert_plain(response, status: int, detail: str | None = None) -> None:
    """A refusal Prefect raises itself (HTTPException): only `{"detail": ...}`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.content[:300]!r}"
    assert isinstance(response.json_body, dict) and isinstance(response.json_body.get("detail"), str), response.content
    if detail is not None:
        assert response.json_body["detail"] == detail


@pytest.fixture
def objects(api, flow) -> dict[str, str]:
    """A pool with a worker and a second queue, a scheduled deployment on it with a
    concurrency limit, a global limit with one slot held under a lease, a tag limit."""

    def ok(response):
        assert response.status_code < 300, response.content
        return response.json_body

    pool = ok(api.post("work_pools/", {"name": "pool", "type": "process", "base_job_template": PROCESS_JOB_TEMPLATE}))
    queue = ok(api.post("work_pools/pool/queues", {"name": "critical", "priority": 1}))
    ok(api.post("work_pools/pool/workers/heartbeat", {"name": "worker-1", "heartbeat_interval_seconds": 30}))
    body = deployment_body(
        str(flow.pk),
        "nightly",
        schedules=[schedule_body(CRON, slug="weekdays")],
        work_pool_name="pool",
        work_queue_name="critical",
        concurrency_limit=1,
    )
    deployment = ok(api.post("deployments/", body))
    limit = ok(api.post("v2/concurrency_limits/", {"name": "db", "limit": 1}))
    lease = ok(api.post("v2/concurrency_limits/increment-with-lease", {"names": ["db"], "slots": 1}))
    tag_limit = ok(api.post("concurrency_limits/", {"tag": "etl", "concurrency_limit": 1}))
    return {
        "flow": str(flow.pk),
        "flow_name": flow.name,
        "pool": pool["name"],
        "queue": queue["name"],
        "queue_id": queue["id"],
        "worker": "worker-1",
        "deployment": deployment["id"],
        "deployment_name": deployment["name"],
        "schedule": deployment["schedules"][0]["id"],
        "limit": limit["id"],
        "limit_name": limit["name"],
        "lease": lease["lease_id"],
        "tag": "etl",
        "tag_limit": tag_limit["id"],
        "task_run": str(uuid.uuid4()),
    }


# -- the body as a whole ------------------------------------------------------------------

OBJECT_BODIES = [
    ("post", "deployments/"),
    ("patch", "deployments/{deployment}"),
    ("post", "deployments/filter"),
    ("post", "deployments/paginate"),
    ("post", "deployments/count"),
    ("post", "deployments/bulk_delete"),
    ("post", "deployments/get_scheduled_flow_runs"),
    ("post", "deployments/{deployment}/schedule"),
    ("post", "deployments/{deployment}/create_flow_run"),
    ("patch", "deployments/{deployment}/schedules/{schedule}"),
    ("post", "work_pools/"),
    ("patch", "work_pools/{pool}"),
    ("post", "work_pools/filter"),
    ("post", "work_pools/count"),
    ("post", "work_pools/{pool}/concurrency_status"),
    ("post", "work_pools/{pool}/get_scheduled_flow_runs"),
    ("post", "work_pools/{pool}/queues"),
    ("patch", "work_pools/{pool}/queues/{queue}"),
    ("post", "work_pools/{pool}/queues/filter"),
    ("post", "work_pools/{pool}/workers/heartbeat"),
    ("post", "work_pools/{pool}/workers/filter"),
    ("post", "work_queues/"),
    ("patch", "work_queues/{queue_id}"),
    ("post", "work_queues/filter"),
    ("post", "work_queues/{queue_id}/get_runs"),
    ("post", "work_queues/{queue_id}/concurrency_status"),
    ("post", "concurrency_limits/"),
    ("post", "concurrency_limits/filter"),
    ("post", "concurrency_limits/increment"),
    ("post", "concurrency_limits/decrement"),
    ("post", "concurrency_limits/tag/{tag}/reset"),
    ("post", "v2/concurrency_limits/"),
    ("patch", "v2/concurrency_limits/{limit}"),
    ("post", "v2/concurrency_limits/filter"),
    ("post", "v2/concurrency_limits/increment"),
    ("post", "v2/concurrency_limits/increment-with-lease"),
    ("post", "v2/concurrency_limits/decrement"),
    ("post", "v2/concurrency_limits/decrement-with-lease"),
    ("post", "v2/concurrency_limits/leases/{lease}/renew"),
    ("post", "ui/flows/count-deployments"),
    ("post", "ui/flows/next-runs"),
]
LIST_BODIES = [
    ("post", "deployments/{deployment}/create_flow_run/bulk"),
    ("post", "deployments/{deployment}/schedules"),
]
BODIES = OBJECT_BODIES + LIST_BODIES


@pytest.mark.parametrize(("method", "path"), BODIES, ids=ids_of(BODIES))
def test_a_malformed_json_body_is_a_422_naming_the_body(api, objects, method, path):
    response = getattr(api, method)(fill(path, objects), b"{not json")
    assert_refused(response, 422, names="body")
    assert response.json_body["exception_detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(("method", "path"), OBJECT_BODIES, ids=ids_of(OBJECT_BODIES))
def test_a_json_array_where_an_object_is_expected_is_a_422(api, objects, method, path):
    assert_refused(getattr(api, method)(fill(path, objects), [{"name": "x"}]), 422, names="body")


@pytest.mark.parametrize(("method", "path"), LIST_BODIES, ids=ids_of(LIST_BODIES))
def test_a_json_object_where_a_list_is_expected_is_a_422(api, objects, method, path):
    assert_refused(getattr(api, method)(fill(path, objects), {"name": "x"}), 422, names="body")


@pytest.mark.parametrize(("method", "path"), BODIES, ids=ids_of(BODIES))
def test_an_oversized_body_is_a_413(api, objects, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    filler = "x" * 2048
    body = [{"tags": [filler]}] if (method, path) in LIST_BODIES else {"tags": [filler]}
    assert_refused(getattr(api, method)(fill(path, objects), body), 413)


# -- unknown keys ---------------------------------------------------------------------------

# Prefect's action models forbid keys they do not declare.
UNKNOWN_KEYS = [
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "nme": "typo"}, "body.nme"),
    ("patch", "deployments/{deployment}", {"paused": True, "nme": 1}, "body.nme"),
    ("post", "deployments/{deployment}/create_flow_run", {"nme": 1}, "body.nme"),
    ("post", "deployments/{deployment}/create_flow_run/bulk", [{}, {"nme": 1}], "body.1.nme"),
    ("post", "deployments/{deployment}/schedules", [{"schedule": CRON, "nme": 1}], "body.0.nme"),
    ("patch", "deployments/{deployment}/schedules/{schedule}", {"active": False, "nme": 1}, "body.nme"),
    ("post", "work_pools/", {"name": "p2", "nme": 1}, "body.nme"),
    ("patch", "work_pools/{pool}", {"is_paused": True, "nme": 1}, "body.nme"),
    ("post", "work_pools/{pool}/queues", {"name": "q2", "nme": 1}, "body.nme"),
    ("patch", "work_pools/{pool}/queues/{queue}", {"nme": 1}, "body.nme"),
    ("post", "work_queues/", {"name": "q3", "nme": 1}, "body.nme"),
    ("patch", "work_queues/{queue_id}", {"nme": 1}, "body.nme"),
    ("post", "concurrency_limits/", {"tag": "t", "concurrency_limit": 1, "nme": 1}, "body.nme"),
    ("post", "v2/concurrency_limits/", {"name": "n", "limit": 1, "nme": 1}, "body.nme"),
    ("patch", "v2/concurrency_limits/{limit}", {"nme": 1}, "body.nme"),
    # ... and every filter the lists take refuses keys its Prefect model does not have.
    ("post", "deployments/filter", {"deployments": {"nme": {}}}, "body.deployments.nme"),
    ("post", "deployments/filter", {"deployments": {"name": {"like": "x"}}}, "body.deployments.name.like"),
    ("post", "deployments/count", {"work_pools": {"nme": {}}}, "body.work_pools.nme"),
    ("post", "deployments/paginate", {"work_pool_queues": {"nme": {}}}, "body.work_pool_queues.nme"),
    ("post", "deployments/bulk_delete", {"deployments": {"tags": {"none_": []}}}, "body.deployments.tags.none_"),
    ("post", "work_pools/filter", {"work_pools": {"status": {}}}, "body.work_pools.status"),
    ("post", "work_pools/count", {"work_pools": {"name": {"like_": "p"}}}, "body.work_pools.name.like_"),
    ("post", "work_queues/filter", {"work_queues": {"nme": {}}}, "body.work_queues.nme"),
    ("post", "work_pools/{pool}/queues/filter", {"work_queues": {"nme": {}}}, "body.work_queues.nme"),
    ("post", "work_pools/{pool}/workers/filter", {"workers": {"name": {}}}, "body.workers.name"),
    ("post", "flow_runs/filter", {"deployments": {"nme": {}}}, "body.deployments.nme"),
    ("post", "flows/filter", {"work_pools": {"nme": {}}}, "body.work_pools.nme"),
    ("post", "task_runs/count", {"deployments": {"id": {"all_": []}}}, "body.deployments.id.all_"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"), UNKNOWN_KEYS, ids=[f"{m.upper()} /{p} {loc}" for m, p, _, loc in UNKNOWN_KEYS]
)
def test_an_unknown_key_is_refused_by_name(api, objects, method, path, body, loc):
    assert_refused(call(api, method, fill(path, objects), _with_ids(body, objects)), 422, names=loc)


@pytest.mark.parametrize(
    "key", ["worker_pool_queue_id", "worker_pool_name", "worker_pool_queue_name", "work_pool_queue_name"]
)
def test_the_keys_of_2x_clients_are_dropped_not_refused(api, objects, key):
    body = deployment_body(objects["flow"], "old-client", **{key: "pool"})
    assert api.post("deployments/", body).status_code == 201
    assert api.patch(fill("deployments/{deployment}", objects), {key: "pool", "paused": True}).status_code == 204
    assert api.get(fill("deployments/{deployment}", objects)).json_body["paused"] is True


# -- wrong types ------------------------------------------------------------------------------

WRONG_TYPES = [
    ("post", "deployments/", {"name": 5, "flow_id": "{flow}"}, "body.name"),
    ("post", "deployments/", {"name": "a/b", "flow_id": "{flow}"}, "body.name"),
    ("post", "deployments/", {"name": "d", "flow_id": 123}, "body.flow_id"),
    ("post", "deployments/", {"name": "d", "flow_id": "not-a-uuid"}, "body.flow_id"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "schedules": {"cron": "* * * * *"}}, "body.schedules"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "concurrency_limit": 0}, "body.concurrency_limit"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "concurrency_limit": "two"}, "body.concurrency_limit"),
    (
        "post",
        "deployments/",
        {"name": "d", "flow_id": "{flow}", "concurrency_options": {"collision_strategy": "QUEUE"}},
        "body.concurrency_options.collision_strategy",
    ),
    (
        "post",
        "deployments/",
        {"name": "d", "flow_id": "{flow}", "concurrency_options": {"grace_period_seconds": 5}},
        "body.concurrency_options.grace_period_seconds",
    ),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "parameters": [1]}, "body.parameters"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "tags": "nightly"}, "body.tags"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "pull_steps": "git clone"}, "body.pull_steps"),
    ("post", "deployments/", {"name": "d", "flow_id": "{flow}", "paused": "maybe"}, "body.paused"),
    ("patch", "deployments/{deployment}", {"paused": "yes please"}, "body.paused"),
    ("patch", "deployments/{deployment}", {"work_pool_name": 7}, "body.work_pool_name"),
    ("post", "deployments/{deployment}/create_flow_run", {"parameters": "x"}, "body.parameters"),
    ("post", "deployments/{deployment}/create_flow_run", {"state": {"type": "EXPLODED"}}, "body.state.type"),
    ("post", "deployments/{deployment}/create_flow_run/bulk", [{"tags": "x"}], "body.0.tags"),
    ("post", "deployments/{deployment}/schedule", {"min_time": "an hour"}, "body.min_time"),
    ("post", "deployments/{deployment}/schedule", {"min_time": 1e300}, "body.min_time"),
    ("post", "deployments/{deployment}/schedule", {"min_runs": -1}, "body.min_runs"),
    ("post", "deployments/{deployment}/schedule", {"start_time": "soon"}, "body.start_time"),
    ("post", "deployments/get_scheduled_flow_runs", {"deployment_ids": ["nope"]}, "body.deployment_ids"),
    ("post", "deployments/get_scheduled_flow_runs", {"deployment_ids": "{deployment}"}, "body.deployment_ids"),
    (
        "post",
        "deployments/get_scheduled_flow_runs",
        {"deployment_ids": ["{deployment}"], "scheduled_before": "later"},
        "body.scheduled_before",
    ),
    ("post", "deployments/filter", {"deployments": {"paused": {"eq_": "no"}}}, "body.deployments.paused.eq_"),
    ("post", "deployments/filter", {"deployments": {"id": {"any_": [1]}}}, "body.deployments.id.any_"),
    ("post", "work_pools/", {"name": 5}, "body.name"),
    ("post", "work_pools/", {"name": "p/q"}, "body.name"),
    ("post", "work_pools/", {"name": "p2", "concurrency_limit": -1}, "body.concurrency_limit"),
    ("post", "work_pools/", {"name": "p2", "base_job_template": "{}"}, "body.base_job_template"),
    ("patch", "work_pools/{pool}", {"is_paused": "maybe"}, "body.is_paused"),
    ("post", "work_pools/{pool}/get_scheduled_flow_runs", {"work_queue_names": "critical"}, "body.work_queue_names"),
    ("post", "work_pools/{pool}/get_scheduled_flow_runs", {"scheduled_before": "later"}, "body.scheduled_before"),
    ("post", "work_pools/{pool}/concurrency_status", {"page": 0}, "body.page"),
    ("post", "work_pools/{pool}/concurrency_status", {"flow_run_limit": 500}, "body.flow_run_limit"),
    ("post", "work_pools/{pool}/queues", {"name": "q", "priority": 0}, "body.priority"),
    ("post", "work_pools/{pool}/queues", {"name": "q", "concurrency_limit": "many"}, "body.concurrency_limit"),
    ("patch", "work_pools/{pool}/queues/{queue}", {"priority": "first"}, "body.priority"),
    ("post", "work_pools/{pool}/workers/heartbeat", {"name": 5}, "body.name"),
    ("post", "work_pools/{pool}/workers/heartbeat", {}, "body.name"),
    (
        "post",
        "work_pools/{pool}/workers/heartbeat",
        {"name": "w", "heartbeat_interval_seconds": "30s"},
        "body.heartbeat_interval_seconds",
    ),
    ("post", "work_pools/{pool}/workers/filter", {"workers": {"status": {"any_": ["AWAY"]}}}, "body.workers.status"),
    ("post", "work_queues/", {"name": "q", "is_paused": "maybe"}, "body.is_paused"),
    ("post", "work_queues/{queue_id}/get_runs", {"scheduled_before": "later"}, "body.scheduled_before"),
    ("post", "concurrency_limits/", {"tag": 5, "concurrency_limit": 1}, "body.tag"),
    ("post", "concurrency_limits/", {"tag": "t", "concurrency_limit": "one"}, "body.concurrency_limit"),
    ("post", "concurrency_limits/increment", {"names": ["etl"], "task_run_id": 7}, "body.task_run_id"),
    ("post", "concurrency_limits/tag/{tag}/reset", {"slot_override": ["x"]}, "body.slot_override"),
    ("post", "v2/concurrency_limits/", {"name": 5, "limit": 1}, "body.name"),
    ("post", "v2/concurrency_limits/", {"name": "n", "limit": -1}, "body.limit"),
    ("post", "v2/concurrency_limits/", {"name": "n", "limit": 10**20}, "body.limit"),
    (
        "post",
        "v2/concurrency_limits/",
        {"name": "n", "limit": 1, "slot_decay_per_second": -1},
        "body.slot_decay_per_second",
    ),
    ("patch", "v2/concurrency_limits/{limit}", {"limit": "ten"}, "body.limit"),
    ("post", "v2/concurrency_limits/increment", {"names": ["db"], "slots": 0}, "body.slots"),
    ("post", "v2/concurrency_limits/increment", {"names": [], "slots": 1}, "body.names"),
    ("post", "v2/concurrency_limits/increment", {"names": ["db"], "slots": 1, "mode": "burst"}, "body.mode"),
    (
        "post",
        "v2/concurrency_limits/increment-with-lease",
        {"names": ["db"], "slots": 1, "lease_duration": 5},
        "body.lease_duration",
    ),
    (
        "post",
        "v2/concurrency_limits/increment-with-lease",
        {"names": ["db"], "slots": 1, "holder": {"type": "robot", "id": "{task_run}"}},
        "body.holder.type",
    ),
    ("post", "v2/concurrency_limits/decrement-with-lease", {"lease_id": 7}, "body.lease_id"),
    ("post", "v2/concurrency_limits/decrement-with-lease", {}, "body.lease_id"),
    ("post", "v2/concurrency_limits/leases/{lease}/renew", {"lease_duration": 1e6}, "body.lease_duration"),
    ("post", "ui/flows/count-deployments", {"flow_ids": ["nope"]}, "body.flow_ids"),
    ("post", "ui/flows/next-runs", {}, "body.flow_ids"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"), WRONG_TYPES, ids=[f"{m.upper()} /{p} {loc}" for m, p, _, loc in WRONG_TYPES]
)
def test_a_value_of_the_wrong_type_is_refused_by_name(api, objects, method, path, body, loc):
    assert_refused(call(api, method, fill(path, objects), _with_ids(body, objects)), 422, names=loc)


# -- schedules ---------------------------------------------------------------------------------

BAD_SCHEDULES = [
    pytest.param({"cron": "61 * * * *"}, "cron", id="cron minute 61"),
    pytest.param({"cron": "every day"}, "cron", id="cron words"),
    pytest.param({"cron": "R 9 * * *"}, "cron", id="cron random"),
    pytest.param({"cron": 5}, "cron", id="cron number"),
    pytest.param({"cron": "0 9 * * *", "day_or": "yes"}, "day_or", id="cron day_or"),
    pytest.param({"cron": "0 9 * * *", "timezone": "Mars/Olympus_Mons"}, "timezone", id="cron timezone"),
    pytest.param({"rrule": "FREQ=FORTNIGHTLY"}, "rrule", id="rrule freq"),
    pytest.param({"rrule": "BYDAY=XX"}, "rrule", id="rrule byday"),
    pytest.param({"rrule": ""}, "rrule", id="rrule empty"),
    pytest.param({"rrule": "FREQ=DAILY;" + "BYHOUR=1;" * 800}, "rrule", id="rrule too long"),
    pytest.param({"rrule": "FREQ=DAILY", "timezone": "Europe/Atlantis"}, "timezone", id="rrule timezone"),
    pytest.param({"interval": -60}, "interval", id="negative interval"),
    pytest.param({"interval": 0}, "interval", id="zero interval"),
    pytest.param({"interval": 1e-9}, "interval", id="interval below a microsecond"),
    pytest.param({"interval": 1e300}, "interval", id="interval beyond a timedelta"),
    pytest.param({"interval": "hourly"}, "interval", id="interval words"),
    pytest.param({"interval": 60, "timezone": "Nowhere/Town"}, "timezone", id="interval timezone"),
    pytest.param({"interval": 60, "anchor_date": "last tuesday"}, "anchor_date", id="anchor date"),
    pytest.param({"interval": 60, "cron": "* * * * *"}, "", id="two kinds"),
    pytest.param({"cron": "* * * * *", "rrule": "FREQ=DAILY"}, "", id="cron and rrule"),
    pytest.param({"timezone": "UTC"}, "", id="no kind"),
    pytest.param(
        {"cron": "* * * * *", "anchor_date": "2026-01-01T00:00:00Z"}, "anchor_date", id="a key of another kind"
    ),
    pytest.param("0 9 * * *", "", id="a string"),
]


def _loc(base: str, key: str) -> str:
    return f"{base}.{key}" if key else base


@pytest.mark.parametrize(("schedule", "key"), BAD_SCHEDULES)
def test_an_invalid_schedule_of_a_new_deployment_is_refused_by_name(api, objects, schedule, key):
    body = deployment_body(objects["flow"], "scheduled", schedules=[schedule_body(schedule)])
    assert_refused(api.post("deployments/", body), 422, names=_loc("body.schedules.0.schedule", key))
    assert api.get(f"deployments/name/{objects['flow_name']}/scheduled").status_code == 404


@pytest.mark.parametrize(("schedule", "key"), BAD_SCHEDULES)
def test_an_invalid_schedule_leaves_the_deployment_as_it_was(api, objects, schedule, key):
    path = fill("deployments/{deployment}", objects)
    body = {"schedules": [schedule_body(interval(60.0)), schedule_body(schedule)]}
    assert_refused(api.patch(path, body), 422, names=_loc("body.schedules.1.schedule", key))
    assert [s["schedule"] for s in api.get(path).json_body["schedules"]] == [CRON]


@pytest.mark.parametrize(("schedule", "key"), BAD_SCHEDULES)
def test_an_invalid_schedule_is_refused_when_added_or_changed(api, objects, schedule, key):
    added = api.post(fill("deployments/{deployment}/schedules", objects), [schedule_body(schedule)])
    assert_refused(added, 422, names=_loc("body.0.schedule", key))
    changed = api.patch(fill("deployments/{deployment}/schedules/{schedule}", objects), {"schedule": schedule})
    assert_refused(changed, 422, names=_loc("body.schedule", key))


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_scheduled_runs", 0), ("max_scheduled_runs", "ten"), ("active", "maybe"), ("parameters", [1])],
)
def test_an_invalid_schedule_setting_is_refused_by_name(api, objects, field, value):
    body = [schedule_body(RRULE, **{field: value})]
    assert_refused(api.post(fill("deployments/{deployment}/schedules", objects), body), 422, names=f"body.0.{field}")


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param({"cron": "0 0 31 2 *"}, id="a cron that never fires"),
        pytest.param({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, id="an rrule that never fires"),
        pytest.param({"interval": 3600, "anchor_date": "9999-12-31T23:00:00Z", "timezone": "Pacific/Kiritimati"}),
        pytest.param({"interval": 3600, "anchor_date": "0001-01-01T00:00:00Z", "timezone": "America/New_York"}),
        pytest.param({"interval": 86400 * 999_999_998.0}, id="the longest interval"),
    ],
)
def test_a_valid_schedule_with_no_date_to_come_is_taken_with_no_runs(api, objects, schedule):
    body = deployment_body(objects["flow"], "never", schedules=[schedule_body(schedule)])
    response = api.post("deployments/", body)
    assert response.status_code == 201, response.content
    runs = api.post("flow_runs/filter", {"deployments": {"id": {"any_": [response.json_body["id"]]}}})
    assert runs.json_body == []


# -- ids and names in paths ---------------------------------------------------------------------

PATH_IDS = [
    ("get", "deployments/{id}"),
    ("patch", "deployments/{id}"),
    ("delete", "deployments/{id}"),
    ("post", "deployments/{id}/schedule"),
    ("post", "deployments/{id}/pause_deployment"),
    ("post", "deployments/{id}/resume_deployment"),
    ("post", "deployments/{id}/create_flow_run"),
    ("get", "deployments/{id}/work_queue_check"),
    ("get", "deployments/{id}/schedules"),
    ("get", "work_queues/{id}"),
    ("patch", "work_queues/{id}"),
    ("delete", "work_queues/{id}"),
    ("post", "work_queues/{id}/get_runs"),
    ("post", "work_queues/{id}/concurrency_status"),
    ("get", "work_queues/{id}/status"),
    ("get", "concurrency_limits/{id}"),
    ("delete", "concurrency_limits/{id}"),
    ("get", "v2/concurrency_limits/{id}"),
    ("patch", "v2/concurrency_limits/{id}"),
    ("delete", "v2/concurrency_limits/{id}"),
]
LIST_PATHS = [("post", "deployments/{id}/create_flow_run/bulk"), ("post", "deployments/{id}/schedules")]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42"])
@pytest.mark.parametrize(("method", "path"), PATH_IDS + LIST_PATHS, ids=ids_of(PATH_IDS + LIST_PATHS))
def test_a_non_uuid_id_in_a_path_is_a_404(api, objects, method, path, bad_id):
    body = [] if (method, path) in LIST_PATHS else {}
    assert_refused(call(api, method, path.format(id=bad_id), body), 404)


@pytest.mark.parametrize(("method", "path"), PATH_IDS + LIST_PATHS, ids=ids_of(PATH_IDS + LIST_PATHS))
def test_an_unknown_id_is_a_404_saying_what_was_not_found(api, objects, method, path):
    body = [] if (method, path) in LIST_PATHS else {}
    response = call(api, method, path.format(id=uuid.uuid4()), body)
    assert_refused(response, 404)
    assert response.json_body["detail"] != "Not Found", "an unknown object must not look like an unknown path"


@pytest.mark.parametrize(("method", "body"), [("patch", {"active": False}), ("delete", None)])
def test_an_unknown_schedule_of_a_deployment_is_a_404(api, objects, method, body):
    path = f"deployments/{objects['deployment']}/schedules/{uuid.uuid4()}"
    response = call(api, method, path, body)
    assert_refused(response, 404)
    assert response.json_body["detail"].startswith("Schedule not found")


def test_a_schedule_of_another_deployment_is_not_found_through_this_one(api, objects, flow):
    other = api.post("deployments/", deployment_body(str(flow.pk), "other")).json_body
    response = api.patch(f"deployments/{other['id']}/schedules/{objects['schedule']}", {"active": False})
    assert_refused(response, 404)


UNKNOWN_NAMES = [
    # the exact words the Prefect client and CLI show
    ("get", "work_pools/nope", None, 'Work pool "nope" not found.'),
    ("patch", "work_pools/nope", {"description": "x"}, 'Work pool "nope" not found.'),
    ("delete", "work_pools/nope", None, 'Work pool "nope" not found.'),
    ("post", "work_pools/nope/get_scheduled_flow_runs", {}, 'Work pool "nope" not found.'),
    ("post", "work_pools/nope/queues", {"name": "q"}, 'Work pool "nope" not found.'),
    ("post", "work_pools/nope/queues/filter", {}, 'Work pool "nope" not found.'),
    ("post", "work_pools/nope/workers/heartbeat", {"name": "w"}, 'Work pool "nope" not found.'),
    ("post", "work_pools/nope/workers/filter", {}, 'Work pool "nope" not found.'),
    ("post", "work_queues/", {"name": "q", "work_pool_name": "nope"}, 'Work pool "nope" not found.'),
    (
        "post",
        "deployments/",
        {"name": "d", "flow_id": "{flow}", "work_pool_name": "nope"},
        'Work pool "nope" not found.',
    ),
    ("get", "work_pools/{pool}/queues/nope", None, "Work pool queue 'pool/nope' not found."),
    ("patch", "work_pools/{pool}/queues/nope", {"priority": 2}, "Work pool queue 'pool/nope' not found."),
    ("delete", "work_pools/{pool}/queues/nope", None, "Work pool queue 'pool/nope' not found."),
    (
        "post",
        "work_pools/{pool}/get_scheduled_flow_runs",
        {"work_queue_names": ["critical", "nope"]},
        "Work pool queue 'pool/nope' not found.",
    ),
    ("delete", "work_pools/{pool}/workers/nope", None, "Worker not found."),
    ("get", "work_queues/name/nope", None, "work queue not found"),
    ("get", "deployments/name/{flow_name}/nope", None, "Deployment not found"),
    ("get", "deployments/name/no-such-flow/{deployment_name}", None, "Deployment not found"),
    ("get", "concurrency_limits/tag/nope", None, "Concurrency limit not found"),
    ("delete", "concurrency_limits/tag/nope", None, "Concurrency limit not found"),
    ("post", "concurrency_limits/tag/nope/reset", {}, "Concurrency limit not found"),
    ("get", "v2/concurrency_limits/nope", None, "Concurrency Limit not found"),
    ("delete", "v2/concurrency_limits/nope", None, "Concurrency Limit not found"),
    ("get", "collections/views/nope", None, "View nope not found in registry"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"), UNKNOWN_NAMES, ids=[f"{m.upper()} /{p}" for m, p, _, _ in UNKNOWN_NAMES]
)
def test_an_unknown_name_is_a_404_with_prefects_words(api, objects, method, path, body, detail):
    response = call(api, method, fill(path, objects), _with_ids(body, objects) if body is not None else None)
    assert_refused(response, 404)
    assert response.json_body == {"detail": detail}


# -- conflicts and reserved names ------------------------------------------------------------------


def test_a_second_pool_with_the_same_name_is_a_409(api, objects):
    response = api.post("work_pools/", {"name": "pool", "type": "kubernetes"})
    assert_refused(response, 409)
    assert response.json_body["detail"] == "A work pool with this name already exists."
    assert api.get("work_pools/pool").json_body["type"] == "process"


def test_a_second_queue_with_the_same_name_in_a_pool_is_a_409(api, objects):
    assert_refused(api.post("work_pools/pool/queues", {"name": "critical"}), 409)
    assert_refused(api.patch("work_pools/pool/queues/default", {"name": "critical"}), 409)


def test_a_second_global_limit_with_the_same_name_is_a_409(api, objects):
    assert_refused(api.post("v2/concurrency_limits/", {"name": "db", "limit": 5}), 409)
    assert api.post("v2/concurrency_limits/", {"name": "other", "limit": 5}).status_code == 201
    assert_refused(api.patch("v2/concurrency_limits/other", {"name": "db"}), 409)


@pytest.mark.parametrize("name", ["prefect", "prefect-managed", "Prefect Push Pool", "PREFECT"])
def test_a_pool_name_starting_with_prefect_is_reserved(api, name):
    response = api.post("work_pools/", {"name": name, "type": "process"})
    assert_refused(response, 403)
    assert response.json_body["detail"] == "Work pools starting with 'Prefect' are reserved for internal use."
    assert api.get(f"work_pools/{name}").status_code == 404


def test_a_reserved_pool_may_only_be_paused_or_limited(api, objects):
    from deployments import pools

    pools.create_pool(name="prefect-internal", type="prefect-agent")
    assert_refused(api.patch("work_pools/prefect-internal", {"description": "mine now"}), 403)
    assert_refused(api.delete("work_pools/prefect-internal"), 403)
    assert api.patch("work_pools/prefect-internal", {"is_paused": True, "concurrency_limit": 2}).status_code == 204


def test_the_default_queue_of_a_pool_cannot_be_deleted(api, objects):
    response = api.delete("work_pools/pool/queues/default")
    assert 400 <= response.status_code < 500
    assert api.get("work_pools/pool/queues/default").status_code == 200


def test_a_deployment_of_an_unknown_flow_is_a_409(api, objects):
    response = api.post("deployments/", deployment_body(str(uuid.uuid4()), "orphan"))
    assert_refused(response, 409)


def test_a_deployment_with_an_unknown_global_limit_is_a_404(api, objects):
    body = deployment_body(objects["flow"], "limited", global_concurrency_limit_id=str(uuid.uuid4()))
    response = api.post("deployments/", body)
    assert_refused(response, 404)
    assert response.json_body["detail"] == "Concurrency limit not found"


def test_parameters_that_do_not_match_the_schema_are_refused(api, objects):
    path = fill("deployments/{deployment}/create_flow_run", objects)
    response = api.post(path, {"parameters": {"n": "three"}})
    assert 400 <= response.status_code < 500 and isinstance(response.json_body["detail"], str), response.content


def test_too_many_runs_at_once_are_refused(api, objects):
    path = fill("deployments/{deployment}/create_flow_run/bulk", objects)
    assert_plain(api.post(path, [{}] * 101), 422)


# -- concurrency limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["v2/concurrency_limits/increment", "v2/concurrency_limits/increment-with-lease"], ids=["plain", "lease"]
)
def test_more_slots_than_the_limit_has_are_a_422(api, objects, path):
    assert_plain(api.post(path, {"names": ["db"], "slots": 2}), 422, "Slots requested is greater than the limit")


@pytest.mark.parametrize(
    "path", ["v2/concurrency_limits/increment", "v2/concurrency_limits/increment-with-lease"], ids=["plain", "lease"]
)
def test_a_full_limit_is_a_423_saying_when_to_try_again(api, objects, path):
    response = api.post(path, {"names": ["db"], "slots": 1})
    assert_refused(response, 423)
    assert float(response["Retry-After"]) > 0
    limit = api.get("v2/concurrency_limits/db").json_body
    assert (limit["active_slots"], limit["denied_slots"]) == (1, 1)


def test_a_full_tag_limit_is_a_423_saying_when_to_try_again(api, objects):
    first = api.post("concurrency_limits/increment", {"names": ["etl"], "task_run_id": objects["task_run"]})
    assert first.status_code == 200, first.content
    response = api.post("concurrency_limits/increment", {"names": ["etl"], "task_run_id": str(uuid.uuid4())})
    assert_refused(response, 423)
    assert response.json_body["detail"] == "Concurrency limit for the etl tag has been reached"
    assert float(response["Retry-After"]) > 0


def test_a_tag_limit_of_zero_is_a_423_that_names_the_deadlock(api, objects):
    api.post("concurrency_limits/", {"tag": "frozen", "concurrency_limit": 0})
    response = api.post("concurrency_limits/increment", {"names": ["frozen"], "task_run_id": objects["task_run"]})
    assert_refused(response, 423)
    assert "is 0 and will deadlock" in response.json_body["detail"]


def test_a_rate_limit_needs_a_limit_that_decays(api, objects):
    response = api.post("v2/concurrency_limits/increment", {"names": ["db"], "slots": 1, "mode": "rate_limit"})
    assert_plain(response, 422)
    assert "db" in response.json_body["detail"]


def test_renewing_an_unknown_lease_is_a_410(api, objects):
    response = api.post(f"v2/concurrency_limits/leases/{uuid.uuid4()}/renew", {"lease_duration": 300})
    assert_refused(response, 410)
    assert response.json_body["detail"] == "Lease not found - it may have expired or been revoked"


def test_renewing_a_released_lease_is_a_410(api, objects):
    assert api.post("v2/concurrency_limits/decrement-with-lease", {"lease_id": objects["lease"]}).status_code == 204
    assert_refused(api.post(fill("v2/concurrency_limits/leases/{lease}/renew", objects), {}), 410)
    assert api.get("v2/concurrency_limits/db").json_body["active_slots"] == 0


def test_releasing_an_unknown_lease_changes_nothing(api, objects):
    assert api.post("v2/concurrency_limits/decrement-with-lease", {"lease_id": str(uuid.uuid4())}).status_code == 204
    assert api.get("v2/concurrency_limits/db").json_body["active_slots"] == 1


# -- lists ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [-1, 201, "ten"])
@pytest.mark.parametrize(
    "path",
    [
        "deployments/filter",
        "deployments/paginate",
        "work_pools/filter",
        "work_queues/filter",
        "work_pools/{pool}/queues/filter",
        "work_pools/{pool}/workers/filter",
        "v2/concurrency_limits/filter",
        "concurrency_limits/filter",
    ],
)
def test_a_limit_out_of_range_is_refused(api, objects, path, limit):
    assert_refused(api.post(fill(path, objects), {"limit": limit}), 422, names="body.limit")


@pytest.mark.parametrize("path", ["deployments/filter", "deployments/paginate"])
def test_an_unknown_deployment_sort_is_refused(api, objects, path):
    assert api.post(path, {"sort": "NAME_DESC"}).status_code == 200
    assert_refused(api.post(path, {"sort": "SIDEWAYS"}), 422, names="body.sort")


@pytest.mark.parametrize("path", ["work_pools/{pool}/concurrency_status", "work_queues/{queue_id}/concurrency_status"])
@pytest.mark.parametrize("page", [0, -1, "two", 10**20])
def test_a_concurrency_status_page_out_of_range_is_refused(api, objects, path, page):
    assert_refused(api.post(fill(path, objects), {"page": page}), 422, names="body.page")
