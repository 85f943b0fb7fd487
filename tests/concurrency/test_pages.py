"""The dashboard's concurrency-limit pages: global, task-run (tag) and deployment limits,
and the forms and buttons that create, edit, reset and delete them."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from concurrency import slots
from concurrency.models import ConcurrencyLimit, Lease
from deployments import domain
from runs.models import Flow, FlowRun, TaskRun
from tests.pages import page

pytestmark = pytest.mark.django_db


def post_form(client: Client, url: str, data: dict, form_url: str | None = None):
    """Submit a form the way a browser does: GET a page with it, then POST with its CSRF token."""
    html = page(client, form_url or url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def limits_listed(html: str) -> list[str]:
    return re.findall(r'<tr id="limit-([^"]+)">', html)


def row(html: str, name: str) -> str:
    start = html.index(f'<tr id="limit-{name}">')
    return html[start : html.index("</tr>", start)]


def limit(name: str, size: int = 5, **fields) -> ConcurrencyLimit:
    return ConcurrencyLimit.objects.create(name=name, limit=size, **fields)


def task_run(name: str = "load-rows-0") -> TaskRun:
    flow = Flow.objects.get_or_create(name="etl")[0]
    run = FlowRun.objects.create(flow=flow, name="sly-fox")
    return TaskRun.objects.create(flow_run=run, name=name, task_key="load_rows", dynamic_key="0")


def hold(limits: list[ConcurrencyLimit], holder: dict | None = None, count: int = 1) -> Lease:
    """Take slots under a lease, as the API's increment-with-lease does."""
    return slots.acquire(limits, count, lease_seconds=300, holder=holder).lease


# The list


def test_the_empty_tabs_say_how_to_create_a_limit(client):
    html = page(client, "/concurrency-limits/")
    assert "No global concurrency limits yet" in html
    assert "prefect gcl create my-limit --limit 5" in html
    assert 'href="/concurrency-limits/new/"' in html
    assert re.search(r'href="/concurrency-limits/"\s+aria-current="page"', html)

    tags = page(client, "/concurrency-limits/?tab=task-run")
    assert "prefect concurrency-limit create my-tag 3" in tags
    assert 'href="/concurrency-limits/tag/new/"' in tags

    assert "No deployment limits" in page(client, "/concurrency-limits/?tab=deployment")


def test_each_tab_lists_its_own_kind_of_limit(client, flow):
    limit("database", 5)
    limit("api-calls", 10, slot_decay_per_second=0.5)
    limit("tag:heavy", 2)
    deployment, _ = domain.save_deployment(
        {"flow_id": flow.id, "name": "nightly", "concurrency_limit": 3}, {"flow_id", "name", "concurrency_limit"}
    )

    assert limits_listed(page(client, "/concurrency-limits/")) == ["api-calls", "database"]
    assert limits_listed(page(client, "/concurrency-limits/?tab=task-run")) == ["tag:heavy"]
    deployments = page(client, "/concurrency-limits/?tab=deployment")
    assert limits_listed(deployments) == [f"deployment:{deployment.pk}"]
    assert f'href="/deployments/deployment/{deployment.pk}/">nightly</a>' in deployments
    assert "/edit/" not in deployments and "/reset" not in deployments  # read-only


def test_a_global_limit_row_shows_slots_after_decay_and_its_settings(client):
    now = timezone.now()
    rate = limit("api-calls", 10, slot_decay_per_second=1.0, active_slots=8, denied_slots=4)
    ConcurrencyLimit.objects.filter(pk=rate.pk).update(updated=now - dt.timedelta(seconds=5))
    limit("database", 5, active=False)

    html = page(client, "/concurrency-limits/")

    rate_row = row(html, "api-calls")
    assert re.search(r'<span class="slot-count">3 / 10</span>', rate_row)  # 8 taken, 5 decayed
    assert "1.0 / s" in rate_row and "rate limit" in rate_row
    assert '<td class="num">4</td>' in rate_row
    assert "No (lets everything through)" in row(html, "database")
    assert f'action="/concurrency-limits/concurrency-limit/{rate.pk}/reset"' in rate_row


def test_a_tag_limit_row_shows_the_task_runs_holding_its_slots(client):
    heavy = limit("tag:heavy", 2)
    holder = task_run("load-rows-7")
    hold([heavy], {"type": "task_run", "id": str(holder.pk)})
    orphan = uuid.uuid4()
    hold([heavy], {"type": "task_run", "id": str(orphan)})

    html = row(page(client, "/concurrency-limits/?tab=task-run"), "tag:heavy")

    assert '<span class="slot-count">2 / 2</span>' in html and "full" in html
    assert f'href="/runs/flow-run/{holder.flow_run_id}"' in html and "load-rows-7" in html
    assert str(holder.pk) in html and str(orphan) in html


def test_the_list_pages_by_name(client, monkeypatch):
    from concurrency import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for name in ["e", "d", "c", "b", "a", "tag:x"]:
        limit(name)

    first = page(client, "/concurrency-limits/")
    assert limits_listed(first) == ["a", "b"]
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert limits_listed(page(client, f"/concurrency-limits/{following}")) == ["c", "d"]


def test_the_tabs_use_a_bounded_number_of_queries(client, flow, django_assert_max_num_queries):
    for index in range(20):
        limit(f"global-{index}")
        tagged = limit(f"tag:t{index}")
        hold([tagged], {"type": "task_run", "id": str(task_run(f"t{index}").pk)})
    for index in range(5):
        domain.save_deployment(
            {"flow_id": flow.id, "name": f"d{index}", "concurrency_limit": 2}, {"flow_id", "name", "concurrency_limit"}
        )

    with django_assert_max_num_queries(2):
        page(client, "/concurrency-limits/")
    with django_assert_max_num_queries(4):
        page(client, "/concurrency-limits/?tab=task-run")
    with django_assert_max_num_queries(3):
        page(client, "/concurrency-limits/?tab=deployment")


# A limit's page


def test_a_limit_page_lists_its_holders(client):
    database = limit("database", 3)
    holder = task_run("query-1")
    hold([database], {"type": "task_run", "id": str(holder.pk)})
    hold([database], None, count=2)

    html = page(client, f"/concurrency-limits/concurrency-limit/{database.pk}/")

    assert '<span class="slot-count">3 / 3</span>' in html
    assert "query-1" in html and str(holder.pk) in html
    assert "Unnamed holder" in html
    assert f'action="/concurrency-limits/concurrency-limit/{database.pk}/reset"' in html


def test_a_limit_page_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    database = limit("database", 50)
    for index in range(10):
        hold([database], {"type": "task_run", "id": str(task_run(f"q{index}").pk)})

    with django_assert_max_num_queries(3):
        page(client, f"/concurrency-limits/concurrency-limit/{database.pk}/")


# Creating, editing, resetting and deleting


def test_creating_a_global_limit(client):
    response = post_form(
        client,
        "/concurrency-limits/new/",
        {"name": "api-calls", "limit": "10", "slot_decay_per_second": "0.5", "active": "on"},
    )

    assert response.status_code == 302 and response["Location"] == "/concurrency-limits/"
    created = ConcurrencyLimit.objects.get(name="api-calls")
    assert (created.limit, created.slot_decay_per_second, created.active) == (10, 0.5, True)
    assert "Created the concurrency limit api-calls." in page(client, "/concurrency-limits/")


def test_a_global_limit_name_must_be_free_and_not_reserved(client):
    limit("database")

    taken = post_form(client, "/concurrency-limits/new/", {"name": "database", "limit": "1"})
    assert taken.status_code == 400
    assert "A concurrency limit named “database” already exists." in taken.content.decode()
    reserved = post_form(client, "/concurrency-limits/new/", {"name": "tag:heavy", "limit": "1"})
    assert "Names starting with “tag:” are kept for task-run tag limits." in reserved.content.decode()
    bad = post_form(client, "/concurrency-limits/new/", {"name": "a/b", "limit": "-1"})
    html = bad.content.decode()
    assert "A name may not contain / % &amp; &gt; or &lt;." in html
    assert "Ensure this value is greater than or equal to 0." in html
    assert ConcurrencyLimit.objects.count() == 1


def test_creating_a_task_run_limit(client):
    response = post_form(client, "/concurrency-limits/tag/new/", {"tag": "heavy", "limit": "2"})

    assert response.status_code == 302 and response["Location"] == "/concurrency-limits/?tab=task-run"
    assert ConcurrencyLimit.objects.get(name="tag:heavy").limit == 2
    again = post_form(client, "/concurrency-limits/tag/new/", {"tag": "heavy", "limit": "3"})
    assert "The tag “heavy” has a limit already" in again.content.decode()


def test_editing_a_global_limit(client):
    database = limit("database", 5, slot_decay_per_second=0.0)
    url = f"/concurrency-limits/concurrency-limit/{database.pk}/edit/"
    html = page(client, url)
    assert re.search(r'name="limit" value="5"', html)

    response = post_form(client, url, {"limit": "8", "slot_decay_per_second": "0"})

    assert response.status_code == 302
    database.refresh_from_db()
    assert (database.limit, database.active, database.slot_decay_per_second) == (8, False, 0.0)


def test_editing_a_tag_limit_changes_only_its_number(client):
    heavy = limit("tag:heavy", 2)
    url = f"/concurrency-limits/concurrency-limit/{heavy.pk}/edit/"
    assert 'name="active"' not in page(client, url)

    post_form(client, url, {"limit": "4"})

    heavy.refresh_from_db()
    assert (heavy.limit, heavy.active) == (4, True)


def test_reset_frees_the_slots_and_ends_the_leases(client):
    database = limit("database", 5)
    other = limit("other", 5)
    alone = hold([database], {"type": "task_run", "id": str(uuid.uuid4())}, count=2)
    shared = hold([database, other], None)

    response = post_form(
        client,
        f"/concurrency-limits/concurrency-limit/{database.pk}/reset",
        {},
        form_url="/concurrency-limits/",
    )

    assert response.status_code == 302 and response["Location"] == "/concurrency-limits/"
    database.refresh_from_db()
    other.refresh_from_db()
    assert database.active_slots == 0
    assert not Lease.objects.filter(pk=alone.pk).exists()
    # A lease that also holds another limit keeps that one, and giving it back frees only that.
    assert Lease.objects.get(pk=shared.pk).limit_ids == [str(other.pk)]
    assert other.active_slots == 1
    slots.release_lease(shared.pk)
    database.refresh_from_db()
    other.refresh_from_db()
    assert (database.active_slots, other.active_slots) == (0, 0)
    assert "Reset database: 3 slots freed, 2 holders released." in page(client, "/concurrency-limits/")


def test_reset_of_a_tag_limit_frees_the_task_runs_slots(client):
    heavy = limit("tag:heavy", 1)
    hold([heavy], {"type": "task_run", "id": str(task_run().pk)})

    post_form(
        client,
        f"/concurrency-limits/concurrency-limit/{heavy.pk}/reset",
        {"next": "detail"},
        form_url=f"/concurrency-limits/concurrency-limit/{heavy.pk}/",
    )

    heavy.refresh_from_db()
    assert heavy.active_slots == 0 and not Lease.objects.exists()
    html = row(page(client, "/concurrency-limits/?tab=task-run"), "tag:heavy")
    assert '<span class="slot-count">0 / 1</span>' in html and "None" in html


def test_delete_asks_first_then_deletes_the_limit_and_its_leases(client):
    database = limit("database", 5)
    lease = hold([database], None)
    url = f"/concurrency-limits/concurrency-limit/{database.pk}/delete/"

    assert "Delete database?" in page(client, url)
    assert ConcurrencyLimit.objects.filter(pk=database.pk).exists()

    response = post_form(client, url, {})

    assert response.status_code == 302
    assert not ConcurrencyLimit.objects.filter(pk=database.pk).exists()
    assert not Lease.objects.filter(pk=lease.pk).exists()
    assert "Deleted the concurrency limit database." in page(client, "/concurrency-limits/")


def test_a_deployment_limit_is_not_changed_from_the_dashboard(client, flow):
    deployment, _ = domain.save_deployment(
        {"flow_id": flow.id, "name": "nightly", "concurrency_limit": 3}, {"flow_id", "name", "concurrency_limit"}
    )
    owned = ConcurrencyLimit.objects.get(name=f"deployment:{deployment.pk}")
    base = f"/concurrency-limits/concurrency-limit/{owned.pk}/"

    html = page(client, base)
    assert f'href="/deployments/deployment/{deployment.pk}/"' in html
    assert "/edit/" not in html
    for path in ["edit/", "delete/"]:
        assert client.get(base + path).status_code == 302
    assert client.post(base + "delete/").status_code == 302
    assert client.post(base + "reset").status_code == 302
    assert "changes with the deployment" in page(client, base)
    assert ConcurrencyLimit.objects.filter(pk=owned.pk).exists()


def test_unknown_limit_ids_are_a_404(client):
    missing = uuid.uuid4()
    for path in ["", "edit/", "delete/"]:
        page(client, f"/concurrency-limits/concurrency-limit/{missing}/{path}", status=404)
    assert client.post(f"/concurrency-limits/concurrency-limit/{missing}/reset").status_code == 404
    assert client.get(f"/concurrency-limits/concurrency-limit/{uuid.uuid4()}/reset").status_code == 405


def test_the_buttons_need_a_csrf_token():
    database = limit("database", 5)
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(f"/concurrency-limits/concurrency-limit/{database.pk}/reset").status_code == 403
    assert browser.post(f"/concurrency-limits/concurrency-limit/{database.pk}/delete/").status_code == 403
    assert browser.post("/concurrency-limits/new/", {"name": "x", "limit": "1"}).status_code == 403
    assert ConcurrencyLimit.objects.count() == 1
