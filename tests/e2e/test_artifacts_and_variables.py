"""Artifacts and variables with the real Prefect client and CLI against a live server
(PROTOCOL scenarios 3, 4 and 9)."""

from __future__ import annotations

import json
import secrets
import textwrap
from pathlib import Path

import pytest

from .conftest import PREFECT_PYTHON, PrefectClient, assert_no_client_complaints, run, wait_for

pytestmark = pytest.mark.e2e

ARTIFACTS_FLOW = """
import json
import sys
import warnings

from prefect import flow, task
from prefect.artifacts import (
    Artifact,
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

suffix = sys.argv[1]


@task
def report_from_a_task():
    return create_markdown_artifact(key=f"task-md-{suffix}", markdown="# Hello from a task", description="md in task")


@flow
def publish():
    ids = {
        "markdown_v1": create_markdown_artifact(key=f"report-{suffix}", markdown="# Report\\n\\n*v1*", description="weekly"),
        "markdown_v2": create_markdown_artifact(key=f"report-{suffix}", markdown="# Report\\n\\n*v2*", description="weekly"),
        "table_columns": create_table_artifact(key=f"table-{suffix}", table={"col1": [1, 2], "col2": ["x", "y"]}),
        "table_rows": create_table_artifact(table=[{"a": 1, "b": 2}, {"a": 3, "b": 4}]),
        "table_lists": create_table_artifact(table=[[1, 2], [3, 4]]),
        "link": create_link_artifact(key=f"link-{suffix}", link="https://example.com/report", link_text="report"),
        "image": create_image_artifact(key=f"image-{suffix}", image_url="https://example.com/chart.png"),
        "no_key": create_markdown_artifact(markdown="no key here"),
    }
    progress = create_progress_artifact(progress=0.0, key=f"progress-{suffix}", description="loading")
    for value in (25.0, 50.0, 100.0):
        update_progress_artifact(artifact_id=progress, progress=value)
    ids["progress"] = progress
    ids["task"] = report_from_a_task()
    return {name: str(value) for name, value in ids.items()}


state = publish(return_state=True)
ids = state.result()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "artifact created outside a run" is the point here
    ids["outside"] = str(create_markdown_artifact(key=f"outside-{suffix}", markdown="outside any run"))
latest = Artifact.get(f"report-{suffix}")
progress = Artifact.get(f"progress-{suffix}")
print("RESULT " + json.dumps({
    "state": state.type.value,
    "flow_run_id": str(state.state_details.flow_run_id),
    "ids": ids,
    "latest": {"id": str(latest.id), "data": latest.data, "description": latest.description},
    "progress": progress.data,
    "missing": Artifact.get(f"nothing-{suffix}") is None,
}))
"""

VARIABLES_SCRIPT = """
import json
import sys

from prefect.variables import Variable

suffix = sys.argv[1]
name = f"cfg_{suffix}"
out = {}

created = Variable.set(name, {"a": 1, "b": [1, 2]}, tags=["team-a"])
out["created_tags"] = created.tags
out["get"] = Variable.get(name)
try:
    Variable.set(name, 2)
    out["set_again"] = "accepted"
except ValueError as exc:
    out["set_again"] = str(exc)
Variable.set(name, [1, "two", None], overwrite=True, tags=["team-b"])
out["after_overwrite"] = Variable.get(name)
out["default"] = Variable.get(f"nope_{suffix}", default="fallback")

values = {}
for kind, value in {"text": "hello", "int": 42, "float": 4.5, "bool": False, "null": None, "list": [], "dict": {}}.items():
    Variable.set(f"{kind}_{suffix}", value)
    read = Variable.get(f"{kind}_{suffix}", default="MISSING")
    values[kind] = [read, type(read).__name__]
out["values"] = values

try:
    Variable.set("Bad Name!", 1)
    out["bad_name"] = "accepted"
except ValueError as exc:
    out["bad_name"] = str(exc)

out["unset"] = Variable.unset(name)
out["unset_again"] = Variable.unset(name)
out["after_unset"] = Variable.get(name, default="gone")
print("RESULT " + json.dumps(out))
"""


def run_script(prefect: PrefectClient, source: str, *args: str):
    path = Path(prefect.workdir) / f"script-{secrets.token_hex(4)}.py"
    path.write_text(textwrap.dedent(source))
    done = run([PREFECT_PYTHON, path, *args], prefect.env, prefect.workdir)
    assert_no_client_complaints(done.output, done.describe())
    return done.result()


@pytest.fixture(scope="module")
def published(prefect) -> dict:
    suffix = secrets.token_hex(4)
    return {"suffix": suffix, **run_script(prefect, ARTIFACTS_FLOW, suffix)}


# Artifacts


def test_every_create_artifact_function_is_stored_with_its_type(published, server_api):
    assert published["state"] == "COMPLETED"
    ids = published["ids"]

    def artifact(name: str) -> dict:
        return server_api.get(f"artifacts/{ids[name]}")

    suffix = published["suffix"]
    assert artifact("markdown_v2")["type"] == "markdown"
    assert artifact("markdown_v2")["data"] == "# Report\n\n*v2*"
    assert artifact("link")["type"] == "markdown"  # Prefect writes links as markdown
    assert artifact("link")["data"] == "[report](https://example.com/report)"
    assert artifact("image")["type"] == "image"
    assert artifact("image")["data"] == "https://example.com/chart.png"
    table = artifact("table_columns")
    assert table["type"] == "table"
    assert json.loads(table["data"]) == {"col1": [1, 2], "col2": ["x", "y"]}
    assert json.loads(artifact("table_rows")["data"]) == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert json.loads(artifact("table_lists")["data"]) == [[1, 2], [3, 4]]
    assert artifact("no_key")["key"] is None
    for name in ("markdown_v1", "table_columns", "link", "image", "progress", "task"):
        assert artifact(name)["flow_run_id"] == published["flow_run_id"], name
    outside = artifact("outside")
    assert outside["flow_run_id"] is None and outside["key"] == f"outside-{suffix}"


def test_update_progress_artifact_moves_the_progress(published, server_api):
    progress = server_api.get(f"artifacts/{published['ids']['progress']}")

    assert progress["type"] == "progress"
    assert progress["data"] == 100.0
    assert progress["description"] == "loading"
    assert published["progress"] == 100.0


def test_artifact_get_returns_the_latest_version_of_a_key(published):
    assert published["latest"]["id"] == published["ids"]["markdown_v2"]
    assert published["latest"]["data"] == "# Report\n\n*v2*"
    assert published["latest"]["description"] == "weekly"
    assert published["missing"] is True


def test_a_keyed_artifact_keeps_its_version_history(published, server_api):
    key = f"report-{published['suffix']}"

    versions = server_api.post("artifacts/filter", {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC"})
    [collection] = server_api.post("artifacts/latest/filter", {"artifacts": {"key": {"any_": [key]}}})

    assert [v["id"] for v in versions] == [published["ids"]["markdown_v2"], published["ids"]["markdown_v1"]]
    assert collection["latest_id"] == published["ids"]["markdown_v2"]
    assert server_api.get(f"artifacts/{key}/latest")["id"] == published["ids"]["markdown_v2"]


def test_an_artifact_made_in_a_task_carries_the_task_run(published, server_api):
    artifact = server_api.get(f"artifacts/{published['ids']['task']}")

    assert artifact["task_run_id"] is not None
    # The task run reaches the server as events; it is recorded soon after.
    task_run = wait_for(
        lambda: server_api.request("GET", f"task_runs/{artifact['task_run_id']}").ok,
        "the task run of the task's artifact",
    )
    assert task_run


def test_the_dashboard_shows_the_artifacts(published, orchestrator_server):
    import requests

    key = f"report-{published['suffix']}"
    listing = requests.get(f"{orchestrator_server.url}/artifacts/?q={published['suffix']}", timeout=30).text
    timeline = requests.get(f"{orchestrator_server.url}/artifacts/key/{key}/", timeout=30).text
    table = requests.get(
        f"{orchestrator_server.url}/artifacts/artifact/{published['ids']['table_columns']}/", timeout=30
    ).text

    assert key in listing and f"progress-{published['suffix']}" in listing
    assert timeline.count('class="timeline-item') == 2
    assert '<th scope="col">col1</th>' in table
    assert f'href="/runs/flow-run/{published["flow_run_id"]}"' in table


def test_prefect_artifact_ls_lists_the_latest_artifact_of_each_key(published, prefect):
    shown = prefect.cli("artifact", "ls").stdout

    for name in ("report", "table", "link", "image", "progress"):
        assert f"{name}-{published['suffix']}" in shown


def test_prefect_artifact_inspect_shows_every_version(published, prefect):
    shown = json.loads(prefect.cli("artifact", "inspect", f"report-{published['suffix']}", "--output", "json").stdout)

    assert [a["id"] for a in shown] == [published["ids"]["markdown_v2"], published["ids"]["markdown_v1"]]
    missing = prefect.cli("artifact", "inspect", f"nothing-{published['suffix']}", expect=1)
    assert "not found" in missing.output


# Variables


def test_variable_set_get_and_unset_with_json_values(prefect, server_api):
    suffix = secrets.token_hex(4)

    out = run_script(prefect, VARIABLES_SCRIPT, suffix)

    assert out["created_tags"] == ["team-a"]
    assert out["get"] == {"a": 1, "b": [1, 2]}
    assert "already exists" in out["set_again"]
    assert out["after_overwrite"] == [1, "two", None]
    assert out["default"] == "fallback"
    assert out["values"] == {
        "text": ["hello", "str"],
        "int": [42, "int"],
        "float": [4.5, "float"],
        "bool": [False, "bool"],
        "null": [None, "NoneType"],
        "list": [[], "list"],
        "dict": [{}, "dict"],
    }
    assert out["unset"] is True
    assert out["unset_again"] is False
    assert out["after_unset"] == "gone"
    assert "lowercase" in out["bad_name"]


def test_overwrite_keeps_one_variable_with_the_new_tags(prefect, server_api):
    suffix = secrets.token_hex(4)
    name = f"tagged_{suffix}"

    run_script(
        prefect,
        f"""
        from prefect.variables import Variable
        Variable.set("{name}", 1, tags=["a"])
        Variable.set("{name}", 2, tags=["b", "c"], overwrite=True)
        print("RESULT null")
        """,
    )

    stored = server_api.get(f"variables/name/{name}")
    assert (stored["value"], stored["tags"]) == (2, ["b", "c"])
    assert server_api.post("variables/count", {"variables": {"name": {"any_": [name]}}}) == 1


def test_the_server_refuses_a_bad_name_in_its_own_words(server_api):
    # The client checks names before sending; the server checks them again.
    response = server_api.request("POST", "variables/", json={"name": "Bad Name!", "value": 1})

    assert response.status_code == 422
    assert "lowercase letters, numbers, dashes and underscores" in response.json()["detail"]


def test_prefect_variable_set_ls_inspect_get_and_unset(prefect, server_api):
    name = f"cli_{secrets.token_hex(4)}"

    assert "Set variable" in prefect.cli("variable", "set", name, '{"regions": ["eu", "us"]}', "--tag", "prod").output
    stored = server_api.get(f"variables/name/{name}")
    assert (stored["value"], stored["tags"]) == ({"regions": ["eu", "us"]}, ["prod"])

    refused = prefect.cli("variable", "set", name, "2", expect=1)
    assert "already exists" in refused.output
    prefect.cli("variable", "set", name, "plain text", "--overwrite")
    assert server_api.get(f"variables/name/{name}")["value"] == "plain text"

    assert name in prefect.cli("variable", "ls").stdout
    listed = json.loads(prefect.cli("variable", "ls", "--output", "json").stdout)
    assert [v["value"] for v in listed if v["name"] == name] == ["plain text"]
    inspected = json.loads(prefect.cli("variable", "inspect", name, "--output", "json").stdout)
    assert inspected["name"] == name and inspected["id"] == stored["id"]
    assert prefect.cli("variable", "get", name).stdout.strip() == '"plain text"'

    assert "Unset variable" in prefect.cli("variable", "unset", name).output
    assert server_api.request("GET", f"variables/name/{name}").status_code == 404
    assert "not found" in prefect.cli("variable", "unset", name, expect=1).output
    assert "not found" in prefect.cli("variable", "inspect", name, expect=1).output
