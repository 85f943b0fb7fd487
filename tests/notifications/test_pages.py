"""The dashboard's Notifications pages: the list of policies as sentences, the form that makes
or edits one with its service's settings, the pause switch, test sends, deletion, and each
policy's delivery history. A secret saved through them never appears in any page."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from blocks import crypto
from blocks.models import BlockDocument
from notifications import domain, views
from notifications.choices import AttemptOutcome, DeliveryStatus
from notifications.models import Delivery, DeliveryAttempt, NotificationPolicy
from runs.models import FlowRun
from tests.pages import page, text

from .conftest import make_block, make_policy
from .receiver import Reply

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/very-secret-token"
MISSING = "00000000-0000-4000-8000-000000000000"
SERVICES_IN_ORDER = [
    "Slack Webhook",
    "Microsoft Teams Webhook",
    "Discord Webhook",
    "Mattermost Webhook",
    "Opsgenie Webhook",
    "Pager Duty Webhook",
    "Sendgrid Email",
    "Twilio SMS",
    "Custom Webhook",
    "Email",
]


def flash(response) -> list[str]:
    """The messages the page that a redirect led to shows."""
    return [str(message) for message in response.context["messages"]]


def csrf_post(client: Client, form_url: str, url: str, data: dict):
    """Submit a form the way a browser does: GET its page, then POST with the page's CSRF token."""
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page(client, form_url)).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def field_errors(markup: str, field_id: str) -> list[str]:
    """The errors shown in one field's box (up to the next field, or the end of its group)."""
    start = markup.index(f'id="{field_id}"')
    ends = [markup.find(marker, start) for marker in ('class="form-field', "</fieldset>", "</form>")]
    block = markup[start : min(end for end in ends if end != -1)]
    return [html.unescape(error) for error in re.findall(r'<p class="field-error">([^<]+)</p>', block)]


def slack_form(**changes) -> dict:
    """What the create form posts for a Slack notification on failures of daily-etl runs."""
    data = {
        "state_names": ["Failed", "Crashed"],
        "tags": "daily-etl, prod",
        "service": "slack-webhook",
        "slack-webhook-data-notify_type": '"failure"',
        "slack-webhook-data-url": SLACK_URL,
        "slack-webhook-data-allow_private_urls": "on",
        "slack-webhook-name": "",
        "message_template": "",
        "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def slack_policy() -> NotificationPolicy:
    return domain.create_policy_with_block(
        block_type_slug="slack-webhook",
        block_data={"url": SLACK_URL, "notify_type": "failure"},
        state_names=["Failed"],
        tags=["daily-etl"],
    )


def delivery(policy: NotificationPolicy, *, status=DeliveryStatus.SUCCEEDED, created=None, **fields) -> Delivery:
    run_id = fields.pop("flow_run_id", uuid.uuid4())
    made = Delivery.objects.create(
        policy=policy,
        flow_run_id=run_id,
        flow_run_name=fields.pop("flow_run_name", "fuzzy-leopard"),
        flow_name="daily-etl",
        state_type="FAILED",
        state_name="Failed",
        state_timestamp=timezone.now(),
        subject="Prefect flow run notification",
        body=fields.pop("body", "The fuzzy-leopard run of the daily-etl flow entered a failed state."),
        status=status,
        **fields,
    )
    if created is not None:
        Delivery.objects.filter(pk=made.pk).update(created=created)
        made.refresh_from_db()
    return made


def attempt(target: Delivery, number: int, outcome: str, status_code=None, excerpt=None, error=None):
    return DeliveryAttempt.objects.create(
        delivery=target,
        number=number,
        target="",
        started=timezone.now(),
        duration=0.25,
        outcome=outcome,
        status_code=status_code,
        response_excerpt=excerpt,
        error=error,
    )


# The sidebar


def test_the_sidebar_has_notifications_between_variables_and_concurrency(client):
    markup = page(client, "/notifications/")
    nav = markup[markup.index('aria-label="Main"') :]
    assert nav.index(">Variables<") < nav.index(">Notifications<") < nav.index(">Concurrency<")
    assert re.search(r'href="/notifications/" aria-current="page"', markup)


# The list


def test_the_empty_list_explains_what_a_notification_does_and_how_to_create_one(client):
    markup = page(client, "/notifications/")
    words = text(markup)

    assert "No notifications yet" in words
    assert "tells you when a flow run enters a state" in words
    assert 'href="/notifications/new/">Create notification</a>' in markup
    assert 'aria-label="Add a notification"' in markup


def test_the_list_shows_each_policy_as_its_sentence_with_its_service(client, slack_policy):
    named = make_block("discord-webhook", {"webhook_id": "1", "webhook_token": "t"}, name="team-discord")
    make_policy(named, state_names=["Late", "Crashed"], tags=[], is_active=False)

    markup = page(client, "/notifications/")
    words = text(markup)

    assert (
        "If a run of any flow with daily-etl tag enters a failed state, send a notification to a Slack Webhook block"
        in words
    )
    assert "If a run of any flow enters a late or crashed state, send a notification to team-discord" in words
    assert f'href="/blocks/block/{named.pk}/">team-discord</a>' in markup
    row = markup[markup.index(f'id="notification-{slack_policy.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Slack Webhook" in row and "None yet" in row
    assert f'action="/notifications/{slack_policy.pk}/active/"' in row
    assert 'aria-checked="true"' in row and '<input type="hidden" name="active" value="false">' in row
    assert f'action="/notifications/{slack_policy.pk}/test/"' in row
    assert f'href="/notifications/{slack_policy.pk}/edit/"' in row
    assert f'href="/notifications/{slack_policy.pk}/delete/"' in row
    assert f'href="/notifications/{slack_policy.pk}/">Deliveries</a>' in row
    assert "Active" in text(row)
    assert "Paused" in text(markup[markup.index("team-discord") :])


def test_the_list_shows_the_last_delivery_status(client, slack_policy):
    delivery(slack_policy, status=DeliveryStatus.SUCCEEDED, created=timezone.now() - dt.timedelta(hours=1))
    delivery(slack_policy, status=DeliveryStatus.FAILED)

    row = page(client, "/notifications/")
    row = row[row.index(f'id="notification-{slack_policy.pk}"') :]
    row = row[: row.index("</tr>")]

    assert '<span class="badge state-failed">Failed</span>' in row
    assert "Succeeded" not in row


def test_the_list_pages_newest_first(client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    block = make_block("custom-webhook", {"name": "hook", "url": "http://127.0.0.1:9/hook"}, name="hook")
    policies = [make_policy(block, tags=[f"tag-{index}"]) for index in range(3)]
    for index, policy in enumerate(policies):  # oldest first
        NotificationPolicy.objects.filter(pk=policy.pk).update(
            created=timezone.now() - dt.timedelta(minutes=10 - index)
        )

    first = page(client, "/notifications/")
    assert "tag-2 tag" in first and "tag-1 tag" in first and "tag-0 tag" not in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    second = page(client, "/notifications/" + html.unescape(older))
    assert "tag-0 tag" in second and "tag-1 tag" not in second
    assert 'rel="prev"' in second


def test_a_mangled_cursor_is_the_first_page(client, slack_policy):
    assert "daily-etl" in page(client, "/notifications/?after=nonsense~x&before=%00")


def test_the_list_uses_a_bounded_number_of_queries(client, slack_policy, django_assert_max_num_queries):
    for index in range(5):
        policy = domain.create_policy_with_block(
            block_type_slug="custom-webhook",
            block_data={"name": "hook", "url": "http://127.0.0.1:9/hook"},
            block_name=f"hook-{index}",
            tags=[f"t{index}"],
        )
        delivery(policy)
    with django_assert_max_num_queries(1):
        page(client, "/notifications/")


# The create form


def test_the_form_offers_the_state_names_and_every_service_with_slacks_settings_first(client):
    markup = page(client, "/notifications/new/")

    for name in ("Scheduled", "Late", "AwaitingRetry", "Pending", "Running", "Retrying", "Paused", "Cancelling"):
        assert f'name="state_names" value="{name}"' in markup
    for name in ("Cancelled", "Completed", "Cached", "Failed", "Crashed", "TimedOut"):
        assert f'name="state_names" value="{name}"' in markup
    assert 'class="chip chip-failed"><input type="checkbox" name="state_names" value="TimedOut"' in markup
    services = re.findall(r'<input type="radio" name="service" value="([^"]+)"( checked)?> ([^<]+)</label>', markup)
    assert [name.strip() for _, _, name in services] == SERVICES_IN_ORDER
    assert services[0][:2] == ("slack-webhook", " checked")
    # Every service's settings are there; all but the chosen one hidden and disabled.
    assert re.search(
        r'<fieldset class="service-settings" id="service-slack-webhook" data-service="slack-webhook">', markup
    )
    assert re.search(r'id="service-twilio-sms" data-service="twilio-sms" hidden disabled>', markup)
    assert 'name="slack-webhook-data-url"' in markup and 'name="twilio-sms-data-auth_token"' in markup
    assert 'name="choose"' in markup  # the way to switch without JavaScript
    assert "js/notification-form.js" in markup
    for key in ("{flow_run_name}", "{flow_name}", "{flow_run_url}", "{flow_run_state_message}"):
        assert key in markup
    assert re.search(r'<input type="checkbox" name="is_active"[^>]* checked', markup)


def test_a_service_can_be_chosen_in_the_address(client):
    markup = page(client, "/notifications/new/?service=custom-webhook")

    assert re.search(r'value="custom-webhook" checked', markup)
    assert re.search(r'id="service-custom-webhook" data-service="custom-webhook">', markup)
    assert re.search(r'id="service-slack-webhook" data-service="slack-webhook" hidden disabled>', markup)
    # An unknown one is the first service, not an error.
    assert re.search(r'value="slack-webhook" checked', page(client, "/notifications/new/?service=%00nope"))


def test_choosing_a_service_without_javascript_shows_its_settings_and_keeps_what_was_typed(client):
    response = client.post(
        "/notifications/new/",
        {
            "state_names": ["Late"],
            "tags": "nightly",
            "service": "twilio-sms",
            "message_template": "{flow_name} is late",
            "choose": "1",
        },
    )

    assert response.status_code == 200
    markup = response.content.decode()
    assert re.search(r'id="service-twilio-sms" data-service="twilio-sms">', markup)
    assert re.search(r'id="service-slack-webhook" data-service="slack-webhook" hidden disabled>', markup)
    assert 'value="Late" checked' in markup and 'value="nightly"' in markup
    assert "{flow_name} is late</textarea>" in markup
    assert not re.search(r'<input type="checkbox" name="is_active"[^>]* checked', markup)
    assert "field-error" not in markup
    assert not NotificationPolicy.objects.exists()


def test_creating_a_slack_notification_saves_the_policy_and_its_settings(client):
    response = client.post("/notifications/new/", slack_form(), follow=True)

    assert response.redirect_chain == [("/notifications/", 302)]
    policy = NotificationPolicy.objects.get()
    assert (policy.state_names, policy.tags, policy.is_active) == (["Failed", "Crashed"], ["daily-etl", "prod"], True)
    assert policy.message_template is None
    document = policy.block_document
    assert document.is_anonymous and document.block_type.slug == "slack-webhook"
    assert crypto.decrypt(document.data) == {"notify_type": "failure", "url": SLACK_URL, "allow_private_urls": True}
    sentence = (
        "If a run of any flow with any of the tags daily-etl or prod enters a failed or crashed state, "
        "send a notification to a Slack Webhook block"
    )
    assert flash(response) == [f"Created the notification: {sentence}."]
    assert sentence in text(response.content.decode())
    assert "very-secret-token" not in response.content.decode()


def test_no_states_and_no_tags_mean_every_run_and_state(client):
    client.post("/notifications/new/", slack_form(state_names=None, tags="  , "))

    policy = NotificationPolicy.objects.get()
    assert (policy.state_names, policy.tags) == ([], [])
    assert domain.describe(policy).startswith("If a run of any flow enters any state,")


def test_a_named_block_is_saved_by_name_and_a_paused_policy_stays_paused(client):
    client.post("/notifications/new/", slack_form(**{"slack-webhook-name": "team-slack", "is_active": None}))

    policy = NotificationPolicy.objects.get()
    assert not policy.is_active
    assert (policy.block_document.name, policy.block_document.is_anonymous) == ("team-slack", False)


def test_a_custom_webhook_with_its_own_message_is_created(client):
    response = client.post(
        "/notifications/new/",
        {
            "state_names": ["TimedOut"],
            "tags": "",
            "service": "custom-webhook",
            "custom-webhook-data-name": "ops",
            "custom-webhook-data-url": "http://127.0.0.1:9/hook",
            "custom-webhook-data-method": '"POST"',
            "custom-webhook-data-json_data": '{"text": "{{body}}"}',
            "custom-webhook-data-timeout": "5",
            "custom-webhook-data-secrets": "{}",
            "message_template": "{flow_run_name} of {flow_name}: {flow_run_state_name}",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    policy = NotificationPolicy.objects.get()
    assert policy.message_template == "{flow_run_name} of {flow_name}: {flow_run_state_name}"
    data = crypto.decrypt(policy.block_document.data)
    assert (data["url"], data["json_data"], data["method"]) == ("http://127.0.0.1:9/hook", {"text": "{{body}}"}, "POST")


def test_an_unknown_placeholder_is_refused_by_the_message_field(client):
    response = client.post("/notifications/new/", slack_form(message_template="{flow_nam} failed"))

    assert response.status_code == 400
    markup = response.content.decode()
    errors = field_errors(markup, "field-message_template")
    assert errors and errors[0].startswith("Invalid template variable provided: 'flow_nam'. Use one of: ")
    assert "correct the fields marked below" in markup
    assert not NotificationPolicy.objects.exists() and not BlockDocument.objects.filter(is_anonymous=True).exists()
    # What was typed is kept, except the secret.
    assert "{flow_nam} failed</textarea>" in markup and 'value="daily-etl, prod"' in markup
    assert "very-secret-token" not in markup
    assert "Secrets you typed are not shown again" in markup


def test_secrets_typed_into_json_are_not_sent_back_with_the_errors(client):
    response = client.post(
        "/notifications/new/",
        {
            "service": "custom-webhook",
            "custom-webhook-data-name": "ops",
            "custom-webhook-data-url": "http://127.0.0.1:9/hook?token={{token}}",
            "custom-webhook-data-method": '"POST"',
            "custom-webhook-data-timeout": "5",
            "custom-webhook-data-secrets": '{"token": "typed-secret-value"}',
            "message_template": "{flow_nam}",
        },
    )

    assert response.status_code == 400
    markup = response.content.decode()
    assert "typed-secret-value" not in markup
    assert "&quot;token&quot;: &quot;********&quot;" in markup
    assert "Secrets you typed are not shown again" in markup


@pytest.mark.parametrize(
    ("template", "words"),
    [("{0}", "Placeholders must be named"), ("{flow_name", "Invalid message template"), ("{}", "must be named")],
)
def test_other_bad_templates_are_refused_by_the_message_field(client, template, words):
    response = client.post("/notifications/new/", slack_form(message_template=template))

    assert response.status_code == 400
    assert words in " ".join(field_errors(response.content.decode(), "field-message_template"))


def test_a_missing_setting_is_shown_by_its_field(client):
    response = client.post("/notifications/new/", slack_form(**{"slack-webhook-data-url": ""}))

    assert response.status_code == 400
    assert field_errors(response.content.decode(), "field-slack-webhook-data-url") == ["This field is required."]
    assert not NotificationPolicy.objects.exists()


def test_a_taken_block_name_is_shown_by_the_name_field(client):
    make_block("slack-webhook", {"url": SLACK_URL}, name="team-slack")

    response = client.post("/notifications/new/", slack_form(**{"slack-webhook-name": "team-slack"}))

    assert response.status_code == 400
    errors = field_errors(response.content.decode(), "field-slack-webhook-name")
    assert errors == ["A Slack Webhook block named “team-slack” already exists."]
    assert not NotificationPolicy.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"state_names": ["Bogus"]},
        {"service": "no-such-service"},
        {"service": "secret"},  # a block type that cannot notify: the first service is used
        {"tags": "x" * 300},
        {"slack-webhook-data-notify_type": "not json"},
        {"slack-webhook-name": "Not A Slug!"},
        {"message_template": "{" * 20_000},
        {"state_names": "\x00"},
    ],
    ids=["state", "service", "not-a-notifier", "tag", "choice", "name", "long-template", "nul"],
)
def test_bad_input_is_a_400_with_the_form_never_a_500(client, changes):
    data = slack_form(**changes)
    if changes.get("service") and changes["service"] != "slack-webhook":
        data = {key: value for key, value in data.items() if not key.startswith("slack-webhook")}

    response = client.post("/notifications/new/", data)

    assert response.status_code == 400
    assert "The notification was not saved" in response.content.decode()
    assert not NotificationPolicy.objects.exists()


def test_the_create_form_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        page(client, "/notifications/new/")
    with django_assert_max_num_queries(15):  # the policy and its block, written by notifications.domain
        assert client.post("/notifications/new/", slack_form()).status_code == 302


# The edit form


def test_the_edit_form_is_filled_in_with_the_secret_masked(client, slack_policy):
    NotificationPolicy.objects.filter(pk=slack_policy.pk).update(message_template="{flow_name} failed")

    markup = page(client, f"/notifications/{slack_policy.pk}/edit/")

    assert "very-secret-token" not in markup
    assert re.search(r'name="slack-webhook-data-url" value="\*\*\*\*\*\*\*\*"', markup)
    assert "Leave ******** to keep the saved secret." in markup
    assert 'value="Failed" checked' in markup and 'value="Crashed" checked' not in markup
    assert 'value="daily-etl"' in markup
    assert "{flow_name} failed</textarea>" in markup
    # The service is fixed: no choice, and no other service's settings.
    assert 'name="service"' not in markup and "service-twilio-sms" not in markup
    assert "slack-webhook-name" not in markup


def test_editing_changes_states_tags_and_message_and_keeps_the_masked_secret(client, slack_policy):
    response = client.post(
        f"/notifications/{slack_policy.pk}/edit/",
        {
            "state_names": ["Crashed", "TimedOut"],
            "tags": "nightly",
            "slack-webhook-data-url": "********",
            "slack-webhook-data-notify_type": '"warning"',
            "message_template": "{flow_run_name} {flow_run_state_name}",
        },
        follow=True,
    )

    assert response.redirect_chain == [("/notifications/", 302)]
    policy = NotificationPolicy.objects.get(pk=slack_policy.pk)
    assert (policy.state_names, policy.tags, policy.is_active) == (["Crashed", "TimedOut"], ["nightly"], False)
    assert policy.message_template == "{flow_run_name} {flow_run_state_name}"
    data = crypto.decrypt(policy.block_document.data)
    assert (data["url"], data["notify_type"]) == (SLACK_URL, "warning")
    assert flash(response) == [f"Saved the notification: {domain.describe(policy)}."]


def test_editing_can_replace_the_secret_and_restore_the_default_message(client, slack_policy):
    NotificationPolicy.objects.filter(pk=slack_policy.pk).update(message_template="{flow_name} failed")
    new_url = "https://hooks.slack.com/services/T000/B000/another-token"

    client.post(
        f"/notifications/{slack_policy.pk}/edit/",
        {"slack-webhook-data-url": new_url, "slack-webhook-data-notify_type": '"info"', "is_active": "on"},
    )

    policy = NotificationPolicy.objects.get(pk=slack_policy.pk)
    assert crypto.decrypt(policy.block_document.data)["url"] == new_url
    assert (policy.message_template, policy.state_names, policy.is_active) == (None, [], True)


def test_a_state_name_the_form_does_not_list_is_kept_on_edit(client, slack_policy):
    NotificationPolicy.objects.filter(pk=slack_policy.pk).update(state_names=["Failed", "MyOwnState"])

    markup = page(client, f"/notifications/{slack_policy.pk}/edit/")

    assert 'value="MyOwnState" checked' in markup


def test_an_edit_with_errors_changes_nothing_and_shows_them_by_their_fields(client, slack_policy):
    response = client.post(
        f"/notifications/{slack_policy.pk}/edit/",
        {"state_names": ["Crashed"], "slack-webhook-data-url": "", "message_template": "{nope}"},
    )

    assert response.status_code == 400
    markup = response.content.decode()
    assert field_errors(markup, "field-slack-webhook-data-url") == ["This field is required."]
    assert field_errors(markup, "field-message_template")[0].startswith("Invalid template variable provided: 'nope'")
    policy = NotificationPolicy.objects.get(pk=slack_policy.pk)
    assert (policy.state_names, policy.message_template) == (["Failed"], None)
    assert crypto.decrypt(policy.block_document.data)["url"] == SLACK_URL


def test_a_named_blocks_settings_say_they_are_shared(client):
    block = make_block("slack-webhook", {"url": SLACK_URL}, name="team-slack")
    policy = make_policy(block)

    markup = page(client, f"/notifications/{policy.pk}/edit/")

    assert "changing them here changes them for everything that uses it" in markup
    assert f'href="/blocks/block/{block.pk}/">team-slack</a>' in markup


def test_the_edit_and_delete_pages_use_a_bounded_number_of_queries(client, slack_policy, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        page(client, f"/notifications/{slack_policy.pk}/edit/")
    with django_assert_max_num_queries(1):
        page(client, f"/notifications/{slack_policy.pk}/delete/")


# Pause, resume, test, delete


def test_pausing_and_resuming_from_the_list(client, slack_policy):
    response = client.post(f"/notifications/{slack_policy.pk}/active/", {"active": "false"}, follow=True)

    assert response.redirect_chain == [("/notifications/", 302)]
    assert not NotificationPolicy.objects.get(pk=slack_policy.pk).is_active
    assert flash(response)[0].startswith("Paused the notification: If a run of any flow with daily-etl tag")
    assert 'aria-checked="false"' in response.content.decode()

    response = client.post(
        f"/notifications/{slack_policy.pk}/active/",
        {"active": "true", "next": f"/notifications/{slack_policy.pk}/"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/notifications/{slack_policy.pk}/", 302)]
    assert NotificationPolicy.objects.get(pk=slack_policy.pk).is_active
    assert flash(response)[0].startswith("Resumed the notification:")


@pytest.mark.parametrize("target", ["https://example.com/", "//example.com/notifications/", "/runs/", "javascript:x"])
def test_a_button_never_sends_the_browser_elsewhere(client, slack_policy, target):
    response = client.post(f"/notifications/{slack_policy.pk}/active/", {"active": "false", "next": target})

    assert response.status_code == 302 and response["Location"] == "/notifications/"


@pytest.mark.parametrize("value", ["", "yes", "TRUE"])
def test_a_bad_switch_value_is_a_400(client, slack_policy, value):
    response = client.post(f"/notifications/{slack_policy.pk}/active/", {"active": value})

    assert response.status_code == 400
    assert NotificationPolicy.objects.get(pk=slack_policy.pk).is_active


def test_sending_a_test_shows_that_it_arrived(client, services):
    block = make_block("slack-webhook", {"url": SLACK_URL}, name="team-slack")
    policy = make_policy(block, is_active=False)  # a paused policy can be tested

    response = client.post(f"/notifications/{policy.pk}/test/", {"next": f"/notifications/{policy.pk}/"}, follow=True)

    assert response.redirect_chain == [(f"/notifications/{policy.pk}/", 302)]
    (request,) = services.to("/services/T000/B000/very-secret-token")
    assert "This is a test notification" in request.json["attachments"][0]["text"]
    (message,) = flash(response)
    assert re.fullmatch(
        r"Sent a test notification to team-slack \(Slack Webhook\): delivered \(answer 200 in \d+ ms\)\.", message
    )
    test = Delivery.objects.get(policy=policy)
    assert test.is_test and test.status == DeliveryStatus.SUCCEEDED
    markup = response.content.decode()
    assert "Test notification" in markup and "very-secret-token" not in markup


def test_a_failed_test_says_why(client, services):
    services.reply("/services/", Reply(404, "no_team"))
    block = make_block("slack-webhook", {"url": SLACK_URL})
    policy = make_policy(block)

    response = client.post(f"/notifications/{policy.pk}/test/", follow=True)

    (message,) = flash(response)
    assert message.startswith("The test notification to Slack Webhook failed: ")
    assert "404" in message
    assert response.context["messages"]._loaded_messages[0].level_tag == "error"


def test_the_delete_page_asks_first_then_deletes_the_policy_and_its_settings(client, slack_policy):
    document_id = slack_policy.block_document_id
    markup = page(client, f"/notifications/{slack_policy.pk}/delete/")

    assert "Delete this notification?" in markup
    assert "If a run of any flow with daily-etl tag enters a failed state" in markup
    assert "Its delivery history goes with it" in markup
    assert NotificationPolicy.objects.filter(pk=slack_policy.pk).exists()

    response = client.post(f"/notifications/{slack_policy.pk}/delete/", follow=True)

    assert response.redirect_chain == [("/notifications/", 302)]
    assert not NotificationPolicy.objects.exists()
    assert not BlockDocument.objects.filter(pk=document_id).exists()
    assert flash(response)[0].startswith("Deleted the notification: If a run of any flow with daily-etl tag")


def test_deleting_keeps_a_named_block(client):
    block = make_block("slack-webhook", {"url": SLACK_URL}, name="team-slack")
    policy = make_policy(block)

    assert "The block" in page(client, f"/notifications/{policy.pk}/delete/")
    client.post(f"/notifications/{policy.pk}/delete/")

    assert BlockDocument.objects.filter(pk=block.pk).exists()


# The delivery history


def test_the_history_shows_each_delivery_with_its_attempts(client, slack_policy, flow):
    run = FlowRun.objects.create(flow=flow, name="fuzzy-leopard")
    failed = delivery(
        slack_policy,
        status=DeliveryStatus.FAILED,
        flow_run_id=run.pk,
        attempt_count=2,
        error="gave up after 2 tries: Slack answered 500",
        created=timezone.now() - dt.timedelta(minutes=5),
    )
    attempt(failed, 1, AttemptOutcome.TRANSIENT, 500, "upstream broke")
    attempt(failed, 2, AttemptOutcome.TRANSIENT, None, None, "connection refused")
    sent = delivery(slack_policy, status=DeliveryStatus.SUCCEEDED, attempt_count=1, flow_run_name="brave-otter")
    attempt(sent, 1, AttemptOutcome.SUCCEEDED, 200, "ok")

    markup = page(client, f"/notifications/{slack_policy.pk}/")

    assert "If a run of any flow with daily-etl tag enters a failed state" in markup
    rows = re.findall(r'<tbody class="delivery" id="delivery-([^"]+)">', markup)
    assert rows == [str(sent.pk), str(failed.pk)]  # newest first
    failed_row = markup[markup.index(f'id="delivery-{failed.pk}"') :]
    failed_row = failed_row[: failed_row.index("</tbody>")]
    assert f'href="/runs/flow-run/{run.pk}">fuzzy-leopard</a>' in failed_row
    assert 'data-state-type="FAILED"' in failed_row
    assert '<span class="badge state-failed">Failed</span>' in failed_row
    assert "gave up after 2 tries: Slack answered 500" in failed_row
    assert "2 requests" in failed_row
    assert "upstream broke" in failed_row and "connection refused" in failed_row
    assert ">500<" in failed_row and "Temporary error" in failed_row and "250 ms" in failed_row
    assert f'action="/notifications/{slack_policy.pk}/deliveries/{failed.pk}/resend/"' in failed_row
    sent_row = markup[markup.index(f'id="delivery-{sent.pk}"') :]
    sent_row = sent_row[: sent_row.index("</tbody>")]
    assert '<span class="badge state-completed">Succeeded</span>' in sent_row
    assert "Delivered" in sent_row and "resend" not in sent_row


def test_the_history_can_show_one_status(client, slack_policy):
    failed = delivery(slack_policy, status=DeliveryStatus.FAILED, error="no")
    sent = delivery(slack_policy, status=DeliveryStatus.SUCCEEDED)

    markup = page(client, f"/notifications/{slack_policy.pk}/?status=failed")
    assert f"delivery-{failed.pk}" in markup and f"delivery-{sent.pk}" not in markup
    assert "No skipped deliveries" in page(client, f"/notifications/{slack_policy.pk}/?status=skipped")
    # An unknown status shows all.
    markup = page(client, f"/notifications/{slack_policy.pk}/?status=%00")
    assert f"delivery-{failed.pk}" in markup and f"delivery-{sent.pk}" in markup


def test_the_history_pages_newest_first(client, slack_policy, monkeypatch):
    monkeypatch.setattr(views, "DELIVERIES_PAGE_SIZE", 2)
    now = timezone.now()
    made = [delivery(slack_policy, created=now - dt.timedelta(minutes=index)) for index in range(3)]

    first = page(client, f"/notifications/{slack_policy.pk}/?status=succeeded")
    assert f"delivery-{made[0].pk}" in first and f"delivery-{made[2].pk}" not in first
    older = html.unescape(re.search(r'rel="next" href="([^"]+)"', first).group(1))
    assert "status=succeeded" in older
    second = page(client, f"/notifications/{slack_policy.pk}/{older}")
    assert f"delivery-{made[2].pk}" in second and f"delivery-{made[0].pk}" not in second


def test_the_empty_history_says_what_will_appear_and_offers_a_test(client, slack_policy):
    markup = page(client, f"/notifications/{slack_policy.pk}/")

    assert "No deliveries yet" in markup
    assert markup.count(f'action="/notifications/{slack_policy.pk}/test/"') == 2  # header and empty state


def test_the_history_uses_a_bounded_number_of_queries(client, slack_policy, django_assert_max_num_queries):
    for _ in range(6):
        made = delivery(slack_policy, status=DeliveryStatus.FAILED, attempt_count=2)
        attempt(made, 1, AttemptOutcome.TRANSIENT, 503)
        attempt(made, 2, AttemptOutcome.PERMANENT, 404)
    with django_assert_max_num_queries(3):
        page(client, f"/notifications/{slack_policy.pk}/")


def test_resending_a_failed_delivery_queues_it_again(client, slack_policy):
    failed = delivery(slack_policy, status=DeliveryStatus.FAILED, error="no")

    response = client.post(f"/notifications/{slack_policy.pk}/deliveries/{failed.pk}/resend/", follow=True)

    assert response.redirect_chain == [(f"/notifications/{slack_policy.pk}/", 302)]
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.PENDING
    assert flash(response) == ["Queued the notification again: it is sent within seconds."]


def test_resending_an_unfinished_delivery_says_why_not(client, slack_policy):
    pending = delivery(slack_policy, status=DeliveryStatus.PENDING)

    response = client.post(f"/notifications/{slack_policy.pk}/deliveries/{pending.pk}/resend/", follow=True)

    assert flash(response) == ["This delivery is pending; only a finished delivery can be sent again."]


def test_a_delivery_of_another_policy_cannot_be_resent_through_this_one(client, slack_policy):
    other = make_policy(make_block("slack-webhook", {"url": SLACK_URL}))
    theirs = delivery(other, status=DeliveryStatus.FAILED)

    response = client.post(f"/notifications/{slack_policy.pk}/deliveries/{theirs.pk}/resend/")

    assert response.status_code == 404
    assert Delivery.objects.get(pk=theirs.pk).status == DeliveryStatus.FAILED


# Every page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/notifications/{id}/"),
        ("get", "/notifications/{id}/edit/"),
        ("post", "/notifications/{id}/edit/"),
        ("get", "/notifications/{id}/delete/"),
        ("post", "/notifications/{id}/delete/"),
        ("post", "/notifications/{id}/active/"),
        ("post", "/notifications/{id}/test/"),
        ("post", "/notifications/{id}/deliveries/{id}/resend/"),
    ],
)
def test_an_unknown_notification_is_a_404(client, method, path):
    response = getattr(client, method)(path.format(id=MISSING), {"active": "true"} if method == "post" else None)

    assert response.status_code == 404
    assert b"<html" in response.content


def test_malformed_ids_are_404s(client):
    assert client.get("/notifications/not-a-uuid/").status_code == 404
    assert client.get("/notifications/12/edit/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/notifications/{id}/active/", "/notifications/{id}/test/", "/notifications/{id}/deliveries/{d}/resend/"]
)
def test_buttons_only_answer_posts(client, slack_policy, path):
    made = delivery(slack_policy, status=DeliveryStatus.FAILED)

    assert client.get(path.format(id=slack_policy.pk, d=made.pk)).status_code == 405


def test_every_post_needs_the_csrf_token(slack_policy):
    browser = Client(enforce_csrf_checks=True)
    made = delivery(slack_policy, status=DeliveryStatus.FAILED)
    for path in (
        "/notifications/new/",
        f"/notifications/{slack_policy.pk}/edit/",
        f"/notifications/{slack_policy.pk}/delete/",
        f"/notifications/{slack_policy.pk}/active/",
        f"/notifications/{slack_policy.pk}/test/",
        f"/notifications/{slack_policy.pk}/deliveries/{made.pk}/resend/",
    ):
        assert browser.post(path, {"active": "false"}).status_code == 403, path
    assert NotificationPolicy.objects.get(pk=slack_policy.pk).is_active


def test_the_forms_work_with_their_csrf_token(slack_policy):
    browser = Client(enforce_csrf_checks=True)

    response = csrf_post(browser, "/notifications/new/", "/notifications/new/", slack_form(tags="with-token"))
    assert response.status_code == 302
    response = csrf_post(browser, "/notifications/", f"/notifications/{slack_policy.pk}/active/", {"active": "false"})
    assert response.status_code == 302
    assert not NotificationPolicy.objects.get(pk=slack_policy.pk).is_active


def test_no_page_shows_a_saved_secret(client, slack_policy, services):
    made = delivery(slack_policy, status=DeliveryStatus.FAILED)
    attempt(made, 1, AttemptOutcome.PERMANENT, 404, "no_team")
    client.post(f"/notifications/{slack_policy.pk}/test/")
    for path in (
        "/notifications/",
        f"/notifications/{slack_policy.pk}/",
        f"/notifications/{slack_policy.pk}/edit/",
        f"/notifications/{slack_policy.pk}/delete/",
    ):
        markup = page(client, path)
        assert "very-secret-token" not in markup, path
        assert "hooks.slack.com" not in markup, path
