"""The dashboard's deployment and work-pool pages, and their buttons."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.test import Client
from django.utils import timezone

from deployments import domain, pools, views
from deployments.choices import DeploymentStatus, WorkerStatus, WorkPoolStatus
from deployments.models import Deployment, Worker, WorkPool
from runs.choices import StateType
from runs.models import Flow, FlowRun
from tests.pages import page
from tests.runs.helpers import flow_run_in

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
EVERY_5_MINUTES = {"interval": 300.0, "anchor_date": "2024-01-01T00:00:00Z", "timezone": "UTC"}
WEEKDAYS_AT_9 = {"cron": "0 9 * * *", "timezone": "America/New_York", "day_or": True}
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["name"],
}


def deploy(flow: Flow, name: str = "nightly", **data) -> Deployment:
    """A deployment saved the way the API saves one (schedules make their runs at once)."""
    body = {"flow_id": flow.id, "name": name, **data}
    deployment, _ = domain.save_deployment(body, set(body))
    return deployment


def url(deployment: Deployment, action: str = "") -> str:
    return f"/deployments/deployment/{deployment.pk}/{action}"


def deployment_names(html: str) -> list[str]:
    return re.findall(r'class="run-link" href="/deployments/deployment/[^"]+/">([^<]+)</a>', html)


def run_names(html: str) -> list[str]:
    return re.findall(r'class="run-link" href="/runs/flow-run/[^"]+">([^<]+)</a>', html)


def section(html: str, ident: str) -> str:
    start = html.index(f'<section id="{ident}"')
    return html[start : html.index("</section>", start)]


def link(html: str, rel: str) -> str:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    assert match, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


def scheduled_runs(deployment: Deployment):
    return FlowRun.objects.filter(deployment_id=deployment.pk, state_type=StateType.SCHEDULED)


# The deployments list


def test_the_deployments_list_shows_each_deployment_with_its_flow_schedules_and_status(client, flow):
    pools.create_pool(name="docker-pool", type="docker")
    deploy(
        flow,
        "nightly",
        schedules=[{"schedule": WEEKDAYS_AT_9}],
        work_pool_name="docker-pool",
        work_queue_name="critical",
        tags=["team-data", "prod"],
    )
    served = deploy(flow, "hourly", schedules=[{"schedule": EVERY_5_MINUTES}])
    Deployment.objects.filter(pk=served.pk).update(status=DeploymentStatus.READY, last_polled=T0)

    html = page(client, "/deployments/")

    assert deployment_names(html) == ["hourly", "nightly"]
    rows = html.split("<tr>")[2:]
    hourly, nightly = rows
    assert "every 5 minutes" in hourly
    assert re.search(r'class="badge state-ready"[^>]*>Ready</span>', hourly)
    assert ">2024-05-01 12:00:00</time>" in hourly
    assert "cron 0 9 * * * (America/New_York)" in nightly
    assert re.search(r'class="badge state-not-ready"[^>]*>Not ready</span>', nightly)
    assert 'href="/work-pools/work-pool/docker-pool/">docker-pool</a>' in nightly and "critical" in nightly
    assert '<span class="tag">team-data</span>' in nightly and '<span class="tag">prod</span>' in nightly
    assert "Never" in nightly
    assert f'href="/runs/?flow={flow.pk}">etl</a>' in nightly


def test_a_paused_deployment_is_marked_paused_in_the_list(client, flow):
    deploy(flow, "paused-one", paused=True)
    deploy(flow, "running-one")

    html = page(client, "/deployments/")

    paused, running = html.split("<tr>")[2:]
    assert re.search(r'class="badge state-paused"[^>]*>Paused</span>', paused)
    assert "state-paused" not in running


def test_an_inactive_schedule_says_so_in_the_list(client, flow):
    deploy(flow, schedules=[{"schedule": EVERY_5_MINUTES, "active": False}])

    html = page(client, "/deployments/")

    assert "every 5 minutes (inactive)" in html


def test_the_deployments_list_searches_deployment_and_flow_names(client, flow):
    reports = Flow.objects.create(name="reports")
    deploy(flow, "nightly")
    deploy(flow, "sync")
    deploy(reports, "weekly-summary")

    assert deployment_names(page(client, "/deployments/?q=SUMMARY")) == ["weekly-summary"]
    assert deployment_names(page(client, "/deployments/?q=ETL")) == ["nightly", "sync"]
    html = page(client, "/deployments/?q=report")
    assert deployment_names(html) == ["weekly-summary"]
    assert 'value="report"' in html and "Clear search" in html


def test_a_search_that_matches_nothing_says_so(client, flow):
    deploy(flow, "nightly")

    html = page(client, "/deployments/?q=nothing-like-it")

    assert "No deployments match" in html
    assert "nothing-like-it" in html
    assert "No deployments yet" not in html


def test_the_empty_deployments_list_explains_serve_and_deploy(client, db):
    html = page(client, "/deployments/")

    assert "No deployments yet" in html
    assert 'my_flow.serve(name="my-deployment"' in html
    assert ".deploy(" in html and 'work_pool_name="my-pool"' in html
    assert "PREFECT_API_URL=http://testserver/api python my_flow.py" in html
    assert 'class="table"' not in html


def test_the_deployments_list_pages_by_name_both_ways(client, flow):
    size = views.PAGE_SIZE
    Deployment.objects.bulk_create(Deployment(flow=flow, name=f"d-{i:03d}") for i in range(size + 5))

    first = page(client, "/deployments/")
    assert deployment_names(first) == [f"d-{i:03d}" for i in range(size)]
    assert 'aria-disabled="true">← Previous' in first

    second = page(client, "/deployments/" + link(first, "next"))
    assert deployment_names(second) == [f"d-{i:03d}" for i in range(size, size + 5)]
    assert 'aria-disabled="true">Next →' in second

    assert deployment_names(page(client, "/deployments/" + link(second, "prev"))) == deployment_names(first)


def test_paging_shows_deployments_with_the_same_name_once_each(client, db):
    size = views.PAGE_SIZE
    flows = Flow.objects.bulk_create(Flow(name=f"flow-{i:03d}") for i in range(size + 3))
    Deployment.objects.bulk_create(Deployment(flow=f, name="same") for f in flows)

    first = page(client, "/deployments/")
    second = page(client, "/deployments/" + link(first, "next"))

    ids = re.findall(r'href="/deployments/deployment/([^"]+)/"', first + second)
    assert len(ids) == len(set(ids)) == size + 3


def test_paging_keeps_the_search(client, flow):
    Deployment.objects.bulk_create(Deployment(flow=flow, name=f"match-{i:03d}") for i in range(views.PAGE_SIZE + 1))
    Deployment.objects.create(flow=Flow.objects.create(name="other"), name="zzz")

    first = page(client, "/deployments/?q=match")
    second = page(client, "/deployments/" + link(first, "next"))

    assert "q=match" in link(first, "next")
    assert deployment_names(second) == [f"match-{views.PAGE_SIZE:03d}"]


def test_a_mangled_cursor_shows_the_first_page(client, flow):
    deploy(flow, "nightly")

    assert deployment_names(page(client, "/deployments/?after=garbage&before=x~not-an-id")) == ["nightly"]


def test_the_deployments_list_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    pools.create_pool(name="p", type="process")
    for i in range(12):
        deploy(
            flow, f"d-{i}", schedules=[{"schedule": EVERY_5_MINUTES}, {"schedule": WEEKDAYS_AT_9}], work_pool_name="p"
        )

    with django_assert_max_num_queries(2):
        html = page(client, "/deployments/")
    with django_assert_max_num_queries(2):
        page(client, "/deployments/?q=d-1&after=" + "d-0~" + str(uuid.UUID(int=0)))
    assert len(deployment_names(html)) == 12


def test_the_sidebar_links_deployments_and_work_pools(client, db):
    html = page(client, "/deployments/")

    assert re.search(r'href="/deployments/"\s+aria-current="page"', html)
    assert 'href="/work-pools/"' in html
    assert re.search(r'href="/work-pools/"\s+aria-current="page"', page(client, "/work-pools/"))


# The deployment page


def test_the_deployment_page_shows_the_deployments_details(client, flow):
    pools.create_pool(name="p", type="process")
    deployment = deploy(
        flow,
        "nightly",
        version="v1.2.3",
        description="Loads the warehouse <every night>.",
        entrypoint="flows/etl.py:etl",
        path="/opt/project",
        work_pool_name="p",
        tags=["team-data"],
        parameters={"name": "world"},
        parameter_openapi_schema=SCHEMA,
        concurrency_limit=3,
        concurrency_options={"collision_strategy": "CANCEL_NEW"},
        job_variables={"env": {"MODE": "fast"}},
    )

    html = page(client, url(deployment))

    assert '<span class="muted">etl /</span> nightly' in html
    assert "Loads the warehouse &lt;every night&gt;." in html
    assert "v1.2.3" in html
    assert "<code>flows/etl.py:etl</code>" in html and "<code>/opt/project</code>" in html
    assert 'href="/work-pools/work-pool/p/">p</a> / default' in html
    assert "3 at a time" in html and "(0 in use)" in html and "CANCEL_NEW" in html
    assert '<span class="tag">team-data</span>' in html
    assert "&quot;name&quot;: &quot;world&quot;" in html
    assert "&quot;required&quot;" in html and "(enforced)" in html
    assert "&quot;MODE&quot;: &quot;fast&quot;" in html
    assert str(deployment.pk) in html
    assert re.search(r'class="badge state-not-ready"[^>]*>Not ready</span>', html)
    assert f'action="/deployments/deployment/{deployment.pk}/pause"' in html
    assert f'action="/deployments/deployment/{deployment.pk}/run"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_deployment_page_answers_without_the_trailing_slash_too(client, flow):
    deployment = deploy(flow, "nightly")

    html = page(client, f"/deployments/deployment/{deployment.pk}")

    assert "nightly" in html


def test_the_deployment_page_lists_schedules_with_their_active_flag(client, flow):
    deployment = deploy(
        flow,
        schedules=[
            {"schedule": EVERY_5_MINUTES, "slug": "five"},
            {"schedule": WEEKDAYS_AT_9, "active": False, "parameters": {"name": "morning"}},
        ],
    )

    schedules = section(page(client, url(deployment)), "schedules")

    active, inactive = schedules.split("<tr")[2:]
    assert "every 5 minutes" in active and "<td>Active</td>" in active and "<code>five</code>" in active
    assert 'counted from <time datetime="2024-01-01T00:00:00Z"' in active
    assert "cron 0 9 * * * (America/New_York)" in inactive and "<td>Inactive</td>" in inactive
    assert "&quot;morning&quot;" in inactive


def test_a_deployment_without_schedules_says_how_its_runs_start(client, flow):
    deployment = deploy(flow)

    html = page(client, url(deployment))

    assert "No schedules" in section(html, "schedules")
    assert "No runs scheduled" in section(html, "upcoming")
    assert "No runs yet" in section(html, "recent")


def test_the_deployment_page_lists_upcoming_runs_soonest_first(client, flow):
    deployment = deploy(flow, schedules=[{"schedule": {**EVERY_5_MINUTES, "interval": 60.0}}])
    soonest = list(scheduled_runs(deployment).order_by("next_scheduled_start_time").values_list("name", flat=True)[:21])
    assert len(soonest) == 21

    upcoming = section(page(client, url(deployment)), "upcoming")

    assert run_names(upcoming) == soonest[:20]
    assert "Showing the next 20 scheduled runs" in upcoming
    assert re.search(r'class="badge state-scheduled"[^>]*>Scheduled</span>', upcoming)
    assert re.search(r"<td>in 1\xa0minute</td>", upcoming) and re.search(r"<td>in 1[89]\xa0minutes</td>", upcoming)


def test_the_deployment_page_lists_recent_runs_newest_first(client, flow):
    deployment = deploy(flow)
    for i in range(views.RUNS_SHOWN + 3):
        flow_run_in(
            flow,
            "COMPLETED",
            run_name=f"run-{i}",
            deployment_id=deployment.pk,
            expected_start_time=T0 + dt.timedelta(minutes=i),
        )
    failed = flow_run_in(
        flow, "FAILED", run_name="newest", deployment_id=deployment.pk, expected_start_time=T0 + dt.timedelta(days=1)
    )
    flow_run_in(flow, "COMPLETED", run_name="other-deployment", deployment_id=uuid.uuid4(), expected_start_time=T0)
    future = timezone.now() + dt.timedelta(days=1)
    flow_run_in(flow, "SCHEDULED", run_name="tomorrow", deployment_id=deployment.pk, expected_start_time=future)

    recent = section(page(client, url(deployment)), "recent")

    newest_first = ["newest"] + [f"run-{i}" for i in range(views.RUNS_SHOWN + 2, 3, -1)]
    assert run_names(recent) == newest_first[: views.RUNS_SHOWN]
    assert f'href="/runs/flow-run/{failed.pk}">newest</a>' in recent
    assert re.search(r'class="badge state-failed"[^>]*>Failed</span>', recent)


def test_pausing_a_deployment_removes_its_scheduled_runs(client, flow):
    deployment = deploy(flow, schedules=[{"schedule": EVERY_5_MINUTES}], parameter_openapi_schema=SCHEMA)
    manual, _ = domain.create_run(deployment, {"parameters": {"name": "by hand"}})
    assert scheduled_runs(deployment).filter(auto_scheduled=True).exists()

    response = client.post(url(deployment, "pause"))

    assert response.status_code == 302 and response["Location"] == url(deployment)
    deployment.refresh_from_db()
    assert deployment.paused is True
    assert list(scheduled_runs(deployment).values_list("id", flat=True)) == [manual.pk]
    html = page(client, url(deployment))
    assert re.search(r"Deployment paused; \d+ scheduled runs removed\.", html)
    assert "Paused: the scheduler makes no runs of this deployment until you resume it." in html
    assert f'action="/deployments/deployment/{deployment.pk}/resume"' in html
    # The run made by hand stays; it was not the scheduler's.
    assert run_names(section(html, "upcoming")) == [manual.name]


def test_resuming_a_deployment_schedules_its_runs_again(client, flow):
    deployment = deploy(flow, schedules=[{"schedule": EVERY_5_MINUTES}])
    client.post(url(deployment, "pause"))
    assert not scheduled_runs(deployment).exists()
    assert "None: the deployment is paused." in section(page(client, url(deployment)), "upcoming")

    response = client.post(url(deployment, "resume"))

    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.paused is False
    assert scheduled_runs(deployment).filter(auto_scheduled=True).count() >= 3
    html = page(client, url(deployment))
    assert "None: the deployment is paused." not in html
    assert re.search(r"Deployment resumed; \d+ runs scheduled\.", html)
    assert f'action="/deployments/deployment/{deployment.pk}/pause"' in html


def test_pausing_twice_changes_nothing_the_second_time(client, flow):
    deployment = deploy(flow, paused=True)

    client.post(url(deployment, "pause"))

    assert "This deployment was already paused." in page(client, url(deployment))


def test_quick_run_creates_a_run_with_the_default_parameters_and_opens_it(client, flow):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA, tags=["nightly"])

    response = client.post(url(deployment, "run"))

    run = FlowRun.objects.get(deployment_id=deployment.pk)
    assert response.status_code == 302 and response["Location"] == f"/runs/flow-run/{run.pk}"
    assert run.parameters == {"name": "world"}
    assert run.state_type == StateType.SCHEDULED
    assert run.tags == ["nightly"]
    assert run.flow_id == flow.pk


def test_the_deployment_page_offers_a_quick_run_and_a_custom_run(client, flow):
    deployment = deploy(flow, parameters={"name": "world"}, parameter_openapi_schema=SCHEMA)

    html = page(client, url(deployment))

    assert re.search(rf'<form method="post" action="{url(deployment, "run")}">.*?>Quick run</button>', html, re.S)
    assert f'<a class="button" href="{url(deployment, "run")}">Custom run</a>' in html


def test_quick_run_says_so_when_an_enforced_schema_is_missing(client, flow):
    deployment = deploy(flow, enforce_parameter_schema=True, parameter_openapi_schema=None)

    response = client.post(url(deployment, "run"))

    assert response.status_code == 400
    assert "parameter schema enforcement is on and the deployment has no schema" in response.content.decode()


def test_the_buttons_need_a_csrf_token(flow):
    deployment = deploy(flow, schedules=[{"schedule": EVERY_5_MINUTES}])
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(url(deployment, "pause")).status_code == 403
    assert browser.post(url(deployment, "run")).status_code == 403
    deployment.refresh_from_db()
    assert deployment.paused is False

    browser.get(url(deployment))
    token = browser.cookies["csrftoken"].value
    assert browser.post(url(deployment, "pause"), {"csrfmiddlewaretoken": token}).status_code == 302
    deployment.refresh_from_db()
    assert deployment.paused is True


def test_the_buttons_only_accept_post(client, flow):
    deployment = deploy(flow)
    pools.create_pool(name="p", type="process")

    for path in (url(deployment, "pause"), url(deployment, "resume")):
        assert client.get(path).status_code == 405
    assert client.get(url(deployment, "run")).status_code == 200  # the custom run form
    assert client.get("/work-pools/work-pool/p/pause").status_code == 405


def test_an_unknown_deployment_is_404(client, db):
    missing = f"/deployments/deployment/{uuid.uuid4()}/"

    response = client.get(missing)
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    for action in ("pause", "resume", "run"):
        assert client.post(missing + action).status_code == 404
    assert client.get("/deployments/deployment/not-an-id/").status_code == 404


def test_the_deployment_page_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    pools.create_pool(name="p", type="process")
    deployment = deploy(
        flow,
        schedules=[{"schedule": {**EVERY_5_MINUTES, "interval": 60.0}}, {"schedule": WEEKDAYS_AT_9}],
        work_pool_name="p",
        concurrency_limit=2,
    )
    for i in range(30):
        flow_run_in(flow, "COMPLETED", run_name=f"run-{i}", deployment_id=deployment.pk, expected_start_time=T0)

    with django_assert_max_num_queries(5):
        html = page(client, url(deployment))
    assert len(run_names(section(html, "recent"))) == views.RUNS_SHOWN


# The work pools list


def test_the_work_pools_list_shows_status_workers_and_queues(client, db):
    busy = pools.create_pool(name="busy", type="process", description="Runs on the build box")
    pools.create_queue(busy, name="high", priority=1)
    pools.heartbeat(busy, "worker-1", 30)
    pools.heartbeat(busy, "worker-2", 30)
    Worker.objects.create(work_pool=busy, name="gone", status=WorkerStatus.OFFLINE)
    pools.create_pool(name="idle", type="kubernetes", is_paused=True, concurrency_limit=5)

    html = page(client, "/work-pools/")

    busy_row, idle_row = html.split("<tr>")[2:]
    assert 'href="/work-pools/work-pool/busy/">busy</a>' in busy_row and "Runs on the build box" in busy_row
    assert "<code>process</code>" in busy_row
    assert re.search(r'class="badge state-ready"[^>]*>Ready</span>', busy_row)
    assert re.findall(r'<td class="num">(.*?)</td>', busy_row) == ['<span class="muted">Unlimited</span>', "2", "2"]
    assert "<code>kubernetes</code>" in idle_row
    assert re.search(r'class="badge state-paused"[^>]*>Paused</span>', idle_row)
    assert re.findall(r'<td class="num">(.*?)</td>', idle_row) == ["5", "0", "1"]
    assert "<td>Yes</td>" in idle_row


def test_the_empty_work_pools_list_explains_how_to_create_one(client, db):
    html = page(client, "/work-pools/")

    assert "No work pools yet" in html
    assert "PREFECT_API_URL=http://testserver/api prefect work-pool create my-pool --type process" in html
    assert "prefect worker start --pool my-pool" in html
    assert 'class="table"' not in html


def test_the_work_pools_list_uses_a_bounded_number_of_queries(client, db, django_assert_max_num_queries):
    for i in range(10):
        pool = pools.create_pool(name=f"pool-{i}", type="process")
        pools.heartbeat(pool, "worker", 30)

    with django_assert_max_num_queries(3):
        html = page(client, "/work-pools/")
    assert html.count('class="run-link"') == 10


# The work pool page


def test_the_work_pool_page_shows_queues_workers_and_template(client, db):
    pool = pools.create_pool(
        name="p",
        type="process",
        base_job_template={"job_configuration": {"command": "{{ command }}"}, "variables": {}},
    )
    pools.create_queue(pool, name="urgent", priority=1, concurrency_limit=4, is_paused=True)
    pools.mark_polled(queues=[pool.default_queue])
    pools.heartbeat(pool, "laptop", 30)
    Worker.objects.create(
        work_pool=pool,
        name="old-box",
        status=WorkerStatus.OFFLINE,
        last_heartbeat_time=timezone.now() - dt.timedelta(hours=3, minutes=5),
        heartbeat_interval_seconds=60,
    )

    html = page(client, "/work-pools/work-pool/p/")

    assert "<h1>p</h1>" in html and "<code>process</code>" in html
    assert re.search(r'<details class="parameters">\s*<summary>Base job template</summary>', html)
    assert "&quot;command&quot;: &quot;{{ command }}&quot;" in html
    assert "prefect worker start --pool p" in html
    queues = section(html, "queues")
    urgent, default = queues.split("<tr>")[2:]
    assert "urgent" in urgent and ">4<" in urgent and "<td>Yes</td>" in urgent
    assert re.search(r'class="badge state-paused"[^>]*>Paused</span>', urgent) and "Never" in urgent
    assert "default" in default and "(default)" in default and "just now" in default
    assert re.search(r'class="badge state-ready"[^>]*>Ready</span>', default)
    workers = section(html, "workers")
    laptop, old_box = workers.split("<tr>")[2:]
    assert "laptop" in laptop and "just now" in laptop and ">30s<" in laptop
    assert re.search(r'class="badge state-online"[^>]*>Online</span>', laptop)
    assert "old-box" in old_box and "3\xa0hours ago" in old_box and ">1m<" in old_box
    assert re.search(r'class="badge state-offline"[^>]*>Offline</span>', old_box)


def test_a_pool_without_workers_says_how_to_start_one(client, db):
    pools.create_pool(name="my pool", type="process")

    html = page(client, "/work-pools/work-pool/my%20pool/")

    workers = section(html, "workers")
    assert "No worker has sent a heartbeat" in workers
    assert "PREFECT_API_URL=http://testserver/api prefect worker start --pool &#x27;my pool&#x27;" in workers
    assert "No runs in this pool yet" in section(html, "recent")
    assert page(client, "/work-pools/").count('href="/work-pools/work-pool/my%20pool/"') == 1


def test_the_work_pool_page_lists_the_pools_recent_runs(client, flow):
    pool = pools.create_pool(name="p", type="process")
    other = pools.create_pool(name="other", type="process")
    for i in range(views.RUNS_SHOWN + 2):
        flow_run_in(
            flow,
            "COMPLETED",
            run_name=f"run-{i}",
            work_pool_id=pool.pk,
            expected_start_time=T0 + dt.timedelta(minutes=i),
        )
    flow_run_in(flow, "COMPLETED", run_name="elsewhere", work_pool_id=other.pk, expected_start_time=T0)

    recent = section(page(client, "/work-pools/work-pool/p/"), "recent")

    assert run_names(recent) == [f"run-{i}" for i in range(views.RUNS_SHOWN + 1, 1, -1)]


def test_pausing_a_work_pool_pauses_it_and_resuming_finds_it_not_ready(client, db):
    pool = pools.create_pool(name="p", type="process")

    response = client.post("/work-pools/work-pool/p/pause")

    assert response.status_code == 302 and response["Location"] == "/work-pools/work-pool/p/"
    pool.refresh_from_db()
    assert pool.is_paused is True and pool.status == WorkPoolStatus.PAUSED
    assert pool.last_transitioned_status_at is not None
    html = page(client, "/work-pools/work-pool/p/")
    assert "Work pool paused." in html
    assert "Paused: workers get no runs from this pool until you resume it." in html
    assert 'action="/work-pools/work-pool/p/resume"' in html

    client.post("/work-pools/work-pool/p/resume")

    pool.refresh_from_db()
    assert pool.is_paused is False and pool.status == WorkPoolStatus.NOT_READY
    assert "Work pool resumed: workers get runs from it again." in page(client, "/work-pools/work-pool/p/")


def test_resuming_a_pool_with_an_online_worker_makes_it_ready(client, db):
    pool = pools.create_pool(name="p", type="process")
    pools.heartbeat(pool, "laptop", 30)
    client.post("/work-pools/work-pool/p/pause")

    client.post("/work-pools/work-pool/p/resume")

    pool.refresh_from_db()
    assert pool.status == WorkPoolStatus.READY


def test_an_unknown_work_pool_is_404(client, db):
    assert client.get("/work-pools/work-pool/nope/").status_code == 404
    assert client.post("/work-pools/work-pool/nope/pause").status_code == 404
    assert client.post("/work-pools/work-pool/nope/resume").status_code == 404
    assert not WorkPool.objects.exists()


def test_the_work_pool_page_uses_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    pool = pools.create_pool(name="p", type="process")
    for i in range(5):
        pools.create_queue(pool, name=f"q-{i}")
        pools.heartbeat(pool, f"worker-{i}", 30)
    for i in range(25):
        flow_run_in(flow, "COMPLETED", run_name=f"run-{i}", work_pool_id=pool.pk, expected_start_time=T0)

    with django_assert_max_num_queries(4):
        page(client, "/work-pools/work-pool/p/")


def test_a_search_with_a_nul_character_is_not_an_error(client, flow):
    deploy(flow, "nightly")

    assert "nightly" in page(client, "/deployments/?q=night%00ly")
