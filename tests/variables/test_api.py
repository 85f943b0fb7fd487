"""/api/variables: the calls behind Variable.set/get/unset and `prefect variable ...`."""

from __future__ import annotations

import pytest

from variables.models import Variable

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-4000-8000-000000000000"


def create(api, name: str, value=None, tags=None) -> dict:
    response = api.post("variables/", {"name": name, "value": value, "tags": tags or []})
    assert response.status_code == 201, response.json_body
    return response.json_body


# Creating


def test_it_creates_a_variable_as_variable_set_does(api):
    response = api.post("variables/", {"name": "my_var", "value": "hello", "tags": []})

    assert response.status_code == 201
    body = response.json_body
    assert set(body) == {"id", "created", "updated", "name", "value", "tags"}
    assert (body["name"], body["value"], body["tags"]) == ("my_var", "hello", [])
    assert Variable.objects.get(name="my_var").value == "hello"


@pytest.mark.parametrize("value", ["text", 42, 4.5, True, False, None, [1, "two", None], {"a": {"b": [1, 2]}}, "", 0])
def test_any_json_value_is_stored_and_read_back_unchanged(api, value):
    create(api, "v", value)

    read = api.get("variables/name/v").json_body

    assert read["value"] == value
    assert type(read["value"]) is type(value)


def test_tags_are_kept(api):
    create(api, "tagged", 1, ["prod", "team-a"])

    assert api.get("variables/name/tagged").json_body["tags"] == ["prod", "team-a"]


def test_the_value_is_required_but_tags_are_not(api):
    missing_value = api.post("variables/", {"name": "x"})
    no_tags = api.post("variables/", {"name": "y", "value": 1})

    assert missing_value.status_code == 422
    assert missing_value.json_body["exception_detail"][0]["loc"] == ["body", "value"]
    assert no_tags.status_code == 201
    assert no_tags.json_body["tags"] == []


def test_a_second_variable_with_the_same_name_is_a_409(api):
    create(api, "my_var", 1)

    response = api.post("variables/", {"name": "my_var", "value": 2})

    assert response.status_code == 409
    assert response.json_body == {"detail": "A variable named 'my_var' already exists."}
    assert Variable.objects.get(name="my_var").value == 1


@pytest.mark.parametrize("name", ["My_Var", "my var", "my.var", "my/var", "é", "", "x" * 256])
def test_it_refuses_names_other_than_lowercase_letters_numbers_dashes_and_underscores(api, name):
    response = api.post("variables/", {"name": name, "value": 1})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "name"]
    assert "variable name" in response.json_body["detail"]
    assert not Variable.objects.exists()


def test_names_may_have_dashes_underscores_and_digits_up_to_255_characters(api):
    for name in ("a-b_c-9", "x" * 255):
        create(api, name, 1)


def test_a_value_longer_than_5000_characters_of_json_is_refused(api):
    fits = "x" * 4998  # 5000 characters with its quotes
    too_long = {"data": "x" * 5000}

    assert api.post("variables/", {"name": "fits", "value": fits}).status_code == 201
    response = api.post("variables/", {"name": "long", "value": too_long})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "value"]
    assert "5000" in response.json_body["detail"]


def test_a_name_that_is_not_a_string_or_tags_that_are_not_strings_are_refused(api):
    assert api.post("variables/", {"name": 5, "value": 1}).status_code == 422
    response = api.post("variables/", {"name": "x", "value": 1, "tags": [1]})
    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "tags", 0]


def test_unknown_keys_are_refused(api):
    response = api.post("variables/", {"name": "x", "value": 1, "secret": True})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "secret"]


# Reading


def test_it_reads_a_variable_by_id_and_by_name(api):
    created = create(api, "my_var", {"a": 1})

    assert api.get(f"variables/{created['id']}").json_body == created
    assert api.get("variables/name/my_var").json_body == created


def test_a_missing_variable_is_a_404_that_variable_get_turns_into_its_default(api):
    for response in (
        api.get("variables/name/nope"),
        api.get(f"variables/{MISSING}"),
        api.patch("variables/name/nope", {"value": 1}),
        api.patch(f"variables/{MISSING}", {"value": 1}),
        api.delete("variables/name/nope"),
        api.delete(f"variables/{MISSING}"),
    ):
        assert response.status_code == 404
        assert response.json_body == {"detail": "Variable not found."}


# Updating


def test_overwriting_by_name_answers_204_and_changes_value_and_tags(api):
    created = create(api, "my_var", "hello")

    # What Variable.set(..., overwrite=True) sends.
    response = api.patch("variables/name/my_var", {"name": "my_var", "value": {"a": 1, "b": [1, 2]}, "tags": ["x"]})

    assert response.status_code == 204
    assert response.content == b""
    stored = Variable.objects.get(name="my_var")
    assert (stored.value, stored.tags) == ({"a": 1, "b": [1, 2]}, ["x"])
    assert stored.updated.isoformat() > created["updated"].replace("Z", "+00:00")


def test_an_update_changes_only_what_it_sends(api):
    created = create(api, "my_var", "hello", ["keep"])

    api.patch(f"variables/{created['id']}", {"value": None})

    stored = Variable.objects.get(name="my_var")
    assert stored.value is None  # null is a value
    assert stored.tags == ["keep"]

    api.patch(f"variables/{created['id']}", {"name": None, "tags": None, "value": 3})
    stored.refresh_from_db()
    assert (stored.name, stored.tags, stored.value) == ("my_var", ["keep"], 3)


def test_a_variable_can_be_renamed_but_not_onto_another_name(api):
    created = create(api, "old_name", 1)
    create(api, "taken", 2)

    renamed = api.patch(f"variables/{created['id']}", {"name": "new_name"})
    clash = api.patch("variables/name/new_name", {"name": "taken"})
    bad = api.patch("variables/name/new_name", {"name": "Bad Name"})

    assert renamed.status_code == 204
    assert api.get("variables/name/new_name").status_code == 200
    assert clash.status_code == 409
    assert clash.json_body == {"detail": "A variable named 'taken' already exists."}
    assert bad.status_code == 422
    assert Variable.objects.get(pk=created["id"]).name == "new_name"


def test_updates_are_checked_like_creates(api):
    create(api, "my_var", 1)

    too_long = api.patch("variables/name/my_var", {"value": "x" * 6000})
    unknown = api.patch("variables/name/my_var", {"colour": "red"})

    assert too_long.status_code == 422
    assert unknown.status_code == 422
    assert Variable.objects.get(name="my_var").value == 1


# Deleting


def test_it_deletes_by_name_and_by_id(api):
    create(api, "by_name", 1)
    by_id = create(api, "by_id", 2)

    assert api.delete("variables/name/by_name").status_code == 204
    assert api.delete(f"variables/{by_id['id']}").status_code == 204
    assert not Variable.objects.exists()


# Listing and counting


def test_filter_sorts_by_name_by_default(api):
    for name in ("charlie", "alpha", "bravo"):
        create(api, name, 1)

    # `prefect variable ls` sends only a limit.
    response = api.post("variables/filter", {"limit": 100})

    assert [v["name"] for v in response.json_body] == ["alpha", "bravo", "charlie"]


def test_filter_sorts_and_pages(api):
    for name in ("charlie", "alpha", "bravo"):
        create(api, name, 1)
    api.patch("variables/name/alpha", {"value": 2})

    def names(**body) -> list[str]:
        return [v["name"] for v in api.post("variables/filter", body).json_body]

    assert names(sort="NAME_DESC") == ["charlie", "bravo", "alpha"]
    assert names(sort="CREATED_DESC") == ["bravo", "alpha", "charlie"]
    assert names(sort="UPDATED_DESC") == ["alpha", "bravo", "charlie"]
    assert names(limit=1, offset=1) == ["bravo"]
    assert api.post("variables/filter", {"sort": "KEY_ASC"}).status_code == 422


def test_filter_by_name_and_tags_and_count(api):
    create(api, "db_host", "h", ["prod", "db"])
    create(api, "db_port", 5432, ["prod"])
    create(api, "api_url", "u", [])

    def names(variables) -> list[str]:
        return [v["name"] for v in api.post("variables/filter", {"variables": variables}).json_body]

    assert names({"name": {"like_": "db_"}}) == ["db_host", "db_port"]
    assert names({"name": {"any_": ["api_url", "nope"]}}) == ["api_url"]
    assert names({"tags": {"all_": ["prod", "db"]}}) == ["db_host"]
    assert names({"tags": {"is_null_": True}}) == ["api_url"]
    assert names({"operator": "or_", "name": {"any_": ["api_url"]}, "tags": {"all_": ["db"]}}) == ["api_url", "db_host"]
    assert api.post("variables/count", {"variables": {"tags": {"all_": ["prod"]}}}).json_body == 2
    assert api.post("variables/count").json_body == 3


def test_a_bad_filter_is_a_422_naming_the_field(api):
    response = api.post("variables/filter", {"variables": {"name": {"like_": 5}}})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "variables", "name", "like_"]


def test_listing_costs_one_query(api, django_assert_max_num_queries):
    for i in range(20):
        create(api, f"v{i}", i)

    with django_assert_max_num_queries(1):
        assert len(api.post("variables/filter").json_body) == 20
