"""The artifact pages: the latest artifact per key, a key's versions, one artifact rendered."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.template import Context, Template

from artifacts import domain
from artifacts.models import Artifact
from runs.models import FlowRun
from tests.pages import page
from tests.runs.helpers import flow_run_in, task_run_in

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def make(key=None, type="markdown", data="# hi", **fields) -> Artifact:
    return domain.create_artifact({"key": key, "type": type, "data": data} | fields)


def keys_listed(html: str) -> list[str]:
    return re.findall(r'class="run-link" href="/artifacts/key/([^/]+)/"', html)


# The list


def test_the_list_shows_the_latest_artifact_of_every_key_newest_first(client, flow):
    run = flow_run_in(flow, "COMPLETED", run_name="brisk-otter")
    make("older-report", description="the old one")
    make("weekly-report", data="v1")
    latest = make("weekly-report", data="v2", description="Sales by region", flow_run_id=run.pk)
    make(data="no key")

    html = page(client, "/artifacts/")

    assert keys_listed(html) == ["weekly-report", "older-report"]
    assert f'href="/artifacts/artifact/{latest.pk}/"' in html
    assert "Sales by region" in html
    assert f'href="/runs/flow-run/{run.pk}"' in html and "brisk-otter" in html
    assert "Recent artifacts without a key" in html
    assert re.search(r'href="/artifacts/"\s+aria-current="page"', html)


def test_the_list_searches_by_key(client):
    make("weekly-report")
    make("daily-numbers")

    html = page(client, "/artifacts/?q=report")

    assert keys_listed(html) == ["weekly-report"]
    assert "Recent artifacts without a key" not in html
    assert "No artifact key matches" in page(client, "/artifacts/?q=nothing")


def test_the_list_pages_with_an_older_link(client, monkeypatch):
    from artifacts import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(5):
        make(f"key-{i}")

    first = page(client, "/artifacts/")
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = page(client, f"/artifacts/{older}")
    last = re.search(r'rel="next" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    third = page(client, f"/artifacts/{last}")

    assert keys_listed(first) == ["key-4", "key-3"]
    assert keys_listed(second) == ["key-2", "key-1"]
    assert keys_listed(third) == ["key-0"]
    assert 'rel="next"' not in third
    newer = re.search(r'rel="prev" href="([^"]+)"', third).group(1).replace("&amp;", "&")
    assert keys_listed(page(client, f"/artifacts/{newer}")) == ["key-2", "key-1"]
    assert keys_listed(page(client, "/artifacts/?older=garbage")) == ["key-4", "key-3"]


def test_an_empty_list_says_how_to_create_an_artifact(client):
    html = page(client, "/artifacts/")

    assert "No artifacts yet" in html
    assert "from prefect.artifacts import create_markdown_artifact" in html


def test_the_list_costs_a_fixed_number_of_queries(client, flow, django_assert_max_num_queries):
    run = flow_run_in(flow, "COMPLETED")
    for i in range(30):
        make(f"key-{i}", flow_run_id=run.pk)
        make(type="progress", data=i, flow_run_id=run.pk)
    make("progress-key", type="progress", data=40)

    with django_assert_max_num_queries(5):
        html = page(client, "/artifacts/")
    assert "40%" in html


# A key's versions


def test_a_key_page_shows_every_version_newest_first_and_marks_the_latest(client, flow):
    run = flow_run_in(flow, "COMPLETED", run_name="brisk-otter")
    first = make("weekly-report", data="v1", description="first week")
    second = make("weekly-report", data="v2", description="second week", flow_run_id=run.pk)
    make("other", data="x")

    html = page(client, "/artifacts/key/weekly-report/")

    ids = re.findall(r'class="run-link" href="/artifacts/artifact/([^/]+)/"', html)
    assert ids == [str(second.pk), str(first.pk)]
    assert "second week" in html and "first week" in html
    assert html.count('class="timeline-item is-latest"') == 1
    assert "brisk-otter" in html


def test_a_key_page_falls_back_after_the_latest_is_deleted(client):
    first = make("weekly-report", data="v1")
    second = make("weekly-report", data="v2")
    domain.delete_artifact(second.pk)

    html = page(client, "/artifacts/key/weekly-report/")

    assert f'href="/artifacts/artifact/{first.pk}/">' in html
    assert str(second.pk) not in html


def test_an_unknown_key_is_a_404(client):
    page(client, "/artifacts/key/nothing/", status=404)


def test_a_key_page_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for i in range(40):
        make("progress", type="progress", data=i)

    with django_assert_max_num_queries(4):
        page(client, "/artifacts/key/progress/")


# One artifact


def test_markdown_is_rendered_and_html_in_it_is_escaped(client):
    artifact = make(
        "report",
        data="# Report\n\nsome *markdown* <script>alert('x')</script> [site](https://example.com) [bad](javascript:alert(1))",
        description="**weekly** numbers",
    )

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert "<h1>Report</h1>" in html
    assert "<em>markdown</em>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert '<a href="https://example.com" rel="nofollow noopener">site</a>' in html
    assert "javascript:" not in html.split('id="artifact-body"')[1].split("Raw data")[0]
    assert "<strong>weekly</strong>" in html


def test_a_link_artifact_is_a_link(client):
    artifact = make("my-link", data="[Example](https://example.com)")

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert '<a href="https://example.com" rel="nofollow noopener">Example</a>' in html


@pytest.mark.parametrize(
    "data, header, first_row",
    [
        (json.dumps([{"a": 1, "b": 2}, {"a": 3, "b": 4}]), ["a", "b"], ["1", "2"]),
        (json.dumps({"col1": [1, 2], "col2": ["x", "y"]}), ["col1", "col2"], ["1", "x"]),
        (json.dumps([[1, 2], [3, 4]]), None, ["1", "2"]),
        ([{"a": None, "b": {"n": 1}}], ["a", "b"], ["", '{"n": 1}']),
    ],
)
def test_tables_are_rendered_from_each_shape(client, data, header, first_row):
    artifact = make("table", type="table", data=data)

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")
    body = html.split('id="artifact-body"')[1].split("</section>")[0]

    if header is None:
        assert "<thead>" not in body
    else:
        assert re.findall(r'<th scope="col">([^<]*)</th>', body) == header
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    first_data_row = rows[0] if header is None else rows[1]
    assert re.findall(r"<td>([^<]*)</td>", first_data_row) == [c.replace('"', "&quot;") for c in first_row]


def test_table_cells_are_escaped(client):
    artifact = make("table", type="table", data=json.dumps([{"<b>": "<img src=x onerror=alert(1)>"}]))

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_progress_artifact_is_a_progress_bar(client):
    artifact = make("progress", type="progress", data=42.5)

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert '<progress class="progress-bar" max="100" value="42.500000"' in html
    assert "42.5%" in html


def test_an_image_artifact_shows_the_image_unless_its_address_is_unsafe(client):
    image = make("chart", type="image", data="https://example.com/chart.png")
    unsafe = make("chart", type="image", data="javascript:alert(1)")

    assert '<img src="https://example.com/chart.png"' in page(client, f"/artifacts/artifact/{image.pk}/")
    html = page(client, f"/artifacts/artifact/{unsafe.pk}/")
    assert '<img src="javascript' not in html


def test_other_types_show_their_data_as_json(client):
    artifact = make(type="result", data={"storage_key": "/tmp/x"})

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert "&quot;storage_key&quot;: &quot;/tmp/x&quot;" in html


def test_an_artifact_links_to_its_flow_run_and_names_its_task_run(client, flow):
    run = flow_run_in(flow, "COMPLETED", run_name="brisk-otter")
    task_run = task_run_in(run, "COMPLETED", run_name="load-data")
    artifact = make("report", flow_run_id=run.pk, task_run_id=task_run.pk, metadata={"source": "s3"})

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert f'href="/runs/flow-run/{run.pk}"' in html
    assert "etl / brisk-otter" in html
    assert "load-data" in html
    assert "source: s3" in html
    assert "latest version" in html
    assert 'href="/artifacts/key/report/"' in html


def test_an_artifact_of_an_unrecorded_run_shows_the_id(client):
    import uuid

    run_id = uuid.uuid4()
    artifact = make(flow_run_id=run_id)

    html = page(client, f"/artifacts/artifact/{artifact.pk}/")

    assert str(run_id) in html
    assert "/runs/flow-run/" not in html


def test_an_unknown_artifact_is_a_404(client):
    page(client, "/artifacts/artifact/00000000-0000-4000-8000-000000000000/", status=404)


def test_an_artifact_page_costs_a_fixed_number_of_queries(client, flow, django_assert_max_num_queries):
    run = flow_run_in(flow, "COMPLETED")
    artifact = make("report", flow_run_id=run.pk, task_run_id=task_run_in(run, "COMPLETED").pk)

    with django_assert_max_num_queries(4):
        page(client, f"/artifacts/artifact/{artifact.pk}/")


# The flow-run page's artifacts (an inclusion tag the runs page can use)


def test_the_flow_run_artifacts_tag_lists_a_runs_artifacts(flow, django_assert_max_num_queries):
    run = flow_run_in(flow, "COMPLETED")
    other = flow_run_in(flow, "COMPLETED")
    make("report", flow_run_id=run.pk, description="for this run")
    make(type="progress", data=75, flow_run_id=run.pk)
    make("elsewhere", flow_run_id=other.pk)

    with django_assert_max_num_queries(2):
        html = Template("{% load artifacts_extras %}{% flow_run_artifacts run_id %}").render(
            Context({"run_id": run.pk})
        )

    assert "for this run" in html
    assert "75%" in html
    assert "elsewhere" not in html
    assert "has not created any artifacts" in Template(
        "{% load artifacts_extras %}{% flow_run_artifacts run_id %}"
    ).render(Context({"run_id": FlowRun.objects.create(flow=flow, name="x").pk}))
