"""Our filter models accept exactly the keys of Prefect's filter schemas.

A key Prefect's client may send that we do not know is a 422 for a valid request; a key we
accept that Prefect does not is a dialect of our own. Both are found here, level by level.
"""

from __future__ import annotations

import pytest

from deployments.filters import DEPLOYMENT_FILTER, WORK_POOL_FILTER, WORK_QUEUE_FILTER, WORKER_FILTER
from orchestrator.api.filters import Model
from runs.filters import FLOW_FILTER, FLOW_RUN_FILTER, LOG_FILTER, TASK_RUN_FILTER

from . import openapi

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

SCHEMAS = openapi.load()["components"]["schemas"]

FILTERS = {
    "FlowFilter": FLOW_FILTER,
    "FlowRunFilter": FLOW_RUN_FILTER,
    "TaskRunFilter": TASK_RUN_FILTER,
    "LogFilter": LOG_FILTER,
    "DeploymentFilter": DEPLOYMENT_FILTER,
    "WorkPoolFilter": WORK_POOL_FILTER,
    "WorkQueueFilter": WORK_QUEUE_FILTER,
    "WorkerFilter": WORKER_FILTER,
}

# Keys we accept beyond Prefect's, on purpose. The client never sends them, so they cost it
# nothing; anything not listed here is drift.
OUR_EXTRAS = {
    ("FlowFilter.tags", "any_"),  # flows with any of the tags, as flow runs have
}


def referenced(schema: dict) -> str | None:
    """The component a property refers to, directly or as the non-null branch of anyOf."""
    if "$ref" in schema:
        return schema["$ref"].split("/")[-1]
    for option in schema.get("anyOf", []):
        if "$ref" in option:
            return option["$ref"].split("/")[-1]
    return None


def differences(name: str, model: Model, where: str) -> list[str]:
    schema = SCHEMAS[name]
    documented = set(schema.get("properties", {}))
    ours = set(model.criteria) | ({"operator"} if model.operator else set())
    problems = [f"{where}: Prefect's {name} has {key!r}, ours does not" for key in sorted(documented - ours)]
    problems += [
        f"{where}: ours has {key!r}, Prefect's {name} does not"
        for key in sorted(ours - documented)
        if (where, key) not in OUR_EXTRAS
    ]
    for key in sorted(documented & ours):
        handler = model.criteria.get(key)
        child = referenced(schema["properties"][key])
        if isinstance(handler, Model) and child and child in SCHEMAS:
            problems += differences(child, handler, f"{where}.{key}")
    return problems


@pytest.mark.parametrize("name", FILTERS)
def test_a_filter_model_takes_the_keys_of_prefects_schema(name):
    problems = differences(name, FILTERS[name], name)
    assert not problems, "\n".join(problems)
