"""Notifications end to end: real flow runs of the real Prefect client fail against a real server,
and a local receiver standing in for each service (a real SMTP server for email) gets exactly
the request the service would get.

One server serves the module, its services looping every second, every service's base URL
pointed at the receiver and retries shortened. The blocks are saved with Prefect's own block
classes; every policy has its own tag, and one script run makes all the flow runs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest

from tests.notifications.cases import CASES, OVERRIDDEN
from tests.notifications.receiver import Receiver, Reply, SmtpServer

from .conftest import Api, PrefectClient, ServerProcess, fresh_database, parse_time, running_server, wait_for

pytestmark = pytest.mark.e2e

TIME_ZONE = "America/New_York"
UI_URL = "http://orchestrator.example.com:4200"
STATE_MESSAGE = "Flow run encountered an exception: RuntimeError: the warehouse is unreachable"


def server_env(receiver: Receiver, smtp: SmtpServer, **changes: str) -> dict[str, str]:
    env = {f"ORCHESTRATOR_NOTIFICATIONS_{service.upper()}_URL": receiver.url for service in OVERRIDDEN}
    env.update(
        {
            "EMAIL_URL": smtp.url,
            "DEFAULT_FROM_EMAIL": "orchestrator@example.com",
            "PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_LOOP_SECONDS": "1",
            "ORCHESTRATOR_NOTIFICATIONS_RETRY_BASE_SECONDS": "0.5",
            "ORCHESTRATOR_NOTIFICATIONS_RETRY_MAX_SECONDS": "1",
            "ORCHESTRATOR_NOTIFICATIONS_MAX_ATTEMPTS": "3",
            "ORCHESTRATOR_NOTIFICATIONS_TIMEOUT_SECONDS": "5",
            "ORCHESTRATOR_TIME_ZONE": TIME_ZONE,
            "PREFECT_UI_URL": UI_URL,
        }
    )
    env.update(changes)
    return env


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory, receiver, smtp):
    workdir = tmp_path_factory.mktemp("notifications-server")
    with fresh_database(workdir) as url:
        with running_server(workdir, url, **server_env(receiver, smtp)) as running:
            yield running


@pytest.fixture(scope="module")
def api(server) -> Api:
    return Api(server.api_url)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory) -> PrefectClient:
    return PrefectClient(server, tmp_path_factory.mktemp("notifications-client"))


# --- setting up over the API, as a script would ----------------------------------------------


def create_block(api: Api, slug: str, name: str, data: dict) -> str:
    block_type = api.get(f"block_types/slug/{slug}")
    schemas = api.post("block_schemas/filter", {"block_schemas": {"block_type_id": {"any_": [block_type["id"]]}}})
    document = api.post(
        "block_documents/",
        {"name": name, "data": data, "block_type_id": block_type["id"], "block_schema_id": schemas[0]["id"]},
    )
    return document["id"]


def create_policy(api: Api, block_id: str, tags: list[str], **fields) -> dict:
    body = {"state_names": ["Failed"], "tags": tags, "block_document_id": block_id, **fields}
    response = api.request("POST", "flow_run_notification_policies/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def deliveries_of(api: Api, flow_run_id: str) -> list[dict]:
    return api.post("notification_deliveries/filter", {"deliveries": {"flow_run_id": {"any_": [flow_run_id]}}})


def finished_delivery(api: Api, flow_run_id: str, timeout: float = 30) -> dict:
    def probe():
        found = deliveries_of(api, flow_run_id)
        return found[0] if len(found) == 1 and found[0]["status"] in ("succeeded", "failed", "skipped") else None

    return wait_for(probe, f"the finished delivery of flow run {flow_run_id}", timeout=timeout)


def webhook(receiver: Receiver, path: str, **extra) -> dict:
    return {"name": path.strip("/"), "url": f"{receiver.url}{path}", "json_data": {"text": "{{body}}"}, **extra}


@pytest.fixture(scope="module")
def scenario(api, client, receiver, smtp) -> dict[str, dict]:
    """Every block and policy, then one script run making every flow run; the runs by name."""
    saved = client.script(
        "notify.py",
        "blocks",
        json.dumps({case.slug: {"name": f"e2e-{case.slug}", "data": case.data(receiver.url)} for case in CASES}),
    ).result()
    for case in CASES:
        create_policy(api, saved[case.slug], [f"svc-{case.slug}"])
    create_policy(api, create_block(api, "email", "e2e-email", {"emails": ["oncall@example.com"]}), ["svc-email"])

    receiver.reply("/flaky", Reply(500, "upstream down"), Reply(200, "ok"))
    create_policy(api, create_block(api, "custom-webhook", "flaky", webhook(receiver, "/flaky")), ["flaky"])
    receiver.reply("/gone", Reply(404, "no such hook"))
    create_policy(api, create_block(api, "custom-webhook", "gone", webhook(receiver, "/gone")), ["gone"])
    private = webhook(receiver, "/private", allow_private_urls=False)
    create_policy(api, create_block(api, "custom-webhook", "private", private), ["private"])
    paused = create_block(api, "custom-webhook", "paused", webhook(receiver, "/paused"))
    create_policy(api, paused, ["paused"], is_active=False)
    completed = create_block(api, "custom-webhook", "completed", webhook(receiver, "/completed"))
    create_policy(
        api,
        completed,
        ["only-completed"],
        state_names=["Completed"],
        message_template="{flow_name}/{flow_run_name} is {flow_run_state_name} ({flow_run_state_type})",
    )

    runs = [{"key": case.slug, "tags": [f"svc-{case.slug}", "e2e"], "fail": True} for case in CASES]
    runs += [
        {"key": "email", "tags": ["svc-email"], "fail": True},
        {"key": "flaky", "tags": ["flaky"], "fail": True},
        {"key": "gone", "tags": ["gone"], "fail": True},
        {"key": "private", "tags": ["private"], "fail": True},
        {"key": "paused", "tags": ["paused"], "fail": True},
        {"key": "untagged", "tags": ["nobody-listens"], "fail": True},
        {"key": "completed-fails", "tags": ["only-completed"], "fail": True},
        {"key": "completed", "tags": ["only-completed"], "fail": False},
    ]
    results = client.script("notify.py", "runs", json.dumps(runs), timeout=300).result()
    return {run["key"]: result for run, result in zip(runs, results, strict=True)}


def opening_sentence(api: Api, flow_run_id: str) -> str:
    run = api.flow_run(flow_run_id)
    local = parse_time(run["state"]["timestamp"]).astimezone(ZoneInfo(TIME_ZONE))
    when = local.strftime("%y-%m-%d %H:%M:%S ") + local.tzname()
    return f"The {run['name']} run of the daily-etl flow entered a failed state at {when}."


def expected_body(api: Api, flow_run_id: str) -> str:
    run = api.flow_run(flow_run_id)
    return (
        f"{opening_sentence(api, flow_run_id)}\n\n"
        f"Flow ID: {run['flow_id']}\n"
        f"Flow run ID: {flow_run_id}\n"
        f"Flow run URL: {UI_URL}/runs/flow-run/{flow_run_id}\n"
        f"State message: {STATE_MESSAGE}"
    )


# --- each service gets exactly its request ------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_failed_run_reaches_each_service_with_exactly_the_expected_request(api, receiver, scenario, case):
    flow_run_id = scenario[case.slug]["flow_run_id"]
    assert scenario[case.slug]["state"] == "Failed"

    requests = receiver.wait_for(case.path, case.count, timeout=30)
    delivery = finished_delivery(api, flow_run_id)

    assert delivery["status"] == "succeeded", delivery
    assert delivery["body"] == expected_body(api, flow_run_id)
    case.check(requests, delivery["body"])
    assert [(a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [("succeeded", 200)] * case.count
    # Only the Failed state notifies: no request for Pending or Running, nor a second one.
    assert len(receiver.to(case.path)) == case.count


def test_a_failed_run_reaches_an_smtp_server_by_email(api, smtp, scenario):
    flow_run_id = scenario["email"]["flow_run_id"]

    (message,) = smtp.wait_for(1, timeout=30)
    delivery = finished_delivery(api, flow_run_id)

    assert delivery["status"] == "succeeded", delivery
    assert message["to"] == ["oncall@example.com"]
    assert message["from"] == "orchestrator@example.com"
    assert message["subject"] == "Prefect flow run notification"
    assert message["body"].strip() == expected_body(api, flow_run_id)


def test_the_message_arrives_within_seconds_of_the_failure(api, scenario):
    delivery = finished_delivery(api, scenario["slack-webhook"]["flow_run_id"])
    sent = parse_time(delivery["attempts"][0]["started"])

    assert sent - parse_time(delivery["state_timestamp"]) < dt.timedelta(seconds=5)


# --- retries and failures ------------------------------------------------------------------------


def test_a_500_then_a_200_is_one_delivery_with_two_attempts(api, receiver, scenario):
    delivery = finished_delivery(api, scenario["flaky"]["flow_run_id"])

    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 2
    assert [(a["number"], a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [
        (1, "transient", 500),
        (2, "succeeded", 200),
    ]
    assert delivery["attempts"][0]["response_excerpt"] == "upstream down"
    assert len(receiver.to("/flaky")) == 2


def test_a_404_is_a_failed_delivery_without_retries(api, receiver, scenario):
    delivery = finished_delivery(api, scenario["gone"]["flow_run_id"])
    time.sleep(2)  # longer than the retry delay: nothing more is sent

    assert delivery["status"] == "failed"
    assert "404" in delivery["error"] and "no such hook" in delivery["error"]
    assert [(a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [("permanent", 404)]
    assert len(receiver.to("/gone")) == 1


def test_a_block_forbidding_private_urls_is_not_sent_to_loopback(api, receiver, scenario):
    delivery = finished_delivery(api, scenario["private"]["flow_run_id"])

    assert delivery["status"] == "failed"
    assert "allow_private_urls" in delivery["error"]
    assert not receiver.to("/private")


# --- filters ----------------------------------------------------------------------------------------


def test_a_run_without_a_policy_tag_gets_nothing(api, scenario):
    assert scenario["untagged"]["state"] == "Failed"
    time.sleep(1)

    assert deliveries_of(api, scenario["untagged"]["flow_run_id"]) == []


def test_a_paused_policy_sends_nothing(api, receiver, scenario):
    time.sleep(1)

    assert deliveries_of(api, scenario["paused"]["flow_run_id"]) == []
    assert not receiver.to("/paused")


def test_a_policy_for_completed_runs_ignores_failures_and_uses_its_template(api, receiver, scenario):
    (request,) = receiver.wait_for("/completed", 1, timeout=30)
    completed = finished_delivery(api, scenario["completed"]["flow_run_id"])
    run = api.flow_run(scenario["completed"]["flow_run_id"])

    assert deliveries_of(api, scenario["completed-fails"]["flow_run_id"]) == []
    assert completed["status"] == "succeeded"
    assert request.json == {"text": f"daily-etl/{run['name']} is Completed (COMPLETED)"}


def test_policies_are_read_and_filtered_as_prefect_2_served_them(api, scenario):
    active = api.post(
        "flow_run_notification_policies/filter", {"flow_run_notification_policy_filter": {"is_active": {"eq_": True}}}
    )
    inactive = api.post(
        "flow_run_notification_policies/filter", {"flow_run_notification_policy_filter": {"is_active": {"eq_": False}}}
    )

    assert len(active) == len(CASES) + 5
    assert [p["tags"] for p in inactive] == [["paused"]]


# --- a crash between the state and the send ------------------------------------------------------------


def test_an_alert_survives_a_sigkill_and_arrives_once(tmp_path, receiver, smtp):
    env = server_env(receiver, smtp, PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED="false")
    (tmp_path / "client").mkdir()
    with fresh_database(tmp_path) as url:
        first = ServerProcess(tmp_path, url, **env)
        try:
            first.wait_until_healthy()
            api = Api(first.api_url)
            block = create_block(api, "custom-webhook", "sigkill", webhook(receiver, "/sigkill"))
            create_policy(api, block, ["sigkill"])
            client = PrefectClient(first, tmp_path / "client")
            (run,) = client.script("notify.py", "runs", json.dumps([{"tags": ["sigkill"], "fail": True}])).result()
            (queued,) = deliveries_of(api, run["flow_run_id"])
            assert queued["status"] == "pending" and queued["attempts"] == []
        finally:
            first.kill()  # SIGKILL: no shutdown, nothing flushed
        assert not receiver.to("/sigkill")

        env["PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED"] = "true"
        with running_server(tmp_path, url, **env) as second:
            api = Api(second.api_url)
            receiver.wait_for("/sigkill", 1, timeout=30)
            delivery = finished_delivery(api, run["flow_run_id"])
            time.sleep(3)  # a few more sender passes: still one request

            assert delivery["id"] == queued["id"] and delivery["status"] == "succeeded"
            assert len(receiver.to("/sigkill")) == 1
            assert len(api.get(f"notification_deliveries/{queued['id']}")["attempts"]) == 1
