"""Server-drawn SVG bar charts (orchestrator.lib.charts) and the grouped time-bucket counts
that feed them (orchestrator.charts), on both databases."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from orchestrator.charts import Buckets, bucket_counts
from orchestrator.lib.charts import Bar, bar_chart
from orchestrator.templatetags.dashboard_extras import count, resource_url
from runs.models import Flow, FlowRun

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def rects(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'(\w+)="([^"]*)"', match))
        for match in re.findall(r"<rect ([^>]*)/>", svg)
        if 'class="hit"' not in f"<rect {match}/>"
    ]


# Drawing


def test_bars_are_stacked_bottom_up_and_scaled_to_the_tallest():
    svg = bar_chart(
        [Bar("a", [("state-completed", 3), ("state-failed", 1)]), Bar("b", [("state-completed", 2)])],
        label="runs",
        width=100,
        height=100,
        gap=0,
        min_height=0,
    )

    completed, failed, second = rects(svg)
    assert (completed["class"], completed["y"], completed["height"]) == ("state-completed", "25", "75")
    assert (failed["class"], failed["y"], failed["height"]) == ("state-failed", "0", "25")
    assert (second["x"], second["y"], second["height"], second["width"]) == ("50", "50", "50", "50")


def test_every_bar_has_a_tooltip_and_the_chart_a_label():
    svg = bar_chart([Bar("12:00: 3 completed"), Bar("12:30: no runs")], label="Flow runs")

    assert svg.startswith('<svg class="chart" role="img" aria-label="Flow runs"')
    assert re.findall(r'<g class="bar"><title>([^<]+)</title>', svg) == ["12:00: 3 completed", "12:30: no runs"]
    assert svg.count('class="hit"') == 2


def test_a_lone_run_beside_thousands_is_still_visible():
    svg = bar_chart([Bar("a", [("x", 10_000)]), Bar("b", [("x", 1)])], label="l", height=100, min_height=2)

    assert float(rects(svg)[1]["height"]) == 2


def test_text_is_escaped():
    svg = bar_chart([Bar('<script>"x"</script>', [('bad"class', 1)])], label="<b>&")

    assert "<script>" not in svg and "&lt;script&gt;&quot;x&quot;" in svg
    assert 'aria-label="&lt;b&gt;&amp;"' in svg and 'class="bad&quot;class"' in svg


def test_an_empty_chart_draws_no_bars():
    assert rects(bar_chart([Bar("a"), Bar("b")], label="nothing")) == []
    assert "<svg" in bar_chart([], label="nothing")


# Counting


@pytest.mark.django_db
def test_rows_are_counted_per_bucket_and_group_in_one_query(django_assert_num_queries):
    flow = Flow.objects.create(name="etl")
    for minutes, state in [
        (0, "COMPLETED"),
        (5, "COMPLETED"),
        (5, "FAILED"),
        (59, "FAILED"),
        (60, "FAILED"),
        (61, "X"),
    ]:
        FlowRun.objects.create(
            flow=flow, name="r", state_type=state, expected_start_time=T0 + dt.timedelta(minutes=minutes)
        )
    FlowRun.objects.create(
        flow=flow, name="before", state_type="COMPLETED", expected_start_time=T0 - dt.timedelta(seconds=1)
    )

    with django_assert_num_queries(1):
        counted = bucket_counts(
            FlowRun.objects.all(), "expected_start_time", Buckets(T0, T0 + dt.timedelta(hours=1), 4), by="state_type"
        )

    # 15-minute buckets; the run at the very end falls in the last; the ones outside are left out.
    assert counted == [{"COMPLETED": 2, "FAILED": 1}, {}, {}, {"FAILED": 2}]


@pytest.mark.django_db
def test_without_a_group_the_counts_are_under_none():
    flow = Flow.objects.create(name="etl")
    for seconds in (0, 1, 29, 31):
        FlowRun.objects.create(flow=flow, name="r", expected_start_time=T0 + dt.timedelta(seconds=seconds))

    counted = bucket_counts(FlowRun.objects.all(), "expected_start_time", Buckets(T0, T0 + dt.timedelta(minutes=1), 2))

    assert counted == [{None: 3}, {None: 1}]


def test_buckets_know_their_bounds():
    buckets = Buckets(T0, T0 + dt.timedelta(hours=2), 4)

    assert buckets.width == 1800
    assert buckets.bounds(1) == (T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(hours=1))


# Template helpers


@pytest.mark.parametrize(
    "value, cap, shown",
    [(0, None, "0"), (1234567, None, "1,234,567"), (11, 10, "10+"), (10, 10, "10"), (None, None, "—")],
)
def test_counts_are_shown_with_separators_and_a_cap(value, cap, shown):
    assert count(value, cap) == shown


@pytest.mark.parametrize(
    "resource, url",
    [
        (
            {"prefect.resource.id": "prefect.flow-run.0191e0b2-0000-7000-8000-000000000001"},
            "/runs/flow-run/0191e0b2-0000-7000-8000-000000000001",
        ),
        (
            {"prefect.resource.id": "prefect.deployment.0191e0b2-0000-7000-8000-000000000001"},
            "/deployments/deployment/0191e0b2-0000-7000-8000-000000000001/",
        ),
        (
            {"prefect.resource.id": "prefect.flow.0191e0b2-0000-7000-8000-000000000001"},
            "/flows/flow/0191e0b2-0000-7000-8000-000000000001",
        ),
        (
            {"prefect.resource.id": "prefect.work-pool.x", "prefect.resource.name": "my pool"},
            "/work-pools/work-pool/my%20pool/",
        ),
        ({"prefect.resource.id": "prefect.flow-run.not-a-uuid"}, ""),
        ({"prefect.resource.id": "prefect.tag.etl"}, ""),
        ({"prefect.resource.id": "acme.thing.1"}, ""),
        ({}, ""),
        (None, ""),
    ],
)
def test_a_resource_links_to_its_page_when_it_has_one(resource, url):
    assert resource_url(resource) == url
