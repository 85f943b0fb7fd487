"""Prefect's OpenAPI document: which operations are in scope, and checking answers against it.

The document is the wire contract (`reference/prefect-3.8.8-openapi.json` in the shared
checkout, next to the project). A fresh clone of the project alone does not have it, so
`load()` answers None and the contract modules skip themselves.

Adding a resource to the contract suite is adding its path prefix to `IN_SCOPE` (and, for
realistic answers, what its calls need to `requests.py`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = Path("shared") / "reference" / "prefect-3.8.8-openapi.json"
# The shared reference sits beside the project (../shared); a clone made elsewhere on the
# same machine finds it at the workplace's usual place.
CANDIDATES = [PROJECT_ROOT.parent / DOCUMENT, Path("/work") / DOCUMENT]
ENV_VAR = "ORCHESTRATOR_PREFECT_OPENAPI"
DOCUMENT_URI = "urn:prefect-openapi"

# Path prefixes (without /api) whose operations the server implements today. A path is in
# scope when it equals a prefix or continues it after a "/".
IN_SCOPE = [
    "/health",
    "/version",
    "/hello",
    "/ready",
    "/admin/version",
    "/admin/settings",
    "/admin/storage",
    "/csrf-token",
    "/flows",
    "/flow_runs",
    "/task_runs",
    "/flow_run_states",
    "/task_run_states",
    "/logs",
    "/events",
    "/ui/flow_runs/history",
    "/ui/flow_runs/count-task-runs",
    "/ui/task_runs/dashboard/counts",
    "/ui/task_runs/count",
    "/ui/task_runs/{id}",
    "/deployments",
    "/work_pools",
    "/work_queues",
    "/concurrency_limits",
    "/v2/concurrency_limits",
    "/automations/owned-by",
    "/automations/related-to",
    "/collections",
    "/ui/flows",
]

METHODS = ("get", "post", "put", "patch", "delete")


def document_path() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return next((path for path in CANDIDATES if path.is_file()), CANDIDATES[0])


@functools.cache
def load() -> dict[str, Any] | None:
    path = document_path()
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def skip_reason() -> str:
    return (
        f"Prefect's OpenAPI document is not at {document_path()} "
        f"(set {ENV_VAR}, or check out the shared reference next to the project)"
    )


def in_scope(path: str, prefixes: list[str] = IN_SCOPE) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the document, e.g. /flow_runs/{id}/set_state
    spec: dict

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{([^}]+)}", self.path)

    def params(self, where: str) -> list[dict]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == where]

    @property
    def success(self) -> tuple[str, dict]:
        """The documented 2xx status and its response object."""
        for code, response in self.spec["responses"].items():
            if code.startswith("2"):
                return code, response
        raise LookupError(f"{self.id} documents no 2xx response")

    @property
    def response_pointer(self) -> str | None:
        """JSON pointer to the 2xx JSON schema, or None when the answer has none to check."""
        code, response = self.success
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if not schema:  # no body (204) or `{}`: anything goes
            return None
        path = self.path.replace("~", "~0").replace("/", "~1")
        return f"/paths/{path}/{self.method.lower()}/responses/{code}/content/application~1json/schema"

    @property
    def request_schema(self) -> dict | None:
        body = self.spec.get("requestBody")
        if not body:
            return None
        return body.get("content", {}).get("application/json", {}).get("schema")


def operations(prefixes: list[str] = IN_SCOPE) -> list[Operation]:
    document = load() or {"paths": {}}
    found = []
    for path, item in document["paths"].items():
        if not in_scope(path, prefixes):
            continue
        for method in METHODS:
            if method in item:
                found.append(Operation(method.upper(), path, item[method]))
    return found


# -- validating answers -----------------------------------------------------------------

format_checker = FormatChecker()  # a copy: the checks added here stay local to this suite


@format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """ISO 8601 with an offset (`Z` or `+hh:mm`), as pydantic reads it on the client."""
    if not isinstance(value, str):
        return True
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return True


@format_checker.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
    return True


DURATION = re.compile(
    r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)


@format_checker.checks("duration")
def _is_duration(value: object) -> bool:
    """ISO 8601 durations, as pydantic writes a timedelta ("PT15M", "P7D")."""
    return not isinstance(value, str) or bool(DURATION.match(value))


@format_checker.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value))


@functools.cache
def registry() -> Registry:
    return Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(load()))


def validator_for(operation: Operation) -> Draft202012Validator | None:
    pointer = operation.response_pointer
    if pointer is None:
        return None
    schema = {"$ref": f"{DOCUMENT_URI}#{pointer}"}
    return Draft202012Validator(schema, registry=registry(), format_checker=format_checker)


def _reasons(error) -> list:
    """The errors that explain one: for anyOf/oneOf, those of the branch that got furthest."""
    if not error.context:
        return [error]
    branches: dict[Any, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    best = max(branches.values(), key=lambda errors: max(len(e.absolute_path) for e in errors))
    return [reason for sub in best for reason in _reasons(sub)]


def schema_errors(operation: Operation, body: Any) -> list[str]:
    """One line per mismatch, naming the operation and the field (`$.state.type`)."""
    validator = validator_for(operation)
    if validator is None:
        return []
    lines = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        for reason in _reasons(error):
            lines.append(f"{operation.id}: {reason.json_path}: {reason.message}")
    return lines


# -- bodies from request schemas ----------------------------------------------------------


def example_from_schema(schema: dict | None, document: dict, depth: int = 0) -> Any:
    """A small valid value for a request schema: required properties only, defaults first."""
    if schema is None or depth > 8:
        return None
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return example_from_schema(document["components"]["schemas"][name], document, depth + 1)
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_from_schema(options[0], document, depth + 1)
    if "allOf" in schema:
        return example_from_schema(schema["allOf"][0], document, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example_from_schema(schema["properties"].get(name, {}), document, depth + 1)
            for name in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return dt.datetime.now(dt.UTC).isoformat()
        return "contract"
    if kind == "integer":
        return max(int(schema.get("minimum", 0)), 0)
    if kind == "number":
        return float(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return False
    return None
