"""Fixtures shared by the whole suite: an API client and a small fixed cast of objects."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from runs.models import Flow


class Api:
    """Calls /api/... the way the Prefect client does (JSON bodies, JSON answers)."""

    def __init__(self, client: Client):
        self.client = client

    def _call(self, method: str, path: str, body=None, **extra):
        url = f"/api/{path.lstrip('/')}"
        kwargs = {}
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method)(url, **kwargs, **extra)
        try:
            response.json_body = json.loads(response.content) if response.content else None
        except ValueError:
            response.json_body = None
        return response

    def get(self, path, **extra):
        return self._call("get", path, **extra)

    def post(self, path, body=None, **extra):
        return self._call("post", path, {} if body is None else body, **extra)

    def patch(self, path, body=None, **extra):
        return self._call("patch", path, {} if body is None else body, **extra)

    def put(self, path, body=None, **extra):
        return self._call("put", path, {} if body is None else body, **extra)

    def delete(self, path, **extra):
        return self._call("delete", path, **extra)


@pytest.fixture
def api(db) -> Api:
    return Api(Client())


@pytest.fixture
def flow(db) -> Flow:
    return Flow.objects.create(name="etl")
