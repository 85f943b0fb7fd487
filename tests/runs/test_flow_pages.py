"""The flows pages: the list (deployments, last and next run, a week's activity, search,
paging) and a flow's page (its runs, deployments and details), and deleting a flow."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from deployments import domain
from deployments.models import Deployment, DeploymentSchedule
from runs import flow_views
from runs.models import Flow, FlowRun, FlowRunState, TaskRun
from tests.pages import page, text
from tests.runs.helpers import flow_run_in, task_run_in

pytestmark = pytest.mark.django_db


def ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def flow_names(markup: str) -> list[str]:
    return re.findall(r'class="run-link" href="/flows/flow/[^"]+">([^<]+)</a>', markup)


def run_names(markup: str) -> list[str]:
    return re.findall(r'class="run-link" href="/runs/flow-run/[^"]+">([^<]+)</a>', markup)


def row_of(markup: str, name: str) -> str:
    start = markup.index(f">{name}</a>")
    return markup[markup.rindex("<tr>", 0, start) : markup.index("</tr>", start)]


def link(markup: str, rel: str) -> str:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', markup)
    assert match, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


def deploy(flow: Flow, name: str, **data) -> Deployment:
    body = {"flow_id": flow.id, "name": name, **data}
    return domain.save_deployment(body, set(body))[0]


# The list


def test_the_list_shows_each_flow_with_deployments_last_and_next_run(client, flow):
    deploy(flow, "nightly")
    deploy(flow, "hourly")
    flow_run_in(flow, "COMPLETED", run_name="older", expected_start_time=ago(hours=3))
    last = flow_run_in(flow, "FAILED", run_name="latest", expected_start_time=ago(hours=1))
    upcoming = flow_run_in(
        flow, "SCHEDULED", run_name="tomorrow", expected_start_time=timezone.now() + dt.timedelta(days=1)
    )
    Flow.objects.create(name="quiet")

    markup = page(client, "/flows/")

    assert flow_names(markup) == ["etl", "quiet"]
    etl = row_of(markup, "etl")
    assert re.search(r'<td class="num"><a href="/flows/flow/[^"]+#deployments">2</a></td>', etl)
    assert re.search(r'class="badge state-failed"[^>]*>Failed</span>', etl)
    assert f'href="/runs/flow-run/{last.pk}">latest</a>' in etl
    assert f'href="/runs/flow-run/{upcoming.pk}"' in etl and re.search(r"in (1\xa0day|23\xa0hours)", etl)
    assert '<svg class="sparkline"' in etl and "2 runs in the past week" in etl
    quiet = row_of(markup, "quiet")
    assert "No runs yet" in quiet and '<span class="muted">0</span>' in quiet


def test_the_sparkline_has_a_bar_a_day_with_failures_on_top(client, flow):
    flow_run_in(flow, "COMPLETED", run_name="a", expected_start_time=ago(hours=2))
    flow_run_in(flow, "FAILED", run_name="b", expected_start_time=ago(hours=2))
    flow_run_in(flow, "COMPLETED", run_name="c", expected_start_time=ago(days=3))
    flow_run_in(flow, "COMPLETED", run_name="too-old", expected_start_time=ago(days=9))

    svg = re.search(r'<svg class="sparkline".*?</svg>', page(client, "/flows/"), re.S).group(0)

    assert svg.count('<g class="bar">') == flow_views.SPARKLINE_DAYS
    titles = re.findall(r'<g class="bar"><title>([^<]+)</title>', svg)
    assert titles[-1].endswith("2 runs, 1 failed")
    assert sum(title.endswith(": 1 run") for title in titles) == 1
    assert "3 runs in the past week" in svg


def test_the_list_searches_flow_names(client, flow):
    for name in ("nightly-etl", "NIGHTLY-report", "hourly"):
        Flow.objects.create(name=name)

    markup = page(client, "/flows/?q=nightly")

    assert flow_names(markup) == ["NIGHTLY-report", "nightly-etl"]
    assert 'value="nightly"' in markup and "Clear search" in markup
    assert "No flow name contains “nothing”" in page(client, "/flows/?q=nothing")


def test_the_list_pages_by_name_both_ways_and_keeps_the_search(client, db, monkeypatch):
    monkeypatch.setattr(flow_views, "PAGE_SIZE", 2)
    for i in range(5):
        Flow.objects.create(name=f"flow-{i}")
    Flow.objects.create(name="other")

    first = page(client, "/flows/?q=flow")
    assert flow_names(first) == ["flow-0", "flow-1"]
    second = page(client, "/flows/" + link(first, "next"))
    assert flow_names(second) == ["flow-2", "flow-3"] and "q=flow" in link(second, "next")
    third = page(client, "/flows/" + link(second, "next"))
    assert flow_names(third) == ["flow-4"]
    assert flow_names(page(client, "/flows/" + link(third, "prev"))) == ["flow-2", "flow-3"]


def test_an_empty_list_says_how_to_run_a_flow(client, db):
    markup = page(client, "/flows/")

    assert "No flow runs yet" in markup and "PREFECT_API_URL=http://testserver/api" in markup


def test_the_list_uses_a_bounded_number_of_queries(client, db, django_assert_max_num_queries):
    for i in range(20):
        flow = Flow.objects.create(name=f"flow-{i:02}")
        deploy(flow, "d")
        flow_run_in(flow, "COMPLETED", run_name=f"r{i}", expected_start_time=ago(hours=i))
        flow_run_in(flow, "SCHEDULED", run_name=f"s{i}", expected_start_time=timezone.now() + dt.timedelta(hours=i + 1))

    with django_assert_max_num_queries(5):
        markup = page(client, "/flows/")
    assert len(flow_names(markup)) == 20


@pytest.mark.parametrize("query", ["q=%00", "q=" + "x" * 3000, "after=garbage", "before=%00~x", "after=~"])
def test_bad_query_parameters_never_fail_the_list(client, flow, query):
    page(client, f"/flows/?{query}")


# A flow's page


def test_the_flow_page_shows_its_runs_deployments_details_and_week(client, flow):
    Flow.objects.filter(pk=flow.pk).update(tags=["team-data"])
    nightly = deploy(flow, "nightly", tags=["prod"], paused=True)
    flow_run_in(flow, "COMPLETED", run_name="yesterday", expected_start_time=ago(days=1))
    flow_run_in(flow, "FAILED", run_name="today", expected_start_time=ago(hours=1), tags=["x"])
    other = Flow.objects.create(name="other")
    flow_run_in(other, "COMPLETED", run_name="not-mine", expected_start_time=ago(hours=1))

    markup = page(client, f"/flows/flow/{flow.pk}")

    assert "<h1>etl</h1>" in markup
    assert run_names(markup) == ["today", "yesterday"]
    assert f'href="/deployments/deployment/{nightly.pk}/">nightly</a>' in markup
    assert re.search(r'class="badge state-paused"[^>]*>Paused</span>', markup)
    assert "<code>" + str(flow.pk) + "</code>" in markup and '<span class="tag">team-data</span>' in markup
    stats = markup[markup.index('id="stats"') :]
    assert re.search(r'<span class="big-count"[^>]*>2</span>', stats)
    assert "Completed 1" in text(stats) and "Failed 1" in text(stats)
    assert "Runs of etl by state, past 7 days: 2 in all" in stats
    assert f'href="/flows/flow/{flow.pk}/delete"' in markup
    assert "<h1>etl</h1>" in page(client, f"/flows/flow/{flow.pk}/")


def test_the_flow_page_pages_its_runs_and_filters_them_by_state(client, flow, monkeypatch):
    monkeypatch.setattr(flow_views, "RUNS_PAGE_SIZE", 2)
    for i in range(5):
        flow_run_in(flow, "COMPLETED" if i % 2 else "FAILED", run_name=f"run-{i}", expected_start_time=ago(hours=i))

    first = page(client, f"/flows/flow/{flow.pk}")
    assert run_names(first) == ["run-0", "run-1"]
    second = page(client, f"/flows/flow/{flow.pk}" + link(first, "next"))
    assert run_names(second) == ["run-2", "run-3"]

    failed = page(client, f"/flows/flow/{flow.pk}?state=FAILED")
    assert run_names(failed) == ["run-0", "run-2"]
    assert run_names(page(client, f"/flows/flow/{flow.pk}" + link(failed, "next"))) == ["run-4"]


def test_a_flow_without_runs_or_deployments_says_how_to_make_them(client, flow):
    markup = page(client, f"/flows/flow/{flow.pk}")

    assert "This flow has no runs." in markup
    assert 'my_flow.serve(name="my-deployment")' in markup


def test_the_flow_page_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    for i in range(40):
        flow_run_in(flow, "COMPLETED", run_name=f"r{i}", expected_start_time=ago(minutes=i))
    for i in range(5):
        deploy(flow, f"d{i}")

    with django_assert_max_num_queries(5):
        markup = page(client, f"/flows/flow/{flow.pk}")
    assert len(run_names(markup)) == flow_views.RUNS_PAGE_SIZE


def test_an_unknown_flow_is_404(client, db):
    page(client, f"/flows/flow/{uuid.uuid4()}", status=404)
    page(client, f"/flows/flow/{uuid.uuid4()}/delete", status=404)
    page(client, "/flows/flow/not-an-id", status=404)


# Deleting a flow


def test_deleting_asks_first_and_says_what_goes(client, flow):
    deploy(flow, "nightly")
    flow_run_in(flow, "COMPLETED", run_name="r1")
    flow_run_in(flow, "COMPLETED", run_name="r2")

    markup = page(client, f"/flows/flow/{flow.pk}/delete")

    assert "<h1>Delete etl?</h1>" in markup
    assert "with its 2 runs" in text(markup) and "its 1 deployment and" in text(markup)
    assert Flow.objects.filter(pk=flow.pk).exists()


def test_deleting_a_flow_removes_it_with_its_runs_and_deployments(client, flow):
    deployment = deploy(
        flow,
        "nightly",
        schedules=[{"schedule": {"interval": 3600.0, "anchor_date": "2024-01-01T00:00:00Z", "timezone": "UTC"}}],
    )
    run = flow_run_in(flow, "COMPLETED", run_name="r1")
    task_run_in(run, "COMPLETED")
    other = Flow.objects.create(name="other")
    kept = flow_run_in(other, "COMPLETED", run_name="kept")

    response = client.post(f"/flows/flow/{flow.pk}/delete")

    assert response.status_code == 302 and response["Location"] == "/flows/"
    assert not Flow.objects.filter(pk=flow.pk).exists()
    assert not FlowRun.objects.filter(flow_id=flow.pk).exists()
    assert not TaskRun.objects.filter(flow_run_id=run.pk).exists()
    assert not FlowRunState.objects.filter(flow_run_id=run.pk).exists()
    assert not Deployment.objects.filter(pk=deployment.pk).exists()
    assert not DeploymentSchedule.objects.filter(deployment_id=deployment.pk).exists()
    assert FlowRun.objects.filter(pk=kept.pk).exists()
    assert "Flow etl deleted, with its runs and deployments." in page(client, "/flows/")


def test_deleting_needs_a_csrf_token(flow):
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(f"/flows/flow/{flow.pk}/delete").status_code == 403
    browser.get(f"/flows/flow/{flow.pk}/delete")
    token = browser.cookies["csrftoken"].value
    assert browser.post(f"/flows/flow/{flow.pk}/delete", {"csrfmiddlewaretoken": token}).status_code == 302
    assert not Flow.objects.filter(pk=flow.pk).exists()


def test_the_delete_page_counts_no_further_than_its_cap(client, flow, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(flow_views, "COUNT_CAP", 2)
    for i in range(3):
        flow_run_in(flow, "COMPLETED", run_name=f"r{i}")

    with django_assert_max_num_queries(3):
        markup = page(client, f"/flows/flow/{flow.pk}/delete")
    assert "with its 2+ runs" in text(markup)
