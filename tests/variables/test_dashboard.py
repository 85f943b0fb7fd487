"""The variables page: list with search, and the create, edit and delete forms."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.pages import page
from variables.models import Variable

pytestmark = pytest.mark.django_db


def names_listed(html: str) -> list[str]:
    return re.findall(r'<tr id="variable-([^"]+)">', html)


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def post_form(client: Client, url: str, data: dict):
    """Submit a form the way a browser does: GET the page, then POST with its CSRF token."""
    html = page(client, url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


# The list


def test_it_lists_variables_by_name_with_value_and_tags(client):
    Variable.objects.create(name="regions", value=["eu", "us"], tags=["prod"])
    Variable.objects.create(name="api_url", value="https://x.org")

    html = page(client, "/variables/")

    assert names_listed(html) == ["api_url", "regions"]
    assert "[&quot;eu&quot;, &quot;us&quot;]" in html
    assert '<span class="tag">prod</span>' in html
    assert re.search(r'href="/variables/"\s+aria-current="page"', html)


def test_it_searches_by_name(client):
    Variable.objects.create(name="db_host", value="h")
    Variable.objects.create(name="db_port", value=1)
    Variable.objects.create(name="api_url", value="u")

    assert names_listed(page(client, "/variables/?q=DB_")) == ["db_host", "db_port"]
    assert "No variable name contains" in page(client, "/variables/?q=zzz")


def test_long_values_are_cut_in_the_list(client):
    Variable.objects.create(name="big", value="x" * 1000)

    html = page(client, "/variables/")

    assert "&quot;" + "x" * 118 + "…" in html  # 120 characters of JSON, the last one cut
    assert "x" * 200 not in html


def test_it_pages_by_name(client, monkeypatch):
    from variables import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for name in ("c", "a", "e", "b", "d"):
        Variable.objects.create(name=name, value=1)

    first = page(client, "/variables/")
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = page(client, f"/variables/{following}")
    previous = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")

    assert names_listed(first) == ["a", "b"]
    assert following == f"?after=b~{Variable.objects.get(name='b').pk}"
    assert names_listed(second) == ["c", "d"]
    assert names_listed(page(client, f"/variables/{previous}")) == ["a", "b"]


def test_an_empty_list_says_how_to_create_and_read_a_variable(client):
    html = page(client, "/variables/")

    assert "No variables yet" in html
    assert "prefect variable set" in html
    assert 'Variable.get("regions"' in html


def test_the_list_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for i in range(50):
        Variable.objects.create(name=f"v{i}", value={"i": i}, tags=["t"])

    with django_assert_max_num_queries(3):
        page(client, "/variables/")


# Creating


def test_it_creates_a_variable_from_the_form_with_a_csrf_token():
    client = csrf_client()

    response = post_form(
        client, "/variables/new/", {"name": "regions", "value": '["eu", "us"]', "tags": "prod, eu, prod"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/variables/"
    variable = Variable.objects.get(name="regions")
    assert variable.value == ["eu", "us"]
    assert variable.tags == ["prod", "eu"]
    assert "Created the variable regions." in page(client, "/variables/")


def test_a_post_without_a_csrf_token_is_refused():
    response = csrf_client().post("/variables/new/", {"name": "x", "value": "1"})

    assert response.status_code == 403
    assert not Variable.objects.exists()


@pytest.mark.parametrize(
    "value, stored",
    [('"hello"', "hello"), ("42", 42), ("true", True), ("null", None), ('{"a": [1, 2]}', {"a": [1, 2]})],
)
def test_the_value_is_json(client, value, stored):
    client.post("/variables/new/", {"name": "v", "value": value, "tags": ""})

    assert Variable.objects.get(name="v").value == stored


def test_invalid_json_is_shown_next_to_the_field_and_nothing_is_saved(client):
    response = client.post("/variables/new/", {"name": "greeting", "value": "hello", "tags": ""})

    html = response.content.decode()
    assert response.status_code == 200
    assert "This is not valid JSON" in html
    assert "text in double quotes" in html
    assert 'value="greeting"' in html  # what was typed is kept
    assert ">hello</textarea>" in html
    assert not Variable.objects.exists()


def test_bad_names_and_long_values_are_refused_with_the_apis_words(client):
    bad_name = client.post("/variables/new/", {"name": "Bad Name", "value": "1", "tags": ""}).content.decode()
    long_value = client.post("/variables/new/", {"name": "ok", "value": '"' + "x" * 5000 + '"', "tags": ""})

    assert "may contain only lowercase letters, numbers, dashes and underscores" in bad_name
    assert "at most 5000 characters of JSON" in long_value.content.decode()
    assert not Variable.objects.exists()


def test_a_taken_name_is_refused(client):
    Variable.objects.create(name="taken", value=1)

    html = client.post("/variables/new/", {"name": "taken", "value": "2", "tags": ""}).content.decode()

    assert "A variable named &#x27;taken&#x27; already exists." in html
    assert Variable.objects.get(name="taken").value == 1


# Editing and deleting


def test_the_edit_form_shows_the_value_as_json_and_saves_changes(client):
    variable = Variable.objects.create(name="cfg", value={"a": 1}, tags=["x", "y"])

    html = page(client, f"/variables/{variable.pk}/edit/")
    assert "{\n  &quot;a&quot;: 1\n}</textarea>" in html
    assert 'value="x, y"' in html

    response = client.post(f"/variables/{variable.pk}/edit/", {"name": "cfg_renamed", "value": "[1]", "tags": ""})

    assert response.status_code == 302
    variable.refresh_from_db()
    assert (variable.name, variable.value, variable.tags) == ("cfg_renamed", [1], [])


def test_editing_keeps_the_own_name_but_refuses_another_variables_name(client):
    variable = Variable.objects.create(name="mine", value=1)
    Variable.objects.create(name="theirs", value=2)

    same = client.post(f"/variables/{variable.pk}/edit/", {"name": "mine", "value": "3", "tags": ""})
    clash = client.post(f"/variables/{variable.pk}/edit/", {"name": "theirs", "value": "3", "tags": ""})

    assert same.status_code == 302
    assert clash.status_code == 200
    assert "already exists" in clash.content.decode()
    variable.refresh_from_db()
    assert (variable.name, variable.value) == ("mine", 3)


def test_deleting_asks_first_then_deletes_on_post():
    client = csrf_client()
    variable = Variable.objects.create(name="doomed", value=1)

    html = page(client, f"/variables/{variable.pk}/delete/")
    assert "Delete doomed?" in html
    assert Variable.objects.exists()

    response = post_form(client, f"/variables/{variable.pk}/delete/", {})

    assert response.status_code == 302
    assert not Variable.objects.exists()
    assert "Deleted the variable doomed." in page(client, "/variables/")


def test_unknown_variables_are_a_404(client):
    missing = "00000000-0000-4000-8000-000000000000"
    page(client, f"/variables/{missing}/edit/", status=404)
    page(client, f"/variables/{missing}/delete/", status=404)
