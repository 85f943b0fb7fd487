"""The runs pages in headless Chromium against a live server, with runs of deployments served
by the real Prefect client (flows/served_runs.py): log lines appear on an open flow-run page
as the run writes them, a running run is cancelled and a finished one retried from its page,
runs are deleted in bulk from the list, and the filters narrow the lists. Screenshots of the
runs list, the flow-run page and the task-run page on a laptop screen and in a narrow window."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import PREFECT_PYTHON, Background, PrefectClient, wait_for

from .conftest import FLOWS, World
from .helpers import assert_fits_horizontally, assert_no_console_errors, expect, screenshot, visit

pytestmark = pytest.mark.browser

# The serve process asks for due runs every second (not ten), and the flows send their log
# lines every half second (not two): the tests wait for less.
SERVE_ENV = {"PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5"}
RUN_TIMEOUT = 90_000  # ms: a served run starts a fresh Python process on a busy machine


@pytest.fixture(scope="module")
def served(dashboard_server, dashboard_api, tmp_path_factory) -> Iterator[dict[str, str]]:
    """flows/served_runs.py serving chatty/live and sleeper/long; their deployment ids."""
    if not PREFECT_PYTHON.exists():
        pytest.skip(f"these browser tests need the real Prefect client: {PREFECT_PYTHON} is missing")
    prefect = PrefectClient(dashboard_server, tmp_path_factory.mktemp("served-runs"))
    process = Background(
        [PREFECT_PYTHON, FLOWS / "served_runs.py"],
        {**prefect.env, **SERVE_ENV},
        prefect.workdir,
        prefect.workdir / "served-runs.log",
    )
    try:

        def deployments():
            if not process.running():
                raise AssertionError(f"the serve process exited\n{process.describe()}")
            found = {}
            for flow, name in (("chatty", "live"), ("sleeper", "long")):
                response = dashboard_api.request("GET", f"deployments/name/{flow}/{name}")
                if response.status_code != 200:
                    return None
                found[flow] = response.json()["id"]
            return found

        yield wait_for(deployments, "the served deployments", timeout=90)
    finally:
        try:
            process.interrupt(timeout=30)
        finally:
            process.kill()


def start(api, deployment_id: str, **parameters) -> str:
    return api.post(f"deployments/{deployment_id}/create_flow_run", {"parameters": parameters})["id"]


def state_of(api, run_id: str) -> tuple[str, str]:
    run = api.flow_run(run_id)
    return run["state_type"], run["state_name"]


def test_log_lines_appear_on_the_open_page_as_the_run_writes_them(page, dashboard_api, served):
    run_id = start(dashboard_api, served["chatty"], lines=8, interval=1.0)

    visit(page, f"/runs/flow-run/{run_id}")
    page.evaluate("window.stillTheSamePage = true")
    logs = page.locator("#logs")
    expect(logs).to_contain_text("tick 1 of 8", timeout=RUN_TIMEOUT)
    # The first line showed while the run was still writing the others.
    assert state_of(dashboard_api, run_id)[0] == "RUNNING"
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    expect(logs).to_contain_text("tick 8 of 8", timeout=30_000)
    expect(page.locator(".header-badge")).to_contain_text("Completed", timeout=30_000)
    expect(page.locator("[data-live-notice]")).to_contain_text("The run is now Completed")

    assert page.evaluate("window.stillTheSamePage") is True  # never reloaded
    lines = page.locator("#log-lines tbody tr").filter(has_text=re.compile(r"tick \d+ of 8"))
    expect(lines).to_have_count(8)  # each once, in order
    assert lines.first.inner_text().endswith("tick 1 of 8")
    screenshot(page, "flow-run-live-logs")
    assert_no_console_errors(page)


def test_a_running_run_is_cancelled_from_its_page(page, dashboard_api, served):
    run_id = start(dashboard_api, served["sleeper"])
    wait_for(lambda: state_of(dashboard_api, run_id)[0] == "RUNNING", "the run to start", timeout=90)

    visit(page, f"/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Cancel run").click()

    expect(page.locator(".messages")).to_contain_text("The run is now Cancelling.")
    # The serve process hears of it, stops the run and reports it: the page shows it live.
    expect(page.locator(".header-badge")).to_contain_text("Cancelled", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    history = [(s["type"], s["name"]) for s in dashboard_api.flow_run_states(run_id)]
    assert history[-2:] == [("CANCELLING", "Cancelling"), ("CANCELLED", "Cancelled")], history
    screenshot(page, "flow-run-cancelled")
    assert_no_console_errors(page)


def test_a_finished_run_is_retried_from_its_page_and_runs_again(page, dashboard_api, served):
    run_id = start(dashboard_api, served["chatty"], lines=1, interval=0.1)
    wait_for(lambda: state_of(dashboard_api, run_id)[0] == "COMPLETED", "the first run to complete", timeout=90)

    visit(page, f"/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Retry").click()

    expect(page.locator(".messages")).to_contain_text("The run is now AwaitingRetry.")
    # Its deployment's serve process picks it up again, and the page follows it live.
    expect(page.locator(".header-badge")).to_contain_text("Completed", timeout=RUN_TIMEOUT)
    run = dashboard_api.flow_run(run_id)
    assert run["run_count"] == 2 and run["state_type"] == "COMPLETED"
    names = [s["name"] for s in dashboard_api.flow_run_states(run_id)]
    assert names[names.index("AwaitingRetry") :][-2:] == ["Running", "Completed"], names
    assert_no_console_errors(page)


def test_runs_are_deleted_in_bulk_from_the_list(page, dashboard_api):
    tag = f"doomed-{secrets.token_hex(3)}"
    flow_id = dashboard_api.post("flows/", {"name": "bulk-victims"})["id"]
    for i in range(3):
        dashboard_api.post(
            "flow_runs/", {"flow_id": flow_id, "name": f"{tag}-{i}", "tags": [tag], "state": {"type": "COMPLETED"}}
        )

    visit(page, f"/runs/?tags={tag}")
    expect(page.locator("#runs tbody tr")).to_have_count(3)
    page.get_by_label("Select every run on this page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 runs ticked:")
    page.get_by_role("button", name="Delete…").click()

    expect(page.locator("h1")).to_have_text("Delete 3 flow runs?")
    expect(page.locator("#runs-to-delete tbody tr")).to_have_count(3)
    screenshot(page, "runs-bulk-delete")
    page.get_by_role("button", name="Delete 3 runs").click()

    expect(page.locator(".messages")).to_contain_text("Deleted 3 flow runs.")
    expect(page.locator("main")).to_contain_text("No runs match")
    assert dashboard_api.post("flow_runs/filter", {"flow_runs": {"tags": {"all_": [tag]}}}) == []
    assert_no_console_errors(page)


def test_the_filters_narrow_both_lists(page, world: World):
    visit(page, "/runs/")
    page.locator("label.chip", has_text="Failed").click()
    page.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(r"state=FAILED"))
    rows = page.locator("#runs tbody tr")
    expect(rows.filter(has_text="broken-import")).not_to_have_count(0)
    expect(rows.filter(has_text="nightly-etl")).to_have_count(0)

    page.get_by_label("Start").select_option("custom")
    expect(page.get_by_label("From (UTC)")).to_be_visible()
    page.get_by_label("Start").select_option("")
    expect(page.get_by_label("From (UTC)")).to_be_hidden()

    page.get_by_role("link", name="Task runs").click()
    page.get_by_role("combobox", name="Flow", exact=True).select_option(label="nightly-etl")
    page.get_by_role("searchbox", name="Name").fill("square")
    page.get_by_role("button", name="Apply").click()
    task_rows = page.locator("#task-runs tbody tr")
    expect(task_rows).to_have_count(4)
    expect(task_rows.first).to_contain_text("nightly-etl")
    screenshot(page, "task-runs-filtered")
    assert_no_console_errors(page)


def task_run_of(api, flow_run_id: str, prefix: str) -> str:
    return next(t["id"] for t in api.task_runs(flow_run_id) if t["name"].startswith(prefix))


@pytest.mark.parametrize("viewport", ["wide", "narrow"])
def test_the_runs_pages_fit_the_window_and_log_no_errors(open_page, world: World, dashboard_api, viewport):
    page = open_page(viewport)
    extract = task_run_of(dashboard_api, world.etl_run, "extract")
    walk = [
        ("runs-list", "/runs/", ("nightly-etl", "broken-import")),
        ("runs-task-runs", "/runs/?tab=task-runs", ("extract-", "square-")),
        ("runs-flow-run", f"/runs/flow-run/{world.etl_run}", ("Timeline", "extract-", "etl-report")),
        ("runs-task-run", f"/runs/task-run/{extract}", ("extracted 4 rows", "Task inputs", "Completed")),
    ]
    for name, path, shows in walk:
        visit(page, path)
        main = page.locator("main")
        for text in shows:
            expect(main).to_contain_text(text)
        if name == "runs-flow-run":
            expect(page.locator(".timeline-chart .bar")).to_have_count(5)
            page.get_by_text("Change state…").click()  # the menu opens inside the window
            expect(page.get_by_label("New state")).to_be_visible()
        screenshot(page, f"{name}-{viewport}")
        assert_no_console_errors(page)
        assert_fits_horizontally(page)


def test_a_task_run_page_opens_from_the_timeline(page, world: World):
    visit(page, f"/runs/flow-run/{world.etl_run}")

    page.locator(".timeline-chart a").first.click()

    expect(page).to_have_url(re.compile(r"/runs/task-run/"))
    expect(page.locator("h1")).to_contain_text("extract-")
    expect(page.locator("#logs")).to_contain_text("extracted 4 rows")
    assert_no_console_errors(page)
