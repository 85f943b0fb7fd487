"""Bad input to /api/artifacts is refused the way Prefect's server refuses it, never with a 500."""

from __future__ import annotations

import pytest

from artifacts import domain

pytestmark = pytest.mark.django_db

BODIES = [
    ("post", "artifacts/"),
    ("patch", "artifacts/{id}"),
    ("post", "artifacts/filter"),
    ("post", "artifacts/count"),
    ("post", "artifacts/latest/filter"),
    ("post", "artifacts/latest/count"),
]


@pytest.fixture
def artifact_id(db) -> str:
    return str(domain.create_artifact({"key": "report", "type": "markdown", "data": "x"}).pk)


def call(api, method: str, path: str, artifact_id: str, body):
    return getattr(api, method)(path.format(id=artifact_id), body)


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_malformed_json_is_a_422_naming_the_body(api, artifact_id, method, path):
    response = call(api, method, path, artifact_id, b"{not json")

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_an_array_where_an_object_is_expected_is_a_422(api, artifact_id, method, path):
    response = call(api, method, path, artifact_id, [{"key": "x"}])

    assert response.status_code == 422
    assert "body" in response.json_body["detail"]


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_an_oversized_body_is_a_413(api, artifact_id, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = call(api, method, path, artifact_id, {"description": "x" * 2048})

    assert response.status_code == 413


@pytest.mark.parametrize("path", ["artifacts/filter", "artifacts/latest/filter"])
@pytest.mark.parametrize(
    "body, loc",
    [
        ({"sort": "NAME_ASC"}, ["body", "sort"]),
        ({"limit": -1}, ["body", "limit"]),
        ({"limit": "ten"}, ["body", "limit"]),
        ({"offset": -1}, ["body", "offset"]),
        ({"artifacts": {"key": {"nope_": 1}}}, ["body", "artifacts", "key", "nope_"]),
        ({"artifacts": {"flow_run_id": {"any_": ["not-a-uuid"]}}}, ["body", "artifacts", "flow_run_id", "any_", 0]),
        ({"flow_runs": {"state": {"type": {"any_": ["DONE"]}}}}, ["body", "flow_runs", "state", "type", "any_", 0]),
        ({"flows": "etl"}, ["body", "flows"]),
    ],
)
def test_bad_list_bodies_are_a_422_naming_the_field(api, path, body, loc):
    response = api.post(path, body)

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"key": 5}, ["body", "key"]),
        ({"type": ["markdown"]}, ["body", "type"]),
        ({"type": "x" * 256}, ["body", "type"]),
        ({"description": 1}, ["body", "description"]),
        ({"metadata_": "text"}, ["body", "metadata_"]),
        ({"task_run_id": 123}, ["body", "task_run_id"]),
        ({"id": "01a20b31-856b-796f-a5da-d7ddd929febe"}, ["body", "id"]),
    ],
)
def test_a_create_body_of_the_wrong_types_is_a_422_naming_the_field(api, body, loc):
    response = api.post("artifacts/", body)

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == loc


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "0" * 33])
def test_a_non_uuid_id_in_a_path_is_a_404(api, method, bad_id):
    response = getattr(api, method)(f"artifacts/{bad_id}")

    assert response.status_code == 404
