"""The dashboard home (`/`): flow runs by state and their history over a window, the failed,
late and running ones, task-run counts, work-pool health, filters, and a fresh server's
getting-started page."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from deployments import pools
from deployments.choices import WorkerStatus
from deployments.models import Worker, WorkQueue
from runs import dashboard_views
from runs.models import Flow, FlowRun
from tests.pages import page, text
from tests.runs.helpers import flow_run_in, task_run_in

pytestmark = pytest.mark.django_db


def ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def card(markup: str, ident: str) -> str:
    start = markup.index(f'id="{ident}"')
    return markup[start : markup.index("</section>", start)]


def state_counts(markup: str) -> dict[str, int]:
    """The counts by state of the flow-runs card, as {label: n}."""
    found = re.findall(r'class="badge state-[a-z-]+" href="[^"]*">(\w+) <span class="n">([\d,]+)</span>', markup)
    return {label: int(n.replace(",", "")) for label, n in found}


def big_count(markup: str) -> int:
    return int(re.search(r'<span class="big-count"[^>]*>([\d,]+)</span>', markup).group(1).replace(",", ""))


def listed(markup: str, ident: str) -> list[str]:
    return re.findall(r'class="run-link" href="/runs/flow-run/[^"]+">([^<]+)</a>', card(markup, ident))


@pytest.fixture
def runs(flow):
    """Runs of the `etl` flow at known distances from now."""
    return {
        "recent-1": flow_run_in(flow, "COMPLETED", run_name="recent-1", expected_start_time=ago(minutes=10)),
        "recent-2": flow_run_in(flow, "COMPLETED", run_name="recent-2", expected_start_time=ago(minutes=20)),
        "recent-3": flow_run_in(flow, "COMPLETED", run_name="recent-3", expected_start_time=ago(minutes=30)),
        "failed-2h": flow_run_in(flow, "FAILED", run_name="failed-2h", expected_start_time=ago(hours=2)),
        "old-3d": flow_run_in(flow, "COMPLETED", run_name="old-3d", expected_start_time=ago(days=3)),
        "ancient": flow_run_in(flow, "COMPLETED", run_name="ancient", expected_start_time=ago(days=40)),
    }


# A fresh server


def test_a_fresh_server_says_how_to_point_prefect_at_it(client, db):
    markup = page(client)

    assert "<h1>Dashboard</h1>" in markup
    assert "No flow runs yet" in markup
    assert "PREFECT_API_URL=http://testserver/api python my_flow.py" in markup
    assert 'id="flow-runs"' not in markup


def test_a_window_without_runs_is_not_the_fresh_server_page(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="long-ago", expected_start_time=ago(days=90))

    markup = page(client)

    assert "No flow runs yet" not in markup
    assert "No flow runs were due in the past 24 hours." in markup
    assert big_count(markup) == 0


# Flow runs


def test_it_counts_the_flow_runs_of_the_past_day_by_state(client, runs):
    markup = page(client)

    assert big_count(markup) == 4
    assert state_counts(markup) == {"Completed": 3, "Failed": 1}
    assert 'href="/runs/?state=FAILED"' in markup


def test_the_history_chart_has_a_bar_per_bucket_coloured_by_state(client, runs):
    markup = card(page(client), "flow-runs")

    svg = re.search(r"<svg class=\"chart\".*?</svg>", markup, re.S).group(0)
    assert 'role="img"' in svg and "Flow runs by state, past 24 hours: 4 in all" in svg
    assert svg.count('<g class="bar">') == dashboard_views.WINDOWS["24h"].buckets
    assert re.search(r'<rect class="state-completed" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"/>', svg)
    assert re.search(r'<rect class="state-failed" ', svg)
    titles = re.findall(r"<g class=\"bar\"><title>([^<]+)</title>", svg)
    assert sum("1 failed" in title for title in titles) == 1
    assert sum("no runs" in title for title in titles) >= 44
    assert "Tallest bar:" in markup and "UTC" in markup


@pytest.mark.parametrize("window, total", [("1h", 3), ("24h", 4), ("7d", 5), ("30d", 5), ("bogus", 4), ("", 4)])
def test_the_window_chooses_which_runs_count(client, runs, window, total):
    markup = page(client, f"/?window={window}")

    assert big_count(markup) == total


def test_the_window_links_keep_the_other_filters(client, runs):
    markup = page(client, "/?window=7d&hide_subflows=1&tags=etl")

    links = re.findall(r'<a href="\?([^"]+)"( aria-current="true")?>([^<]+)</a>', markup)
    assert [(label, bool(current)) for _, current, label in links] == [
        ("1 hour", False),
        ("24 hours", False),
        ("7 days", True),
        ("30 days", False),
    ]
    assert links[0][0] == "window=1h&amp;hide_subflows=1&amp;tags=etl"


def test_hiding_subflows_leaves_out_runs_started_by_another_run(client, runs, flow):
    flow_run_in(
        flow, "COMPLETED", run_name="child", expected_start_time=ago(minutes=5), parent_task_run_id=uuid.uuid4()
    )

    assert big_count(page(client)) == 5
    markup = page(client, "/?hide_subflows=1")
    assert big_count(markup) == 4
    assert re.search(r'name="hide_subflows" value="1" checked', markup)


def test_tags_keep_the_runs_with_every_tag_given(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="both", expected_start_time=ago(minutes=5), tags=["etl", "nightly"])
    flow_run_in(flow, "FAILED", run_name="etl-only", expected_start_time=ago(minutes=5), tags=["etl"])
    flow_run_in(flow, "COMPLETED", run_name="untagged", expected_start_time=ago(minutes=5))

    assert big_count(page(client, "/?tags=etl")) == 2
    markup = page(client, "/?tags=etl,+nightly")
    assert big_count(markup) == 1
    assert 'name="tags" value="etl, nightly"' in markup
    assert big_count(page(client, "/?tags=missing")) == 0
    assert "Clear filters" in markup


def test_the_failed_late_and_running_runs_are_listed_newest_first(client, flow):
    failed = flow_run_in(flow, "FAILED", run_name="boom", expected_start_time=ago(minutes=5))
    flow_run_in(flow, "CRASHED", run_name="crash", expected_start_time=ago(minutes=50))
    flow_run_in(flow, "SCHEDULED", "Late", run_name="stuck", expected_start_time=ago(minutes=15))
    flow_run_in(flow, "SCHEDULED", run_name="on-time", expected_start_time=ago(seconds=5))
    flow_run_in(flow, "RUNNING", run_name="busy", expected_start_time=ago(minutes=2))
    flow_run_in(flow, "COMPLETED", run_name="fine", expected_start_time=ago(minutes=1))

    markup = page(client)

    assert listed(markup, "failed-runs") == ["boom", "crash"]
    assert listed(markup, "late-runs") == ["stuck"]
    assert listed(markup, "running-runs") == ["busy"]
    assert f'href="/runs/flow-run/{failed.pk}">boom</a>' in markup
    assert re.search(r'id="failed-title">Failed runs</h2><span class="count">2</span>', markup)
    assert re.search(r'id="late-title">Late runs</h2><span class="count">1</span>', markup)
    assert "Scheduled runs that no worker picked up in time" in card(markup, "late-runs")


def test_the_lists_show_at_most_a_few_runs_and_link_to_the_rest(client, flow):
    for i in range(dashboard_views.LIST_SIZE + 2):
        flow_run_in(flow, "FAILED", run_name=f"f{i}", expected_start_time=ago(minutes=i + 1))

    markup = page(client)

    assert listed(markup, "failed-runs") == [f"f{i}" for i in range(dashboard_views.LIST_SIZE)]
    assert 'href="/runs/?state=FAILED&amp;state=CRASHED">All failed runs</a>' in markup
    assert "No late runs." in markup and "Nothing running." in markup


# Task runs


def test_it_counts_the_task_runs_due_in_the_window(client, flow):
    run = flow_run_in(flow, "RUNNING", run_name="r", expected_start_time=ago(minutes=5))
    for i, state in enumerate(["COMPLETED", "COMPLETED", "FAILED", "CRASHED", "RUNNING", "PENDING"]):
        task_run_in(run, state, dynamic_key=str(i), expected_start_time=ago(minutes=4))
    task_run_in(run, "COMPLETED", dynamic_key="old", expected_start_time=ago(days=2))

    tasks = card(page(client), "task-runs")

    assert re.search(r"<dt>Completed</dt><dd>2</dd>", tasks)
    assert re.search(r"<dt>Failed</dt><dd>2</dd>", tasks)
    assert re.search(r"<dt>Running</dt><dd>1</dd>", tasks)
    assert re.search(r"<dt>Completed</dt><dd>3</dd>", card(page(client, "/?window=7d"), "task-runs"))


def test_with_filters_the_task_runs_are_those_of_the_matching_flow_runs(client, flow):
    tagged = flow_run_in(flow, "COMPLETED", run_name="t", expected_start_time=ago(minutes=5), tags=["etl"])
    other = flow_run_in(flow, "COMPLETED", run_name="o", expected_start_time=ago(minutes=5))
    task_run_in(tagged, "COMPLETED", dynamic_key="1", expected_start_time=ago(minutes=4))
    task_run_in(other, "COMPLETED", dynamic_key="2", expected_start_time=ago(minutes=4))
    task_run_in(other, "FAILED", dynamic_key="3", expected_start_time=ago(minutes=4))

    tasks = card(page(client, "/?tags=etl"), "task-runs")

    assert re.search(r"<dt>Completed</dt><dd>1</dd>", tasks) and re.search(r"<dt>Failed</dt><dd>0</dd>", tasks)
    assert "Task runs of the flow runs above." in text(tasks)


def test_task_runs_past_the_cap_show_as_the_cap_plus(client, flow, monkeypatch):
    monkeypatch.setattr(dashboard_views, "COUNT_CAP", 2)
    run = flow_run_in(flow, "COMPLETED", run_name="r", expected_start_time=ago(minutes=5))
    for i in range(3):
        task_run_in(run, "COMPLETED", dynamic_key=str(i), expected_start_time=ago(minutes=4))

    assert re.search(r"<dt>Completed</dt><dd>2\+</dd>", card(page(client), "task-runs"))


# Work pools


def test_each_work_pool_shows_its_status_late_runs_workers_and_last_poll(client, flow):
    busy = pools.create_pool(name="busy", type="process")
    pools.create_pool(name="idle", type="docker")
    WorkQueue.objects.filter(work_pool=busy).update(last_polled=ago(minutes=3))
    Worker.objects.create(work_pool=busy, name="w1", status=WorkerStatus.ONLINE, last_heartbeat_time=ago(seconds=5))
    Worker.objects.create(work_pool=busy, name="w2", status=WorkerStatus.OFFLINE)
    flow_run_in(flow, "SCHEDULED", "Late", run_name="late", expected_start_time=ago(minutes=9), work_pool_id=busy.pk)

    pools_card = card(page(client), "work-pools")

    busy_card, idle_card = re.findall(r'<li class="pool-card">(.*?)</li>', pools_card, re.S)
    assert 'href="/work-pools/work-pool/busy/">busy</a>' in busy_card
    assert "Late runs 1" in text(busy_card) and "Workers online 1" in text(busy_card)
    assert "3 minutes ago" in text(busy_card)
    assert "Type docker" in text(idle_card) and "Never" in text(idle_card)
    assert re.search(r'class="badge state-not-ready"[^>]*>Not ready</span>', idle_card)


def test_without_work_pools_the_card_says_how_to_make_one(client, runs):
    assert "prefect work-pool create my-pool --type process" in card(page(client), "work-pools")


# The page as a whole


@pytest.mark.parametrize(
    "query",
    [
        "window=%00",
        "window=1h&window=7d",
        "hide_subflows=maybe",
        "tags=" + "x" * 5000,
        "tags=%00,%FF,<script>",
        "tags=" + ",".join(f"t{i}" for i in range(100)),
        "older=garbage",
    ],
)
def test_bad_query_parameters_never_fail_the_page(client, runs, query):
    markup = page(client, f"/?{query}")

    assert "<script>" not in markup.split('id="content"')[1]


def test_the_page_is_also_at_slash_dashboard_under_its_nav_entry(client, runs):
    for url in ("/dashboard", "/dashboard/"):
        markup = page(client, url)
        assert big_count(markup) == 4
        assert re.search(r'href="/"\s+aria-current="page"', markup)


def test_the_sidebar_lists_the_pages_in_prefects_order_with_settings_at_the_foot(client, db):
    markup = page(client)

    nav = markup[markup.index('<nav class="nav"') : markup.index("</nav>", markup.index('<nav class="nav"'))]
    labels = re.findall(r"</svg>([^<]+)</a>", nav)
    assert labels.index("Runs") + 1 == labels.index("Flows") < labels.index("Deployments")
    assert labels.index("Variables") < labels.index("Event feed") < labels.index("Concurrency")
    footer = markup[markup.index('class="sidebar-footer"') :]
    assert 'href="/settings"' in footer and "Settings</a>" in footer


def test_the_page_makes_the_same_few_queries_however_many_runs(client, flow, django_assert_max_num_queries):
    other = Flow.objects.create(name="other")
    for i in range(30):
        state = ["COMPLETED", "FAILED", "RUNNING", "CRASHED"][i % 4]
        run = flow_run_in(flow if i % 2 else other, state, run_name=f"r{i}", expected_start_time=ago(minutes=i))
        task_run_in(run, "COMPLETED", expected_start_time=ago(minutes=i))
    for i in range(15):
        pool = pools.create_pool(name=f"pool-{i:02}", type="process")
        flow_run_in(
            flow, "SCHEDULED", "Late", run_name=f"late{i}", expected_start_time=ago(hours=1), work_pool_id=pool.pk
        )

    for url in ("/", "/?window=30d", "/?hide_subflows=1&tags=x"):
        with django_assert_max_num_queries(13):
            page(client, url)
    assert "More work pools" in page(client)
    assert FlowRun.objects.count() == 45
