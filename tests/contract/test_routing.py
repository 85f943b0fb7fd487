"""Every in-scope operation of Prefect's OpenAPI document reaches a view of ours.

Nothing in scope may fall through to the catch-all `json_not_found` (404 "Not Found") or
land on a view that does not take its method (405).
"""

from __future__ import annotations

import urllib.parse

import pytest
from django.urls import Resolver404, resolve

from orchestrator.api.errors import json_not_found

from . import openapi
from .requests import call_for, made_up, send

if openapi.load() is None:
    pytest.skip(openapi.skip_reason(), allow_module_level=True)

OPERATIONS = openapi.operations()
CATCH_ALL = {"detail": "Not Found"}


def concrete(operation: openapi.Operation) -> str:
    path = operation.path
    for name in operation.path_params:
        path = path.replace("{" + name + "}", urllib.parse.quote(made_up({"name": name}), safe=""))
    return path


def takes_method(view, method: str) -> bool:
    actions = getattr(view, "actions", None)  # a viewset's {method: action}
    if actions is not None:
        return method in actions
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    return cls is not None and hasattr(cls, method)


def test_every_in_scope_prefix_names_operations_of_the_document():
    for prefix in openapi.IN_SCOPE:
        assert openapi.operations([prefix]), f"IN_SCOPE prefix {prefix!r} matches no operation in the document"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.id)
def test_an_in_scope_path_resolves_to_a_view_that_takes_its_method(operation):
    path = concrete(operation)
    spellings = [path, path.rstrip("/")] if path.endswith("/") else [path]
    for spelling in spellings:
        try:
            match = resolve(f"/api{spelling}")
        except Resolver404:
            pytest.fail(f"{operation.id}: /api{spelling} does not resolve")
        assert match.func is not json_not_found, f"{operation.id}: /api{spelling} falls through to the catch-all 404"
        assert takes_method(match.func, operation.method.lower()), (
            f"{operation.id}: /api{spelling} resolves to {match.func.__name__}, which does not take {operation.method}"
        )


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.id)
def test_an_in_scope_operation_is_answered_by_its_view(operation, api, world):
    path, call = call_for(operation, world, api)
    response = send(api, operation, path, call)
    assert response.status_code != 405, f"{operation.id}: {path} answered 405"
    assert not (response.status_code == 404 and response.json_body == CATCH_ALL), (
        f"{operation.id}: {path} answered the catch-all 404 {CATCH_ALL}"
    )
    assert response.status_code < 500, f"{operation.id}: {path} answered {response.status_code} {response.raw_body!r}"
