"""The event feed (`/events/`: newest first, by name prefix, resource and time range, with a
volume chart) and an event's page (`/events/event/<id>`: raw JSON, resources, links)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid

import pytest
from django.utils import timezone

from events import views
from events.schema import parse_event
from events.store import record
from runs.models import Flow
from tests.pages import page, text

pytestmark = pytest.mark.django_db


def ago(**delta) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def emit(name: str, resource: str, when: dt.datetime, related: list[dict] | None = None, **extra) -> uuid.UUID:
    """Store one event as the ingest path does."""
    resource_labels = {"prefect.resource.id": resource, **extra.pop("labels", {})}
    event = parse_event(
        {
            "id": str(uuid.uuid4()),
            "occurred": when.isoformat(),
            "event": name,
            "resource": resource_labels,
            "related": related or [],
            "payload": extra.pop("payload", {}),
        }
    )
    record([event], publish=False)
    return event["id"]


def shown(markup: str) -> list[str]:
    """The event names of the feed, top to bottom."""
    return re.findall(r'class="run-link event-name" href="/events/event/[^"]+">([^<]+)</a>', markup)


def link(markup: str, rel: str) -> str:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', markup)
    assert match, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


RUN = "prefect.flow-run.0191e0b2-0000-7000-8000-000000000001"
OTHER_RUN = "prefect.flow-run.0191e0b2-0000-7000-8000-000000000002"
FLOW = {"prefect.resource.id": "prefect.flow.0191e0b2-0000-7000-8000-00000000000f", "prefect.resource.role": "flow"}


@pytest.fixture
def feed():
    return {
        "pending": emit("prefect.flow-run.Pending", RUN, ago(minutes=30), [FLOW]),
        "running": emit("prefect.flow-run.Running", RUN, ago(minutes=20), [FLOW]),
        "task": emit("prefect.task-run.Completed", "prefect.task-run.abc", ago(minutes=10), [{**FLOW}]),
        "other": emit("prefect.flow-run.Completed", OTHER_RUN, ago(minutes=5)),
        "yesterday": emit("prefect.work-pool.ready", "prefect.work-pool.p", ago(hours=30)),
    }


# The feed


def test_the_feed_shows_the_past_day_newest_first(client, feed):
    markup = page(client, "/events/")

    assert shown(markup) == [
        "prefect.flow-run.Completed",
        "prefect.task-run.Completed",
        "prefect.flow-run.Running",
        "prefect.flow-run.Pending",
    ]
    assert f'href="/events/event/{feed["running"]}"' in markup
    # A flow-run resource links to its page.
    assert f'href="/runs/flow-run/{RUN.rsplit(".", 1)[1]}"' in markup


def test_the_range_widens_the_feed(client, feed):
    assert "prefect.work-pool.ready" in shown(page(client, "/events/?range=7d"))
    assert shown(page(client, "/events/?range=1h")) == [
        "prefect.flow-run.Completed",
        "prefect.task-run.Completed",
        "prefect.flow-run.Running",
        "prefect.flow-run.Pending",
    ]
    assert "prefect.work-pool.ready" not in shown(page(client, "/events/?range=bogus"))


def test_the_feed_filters_by_event_name_prefix(client, feed):
    assert shown(page(client, "/events/?event=prefect.flow-run.")) == [
        "prefect.flow-run.Completed",
        "prefect.flow-run.Running",
        "prefect.flow-run.Pending",
    ]
    assert shown(page(client, "/events/?event=prefect.task-run.*")) == ["prefect.task-run.Completed"]
    assert "No events match" in page(client, "/events/?event=nothing.")


def test_the_feed_filters_by_a_resource_of_the_event_or_a_related_one(client, feed):
    assert shown(page(client, f"/events/?resource={RUN}")) == ["prefect.flow-run.Running", "prefect.flow-run.Pending"]
    # The flow is a related resource of three events.
    assert len(shown(page(client, f"/events/?resource={FLOW['prefect.resource.id']}"))) == 3
    assert len(shown(page(client, "/events/?resource=prefect.flow-run.*"))) == 3


def test_the_feed_takes_a_custom_time_range(client, feed):
    since = ago(minutes=25).strftime("%Y-%m-%dT%H:%M")
    until = ago(minutes=8).strftime("%Y-%m-%dT%H:%M")

    markup = page(client, f"/events/?since={since}&until={until}")

    assert shown(markup) == ["prefect.task-run.Completed", "prefect.flow-run.Running"]
    assert f'name="since" value="{since}"' in markup


@pytest.mark.parametrize(
    "query, ignored",
    [
        ("since=yesterday", "since (yesterday: not a date and time)"),
        ("until=%00", None),
        ("since=2030-01-01T00:00&until=2020-01-01T00:00", "since (after until)"),
        ("event=%00&resource=%00", None),
        ("resource=" + "x" * 5000, None),
        ("before=garbage&after=~", None),
        ("range=1h&range=%FF", None),
    ],
)
def test_bad_query_parameters_never_fail_the_feed(client, feed, query, ignored):
    markup = page(client, f"/events/?{query}")

    if ignored:
        assert "Ignored: " + ignored in html.unescape(markup)


def test_the_feed_pages_with_a_cursor_both_ways(client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        emit(f"test.event.{i}", RUN, ago(minutes=i + 1))

    first = page(client, "/events/?event=test.")
    assert shown(first) == ["test.event.0", "test.event.1"]
    second = page(client, "/events/" + link(first, "next"))
    assert shown(second) == ["test.event.2", "test.event.3"] and "event=test." in link(second, "next")
    third = page(client, "/events/" + link(second, "next"))
    assert shown(third) == ["test.event.4"]
    assert shown(page(client, "/events/" + link(third, "prev"))) == ["test.event.2", "test.event.3"]


def test_the_volume_chart_counts_the_events_of_the_range(client, feed):
    markup = page(client, "/events/")

    svg = re.search(r'<svg class="chart volume".*?</svg>', markup, re.S).group(0)
    assert "Events over time: 4 in all" in svg
    assert svg.count('<g class="bar">') == views.VOLUME_BUCKETS
    assert svg.count('<rect class="volume"') >= 1


def test_past_its_cap_the_volume_chart_counts_the_newest_events_and_says_since_when(client, feed, monkeypatch):
    monkeypatch.setattr(views, "VOLUME_CAP", 2)

    markup = page(client, "/events/")

    assert "Events over time: 2 in all" in markup
    assert "The chart counts the newest 2 events, since" in text(markup)


def test_an_empty_feed_says_where_events_come_from(client, db):
    markup = page(client, "/events/")

    assert "No events in the past 24 hours" in markup and "PREFECT_API_URL=http://testserver/api" in markup


def test_the_feed_uses_a_bounded_number_of_queries(client, feed, django_assert_max_num_queries):
    for i in range(60):
        emit("bulk.event", RUN, ago(minutes=1, seconds=i), [FLOW])

    for url in ("/events/", f"/events/?resource={RUN}&event=bulk.&range=7d"):
        with django_assert_max_num_queries(3):
            markup = page(client, url)
        assert len(shown(markup)) == views.PAGE_SIZE


# An event's page


def test_an_event_page_shows_the_raw_event_its_resources_and_links(client, db):
    flow = Flow.objects.create(name="etl")
    deployment_id = uuid.uuid4()
    event_id = emit(
        "prefect.flow-run.Failed",
        RUN,
        ago(minutes=1),
        [
            {
                "prefect.resource.id": f"prefect.flow.{flow.pk}",
                "prefect.resource.role": "flow",
                "prefect.resource.name": "etl",
            },
            {"prefect.resource.id": f"prefect.deployment.{deployment_id}", "prefect.resource.role": "deployment"},
            {
                "prefect.resource.id": "prefect.work-pool.abc",
                "prefect.resource.role": "work-pool",
                "prefect.resource.name": "laptop <pool>",
            },
            {"prefect.resource.id": "prefect.tag.etl", "prefect.resource.role": "tag"},
        ],
        labels={"prefect.resource.name": "brave-otter", "prefect.state-type": "FAILED"},
        payload={"intended": {"from": "RUNNING", "to": "FAILED"}},
    )

    markup = page(client, f"/events/event/{event_id}")

    assert '<h1 class="event-title">prefect.flow-run.Failed</h1>' in markup
    assert f'<a class="run-link" href="/runs/flow-run/{RUN.rsplit(".", 1)[1]}">brave-otter</a>' in markup
    assert '<th scope="row">prefect.state-type</th><td class="block-value">FAILED</td>' in markup
    related = markup[markup.index('id="related"') :]
    assert f'href="/flows/flow/{flow.pk}">etl</a>' in related
    assert f'href="/deployments/deployment/{deployment_id}/">Open</a>' in related
    assert 'href="/work-pools/work-pool/laptop%20%3Cpool%3E/">laptop &lt;pool&gt;</a>' in related
    assert "<code>prefect.tag.etl</code>" in related
    raw = html.unescape(re.search(r'id="raw">.*?<pre class="code">(.*?)</pre>', markup, re.S).group(1))
    document = json.loads(raw)
    assert document["id"] == str(event_id) and document["event"] == "prefect.flow-run.Failed"
    assert document["payload"] == {"intended": {"from": "RUNNING", "to": "FAILED"}}
    assert len(document["related"]) == 4


def test_an_unknown_event_is_404(client, db):
    page(client, f"/events/event/{uuid.uuid4()}", status=404)
    page(client, "/events/event/not-an-id", status=404)


def test_the_event_page_makes_one_query(client, feed, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        page(client, f"/events/event/{feed['running']}")
