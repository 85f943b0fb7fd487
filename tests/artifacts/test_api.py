"""/api/artifacts: what the client creates, reads back and updates, and the latest-per-key
collections kept in step with every write."""

from __future__ import annotations

import json
import uuid

import pytest

from artifacts.models import Artifact, ArtifactCollection
from runs.deletion import delete_flow_runs
from tests.runs.helpers import flow_run_in, task_run_in

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-4000-8000-000000000000"


def create(api, **body) -> dict:
    body = {
        "key": None,
        "type": "markdown",
        "description": None,
        "data": "# hi",
        "flow_run_id": None,
        "task_run_id": None,
    } | body
    response = api.post("artifacts/", body)
    assert response.status_code == 201, response.json_body
    return response.json_body


def collection(key: str) -> ArtifactCollection:
    return ArtifactCollection.objects.get(key=key)


# Creating


def test_it_creates_an_artifact_the_way_the_client_sends_it(api, flow):
    run = flow_run_in(flow, "RUNNING")
    task_run_id = str(uuid.uuid4())  # a task run the server has not recorded yet

    body = create(
        api,
        key="my-report",
        description="A report",
        data="# Report\n\nsome *markdown*",
        flow_run_id=str(run.pk),
        task_run_id=task_run_id,
    )

    assert set(body) == {
        "id",
        "created",
        "updated",
        "key",
        "type",
        "description",
        "data",
        "metadata_",
        "flow_run_id",
        "task_run_id",
    }
    assert body["key"] == "my-report"
    assert body["data"] == "# Report\n\nsome *markdown*"
    assert body["flow_run_id"] == str(run.pk)
    assert body["task_run_id"] == task_run_id
    assert body["created"].endswith("Z")
    stored = Artifact.objects.get(pk=body["id"])
    assert stored.description == "A report"
    assert str(stored.task_run_id) == task_run_id


def test_it_accepts_any_json_as_data(api):
    for data in (0, 12.5, "text", [1, [2]], {"a": {"b": None}}, None, True):
        assert create(api, type="result", data=data)["data"] == data


def test_a_minimal_body_is_enough(api):
    response = api.post("artifacts/", {})

    assert response.status_code == 201
    assert response.json_body["key"] is None
    assert response.json_body["data"] is None


def test_metadata_values_must_be_strings_and_long_ones_are_cut(api):
    body = create(api, metadata_={"source": "s3", "long": "x" * 600})
    assert body["metadata_"]["source"] == "s3"
    assert body["metadata_"]["long"] == "x" * 500 + "..."

    refused = api.post("artifacts/", {"metadata_": {"n": 1}})
    assert refused.status_code == 422
    assert refused.json_body["exception_detail"][0]["loc"] == ["body", "metadata_"]


@pytest.mark.parametrize("key", ["My-Report", "my_report", "my report", "ü", ""])
def test_it_refuses_keys_that_are_not_lowercase_letters_numbers_and_dashes(api, key):
    response = api.post("artifacts/", {"key": key, "type": "markdown", "data": "x"})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "key"]
    assert "artifact key" in response.json_body["detail"]
    assert not Artifact.objects.exists()


def test_it_refuses_unknown_keys_and_bad_run_ids(api):
    extra = api.post("artifacts/", {"data": 1, "colour": "red"})
    bad_id = api.post("artifacts/", {"flow_run_id": "nope"})

    assert extra.status_code == 422
    assert extra.json_body["exception_detail"][0]["loc"] == ["body", "colour"]
    assert bad_id.status_code == 422
    assert bad_id.json_body["exception_detail"][0]["loc"] == ["body", "flow_run_id"]


# Reading


def test_it_reads_an_artifact_by_id(api):
    created = create(api, key="k", data="x")

    response = api.get(f"artifacts/{created['id']}")

    assert response.status_code == 200
    assert response.json_body == created


def test_a_missing_artifact_is_a_404(api):
    for response in (
        api.get(f"artifacts/{MISSING}"),
        api.patch(f"artifacts/{MISSING}", {"data": 1}),
        api.delete(f"artifacts/{MISSING}"),
        api.get("artifacts/nothing-here/latest"),
    ):
        assert response.status_code == 404
        assert response.json_body == {"detail": "Artifact not found"}


def test_the_latest_artifact_of_a_key_is_its_newest_version(api):
    create(api, key="report", data="v1")
    newest = create(api, key="report", data="v2")
    create(api, key="other", data="o")

    response = api.get("artifacts/report/latest")

    assert response.status_code == 200
    assert response.json_body["id"] == newest["id"]
    assert response.json_body["data"] == "v2"


# Collections


def test_a_keyed_artifact_starts_a_collection_and_each_new_version_moves_it(api):
    first = create(api, key="report", data="v1", description="first")
    assert collection("report").latest_id == uuid.UUID(first["id"])

    second = create(api, key="report", data="v2", description="second", type="table")

    row = collection("report")
    assert row.latest_id == uuid.UUID(second["id"])
    assert (row.data, row.description, row.type) == ("v2", "second", "table")
    assert Artifact.objects.filter(key="report").count() == 2
    assert ArtifactCollection.objects.count() == 1


def test_artifacts_without_a_key_have_no_collection(api):
    create(api, data="loose")

    assert not ArtifactCollection.objects.exists()


def test_latest_filter_answers_one_row_per_key_with_its_latest_id(api):
    create(api, key="alpha", data="a1")
    alpha = create(api, key="alpha", data="a2")
    beta = create(api, key="beta", type="progress", data=50)
    create(api, data="no key")

    response = api.post("artifacts/latest/filter", {"sort": "KEY_ASC"})

    assert response.status_code == 200
    rows = response.json_body
    assert [row["key"] for row in rows] == ["alpha", "beta"]
    assert rows[0]["latest_id"] == alpha["id"]
    assert rows[0]["data"] == "a2"
    assert rows[1]["latest_id"] == beta["id"]
    assert set(rows[0]) == {
        "id",
        "created",
        "updated",
        "key",
        "latest_id",
        "type",
        "description",
        "data",
        "metadata_",
        "flow_run_id",
        "task_run_id",
    }


def test_the_cli_body_of_artifact_ls_is_answered(api):
    create(api, key="alpha", data="a")

    # `prefect artifact ls` sends exactly this (PROTOCOL scenario 9).
    response = api.post(
        "artifacts/latest/filter",
        {"artifacts": None, "flow_runs": None, "task_runs": None, "limit": 100, "offset": 0, "sort": "KEY_ASC"},
    )

    assert response.status_code == 200
    assert [row["key"] for row in response.json_body] == ["alpha"]


def test_latest_filters_and_counts_narrow_collections(api):
    create(api, key="alpha", type="markdown", data="a")
    create(api, key="alpha-two", type="table", data="[]")
    create(api, key="beta", type="progress", data=1)

    def keys(artifacts) -> list[str]:
        return [
            r["key"] for r in api.post("artifacts/latest/filter", {"artifacts": artifacts, "sort": "KEY_ASC"}).json_body
        ]

    assert keys({"key": {"like_": "alpha"}}) == ["alpha", "alpha-two"]
    assert keys({"key": {"any_": ["beta"]}}) == ["beta"]
    assert keys({"type": {"not_any_": ["markdown"]}}) == ["alpha-two", "beta"]
    assert keys({"key": {"exists_": True}}) == ["alpha", "alpha-two", "beta"]
    assert api.post("artifacts/latest/count", {"artifacts": {"type": {"any_": ["table", "progress"]}}}).json_body == 2
    assert api.post("artifacts/latest/count").json_body == 3


def test_latest_sorts(api):
    for key in ("b", "a", "c"):
        create(api, key=key)
    create(api, key="b", data="again")  # b was updated last

    def keys(sort: str) -> list[str]:
        return [r["key"] for r in api.post("artifacts/latest/filter", {"sort": sort}).json_body]

    assert keys("KEY_ASC") == ["a", "b", "c"]
    assert keys("KEY_DESC") == ["c", "b", "a"]
    assert keys("UPDATED_DESC") == ["b", "c", "a"]
    assert keys("ID_DESC") == ["c", "a", "b"]
    assert api.post("artifacts/latest/filter", {"sort": "NAME_ASC"}).status_code == 422


# Updating


def test_updating_progress_answers_204_and_updates_the_collection(api):
    progress = create(api, key="my-progress", type="progress", description="progress", data=0.0)

    response = api.patch(f"artifacts/{progress['id']}", {"data": 50.0})

    assert response.status_code == 204
    assert response.content == b""
    stored = Artifact.objects.get(pk=progress["id"])
    assert stored.data == 50.0
    assert stored.description == "progress"  # keys not sent are kept
    assert stored.updated > stored.created
    assert collection("my-progress").data == 50.0


def test_updating_an_older_version_leaves_the_collection_alone(api):
    old = create(api, key="report", type="progress", data=1)
    create(api, key="report", type="progress", data=2)

    api.patch(f"artifacts/{old['id']}", {"data": 99, "description": "late"})

    assert Artifact.objects.get(pk=old["id"]).data == 99
    assert collection("report").data == 2


def test_an_update_may_change_the_description_and_metadata_only(api):
    artifact = create(api, key="report", data="x")

    ok = api.patch(f"artifacts/{artifact['id']}", {"description": "new", "metadata_": {"a": "b"}})
    refused = api.patch(f"artifacts/{artifact['id']}", {"key": "other"})

    assert ok.status_code == 204
    stored = Artifact.objects.get(pk=artifact["id"])
    assert (stored.description, stored.metadata, stored.data) == ("new", {"a": "b"}, "x")
    assert refused.status_code == 422
    assert refused.json_body["exception_detail"][0]["loc"] == ["body", "key"]


# Deleting


def test_deleting_the_latest_version_points_the_collection_at_the_previous_one(api):
    first = create(api, key="report", data="v1")
    second = create(api, key="report", data="v2")

    response = api.delete(f"artifacts/{second['id']}")

    assert response.status_code == 204
    row = collection("report")
    assert row.latest_id == uuid.UUID(first["id"])
    assert row.data == "v1"
    assert api.get("artifacts/report/latest").json_body["id"] == first["id"]


def test_deleting_an_older_version_keeps_the_latest(api):
    first = create(api, key="report", data="v1")
    second = create(api, key="report", data="v2")

    api.delete(f"artifacts/{first['id']}")

    assert collection("report").latest_id == uuid.UUID(second["id"])


def test_deleting_the_last_version_deletes_the_collection(api):
    only = create(api, key="report", data="v1")

    api.delete(f"artifacts/{only['id']}")

    assert not ArtifactCollection.objects.exists()
    assert api.get("artifacts/report/latest").status_code == 404


def test_artifacts_go_with_their_flow_runs_and_collections_fall_back(api, flow):
    kept_run = flow_run_in(flow, "COMPLETED")
    doomed_run = flow_run_in(flow, "COMPLETED")
    older = create(api, key="report", data="v1", flow_run_id=str(kept_run.pk))
    create(api, key="report", data="v2", flow_run_id=str(doomed_run.pk))
    create(api, key="only-doomed", data="x", flow_run_id=str(doomed_run.pk))
    create(api, data="loose", flow_run_id=str(doomed_run.pk))
    outside = create(api, data="outside any run")

    response = api.delete(f"flow_runs/{doomed_run.pk}")

    assert response.status_code == 204
    assert set(Artifact.objects.values_list("id", flat=True)) == {uuid.UUID(older["id"]), uuid.UUID(outside["id"])}
    assert collection("report").latest_id == uuid.UUID(older["id"])
    assert not ArtifactCollection.objects.filter(key="only-doomed").exists()


def test_deleting_many_flow_runs_deletes_their_artifacts(api, flow):
    runs = [flow_run_in(flow, "COMPLETED") for _ in range(3)]
    for run in runs:
        create(api, key="shared", data=str(run.pk), flow_run_id=str(run.pk))

    delete_flow_runs([run.pk for run in runs])

    assert not Artifact.objects.exists()
    assert not ArtifactCollection.objects.exists()


# Filtering and counting


def test_filter_sorts_newest_id_first_by_default_and_pages(api):
    ids = [create(api, data=i)["id"] for i in range(5)]

    page = api.post("artifacts/filter", {"limit": 2, "offset": 1}).json_body

    assert [a["id"] for a in page] == ids[::-1][1:3]


def test_artifact_get_finds_the_most_recently_updated_version_of_a_key(api):
    create(api, key="report", data="v1")
    create(api, key="report", data="v2")
    create(api, key="other", data="o")

    # What Artifact.get("report") sends.
    response = api.post(
        "artifacts/filter", {"artifacts": {"key": {"any_": ["report"]}}, "sort": "UPDATED_DESC", "limit": 1}
    )

    assert [a["data"] for a in response.json_body] == ["v2"]


def test_artifacts_filter_by_their_own_fields(api, flow):
    run = flow_run_in(flow, "RUNNING")
    task_run_id = str(uuid.uuid4())
    a = create(api, key="a", type="markdown", flow_run_id=str(run.pk))
    b = create(api, key="b", type="table", flow_run_id=str(run.pk), task_run_id=task_run_id)
    c = create(api, type="progress", data=1)

    def ids(artifacts) -> set[str]:
        return {x["id"] for x in api.post("artifacts/filter", {"artifacts": artifacts}).json_body}

    assert ids({"flow_run_id": {"any_": [str(run.pk)]}}) == {a["id"], b["id"]}
    assert ids({"task_run_id": {"any_": [task_run_id]}}) == {b["id"]}
    assert ids({"key": {"exists_": False}}) == {c["id"]}
    assert ids({"id": {"any_": [a["id"], c["id"]]}}) == {a["id"], c["id"]}
    assert ids({"type": {"any_": ["table"]}}) == {b["id"]}
    assert ids({"operator": "or_", "type": {"any_": ["table"]}, "key": {"exists_": False}}) == {b["id"], c["id"]}
    assert api.post("artifacts/count", {"artifacts": {"key": {"exists_": True}}}).json_body == 2


def test_artifacts_filter_by_their_flow_runs_flows_and_task_runs(api, flow):
    from runs.models import Flow

    other_flow = Flow.objects.create(name="other")
    run = flow_run_in(flow, "COMPLETED")
    other_run = flow_run_in(other_flow, "FAILED")
    task_run = task_run_in(run, "COMPLETED")
    in_task = create(api, flow_run_id=str(run.pk), task_run_id=str(task_run.pk))
    in_flow = create(api, flow_run_id=str(run.pk))
    in_other = create(api, flow_run_id=str(other_run.pk))
    create(api)  # outside any run

    def ids(body) -> set[str]:
        response = api.post("artifacts/filter", body)
        assert response.status_code == 200, response.json_body
        return {x["id"] for x in response.json_body}

    assert ids({"flows": {"name": {"any_": ["etl"]}}}) == {in_task["id"], in_flow["id"]}
    assert ids({"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}}) == {in_other["id"]}
    assert ids({"task_runs": {"id": {"any_": [str(task_run.pk)]}}}) == {in_task["id"]}
    assert ids({"flows": {"name": {"any_": ["etl"]}}, "flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}}) == set()
    assert api.post("artifacts/count", {"flows": {"name": {"any_": ["other"]}}}).json_body == 1
    latest = api.post("artifacts/latest/filter", {"flow_runs": {"id": {"any_": [str(run.pk)]}}})
    assert latest.status_code == 200


def test_artifacts_filter_by_deployment(api, flow):
    from deployments.models import Deployment

    deployment = Deployment.objects.create(name="nightly", flow=flow)
    run = flow_run_in(flow, "COMPLETED", deployment_id=deployment.pk)
    deployed = create(api, flow_run_id=str(run.pk))
    create(api, flow_run_id=str(flow_run_in(flow, "COMPLETED").pk))

    response = api.post("artifacts/filter", {"deployments": {"id": {"any_": [str(deployment.pk)]}}})

    assert [a["id"] for a in response.json_body] == [deployed["id"]]


def test_bad_filters_are_a_422_naming_the_field(api):
    response = api.post("artifacts/filter", {"artifacts": {"key": {"any_": "report"}}})

    assert response.status_code == 422
    assert response.json_body["exception_detail"][0]["loc"] == ["body", "artifacts", "key", "any_"]
    assert api.post("artifacts/filter", {"limit": 5000}).status_code == 422
    assert api.post("artifacts/latest/filter", {"artifacts": {"id": {"any_": []}}}).status_code == 422


def test_lists_cost_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for i in range(30):
        create(api, key=f"k{i % 5}", data=i)

    with django_assert_max_num_queries(2):
        assert len(api.post("artifacts/filter", {"flows": {"name": {"any_": ["etl"]}}}).json_body) == 0
    with django_assert_max_num_queries(1):
        assert len(api.post("artifacts/latest/filter").json_body) == 5
    with django_assert_max_num_queries(1):
        assert len(api.post("artifacts/filter").json_body) == 30


def test_a_json_body_that_is_not_an_object_is_refused(api):
    response = api.post("artifacts/", json.dumps([1, 2]))

    assert response.status_code == 422
