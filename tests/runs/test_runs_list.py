"""The runs list: its filters, sorts and task-runs tab, the scatter of a page, and the bulk
buttons (cancel, set a state, delete after a confirmation), which go through the engine."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from deployments import pools
from deployments.models import Deployment
from runs.models import Flow, FlowRun, TaskRun
from runs.views import lists
from tests.pages import page
from tests.runs.helpers import flow_run_in, task_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def names(html: str) -> list[str]:
    """The run names of a runs or task-runs table, top to bottom."""
    return re.findall(r'class="run-link" href="[^"]+">([^<]+)</a>', html)


def next_link(html: str) -> str:
    match = re.search(r'rel="next" href="([^"]+)"', html)
    assert match, "no next link"
    return "/runs/" + match.group(1).replace("&amp;", "&")


def run_at(flow, name: str, minutes: float = 0, state: str = "COMPLETED", **fields) -> FlowRun:
    return flow_run_in(flow, state, run_name=name, expected_start_time=T0 + dt.timedelta(minutes=minutes), **fields)


def messages(response) -> list[str]:
    """The flash messages this request added (not those still waiting from earlier ones)."""
    return [str(m) for m in response.wsgi_request._messages._queued_messages]


# --- filters ------------------------------------------------------------------------------------


def test_it_filters_by_deployment_and_work_pool(client, flow):
    pool = pools.create_pool(name="gpu-pool", type="process")
    deployment = Deployment.objects.create(flow=flow, name="nightly", work_queue=pool.default_queue)
    run_at(flow, "deployed", deployment_id=deployment.pk)
    run_at(flow, "pooled", work_pool_name="gpu-pool", work_pool_id=pool.pk)
    run_at(flow, "plain")

    assert names(page(client, f"/runs/?deployment={deployment.pk}")) == ["deployed"]
    html = page(client, "/runs/?pool=gpu-pool")
    assert names(html) == ["pooled"]
    assert '<option value="gpu-pool" selected>gpu-pool</option>' in html
    assert f'<option value="{deployment.pk}">etl / nightly</option>' in html


def test_it_filters_by_tags_all_of_them(client, flow):
    run_at(flow, "both", tags=["etl", "nightly"])
    run_at(flow, "one", tags=["etl"])
    run_at(flow, "none")

    assert sorted(names(page(client, "/runs/?tags=etl"))) == ["both", "one"]
    assert names(page(client, "/runs/?tags=etl,+nightly")) == ["both"]
    assert 'value="etl nightly"' in page(client, "/runs/?tags=etl,nightly")


def test_it_searches_run_names(client, flow):
    run_at(flow, "crimson-otter")
    run_at(flow, "blue-otter", minutes=1)
    run_at(flow, "crimson-fox", minutes=2)

    assert names(page(client, "/runs/?q=OTTER")) == ["blue-otter", "crimson-otter"]
    assert names(page(client, "/runs/?q=crimson")) == ["crimson-fox", "crimson-otter"]


def test_search_takes_wildcards_literally(client, flow):
    run_at(flow, "load_50%")
    run_at(flow, "loadx50-and-more", minutes=1)
    run_at(flow, "back\\slash", minutes=2)

    assert names(page(client, "/runs/?q=D_50%25")) == ["load_50%"]
    assert names(page(client, "/runs/?q=k%5Cs")) == ["back\\slash"]


def test_it_filters_by_a_time_window_or_a_custom_range(client, flow):
    now = timezone.now()
    flow_run_in(flow, "COMPLETED", run_name="an-hour-ago", expected_start_time=now - dt.timedelta(minutes=30))
    flow_run_in(flow, "COMPLETED", run_name="yesterday", expected_start_time=now - dt.timedelta(hours=30))
    flow_run_in(flow, "SCHEDULED", run_name="tomorrow", expected_start_time=now + dt.timedelta(hours=3))

    assert names(page(client, "/runs/?range=hour")) == ["an-hour-ago"]
    assert names(page(client, "/runs/?range=week")) == ["an-hour-ago", "yesterday"]
    assert names(page(client, "/runs/?range=upcoming")) == ["tomorrow"]
    start = (now - dt.timedelta(hours=31)).strftime("%Y-%m-%dT%H:%M")
    end = (now - dt.timedelta(hours=29)).strftime("%Y-%m-%dT%H:%M")
    html = page(client, f"/runs/?range=custom&from={start}&to={end}")
    assert names(html) == ["yesterday"]
    assert f'value="{start}"' in html and '<option value="custom" selected>' in html


def test_a_time_it_cannot_read_is_named_and_ignored(client, flow):
    run_at(flow, "only")

    html = page(client, "/runs/?range=custom&from=next+tuesday")

    assert names(html) == ["only"]
    assert "Ignored: “next tuesday” is not a time" in html


@pytest.mark.parametrize(
    "query",
    [
        "state=NOPE&flow=not-a-uuid&deployment=123&pool=&older=garbage&sort=sideways&range=forever",
        "from=2024-99-99&to=%00&tags=" + "x," * 500,
        "q=" + "a" * 5000,
        "newer=~&after=20240101T000000.000000Z~nope&tab=nope",
        "tab=task-runs&state=FAILED&flow=zzz&earlier=2024~&sort=name&after=%ff",
    ],
)
def test_odd_query_parameters_never_break_the_list(client, flow, query):
    run_at(flow, "still-listed", tags=["a"])

    response = client.get(f"/runs/?{query}")

    assert response.status_code == 200


def test_every_filter_can_be_cleared(client, flow):
    run_at(flow, "x")

    assert "Clear filters" in page(client, "/runs/?q=x")
    assert "Clear filters" in page(client, "/runs/?sort=oldest")
    assert "Clear filters" not in page(client, "/runs/")


# --- sorts ---------------------------------------------------------------------------------------


def test_it_sorts_oldest_first_and_by_name_with_paging(client, flow, monkeypatch):
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    for i, name in enumerate(["c-run", "a-run", "d-run", "b-run", "e-run"]):
        run_at(flow, name, minutes=i)

    oldest = page(client, "/runs/?sort=oldest")
    assert names(oldest) == ["c-run", "a-run"]
    assert "Later →" in oldest
    assert names(page(client, next_link(oldest))) == ["d-run", "b-run"]

    by_name = page(client, "/runs/?sort=name")
    assert names(by_name) == ["a-run", "b-run"]
    second = page(client, next_link(by_name))
    assert names(second) == ["c-run", "d-run"]
    assert "sort=name" in next_link(by_name)
    assert names(page(client, next_link(second))) == ["e-run"]


# --- the scatter --------------------------------------------------------------------------------


def test_the_page_draws_its_started_runs_as_a_scatter(client, flow):
    for i, seconds in enumerate([5, 60, 30]):
        run = run_at(flow, f"run-{i}", minutes=i, state="FAILED" if i == 1 else "COMPLETED")
        FlowRun.objects.filter(pk=run.pk).update(start_time=run.expected_start_time, total_run_time=seconds)
    run_at(flow, "not-started", state="SCHEDULED")

    html = page(client, "/runs/")

    chart = html[html.index('class="run-chart scatter-chart"') : html.index("</figure>")]
    assert len(re.findall(r'<circle class="dot state-', chart)) == 3
    assert 'class="dot state-failed"' in chart
    assert "<title>run-1 · Failed · 1m</title>" in chart


def test_a_page_with_fewer_than_two_started_runs_has_no_scatter(client, flow):
    run_at(flow, "lonely", state="SCHEDULED")

    assert "scatter-chart" not in page(client, "/runs/")


# --- the task runs tab ---------------------------------------------------------------------------


def test_the_task_runs_tab_lists_task_runs_with_their_flow_runs(client, flow):
    run = run_at(flow, "nightly-run")
    task = task_run_in(run, "COMPLETED", run_name="extract-0", expected_start_time=T0)
    task_run_in(run, "FAILED", run_name="load-0", task_key="load", expected_start_time=T0 + dt.timedelta(seconds=1))

    html = page(client, "/runs/?tab=task-runs")

    assert names(html) == ["load-0", "extract-0"]
    assert f'href="/runs/task-run/{task.pk}">extract-0</a>' in html
    assert f'href="/runs/flow-run/{run.pk}">etl / nightly-run</a>' in html
    assert re.search(r'href="/runs/\?tab=task-runs" aria-current="true">Task runs', html)


def test_the_task_runs_tab_has_its_own_filters(client, flow):
    other = Flow.objects.create(name="reports")
    mine = run_at(flow, "mine")
    theirs = run_at(other, "theirs")
    task_run_in(mine, "COMPLETED", run_name="extract-0", tags=["io"])
    task_run_in(mine, "FAILED", run_name="load-0", task_key="load")
    task_run_in(theirs, "FAILED", run_name="render-0")

    assert sorted(names(page(client, "/runs/?tab=task-runs&state=FAILED"))) == ["load-0", "render-0"]
    assert names(page(client, f"/runs/?tab=task-runs&state=FAILED&flow={other.pk}")) == ["render-0"]
    assert names(page(client, "/runs/?tab=task-runs&tags=io")) == ["extract-0"]
    html = page(client, "/runs/?tab=task-runs&q=LOAD")
    assert names(html) == ["load-0"]
    assert '<input type="hidden" name="tab" value="task-runs">' in html
    # Flow-run filters that task runs do not have are not offered there.
    assert 'name="deployment"' not in html


def test_the_task_runs_tab_pages_through_one_flow_runs_task_runs(client, flow, monkeypatch):
    from runs.views import flow_run as flow_run_views

    monkeypatch.setattr(flow_run_views, "TASK_RUNS_SHOWN", 2)
    big, other = run_at(flow, "big-run"), run_at(flow, "other-run")
    for i in range(3):
        task_run_in(big, "COMPLETED", run_name=f"row-{i}", dynamic_key=str(i), expected_start_time=T0)
    task_run_in(other, "COMPLETED", run_name="elsewhere")

    run_page = page(client, f"/runs/flow-run/{big.pk}")
    link = re.search(r'href="(/runs/\?tab=task-runs&amp;flow_run=[^"]+)">Page through all of them', run_page)
    html = page(client, link.group(1).replace("&amp;", "&"))

    assert names(html) == ["row-0", "row-1", "row-2"]
    assert f'Task runs of the flow run <a href="/runs/flow-run/{big.pk}">etl / big-run</a>' in html
    assert f'<input type="hidden" name="flow_run" value="{big.pk}">' in html


def test_the_task_runs_tab_pages_without_counting(client, flow, monkeypatch):
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    run = run_at(flow, "mapped")
    for i in range(5):
        task_run_in(run, "COMPLETED", run_name=f"square-{i}", dynamic_key=str(i), expected_start_time=T0)

    first = page(client, "/runs/?tab=task-runs&sort=name")
    second = page(client, next_link(first))
    third = page(client, next_link(second))

    assert names(first) + names(second) + names(third) == [f"square-{i}" for i in range(5)]


def test_the_task_runs_tab_explains_itself_when_empty(client, flow):
    html = page(client, "/runs/?tab=task-runs")
    assert "No task runs yet" in html and "@task" in html

    run_at(flow, "r")
    task_run_in(FlowRun.objects.get(name="r"), "COMPLETED")
    html = page(client, "/runs/?tab=task-runs&state=CRASHED")
    assert "No task runs match" in html


def test_the_lists_use_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    pool = pools.create_pool(name="p", type="process")
    deployment = Deployment.objects.create(flow=flow, name="d", work_queue=pool.default_queue)
    for i in range(lists.PAGE_SIZE + 5):
        run = run_at(flow, f"run-{i}", minutes=i, deployment_id=deployment.pk, tags=["t"])
        task_run_in(run, "COMPLETED", run_name=f"task-{i}")

    filters = f"state=COMPLETED&flow={flow.pk}&deployment={deployment.pk}&pool=p&tags=t&q=run&range=month"
    with django_assert_max_num_queries(5):
        page(client, f"/runs/?{filters}")
    with django_assert_max_num_queries(3):
        first = page(client, f"/runs/?tab=task-runs&state=COMPLETED&flow={flow.pk}&tags=&q=task")
    with django_assert_max_num_queries(3):
        page(client, next_link(first))


# --- bulk buttons --------------------------------------------------------------------------------


def bulk(client, action: str, *runs, **fields):
    data = {"action": action, "run": [str(r.pk) for r in runs], "next": "/runs/?state=RUNNING", **fields}
    return client.post("/runs/bulk", data)


def test_bulk_cancel_cancels_through_the_engine(client, flow):
    running = run_at(flow, "running", state="RUNNING")
    scheduled = run_at(flow, "scheduled", state="SCHEDULED")
    done = run_at(flow, "done", state="COMPLETED")

    response = bulk(client, "cancel", running, scheduled, done)

    assert response.status_code == 302 and response["Location"] == "/runs/?state=RUNNING"
    running.refresh_from_db(), scheduled.refresh_from_db(), done.refresh_from_db()
    # A running run is asked to stop (its process hears of it); one not running anywhere is
    # cancelled at once; a finished one is left alone, and the page says why.
    assert (running.state_type, running.state_name) == ("CANCELLING", "Cancelling")
    assert scheduled.state_type == "CANCELLED"
    assert done.state_type == "COMPLETED"
    said = messages(response)
    assert any(m.startswith("Cancelled 2 runs") for m in said), said
    assert any(m.startswith("done: Not changed") for m in said), said


def test_bulk_set_state_proposes_the_state_to_each_run(client, flow):
    running = run_at(flow, "running", state="RUNNING")
    cancelling = run_at(flow, "cancelling", state="CANCELLING")

    response = bulk(client, "set-state", running, cancelling, state="FAILED")

    running.refresh_from_db(), cancelling.refresh_from_db()
    assert running.state_type == "FAILED" and running.state.message == "Set from the dashboard"
    assert cancelling.state_type == "CANCELLING"  # the policy lets it only reach Cancelled
    assert any("cancelling: Not changed" in m for m in messages(response))


def test_bulk_set_state_offers_only_final_states(client, flow):
    run = run_at(flow, "r", state="RUNNING")

    response = bulk(client, "set-state", run, state="RUNNING")

    run.refresh_from_db()
    assert run.state_type == "RUNNING"
    assert messages(response) == ["Choose the state to set."]


def test_bulk_delete_asks_first_then_deletes(client, flow):
    doomed = [run_at(flow, f"doomed-{i}") for i in range(2)]
    task_run_in(doomed[0], "COMPLETED")
    kept = run_at(flow, "kept")

    confirm = bulk(client, "delete", *doomed)

    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Delete 2 flow runs?" in html and "doomed-0" in html and "doomed-1" in html
    assert FlowRun.objects.count() == 3
    assert '<input type="hidden" name="confirm" value="yes">' in html

    done = bulk(client, "delete", *doomed, confirm="yes")

    assert done.status_code == 302
    assert list(FlowRun.objects.values_list("name", flat=True)) == ["kept"]
    assert TaskRun.objects.count() == 0
    assert messages(done) == ["Deleted 2 flow runs."]
    assert kept.pk


def test_bulk_actions_without_runs_or_action_say_so(client, flow):
    run = run_at(flow, "r")

    assert messages(bulk(client, "cancel")) == ["Tick the runs to act on first."]
    assert messages(bulk(client, "explode", run)) == ["Choose what to do with the ticked runs."]
    assert messages(client.post("/runs/bulk", {"action": "cancel", "run": ["nope", str(uuid.uuid4())]})) == [
        "None of the chosen runs exist any more."
    ]


def test_bulk_actions_go_back_only_to_our_own_pages(client, flow):
    run = run_at(flow, "r", state="RUNNING")

    response = client.post("/runs/bulk", {"action": "cancel", "run": [str(run.pk)], "next": "https://evil.example/"})

    assert response["Location"] == "/runs/"


def test_bulk_actions_need_a_post_with_the_csrf_token(flow):
    run = run_at(flow, "r", state="RUNNING")
    client = Client(enforce_csrf_checks=True)

    assert client.get("/runs/bulk").status_code == 405
    assert client.post("/runs/bulk", {"action": "cancel", "run": [str(run.pk)]}).status_code == 403
    run.refresh_from_db()
    assert run.state_type == "RUNNING"


def test_the_list_has_a_box_per_run_for_the_bulk_buttons(client, flow):
    run = run_at(flow, "r")

    html = page(client, "/runs/")

    assert f'<input type="checkbox" name="run" value="{run.pk}" aria-label="Select r">' in html
    assert 'action="/runs/bulk"' in html
    assert 'name="next" value="/runs/"' in html
