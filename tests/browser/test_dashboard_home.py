"""The dashboard home, the flows pages, the events feed and the settings page in headless
Chromium, with runs made by the real Prefect client (the session's `world`), on a laptop
screen and in a narrow window."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.e2e.conftest import fresh_database, running_server

from .helpers import assert_fits_horizontally, assert_no_console_errors, expect, screenshot, visit

pytestmark = pytest.mark.browser

VIEWPORTS = ["wide", "narrow"]


def check(page, name: str, viewport: str) -> None:
    screenshot(page, f"{name}-{viewport}")
    assert_no_console_errors(page)
    assert_fits_horizontally(page)


# The dashboard home


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_dashboard_counts_the_clients_runs_and_draws_their_history(open_page, world, viewport):
    page = open_page(viewport)
    visit(page, "/")

    expect(page.locator("h1")).to_have_text("Dashboard")
    runs = page.locator("#flow-runs")
    # world.py ran nightly-etl (Completed) and broken-import (Failed) a moment ago.
    expect(runs.locator(".state-counts")).to_contain_text("Completed")
    expect(runs.locator(".state-counts")).to_contain_text("Failed")
    total = int(runs.locator(".big-count").inner_text().replace(",", ""))
    assert total >= 2
    chart = runs.locator("svg.chart")
    expect(chart).to_have_attribute("role", "img")
    assert chart.locator("g.bar").count() == 48
    assert chart.locator("rect.state-completed").count() >= 1 and chart.locator("rect.state-failed").count() >= 1
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100, box
    failed = page.locator("#failed-runs")
    expect(failed).to_contain_text("broken-import")
    tasks = page.locator("#task-runs")
    completed = int(tasks.locator(".state-completed dd").inner_text().replace(",", "").rstrip("+"))
    assert completed >= 5  # extract and four squares
    expect(page.locator("#work-pools")).to_contain_text("laptop-pool")
    check(page, "dashboard-home", viewport)


def test_the_window_and_filters_change_what_the_dashboard_counts(page, world, dashboard_api):
    visit(page, "/")

    page.locator(".segmented").get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"window=7d"))
    expect(page.locator(".segmented [aria-current=true]")).to_have_text("7 days")
    expect(page.locator("#flow-runs svg.chart g.bar")).to_have_count(56)

    page.get_by_label("Tags").fill(f"no-such-tag-{secrets.token_hex(3)}")
    page.get_by_label("Hide subflows").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"window=7d.*hide_subflows=1"))
    expect(page.locator("#flow-runs .big-count")).to_have_text("0")
    expect(page.locator("#flow-runs")).to_contain_text("that match the filters")
    screenshot(page, "dashboard-home-filtered")

    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("#flow-runs .state-counts")).to_contain_text("Completed")
    assert_no_console_errors(page)


def test_a_bar_of_the_history_tells_what_it_counts(page, world):
    visit(page, "/?window=1h")

    titles = page.locator("#flow-runs svg.chart g.bar > title").evaluate_all("titles => titles.map(t => t.textContent)")
    assert len(titles) == 60
    assert any("completed" in title for title in titles), titles
    assert all(re.fullmatch(r"\d\d:\d\d–\d\d:\d\d UTC: .+", title) for title in titles), titles


def test_a_fresh_server_explains_how_to_send_it_runs(browser, tmp_path):
    from .helpers import VIEWPORTS as SIZES

    with fresh_database(tmp_path) as url, running_server(tmp_path, url, services=False) as server:
        context = browser.new_context(viewport=SIZES["narrow"], base_url=server.url)
        context.console_errors = []
        try:
            page = context.new_page()
            visit(page, "/")
            expect(page.locator("main")).to_contain_text("No flow runs yet")
            expect(page.locator("main")).to_contain_text(f"PREFECT_API_URL={server.api_url} python my_flow.py")
            screenshot(page, "dashboard-home-fresh-narrow")
            assert_fits_horizontally(page)
        finally:
            context.close()


# Flows


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_flows_list_and_a_flows_page(open_page, world, viewport):
    page = open_page(viewport)
    visit(page, "/flows/")

    expect(page.locator("h1")).to_have_text("Flows")
    row = page.locator("#flows tbody tr", has_text="nightly-etl")
    expect(row).to_contain_text("Completed")
    expect(row.locator("td.num")).to_have_text("1")  # the `nightly` deployment
    expect(row.locator("svg.sparkline")).to_have_count(1)
    expect(page.locator("#flows tbody tr", has_text="broken-import")).to_contain_text("Failed")
    check(page, "flows", viewport)

    row.get_by_role("link", name="nightly-etl").click()
    expect(page.locator("h1")).to_have_text("nightly-etl")
    expect(page.locator("#flow-runs")).to_contain_text("Completed")
    expect(page.locator("#deployments")).to_contain_text("nightly")
    expect(page.locator("#stats svg.chart")).to_have_count(1)
    check(page, "flow", viewport)


def test_a_flow_is_deleted_after_confirming(page, dashboard_api):
    name = f"throwaway-{secrets.token_hex(3)}"
    flow = dashboard_api.post("flows/", {"name": name})
    visit(page, f"/flows/flow/{flow['id']}")

    page.get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_have_text(f"Delete {name}?")
    screenshot(page, "flow-delete")
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(re.compile(r"/flows/$"))
    expect(page.locator(".messages")).to_contain_text(f"Flow {name} deleted")
    assert dashboard_api.request("GET", f"flows/{flow['id']}").status_code == 404
    assert_no_console_errors(page)


# Events


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_event_feed_and_an_events_page(open_page, world, viewport):
    page = open_page(viewport)
    visit(page, f"/events/?resource=prefect.flow-run.{world.etl_run}")

    expect(page.locator("h1")).to_have_text("Event feed")
    events = page.locator("#events tbody tr")
    expect(events.first).to_be_visible()
    expect(page.locator("#events")).to_contain_text("prefect.flow-run.Completed")
    expect(page.locator("#volume svg.chart")).to_have_count(1)
    check(page, "events", viewport)

    page.locator("#events").get_by_role("link", name="prefect.flow-run.Completed").first.click()
    expect(page.locator("h1")).to_have_text("prefect.flow-run.Completed")
    expect(page.locator("#raw")).to_contain_text(f'"prefect.resource.id": "prefect.flow-run.{world.etl_run}"')
    expect(page.locator("#related")).to_contain_text("flow")
    check(page, "event", viewport)

    page.locator("#resource a.run-link").click()
    expect(page).to_have_url(re.compile(f"/runs/flow-run/{world.etl_run}"))


def test_the_event_feed_filters_by_name(page, world):
    visit(page, "/events/")

    page.get_by_label("Event", exact=True).fill("prefect.flow-run.")
    page.get_by_role("button", name="Apply").click()

    names = page.locator("#events .event-name").all_inner_texts()
    assert names and all(name.startswith("prefect.flow-run.") for name in names), names
    assert_no_console_errors(page)


# Settings


@pytest.fixture(scope="module")
def server_with_secrets(tmp_path_factory):
    """A server started with a secret in its environment: an API auth string."""
    workdir = tmp_path_factory.mktemp("settings-server")
    secret = f"admin:browser-secret-{secrets.token_hex(6)}"
    with fresh_database(workdir) as url:
        with running_server(workdir, url, services=False, PREFECT_SERVER_API_AUTH_STRING=secret) as server:
            yield server, secret


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_settings_page_masks_secrets(browser, server_with_secrets, viewport):
    from .helpers import VIEWPORTS as SIZES

    server, secret = server_with_secrets
    context = browser.new_context(viewport=SIZES[viewport], base_url=server.url)
    context.console_errors = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and context.console_errors.append(m.text))
        visit(page, "/settings")

        expect(page.locator("h1")).to_have_text("Settings")
        expect(page.locator("#server")).to_contain_text("3.8.8")
        expect(page.locator("#server")).to_contain_text("SQLite")
        auth = page.locator("tr", has_text="PREFECT_SERVER_API_AUTH_STRING")
        expect(auth).to_contain_text("********")
        expect(auth).to_contain_text("env")
        expect(page.locator("#services")).to_contain_text("scheduler")
        assert secret not in page.content()
        assert secret.split(":", 1)[1] not in page.content()
        check(page, "settings", viewport)
    finally:
        context.close()


def test_settings_and_the_new_pages_are_in_the_sidebar(page, world):
    visit(page, "/")

    page.locator(".sidebar-footer").get_by_role("link", name="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    expect(page.locator(".sidebar-footer a[aria-current=page]")).to_have_text("Settings")
    page.locator(".nav").get_by_role("link", name="Flows").click()
    expect(page.locator("h1")).to_have_text("Flows")
    page.locator(".nav").get_by_role("link", name="Event feed").click()
    expect(page.locator("h1")).to_have_text("Event feed")
    assert_no_console_errors(page)
