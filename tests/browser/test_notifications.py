"""The Notifications pages in headless Chromium, as a person uses them: create a notification
that calls a local receiver, pause it, edit it, send a test that arrives, read its delivery
history, delete it; on a laptop screen and in a narrow window, with and without JavaScript."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator

import pytest

from tests.notifications.receiver import Receiver, Reply

from .helpers import assert_fits_horizontally, assert_no_console_errors, expect, screenshot, visit

pytestmark = pytest.mark.browser

TEST_MESSAGE = "This is a test notification from Orchestrator; no flow run failed."


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The webhook's destination: a local HTTP server on a free loopback port."""
    with Receiver() as running:
        yield running


def wait_until(page, probe, timeout: float = 20.0) -> None:
    """Reload the page until probe() is true (the server's sender works in the background)."""
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"{page.url} did not change within {timeout:g}s"
        time.sleep(0.5)
        page.reload()


def policy_row(page, tag: str):
    return page.locator("#notifications tbody tr", has_text=tag)


def test_a_notification_is_created_paused_edited_tested_and_deleted(open_page, dashboard_api, receiver):
    page = open_page("wide")
    tag = f"nightly-{secrets.token_hex(3)}"
    visit(page, "/notifications/")
    expect(page.locator("h1")).to_contain_text("Notifications")
    screenshot(page, "notifications-list-before")

    # Create: states, a tag, a custom webhook to the receiver.
    page.get_by_role("link", name="Create notification").click()
    expect(page.locator("h1")).to_have_text("New notification")
    page.get_by_label("Failed", exact=True).check()
    page.get_by_label("Crashed", exact=True).check()
    page.locator("#id_tags").fill(tag)
    slack, webhook = page.locator("#service-slack-webhook"), page.locator("#service-custom-webhook")
    expect(slack).to_be_visible()
    expect(webhook).to_be_hidden()
    page.get_by_label("Custom Webhook", exact=True).check()
    expect(webhook).to_be_visible()
    expect(slack).to_be_hidden()
    expect(page.get_by_role("button", name="Show its settings")).to_have_count(0)  # JavaScript switched it
    page.locator("#id_custom-webhook-data-name").fill("receiver")
    page.locator("#id_custom-webhook-data-url").fill(f"{receiver.url}/hook")
    page.locator("#id_custom-webhook-data-json_data").fill('{"text": "{{body}}"}')
    screenshot(page, "notification-form")
    assert_fits_horizontally(page)
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page).to_have_url(re.compile(r"/notifications/$"))
    sentence = (
        f"If a run of any flow with {tag} tag enters a failed or crashed state, "
        "send a notification to a Custom Webhook block"
    )
    expect(page.locator(".messages")).to_contain_text(f"Created the notification: {sentence}.")
    row = policy_row(page, tag)
    expect(row).to_contain_text(sentence)
    expect(row).to_contain_text("None yet")
    policy_id = row.get_attribute("id").removeprefix("notification-")
    policy = dashboard_api.get(f"flow_run_notification_policies/{policy_id}")
    assert (policy["state_names"], policy["tags"], policy["is_active"]) == (["Failed", "Crashed"], [tag], True)
    screenshot(page, "notifications-list")
    assert_fits_horizontally(page)

    # Pause.
    switch = row.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.locator(".messages")).to_contain_text(f"Paused the notification: {sentence}.")
    expect(policy_row(page, tag).get_by_role("switch")).to_have_attribute("aria-checked", "false")
    assert dashboard_api.get(f"flow_run_notification_policies/{policy_id}")["is_active"] is False

    # Edit: other states, another tag; the service's settings are kept.
    policy_row(page, tag).get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit notification")
    expect(page.get_by_label("Failed", exact=True)).to_be_checked()
    expect(page.locator("#id_custom-webhook-data-url")).to_have_value(f"{receiver.url}/hook")
    expect(page.get_by_label("Active")).not_to_be_checked()
    page.get_by_label("Crashed", exact=True).uncheck()
    page.get_by_label("TimedOut", exact=True).check()
    page.locator("#id_tags").fill(f"{tag}, weekly")
    page.get_by_label("Message").fill("{flow_run_name} of {flow_name} is {flow_run_state_name}")
    screenshot(page, "notification-edit")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/notifications/$"))
    edited = (
        f"If a run of any flow with any of the tags {tag} or weekly enters a failed or timed out state, "
        "send a notification to a Custom Webhook block"
    )
    expect(page.locator(".messages")).to_contain_text(f"Saved the notification: {edited}.")
    expect(policy_row(page, tag)).to_contain_text(edited)
    policy = dashboard_api.get(f"flow_run_notification_policies/{policy_id}")
    assert (policy["state_names"], policy["tags"]) == (["Failed", "TimedOut"], [tag, "weekly"])
    assert policy["message_template"] == "{flow_run_name} of {flow_name} is {flow_run_state_name}"

    # Send a test: it reaches the receiver and shows in the history.
    policy_row(page, tag).get_by_role("button", name="Send test").click()
    expect(page.locator(".messages")).to_contain_text(
        "Sent a test notification to Custom Webhook: delivered (answer 200"
    )
    (request,) = receiver.wait_for("/hook")
    assert request.json == {"text": f"{TEST_MESSAGE}\n\nexample-run of example-flow is Failed"}
    expect(policy_row(page, tag).locator(".badge")).to_have_text("Succeeded")

    policy_row(page, tag).get_by_role("link", name="Deliveries").click()
    expect(page.locator("#sentence")).to_have_text(edited)
    delivery = page.locator("#deliveries tbody.delivery").first
    expect(delivery).to_contain_text("Test notification")
    expect(delivery.locator(".badge").first).to_have_text("Succeeded")
    delivery.locator("summary").click()
    expect(delivery.locator("tr.attempt")).to_have_count(1)
    expect(delivery.locator("tr.attempt")).to_contain_text("200")

    # A test the service refuses says why, and "Send again" has the sender deliver it.
    receiver.reply("/hook", Reply(500, "upstream is down"))
    page.locator("header").get_by_role("button", name="Send test").click()
    expect(page.locator(".message-error")).to_contain_text("The test notification to Custom Webhook failed:")
    expect(page.locator(".message-error")).to_contain_text("500")
    failed = page.locator("#deliveries tbody.delivery").first
    expect(failed.locator(".badge").first).to_have_text("Failed")
    failed.get_by_role("button", name="Send again").click()
    expect(page.locator(".messages")).to_contain_text("Queued the notification again")
    receiver.wait_for("/hook", count=3)
    wait_until(page, lambda: "Succeeded" in page.locator("#deliveries tbody.delivery").first.inner_text())
    resent = page.locator("#deliveries tbody.delivery").first
    resent.locator("summary").click()
    attempts = resent.locator("tr.attempt")
    expect(attempts).to_have_count(2)
    expect(attempts.first).to_contain_text("Temporary error")
    expect(attempts.first).to_contain_text("upstream is down")
    expect(attempts.last).to_contain_text("Succeeded")
    screenshot(page, "notification-deliveries")
    assert_fits_horizontally(page)
    history = page.url

    # The same pages in a narrow window.
    narrow = open_page("narrow")
    for path, name in (
        ("/notifications/", "notifications-list-narrow"),
        ("/notifications/new/", "notification-form-narrow"),
        (history, "notification-deliveries-narrow"),
    ):
        visit(narrow, path)
        assert_fits_horizontally(narrow)
        screenshot(narrow, name)
    assert_no_console_errors(narrow)

    # Delete, after the confirmation page.
    visit(page, "/notifications/")
    policy_row(page, tag).get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_have_text("Delete this notification?")
    expect(page.locator("main")).to_contain_text(edited)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    expect(page.locator(".messages")).to_contain_text(f"Deleted the notification: {edited}.")
    expect(policy_row(page, tag)).to_have_count(0)
    assert dashboard_api.request("GET", f"flow_run_notification_policies/{policy_id}").status_code == 404
    assert_no_console_errors(page)


def test_without_javascript_the_service_is_chosen_in_two_steps(browser, dashboard_server, dashboard_api):
    context = browser.new_context(java_script_enabled=False, base_url=dashboard_server.url)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        tag = f"no-js-{secrets.token_hex(3)}"
        visit(page, "/notifications/new/")
        page.get_by_label("Late", exact=True).check()
        page.locator("#id_tags").fill(tag)
        page.get_by_label("Discord Webhook", exact=True).check()
        expect(page.locator("#service-discord-webhook")).to_be_hidden()  # nothing switches it here
        page.get_by_role("button", name="Show its settings").click()

        expect(page.locator("#service-discord-webhook")).to_be_visible()
        expect(page.locator("#service-slack-webhook")).to_be_hidden()
        expect(page.get_by_label("Late", exact=True)).to_be_checked()
        expect(page.locator("#id_tags")).to_have_value(tag)
        page.locator("#id_discord-webhook-data-webhook_id").fill("1234")
        page.locator("#id_discord-webhook-data-webhook_token").fill("discord-token")
        page.get_by_role("button", name="Create", exact=True).click()

        expect(page.locator(".messages")).to_contain_text(
            f"Created the notification: If a run of any flow with {tag} tag enters a late state, "
            "send a notification to a Discord Webhook block."
        )
        assert "discord-token" not in page.content()
        row = policy_row(page, tag)
        policy_id = row.get_attribute("id").removeprefix("notification-")
        dashboard_api.request("DELETE", f"flow_run_notification_policies/{policy_id}")
    finally:
        context.close()
