"""The dashboard's first pages: the runs list and the flow-run page."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.template.loader import render_to_string

from artifacts import domain as artifacts
from runs import views
from runs.models import Flow, FlowRun, Log, TaskRun
from runs.orchestration import engine
from runs.orchestration.states import State
from runs.templatetags.runs_extras import duration, log_level, utc
from runs.views import flow_run as flow_run_views
from tests.pages import page
from tests.runs.helpers import flow_run_in, task_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def run_names(html: str) -> list[str]:
    """The run names of a runs table, top to bottom."""
    return re.findall(r'class="run-link" href="[^"]+">([^<]+)</a>', html)


def older_link(html: str) -> str:
    match = re.search(r'rel="next" href="([^"]+)"', html)
    assert match, "no Older link"
    return match.group(1).replace("&amp;", "&")


def newer_link(html: str) -> str:
    match = re.search(r'rel="prev" href="([^"]+)"', html)
    assert match, "no Newer link"
    return match.group(1).replace("&amp;", "&")


def move(run: FlowRun, type_: str, message: str | None = None) -> None:
    engine.set_flow_run_state(run.pk, State(type=type_, message=message), force=True)


def make_runs(flow: Flow, count: int, **fields) -> list[FlowRun]:
    """`count` completed runs, run-0 expected first, one minute apart."""
    return [
        flow_run_in(flow, "COMPLETED", run_name=f"run-{i}", expected_start_time=T0 + dt.timedelta(minutes=i), **fields)
        for i in range(count)
    ]


# The runs list


def test_it_lists_runs_newest_first(client, flow):
    make_runs(flow, 3)

    html = page(client, "/runs/")

    assert run_names(html) == ["run-2", "run-1", "run-0"]
    assert "etl" in html


def test_it_shows_each_state_name_in_its_types_colour(client, flow):
    flow_run_in(flow, "SCHEDULED", "Late", run_name="late-run")
    flow_run_in(flow, "SCHEDULED", "AwaitingRetry", run_name="retrying-run")
    flow_run_in(flow, "COMPLETED", "Cached", run_name="cached-run")
    flow_run_in(flow, "FAILED", "TimedOut", run_name="timed-out-run")
    flow_run_in(flow, "RUNNING", run_name="running-run")

    html = page(client, "/runs/")

    assert re.search(r'class="badge state-scheduled"[^>]*>Late</span>', html)
    assert re.search(r'class="badge state-scheduled"[^>]*>AwaitingRetry</span>', html)
    assert re.search(r'class="badge state-completed"[^>]*>Cached</span>', html)
    assert re.search(r'class="badge state-failed"[^>]*>TimedOut</span>', html)
    assert re.search(r'class="badge state-running"[^>]*>Running</span>', html)


def test_it_shows_start_time_and_duration(client, flow):
    run = make_runs(flow, 1)[0]
    FlowRun.objects.filter(pk=run.pk).update(
        start_time=T0 + dt.timedelta(seconds=5), end_time=T0 + dt.timedelta(seconds=77), total_run_time=72.0
    )
    flow_run_in(flow, "SCHEDULED", run_name="not-started", expected_start_time=T0 - dt.timedelta(days=1))

    html = page(client, "/runs/")

    assert ">2024-05-01 12:00:05</time>" in html
    assert "1m 12s" in html
    # A run that has not started shows when it is expected to, and no duration.
    assert re.search(r'class="expected"[^>]*><time datetime="2024-04-30T12:00:00Z"', html)


def test_it_filters_runs_by_state(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="good", expected_start_time=T0)
    flow_run_in(flow, "FAILED", run_name="bad", expected_start_time=T0)
    flow_run_in(flow, "CRASHED", run_name="worse", expected_start_time=T0)

    assert run_names(page(client, "/runs/?state=FAILED")) == ["bad"]
    assert sorted(run_names(page(client, "/runs/?state=FAILED&state=CRASHED"))) == ["bad", "worse"]
    # The chosen states stay ticked.
    html = page(client, "/runs/?state=FAILED")
    assert re.search(r'value="FAILED" checked', html)
    assert not re.search(r'value="COMPLETED" checked', html)


def test_it_filters_runs_by_flow(client, flow):
    other = Flow.objects.create(name="reports")
    flow_run_in(flow, "COMPLETED", run_name="etl-run")
    flow_run_in(other, "COMPLETED", run_name="report-run")

    html = page(client, f"/runs/?flow={other.pk}")

    assert run_names(html) == ["report-run"]
    assert f'<option value="{other.pk}" selected>reports</option>' in html
    assert f'<option value="{flow.pk}">etl</option>' in html


def test_it_ignores_filter_values_it_does_not_know(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="only-run")

    html = page(client, "/runs/?state=NOPE&flow=not-a-uuid&older=garbage")

    assert run_names(html) == ["only-run"]


def test_the_empty_runs_list_explains_how_to_start(client, db):
    html = page(client, "/runs/")

    assert "No flow runs yet" in html
    assert "PREFECT_API_URL=http://testserver/api python my_flow.py" in html
    assert "@flow" in html
    assert 'class="table"' not in html


def test_a_filter_that_matches_nothing_says_so(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="good")

    html = page(client, "/runs/?state=FAILED")

    assert "No runs match" in html
    assert "No flow runs yet" not in html


def test_paging_shows_older_runs(client, flow):
    make_runs(flow, views.PAGE_SIZE + 5)

    first = page(client, "/runs/")
    assert run_names(first) == [f"run-{i}" for i in range(views.PAGE_SIZE + 4, 4, -1)]
    assert 'aria-disabled="true">← Newer' in first

    second = page(client, "/runs/" + older_link(first))
    assert run_names(second) == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    assert 'aria-disabled="true">Older →' in second

    back = page(client, "/runs/" + newer_link(second))
    assert run_names(back) == run_names(first)


def test_paging_a_middle_page_links_both_ways(client, flow):
    size = views.PAGE_SIZE
    make_runs(flow, 2 * size + 3)

    first = page(client, "/runs/")
    middle = page(client, "/runs/" + older_link(first))
    last = page(client, "/runs/" + older_link(middle))

    assert len(run_names(middle)) == size
    assert run_names(last) == ["run-2", "run-1", "run-0"]
    assert run_names(page(client, "/runs/" + newer_link(last))) == run_names(middle)
    assert run_names(page(client, "/runs/" + newer_link(middle))) == run_names(first)


def test_paging_shows_runs_with_the_same_start_time_once_each(client, flow):
    size = views.PAGE_SIZE
    for i in range(size + 10):
        flow_run_in(flow, "COMPLETED", run_name=f"same-{i}", expected_start_time=T0)

    first = page(client, "/runs/")
    second = page(client, "/runs/" + older_link(first))

    shown = run_names(first) + run_names(second)
    assert len(shown) == size + 10
    assert len(set(shown)) == size + 10


def test_paging_keeps_the_filters(client, flow):
    make_runs(flow, views.PAGE_SIZE + 2)
    flow_run_in(flow, "FAILED", run_name="failed-run", expected_start_time=T0 - dt.timedelta(days=1))

    first = page(client, "/runs/?state=COMPLETED")
    link = older_link(first)
    second = page(client, "/runs/" + link)

    assert "state=COMPLETED" in link
    assert run_names(second) == ["run-1", "run-0"]


def test_runs_without_an_expected_start_time_come_last(client, flow):
    make_runs(flow, views.PAGE_SIZE - 1)
    for i in range(3):
        # Runs never given a state list by id, highest first (ids are time-ordered).
        FlowRun.objects.create(flow=flow, name=f"stateless-{i}", id=uuid.UUID(int=i + 1))

    first = page(client, "/runs/")
    second = page(client, "/runs/" + older_link(first))

    assert run_names(first)[-2:] == ["run-0", "stateless-2"]
    assert run_names(second) == ["stateless-1", "stateless-0"]
    assert run_names(page(client, "/runs/" + newer_link(second))) == run_names(first)


def test_the_runs_list_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    other = Flow.objects.create(name="reports")
    make_runs(flow, views.PAGE_SIZE + 10)
    make_runs(other, 10)

    # The menus of flows, deployments and work pools, and the page (plus the runs without
    # a start time, when the page reaches them).
    with django_assert_max_num_queries(4):
        first = page(client, "/runs/")
    with django_assert_max_num_queries(5):
        page(client, "/runs/" + older_link(first))
    with django_assert_max_num_queries(5):
        page(client, f"/runs/?state=COMPLETED&flow={other.pk}")


# The flow-run page


def test_the_flow_run_page_shows_state_history_task_runs_and_logs(client, flow):
    run = flow_run_in(flow, "PENDING", run_name="nightly")
    move(run, "RUNNING")
    task = task_run_in(run, "COMPLETED", run_name="extract-0")
    task_run_in(run, "FAILED", "TimedOut", run_name="load-0", task_key="load")
    move(run, "FAILED", message="Flow run failed: load timed out")
    Log.objects.create(
        name="prefect.flow_runs", level=20, message="Beginning flow run", timestamp=T0, flow_run_id=run.pk
    )
    Log.objects.create(
        name="prefect.task_runs",
        level=40,
        message="Task run failed <boom>",
        timestamp=T0 + dt.timedelta(seconds=1),
        flow_run_id=run.pk,
        task_run_id=task.pk,
    )

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert "nightly" in html and "etl" in html
    assert "Flow run failed: load timed out" in html
    history = html[html.index('id="states"') :]
    assert re.findall(r'class="badge state-[a-z]+"[^>]*>(\w+)</span>', history) == ["Pending", "Running", "Failed"]
    tasks = html[html.index('id="task-runs"') : html.index('id="subflows"')]
    assert "extract-0" in tasks and "load-0" in tasks
    assert f'href="/runs/task-run/{task.pk}">extract-0</a>' in tasks
    assert re.search(r'class="badge state-failed"[^>]*>TimedOut</span>', tasks)
    logs = html[html.index('id="logs"') : html.index('id="task-runs"')]
    assert logs.index("Beginning flow run") < logs.index("Task run failed")
    assert ">INFO</span>" in logs and ">ERROR</span>" in logs
    assert "Task run failed &lt;boom&gt;" in logs
    assert f'href="/runs/task-run/{task.pk}">extract-0</a>' in logs
    assert ">2024-05-01 12:00:01.000</time>" in logs


def test_the_flow_run_page_shows_the_runs_details(client, flow):
    deployment_id = uuid.uuid4()
    run = flow_run_in(
        flow,
        "COMPLETED",
        run_name="with-details",
        parameters={"city": "Oslo", "days": 3},
        tags=["nightly", "team-data"],
        deployment_id=deployment_id,
        run_count=2,
    )
    FlowRun.objects.filter(pk=run.pk).update(start_time=T0, end_time=T0 + dt.timedelta(hours=2, minutes=5))
    FlowRun.objects.filter(pk=run.pk).update(total_run_time=7500.0)

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert "&quot;city&quot;: &quot;Oslo&quot;" in html
    assert '<span class="tag">nightly</span>' in html and '<span class="tag">team-data</span>' in html
    assert str(deployment_id) in html
    assert ">2024-05-01 12:00:00</time>" in html and ">2024-05-01 14:05:00</time>" in html
    assert "2h 5m" in html
    assert "<dt>Run count</dt><dd>2</dd>" in html


def test_the_flow_run_page_filters_logs_by_level(client, flow):
    run = flow_run_in(flow, "RUNNING")
    for level, message in [(10, "debug detail"), (20, "progress"), (30, "disk nearly full"), (50, "on fire")]:
        Log.objects.create(name="prefect", level=level, message=message, timestamp=T0, flow_run_id=run.pk)

    html = page(client, f"/runs/flow-run/{run.pk}?level=WARNING")

    assert "disk nearly full" in html and "on fire" in html
    assert "debug detail" not in html and "progress" not in html
    assert re.search(r'href="\?level=WARNING#logs" aria-current="true"', html)


def test_the_flow_run_page_pages_through_long_logs(client, flow, monkeypatch):
    monkeypatch.setattr(flow_run_views, "LOGS_SHOWN", 3)
    run = flow_run_in(flow, "RUNNING")
    for i in range(5):
        Log.objects.create(
            name="prefect", level=20, message=f"line {i}", timestamp=T0 + dt.timedelta(seconds=i), flow_run_id=run.pk
        )

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert "line 2" in html and "line 3" not in html
    assert "Showing 3 lines a page" in html
    # The first page does not stream: new lines would land after lines it does not show.
    assert "data-live-logs" not in html
    later = re.search(r'href="(\?logs_after=[^"#]+)#logs">Later lines', html).group(1).replace("&amp;", "&")
    last = page(client, f"/runs/flow-run/{run.pk}{later}")
    assert "line 3" in last and "line 4" in last and "line 2" not in last
    assert f'data-live-logs="/ws/flow-runs/{run.pk}/logs"' in last


def test_the_flow_run_page_links_subflows_and_their_parent(client, flow):
    parent = flow_run_in(flow, "RUNNING", run_name="parent-run")
    stand_in = task_run_in(parent, "RUNNING", run_name="child-flow-0")
    child_flow = Flow.objects.create(name="child-flow")
    child = flow_run_in(child_flow, "RUNNING", run_name="child-run", parent_task_run_id=stand_in.pk)

    parent_html = page(client, f"/runs/flow-run/{parent.pk}")
    child_html = page(client, f"/runs/flow-run/{child.pk}")

    subflows = parent_html[parent_html.index('id="subflows"') :]
    assert f'href="/runs/flow-run/{child.pk}">child-run</a>' in subflows
    assert f'href="/runs/flow-run/{child.pk}"' in parent_html[: parent_html.index('id="subflows"')]
    assert f'href="/runs/flow-run/{parent.pk}">parent-run</a>' in child_html
    assert f'href="/runs/task-run/{stand_in.pk}">child-flow-0</a>' in child_html


def test_a_subflow_whose_parent_task_is_unknown_still_renders(client, flow):
    missing = uuid.uuid4()
    run = flow_run_in(flow, "RUNNING", parent_task_run_id=missing)

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert str(missing) in html
    assert "has not recorded yet" in html


def test_a_flow_run_without_states_tasks_or_logs_renders(client, flow):
    run = FlowRun.objects.create(flow=flow, name="bare")

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert "No state" in html
    assert "This run has no states yet" in html
    assert "No task runs recorded" in html
    assert "has not sent any logs" in html


def test_the_flow_run_page_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    run = flow_run_in(flow, "RUNNING", parent_task_run_id=uuid.uuid4(), deployment_id=uuid.uuid4())
    for i in range(20):
        task = task_run_in(run, "COMPLETED", run_name=f"task-{i}", dynamic_key=str(i))
        Log.objects.create(name="prefect", level=20, message="x", timestamp=T0, flow_run_id=run.pk, task_run_id=task.pk)
        artifacts.create_artifact({"key": f"report-{i}", "type": "markdown", "data": "# hi", "flow_run_id": run.pk})

    # The run, its states, task runs, subflows, parent task, deployment, a page of logs, and
    # the artifacts (two).
    with django_assert_max_num_queries(9):
        page(client, f"/runs/flow-run/{run.pk}")


def test_the_flow_run_page_lists_the_artifacts_the_run_created(client, flow):
    run = flow_run_in(flow, "COMPLETED")
    artifacts.create_artifact({"key": "weekly-report", "type": "markdown", "data": "# Sales", "flow_run_id": run.pk})

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert 'href="#artifacts"' in html
    assert 'id="run-artifacts"' in html
    assert "weekly-report" in html


def test_an_unknown_flow_run_is_404(client, db):
    response = client.get(f"/runs/flow-run/{uuid.uuid4()}")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html
    assert 'class="sidebar"' in html


def test_the_server_error_page_renders_without_a_database():
    html = render_to_string("errors/500.html")

    assert "Server error" in html
    assert "/static/css/orchestrator.css" in html


def test_task_runs_of_other_flow_runs_are_not_shown(client, flow):
    run = flow_run_in(flow, "RUNNING", run_name="mine")
    other = flow_run_in(flow, "RUNNING", run_name="theirs")
    task_run_in(other, "COMPLETED", run_name="their-task")
    TaskRun.objects.create(name="orphan-task", task_key="k", dynamic_key="0", flow_run=None)

    html = page(client, f"/runs/flow-run/{run.pk}")

    assert "their-task" not in html and "orphan-task" not in html


# Formatting helpers


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (None, "—"),
        (0, "0s"),
        (0.25, "0.25s"),
        (0.5, "0.5s"),
        (1.56, "1.6s"),
        (7, "7s"),
        (42.9, "42s"),
        (72, "1m 12s"),
        (3600, "1h"),
        (3725, "1h 2m"),
        (90061, "1d 1h"),
    ],
)
def test_durations_read_like_people_write_them(seconds, shown):
    assert duration(seconds) == shown


@pytest.mark.parametrize(
    "level, name",
    [(10, "DEBUG"), (20, "INFO"), (25, "INFO"), (30, "WARNING"), (40, "ERROR"), (50, "CRITICAL"), (5, "DEBUG")],
)
def test_log_levels_show_by_name(level, name):
    assert log_level(level) == name


def test_times_show_in_utc():
    oslo = dt.timezone(dt.timedelta(hours=2))
    shown = utc(dt.datetime(2024, 5, 1, 14, 0, 5, 123456, tzinfo=oslo), "ms")

    assert (
        shown
        == '<time datetime="2024-05-01T12:00:05.123456Z" title="2024-05-01T12:00:05.123456Z">2024-05-01 12:00:05.123</time>'
    )
    assert utc(None) == "—"
