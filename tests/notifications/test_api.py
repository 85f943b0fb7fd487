"""/api/flow_run_notification_policies (Prefect 2's shape) and our delivery history and tests."""

from __future__ import annotations

import pytest

from notifications.choices import DeliveryStatus
from notifications.models import Delivery, DeliveryAttempt, NotificationPolicy
from tests.runs.helpers import flow_run_in, propose, state

from .conftest import make_block, make_policy
from .receiver import Reply

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-4000-8000-000000000000"
POLICIES = "flow_run_notification_policies"


def create(api, block, **fields) -> dict:
    body = {"state_names": ["Failed"], "tags": ["daily-etl"], "block_document_id": str(block.pk), **fields}
    response = api.post(f"{POLICIES}/", body)
    assert response.status_code == 201, response.json_body
    return response.json_body


# Creating


def test_it_creates_a_policy_as_prefect_2_did(api, webhook):
    response = api.post(
        f"{POLICIES}/",
        {"state_names": ["Failed", "Crashed"], "tags": ["daily-etl"], "block_document_id": str(webhook.pk)},
    )

    assert response.status_code == 201
    body = response.json_body
    assert set(body) == {
        "id",
        "created",
        "updated",
        "is_active",
        "state_names",
        "tags",
        "block_document_id",
        "message_template",
    }
    assert (body["is_active"], body["state_names"], body["tags"]) == (True, ["Failed", "Crashed"], ["daily-etl"])
    assert (body["block_document_id"], body["message_template"]) == (str(webhook.pk), None)
    policy = NotificationPolicy.objects.get(pk=body["id"])
    assert policy.block_document_id == webhook.pk


def test_the_path_without_a_trailing_slash_creates_too(api, webhook):
    response = api.post(POLICIES, {"state_names": [], "tags": [], "block_document_id": str(webhook.pk)})

    assert response.status_code == 201


def test_it_keeps_a_valid_message_template_and_the_active_flag(api, webhook):
    body = create(
        api, webhook, is_active=False, message_template="{flow_name}/{flow_run_name} is {flow_run_state_name}"
    )

    assert body["is_active"] is False
    assert body["message_template"] == "{flow_name}/{flow_run_name} is {flow_run_state_name}"


@pytest.mark.parametrize("missing", ["state_names", "tags", "block_document_id"])
def test_state_names_tags_and_the_block_are_required(api, webhook, missing):
    body = {"state_names": [], "tags": [], "block_document_id": str(webhook.pk)}
    del body[missing]

    response = api.post(f"{POLICIES}/", body)

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", missing]


def test_an_unknown_placeholder_is_refused_with_a_clear_message(api, webhook):
    response = api.post(
        f"{POLICIES}/",
        {"state_names": [], "tags": [], "block_document_id": str(webhook.pk), "message_template": "{flow_nam} failed"},
    )

    assert response.status_code == 422
    error = response.json_body["exception_detail"][0]
    assert error["loc"] == ["body", "message_template"]
    assert error["msg"].startswith("Invalid template variable provided: 'flow_nam'")
    assert "flow_name" in error["msg"]
    assert not NotificationPolicy.objects.exists()


@pytest.mark.parametrize(
    "template",
    ["{flow_name.__class__}", "{flow_name[0]}", "{0}", "{}", "{flow_name", "flow_name}", "{flow_name:{flow_id}}"],
)
def test_templates_other_than_plain_named_placeholders_are_refused(api, webhook, template):
    response = api.post(
        f"{POLICIES}/",
        {"state_names": [], "tags": [], "block_document_id": str(webhook.pk), "message_template": template},
    )

    assert response.status_code == 422, template
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "message_template"]


def test_escaped_braces_are_fine(api, webhook):
    body = create(api, webhook, message_template="{{literal}} {flow_name}")

    assert body["message_template"] == "{{literal}} {flow_name}"


def test_a_missing_block_document_is_a_404(api):
    response = api.post(f"{POLICIES}/", {"state_names": [], "tags": [], "block_document_id": MISSING})

    assert response.status_code == 404
    assert response.json_body == {"detail": "Block document not found"}


def test_a_block_that_cannot_notify_is_refused(api):
    secret = make_block("secret", {"value": "x"}, name="not-a-notifier")

    response = api.post(f"{POLICIES}/", {"state_names": [], "tags": [], "block_document_id": str(secret.pk)})

    assert response.status_code == 422
    assert "cannot send notifications" in response.json_body["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"state_names": "Failed"}, ["body", "state_names"]),
        ({"state_names": [1]}, ["body", "state_names", 0]),
        ({"tags": {"a": 1}}, ["body", "tags"]),
        ({"block_document_id": "nope"}, ["body", "block_document_id"]),
        ({"block_document_id": 12}, ["body", "block_document_id"]),
        ({"is_active": "maybe"}, ["body", "is_active"]),
        ({"message_template": 5}, ["body", "message_template"]),
        ({"name": "old field"}, ["body", "name"]),
    ],
)
def test_wrong_types_and_unknown_keys_are_422s_naming_the_field(api, webhook, body, loc):
    full = {"state_names": [], "tags": [], "block_document_id": str(webhook.pk), **body}

    response = api.post(f"{POLICIES}/", full)

    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json_body["exception_detail"]]


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"null", b"1"])
def test_malformed_bodies_are_422s(api, raw):
    response = api.post(f"{POLICIES}/", raw)

    assert response.status_code == 422


# Reading, updating, deleting


def test_it_reads_a_policy_and_404s_a_missing_one(api, webhook):
    policy = create(api, webhook)

    found = api.get(f"{POLICIES}/{policy['id']}")
    missing = api.get(f"{POLICIES}/{MISSING}")

    assert found.status_code == 200 and found.json_body == policy
    assert missing.status_code == 404
    assert missing.json_body == {"detail": "Flow run notification policy not found"}


def test_patch_changes_only_the_fields_sent(api, webhook):
    policy = create(api, webhook, message_template="{flow_name}")
    other = make_block("custom-webhook", {"name": "other", "url": "http://127.0.0.1:9/x"}, name="other")

    response = api.patch(
        f"{POLICIES}/{policy['id']}", {"is_active": False, "tags": ["a", "b"], "block_document_id": str(other.pk)}
    )

    assert response.status_code == 204 and not response.content
    updated = api.get(f"{POLICIES}/{policy['id']}").json_body
    assert (updated["is_active"], updated["tags"], updated["block_document_id"]) == (False, ["a", "b"], str(other.pk))
    assert (updated["state_names"], updated["message_template"]) == (["Failed"], "{flow_name}")
    assert updated["updated"] > policy["updated"]


def test_patching_the_template_to_null_restores_the_default_message(api, webhook):
    policy = create(api, webhook, message_template="{flow_name}")

    api.patch(f"{POLICIES}/{policy['id']}", {"message_template": None})

    assert NotificationPolicy.objects.get(pk=policy["id"]).message_template is None


def test_patch_refuses_an_unknown_placeholder_and_changes_nothing(api, webhook):
    policy = create(api, webhook)

    response = api.patch(f"{POLICIES}/{policy['id']}", {"message_template": "{nope}", "is_active": False})

    assert response.status_code == 422
    assert "Invalid template variable provided: 'nope'" in response.json_body["detail"]
    assert NotificationPolicy.objects.get(pk=policy["id"]).is_active is True


@pytest.mark.parametrize(
    "body", [{"block_document_id": MISSING}, {"tags": "x"}, {"unknown": 1}, {"state_names": [None]}]
)
def test_patch_refuses_bad_input_without_a_500(api, webhook, body):
    policy = create(api, webhook)

    response = api.patch(f"{POLICIES}/{policy['id']}", body)

    assert response.status_code in (404, 422)


def test_patch_and_delete_of_a_missing_policy_are_404s(api):
    assert api.patch(f"{POLICIES}/{MISSING}", {"is_active": False}).status_code == 404
    assert api.delete(f"{POLICIES}/{MISSING}").status_code == 404


def test_delete_removes_the_policy_and_its_history_but_not_the_block(api, webhook):
    policy = create(api, webhook)
    Delivery.objects.create(policy_id=policy["id"], subject="s", body="b")

    response = api.delete(f"{POLICIES}/{policy['id']}")

    assert response.status_code == 204
    assert api.get(f"{POLICIES}/{policy['id']}").status_code == 404
    assert not Delivery.objects.exists()
    webhook.refresh_from_db()


# Filtering


def test_filter_lists_policies_oldest_first_and_filters_by_active(api, webhook):
    first = create(api, webhook)
    second = create(api, webhook, is_active=False)
    third = create(api, webhook)

    everything = api.post(f"{POLICIES}/filter", {}).json_body
    active = api.post(f"{POLICIES}/filter", {"flow_run_notification_policy_filter": {"is_active": {"eq_": True}}})
    inactive = api.post(f"{POLICIES}/filter", {"flow_run_notification_policy_filter": {"is_active": {"eq_": False}}})

    assert [p["id"] for p in everything] == [first["id"], second["id"], third["id"]]
    assert [p["id"] for p in active.json_body] == [first["id"], third["id"]]
    assert [p["id"] for p in inactive.json_body] == [second["id"]]


def test_filter_by_state_names_tags_block_and_template(api, webhook):
    other = make_block("custom-webhook", {"name": "o", "url": "http://127.0.0.1:9/"}, name="other")
    failed = create(api, webhook, state_names=["Failed"], tags=["a"])
    crashed = create(api, other, state_names=["Crashed"], tags=["b"], message_template="{flow_name} crashed")

    def ids(criteria):
        response = api.post(f"{POLICIES}/filter", {"flow_run_notification_policy_filter": criteria})
        assert response.status_code == 200, response.json_body
        return [p["id"] for p in response.json_body]

    assert ids({"state_names": {"any_": ["Crashed", "Late"]}}) == [crashed["id"]]
    assert ids({"tags": {"any_": ["a"]}}) == [failed["id"]]
    assert ids({"block_document_id": {"any_": [str(other.pk)]}}) == [crashed["id"]]
    assert ids({"message_template": {"is_null_": True}}) == [failed["id"]]
    assert ids({"message_template": {"like_": "crash"}}) == [crashed["id"]]


def test_filter_pages_with_limit_and_offset(api, webhook):
    made = [create(api, webhook)["id"] for _ in range(5)]

    page = api.post(f"{POLICIES}/filter", {"limit": 2, "offset": 2}).json_body

    assert [p["id"] for p in page] == made[2:4]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"limit": -1}, ["body", "limit"]),
        ({"offset": "x"}, ["body", "offset"]),
        ({"flow_run_notification_policy_filter": {"is_active": {"eq_": "yes"}}}, None),
        ({"flow_run_notification_policy_filter": {"tags": {"any_": "a"}}}, None),
        ({"flow_run_notification_policy_filter": {"bogus": {}}}, None),
        ({"flow_run_notification_policy_filter": []}, None),
        ({"sort": "NAME_ASC"}, ["body", "sort"]),
    ],
)
def test_filter_refuses_bad_bodies_with_422s(api, body, loc):
    response = api.post(f"{POLICIES}/filter", body)

    assert response.status_code == 422
    if loc:
        assert response.json_body["exception_detail"][0]["loc"] == loc


def test_count(api, webhook):
    create(api, webhook)
    create(api, webhook, is_active=False)

    response = api.post(f"{POLICIES}/count", {"flow_run_notification_policy_filter": {"is_active": {"eq_": True}}})

    assert response.json_body == 1


# Test notifications


def test_a_test_notification_is_sent_now_and_answered_with_its_delivery(api, receiver, webhook):
    policy = create(api, webhook, is_active=False)

    response = api.post(f"{POLICIES}/{policy['id']}/test")

    assert response.status_code == 201
    delivery = response.json_body
    assert delivery["is_test"] is True and delivery["status"] == "succeeded"
    assert [(a["number"], a["outcome"], a["status_code"]) for a in delivery["attempts"]] == [(1, "succeeded", 200)]
    (request,) = receiver.to("/hook")
    assert request.json["text"].startswith("This is a test notification")
    assert "The example-run run of the example-flow flow entered a failed state" in request.json["text"]


def test_a_failing_test_notification_says_why_and_is_not_retried(api, receiver, webhook):
    receiver.reply("/hook", Reply(503, "maintenance"))
    policy = create(api, webhook)

    delivery = api.post(f"{POLICIES}/{policy['id']}/test").json_body

    assert delivery["status"] == "failed"
    assert "503" in delivery["error"] and "maintenance" in delivery["error"]
    assert delivery["attempts"][0]["response_excerpt"] == "maintenance"


def test_testing_a_missing_policy_is_a_404(api):
    assert api.post(f"{POLICIES}/{MISSING}/test").status_code == 404


# Delivery history


@pytest.fixture
def history(webhook, flow):
    """Three deliveries of one policy (succeeded, failed, pending) and one of another."""
    policy, other = make_policy(webhook, tags=[]), make_policy(webhook, tags=["x"], state_names=["Crashed"])
    made = {}
    for name, status in (("ok", "succeeded"), ("bad", "failed"), ("waiting", "pending")):
        made[name] = Delivery.objects.create(policy=policy, subject="s", body=name, status=status)
    DeliveryAttempt.objects.create(
        delivery=made["bad"], number=1, started=made["bad"].created, duration=0.5, outcome="permanent", status_code=404
    )
    made["other"] = Delivery.objects.create(policy=other, subject="s", body="other", status="succeeded")
    return policy, made


def test_deliveries_are_listed_newest_first_with_their_attempts(api, history):
    policy, made = history

    response = api.post("notification_deliveries/filter", {"deliveries": {"policy_id": {"any_": [str(policy.pk)]}}})

    assert response.status_code == 200
    assert [d["body"] for d in response.json_body] == ["waiting", "bad", "ok"]
    bad = response.json_body[1]
    assert bad["attempts"] == [
        {
            "id": bad["attempts"][0]["id"],
            "number": 1,
            "target": "",
            "started": bad["attempts"][0]["started"],
            "duration": 0.5,
            "outcome": "permanent",
            "status_code": 404,
            "response_excerpt": None,
            "error": None,
        }
    ]


def test_deliveries_filter_by_status_and_page(api, history):
    _, made = history

    failed = api.post("notification_deliveries/filter", {"deliveries": {"status": {"any_": ["failed"]}}}).json_body
    page = api.post("notification_deliveries/paginate", {"limit": 2, "page": 2}).json_body
    count = api.post("notification_deliveries/count", {"deliveries": {"status": {"any_": ["succeeded"]}}}).json_body

    assert [d["id"] for d in failed] == [str(made["bad"].pk)]
    assert (page["count"], page["pages"], page["page"], len(page["results"])) == (4, 2, 2, 2)
    assert count == 2


def test_a_delivery_is_read_by_id(api, history):
    _, made = history

    found = api.get(f"notification_deliveries/{made['bad'].pk}")
    missing = api.get(f"notification_deliveries/{MISSING}")

    assert found.status_code == 200 and found.json_body["status"] == "failed"
    assert missing.status_code == 404 and missing.json_body == {"detail": "Delivery not found"}


@pytest.mark.parametrize(
    "body",
    [
        {"deliveries": {"status": {"any_": ["exploded"]}}},
        {"deliveries": {"policy_id": {"any_": ["nope"]}}},
        {"deliveries": {"created": {"after_": "yesterday"}}},
        {"sort": "RANDOM"},
        {"limit": "ten"},
    ],
)
def test_delivery_history_refuses_bad_filters(api, body):
    assert api.post("notification_deliveries/filter", body).status_code == 422


def test_a_finished_delivery_can_be_sent_again(api, history):
    _, made = history

    response = api.post(f"notification_deliveries/{made['bad'].pk}/resend")
    refused = api.post(f"notification_deliveries/{made['waiting'].pk}/resend")

    assert response.status_code == 200 and response.json_body["status"] == "pending"
    assert len(response.json_body["attempts"]) == 1
    assert refused.status_code == 422


def test_deliveries_of_a_run_are_found_by_its_id(api, receiver, webhook, flow):
    make_policy(webhook, tags=["etl"])
    run = flow_run_in(flow, "RUNNING", tags=["etl"])
    propose(run, state("FAILED"))

    found = api.post("notification_deliveries/filter", {"deliveries": {"flow_run_id": {"any_": [str(run.pk)]}}})

    (delivery,) = found.json_body
    assert (delivery["flow_run_id"], delivery["state_name"], delivery["status"]) == (str(run.pk), "Failed", "pending")
    assert DeliveryStatus.PENDING == delivery["status"]


# Never a 500

GARBAGE = [
    None,
    [],
    "text",
    2**70,
    {"limit": 2**70},
    {"offset": 1.5},
    {"state_names": None, "tags": None, "block_document_id": None},
    {"state_names": [["nested"]], "tags": [{}], "block_document_id": MISSING},
    {"message_template": "{" * 1000},
    {"flow_run_notification_policy_filter": {"is_active": None, "tags": {"any_": [None]}}},
    {"flow_run_notification_policy_filter": {"block_document_id": {"any_": ["x"]}}},
    {"deliveries": {"status": {"any_": [1]}, "created": {"before_": 5}}},
    {"deliveries": "all"},
    {"page": 0},
    {"is_active": "\x00"},
]


@pytest.mark.parametrize("body", GARBAGE, ids=range(len(GARBAGE)))
def test_no_notification_endpoint_answers_bad_input_with_a_500(api, webhook, body):
    policy = create(api, webhook)
    delivery = Delivery.objects.create(policy_id=policy["id"], subject="s", body="b", status="failed")
    calls = [
        ("post", f"{POLICIES}/"),
        ("patch", f"{POLICIES}/{policy['id']}"),
        ("post", f"{POLICIES}/filter"),
        ("post", f"{POLICIES}/count"),
        ("post", f"{POLICIES}/{MISSING}/test"),
        ("post", "notification_deliveries/filter"),
        ("post", "notification_deliveries/count"),
        ("post", "notification_deliveries/paginate"),
        ("post", f"notification_deliveries/{MISSING}/resend"),
    ]
    for method, path in calls:
        raw = b"null" if body is None else body
        response = getattr(api, method)(path, raw)
        assert response.status_code < 500, (method, path, response.status_code, response.content[:300])
    assert Delivery.objects.filter(pk=delivery.pk).exists()
