"""Bad input to /api/variables is refused the way Prefect's server refuses it, never with a 500."""

from __future__ import annotations

import pytest

from variables.models import Variable

pytestmark = pytest.mark.django_db

BODIES = [
    ("post", "variables/"),
    ("patch", "variables/{id}"),
    ("patch", "variables/name/known"),
    ("post", "variables/filter"),
    ("post", "variables/count"),
]


@pytest.fixture
def variable_id(db) -> str:
    return str(Variable.objects.create(name="known", value=1).pk)


def call(api, method: str, path: str, variable_id: str, body):
    return getattr(api, method)(path.format(id=variable_id), body)


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_malformed_json_is_a_422_naming_the_body(api, variable_id, method, path):
    response = call(api, method, path, variable_id, b"{not json")

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_an_array_where_an_object_is_expected_is_a_422(api, variable_id, method, path):
    response = call(api, method, path, variable_id, [{"name": "x"}])

    assert response.status_code == 422


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_an_oversized_body_is_a_413(api, variable_id, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = call(api, method, path, variable_id, {"tags": ["x" * 2048]})

    assert response.status_code == 413


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"sort": "KEY_ASC"}, ["body", "sort"]),
        ({"limit": 100000}, ["body", "limit"]),
        ({"offset": -1}, ["body", "offset"]),
        ({"variables": {"tags": {"any_": ["x"]}}}, ["body", "variables", "tags", "any_"]),
        ({"variables": {"id": {"any_": ["nope"]}}}, ["body", "variables", "id", "any_", 0]),
    ],
)
def test_bad_list_bodies_are_a_422_naming_the_field(api, body, loc):
    response = api.post("variables/filter", body)

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == loc


def test_a_value_with_a_nul_character_is_refused(api):
    response = api.post("variables/", {"name": "x", "value": "a\u0000b"})

    assert response.status_code == 422
    assert not Variable.objects.exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "0" * 33])
def test_a_non_uuid_id_in_a_path_is_a_404(api, method, bad_id):
    assert getattr(api, method)(f"variables/{bad_id}").status_code == 404


def test_a_name_with_odd_characters_in_a_path_is_simply_not_found(api):
    for name in ("with space", "ünï", "..", "x" * 300):
        response = api.get(f"variables/name/{name}")
        assert response.status_code == 404
        assert response.json_body == {"detail": "Variable not found."}
