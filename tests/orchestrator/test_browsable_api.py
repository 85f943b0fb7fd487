"""DRF's browsable API for people exploring /api/ in a browser, while the Prefect client, which
sends `Accept: */*` (or JSON), gets exactly the JSON bytes it always got."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from deployments import domain, pools
from orchestrator.api.renderers import PrefectJSONRenderer
from runs.models import Flow
from tests.runs.helpers import flow_run_in
from variables.models import Variable

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# What clients send: httpx (the Prefect client) sends */*; the rest are what other HTTP
# clients and scripts send. None of them names text/html first.
CLIENT_ACCEPTS = [
    "*/*",
    "application/json",
    "application/json, text/plain, */*",
    "*/*;q=0.8",
    "application/json;q=0.9,text/html;q=0.8",
]


@pytest.fixture
def world(db):
    flow = Flow.objects.create(name="etl", tags=["é-unicode"])
    run = flow_run_in(flow, "COMPLETED", run_name="brave-otter")
    pools.create_pool(name="laptop", type="process")
    body = {"flow_id": flow.id, "name": "nightly", "work_pool_name": "laptop", "parameters": {"n": 4}}
    deployment, _ = domain.save_deployment(body, set(body))
    Variable.objects.create(name="warehouse", value={"url": "postgresql://w/main"})
    return {"flow": flow, "run": run, "deployment": deployment}


def requests_of(world) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of the GET endpoints a person opens and the filters the client posts."""
    return [
        ("get", "/api/health", None),
        ("get", "/api/version", None),
        ("get", "/api/admin/version", None),
        ("get", "/api/hello", None),
        ("get", f"/api/flows/{world['flow'].pk}", None),
        ("get", f"/api/flow_runs/{world['run'].pk}", None),
        ("get", f"/api/deployments/{world['deployment'].pk}", None),
        ("get", "/api/work_pools/laptop", None),
        ("get", "/api/variables/name/warehouse", None),
        ("get", "/api/flows/00000000-0000-4000-8000-000000000000", None),
        ("get", "/api/flows/filter", None),
        ("get", "/api/no/such/endpoint", None),
        ("get", "/api/", None),
        ("post", "/api/", {}),
        ("post", "/api/flows/filter", {}),
        ("post", "/api/flow_runs/filter", {"limit": 5}),
        ("post", "/api/deployments/filter", {}),
        ("post", "/api/work_pools/filter", {}),
        ("post", "/api/variables/filter", {}),
        ("post", "/api/flows/filter", {"limit": "many"}),
        ("post", "/api/flows/count", {}),
    ]


def call(client: Client, method: str, path: str, body, accept: str | None):
    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    if method == "get":
        return client.get(path, **extra)
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


def test_the_client_gets_the_same_json_bytes_whatever_it_accepts(client, world):
    for method, path, body in requests_of(world):
        plain = call(client, method, path, body, None)
        assert plain["Content-Type"].startswith("application/json"), (path, plain["Content-Type"])
        for accept in CLIENT_ACCEPTS:
            answer = call(client, method, path, body, accept)
            assert (answer.status_code, answer.content) == (plain.status_code, plain.content), (method, path, accept)
            assert answer["Content-Type"] == plain["Content-Type"]


def test_the_json_is_the_compact_form_the_client_always_got(client, world):
    renderer = PrefectJSONRenderer()
    for method, path, body in requests_of(world):
        answer = call(client, method, path, body, "*/*")
        if path == "/api/" or path.startswith("/api/no/"):
            # Prefect's own 404 for a path it does not serve, as before.
            assert answer.status_code == 404 and answer.content == b'{"detail": "Not Found"}'
            continue
        assert answer.content == renderer.render(json.loads(answer.content)), path
    # Not ASCII-escaped, as before.
    assert "é-unicode".encode() in client.get(f"/api/flows/{world['flow'].pk}", HTTP_ACCEPT="*/*").content


def test_a_browser_gets_drfs_browsable_page(client, world):
    for method, path, body in requests_of(world):
        if method != "get":
            continue
        answer = call(client, method, path, body, BROWSER)
        assert answer.status_code < 500, (path, answer.status_code)
        if path.startswith("/api/no/"):
            continue  # no view: Prefect's JSON 404 for any client
        assert answer["Content-Type"].startswith("text/html"), path
        assert "Django REST framework" in answer.content.decode(), path


def test_the_api_front_page_lists_where_to_start(client, db):
    answer = client.get("/api/", HTTP_ACCEPT=BROWSER)

    markup = answer.content.decode()
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/html")
    assert "Orchestrator API" in markup
    assert "http://testserver/api/health" in markup and "http://testserver/api/flows/filter" in markup
    assert "POST: flow runs" in markup


def test_a_post_only_endpoint_offers_a_form_to_a_browser(client, db):
    answer = client.get("/api/flows/filter", HTTP_ACCEPT=BROWSER)

    markup = answer.content.decode()
    assert answer.status_code == 405
    assert "Allow:" in markup and "POST" in markup and "<form" in markup
