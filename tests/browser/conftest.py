"""Browser tests: the dashboard in real headless Chromium against a live server process.

The server is `orchestrator server start` on a free loopback port with its own temporary
database (SQLite, or a fresh PostgreSQL database when ORCHESTRATOR_TEST_DATABASE_URL names
one), started once per session with the end-to-end tests' machinery (tests/e2e/conftest.py).
Its runs are made by the real Prefect client (flows/world.py); the rest is created over the
API as a client would.

The browser is Debian's Chromium (`/usr/bin/chromium`, or ORCHESTRATOR_CHROMIUM), driven by
Playwright for Python, whose wheel carries its driver: nothing is downloaded at test time
and `playwright install` is never needed. Without Chromium or Playwright the tests are
skipped with a message, unless ORCHESTRATOR_REQUIRE_BROWSER=1 (CI), where that fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import PREFECT_PYTHON, Api, PrefectClient, fresh_database, running_server, wait_for_task_runs

from .helpers import VIEWPORTS, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.e2e.conftest import ServerProcess

FLOWS = Path(__file__).resolve().parent / "flows"
CHROMIUM = os.environ.get("ORCHESTRATOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("ORCHESTRATOR_REQUIRE_BROWSER") == "1"

PAGES_OF_TEST = pytest.StashKey[list]()


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (`make install-test` installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (`apt-get install chromium`, or set ORCHESTRATOR_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"the browser tests are required (ORCHESTRATOR_REQUIRE_BROWSER=1) but {missing}", False)
        pytest.skip(f"browser tests skipped: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """A live server with its own empty database, for the whole browser session."""
    workdir = tmp_path_factory.mktemp("dashboard-server")
    with fresh_database(workdir) as url:
        with running_server(workdir, url) as server:
            yield server


@pytest.fixture(scope="session")
def dashboard_api(dashboard_server) -> Api:
    return Api(dashboard_server.api_url)


@dataclass(frozen=True)
class World:
    """What the session's server holds, by the ids and names the tests look for."""

    etl_run: str
    broken_run: str
    flow_id: str
    deployment_id: str
    pool: str


@pytest.fixture(scope="session")
def world(dashboard_server, dashboard_api, tmp_path_factory) -> World:
    """Runs made by the real Prefect client, and a pool, a deployment, a variable and limits
    made over the API."""
    if not os.access(PREFECT_PYTHON, os.X_OK):
        pytest.skip(f"these browser tests need the real Prefect client: {PREFECT_PYTHON} is missing")
    prefect = PrefectClient(dashboard_server, tmp_path_factory.mktemp("dashboard-client"))
    runs = prefect.script(FLOWS / "world.py").result()
    api = dashboard_api
    wait_for_task_runs(api, runs["etl"], 5)  # extract and four squares

    pool = "laptop-pool"
    api.post("work_pools/", {"name": pool, "type": "process", "description": "The machine under the desk"})
    flow_id = api.flow_run(runs["etl"])["flow_id"]
    deployment = api.post(
        "deployments/",
        {
            "name": "nightly",
            "flow_id": flow_id,
            "work_pool_name": pool,
            "description": "Loads yesterday's rows into the warehouse",
            "parameters": {"n": 4},
            "tags": ["etl"],
            "schedules": [{"schedule": {"interval": 3600}}],
        },
    )
    api.post("variables/", {"name": "warehouse_url", "value": "postgresql://warehouse/main", "tags": ["etl"]})
    api.post("v2/concurrency_limits/", {"name": "warehouse-connections", "limit": 5})
    api.post("concurrency_limits/", {"tag": "etl", "concurrency_limit": 2})
    return World(runs["etl"], runs["broken"], flow_id, deployment["id"], pool)


@pytest.fixture
def open_page(browser, dashboard_server, request) -> Iterator[Callable[..., Page]]:
    """Opens a fresh page (its own context: no cookies shared between tests) at a viewport,
    "wide" (1366x850, a laptop) or "narrow" (400 wide), with the server as base URL and its
    console errors collected (helpers.console_errors)."""
    contexts = []
    pages: list[Page] = []
    request.node.stash[PAGES_OF_TEST] = pages

    def open_(viewport: str = "wide") -> Page:
        context = browser.new_context(viewport=VIEWPORTS[viewport], base_url=dashboard_server.url)
        context.console_errors = []
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("console", lambda message: _console(context, message))
        page.on("pageerror", lambda error: context.console_errors.append(f"uncaught: {error}"))
        pages.append(page)
        return page

    yield open_
    for context in contexts:
        context.close()


def _console(context, message) -> None:
    if message.type == "error":
        where = message.location or {}
        context.console_errors.append(
            f"console.error: {message.text} ({where.get('url', '')}:{where.get('lineNumber', '')})"
        )


@pytest.fixture
def page(open_page) -> Page:
    """A page at the laptop viewport."""
    return open_page("wide")


@pytest.fixture
def narrow_page(open_page) -> Page:
    """A page at the narrow viewport."""
    return open_page("narrow")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A failing browser test leaves a screenshot of each page it had open."""
    report = yield
    if report.when == "call" and report.failed:
        for index, page in enumerate(item.stash.get(PAGES_OF_TEST, [])):
            try:
                path = screenshot(page, f"FAILED-{item.name}-{index}")
            except Exception as exc:  # a crashed page: the report matters more than its picture
                report.sections.append(("screenshot", f"no screenshot: {exc}"))
            else:
                report.sections.append(("screenshot", str(path)))
    return report
