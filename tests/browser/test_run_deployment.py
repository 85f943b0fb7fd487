"""Running a deployment from its page in headless Chromium: a flow served by the real Prefect
client (`flow.serve()` in a background process) picks up the run made with the custom run form
and completes it, and its flow-run page says so."""

from __future__ import annotations

import os
import re
import secrets

import pytest

from tests.e2e.conftest import PREFECT_PYTHON, PrefectClient, wait_for
from tests.e2e.helpers import start_serving, stop_serving, wait_for_deployment

from .helpers import assert_fits_horizontally, assert_no_console_errors, console_errors, expect, screenshot, visit

pytestmark = pytest.mark.browser

DEPLOYMENT = "from-the-browser"


@pytest.fixture(scope="module")
def served(dashboard_server, dashboard_api, tmp_path_factory):
    """`adder.serve(name="from-the-browser")` (tests/e2e/flows/served.py): no schedule, so its
    only runs are the ones the tests make."""
    if not os.access(PREFECT_PYTHON, os.X_OK):
        pytest.skip(f"this test needs the real Prefect client: {PREFECT_PYTHON} is missing")
    prefect = PrefectClient(dashboard_server, tmp_path_factory.mktemp("served-from-browser"))
    process = start_serving(prefect, {"flow": "adder", "name": DEPLOYMENT})
    try:
        yield wait_for_deployment(dashboard_api, "adder", DEPLOYMENT, process), process
    finally:
        stop_serving(process)


def test_a_served_deployment_runs_what_the_custom_run_form_asks(page, served, dashboard_api):
    deployment, process = served
    name = f"by-hand-{secrets.token_hex(3)}"
    visit(page, f"/deployments/deployment/{deployment['id']}/")

    page.get_by_role("link", name="Custom run").click()
    expect(page.locator("h1")).to_contain_text(DEPLOYMENT)
    x = page.get_by_label("x", exact=False).first
    expect(x).to_have_value("1")  # the flow's default, from the schema the client sent
    x.fill("21")
    page.get_by_label("Run name").fill(name)
    page.get_by_label("Tags").fill("from-browser")
    screenshot(page, "custom-run-form-filled")
    page.get_by_role("button", name="Create run").click()

    expect(page).to_have_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text(name)
    run = dashboard_api.flow_run(run_id)
    assert run["parameters"] == {"x": 21}
    assert "from-browser" in run["tags"] and run["deployment_id"] == deployment["id"]

    # The runner polls every second, starts the run in a subprocess and reports its states.
    wait_for(
        lambda: dashboard_api.flow_run(run_id)["state_type"] in ("COMPLETED", "FAILED", "CRASHED"),
        f"the served run to finish\n{process.describe()}",
        timeout=120,
        every=1,
    )
    assert dashboard_api.flow_run(run_id)["state_type"] == "COMPLETED", process.describe()
    page.reload()
    expect(page.locator(".header-badge")).to_contain_text("Completed")
    logs = wait_for(lambda: [log["message"] for log in dashboard_api.logs(run_id)], "the run's logs")
    assert any("adder got x=21" in line for line in logs), logs
    screenshot(page, "custom-run-completed")
    assert_no_console_errors(page)


def test_a_wrong_parameter_is_shown_beside_its_field(page, served, dashboard_api):
    deployment, _ = served
    visit(page, f"/deployments/deployment/{deployment['id']}/run")

    page.get_by_label("x", exact=False).first.fill("2.5")
    page.get_by_role("button", name="Create run").click()

    expect(page.locator("#field-param-x .field-error")).to_contain_text("Enter a whole number.")
    expect(page.locator(".messages")).to_contain_text("The run was not created")
    screenshot(page, "custom-run-error")
    # The refused form comes back with 400, which Chromium logs; nothing else may be logged.
    assert all("status of 400" in error for error in console_errors(page)), console_errors(page)


@pytest.mark.parametrize("viewport", ["wide", "narrow"])
def test_the_custom_run_form_fits_the_window(open_page, served, viewport):
    deployment, _ = served
    page = open_page(viewport)
    visit(page, f"/deployments/deployment/{deployment['id']}/run")

    expect(page.locator("form.run-custom")).to_be_visible()
    page.get_by_label("Later").check()
    screenshot(page, f"custom-run-{viewport}")
    assert_no_console_errors(page)
    assert_fits_horizontally(page)


def test_quick_run_starts_a_run_with_the_defaults(page, served, dashboard_api):
    deployment, _ = served
    visit(page, f"/deployments/deployment/{deployment['id']}/")

    page.get_by_role("button", name="Quick run").click()

    expect(page).to_have_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}$"))
    expect(page.locator(".messages")).to_contain_text("created")
    run = dashboard_api.flow_run(page.url.rsplit("/", 1)[1])
    assert run["parameters"] == {} or run["parameters"] == {"x": 1}
    assert run["deployment_id"] == deployment["id"]
