"""How the real server answers over HTTP, whichever way a request takes through it.

Plain HTTP requests are answered on the Django handler's thread pool and written through
Daphne's request directly (orchestrator.serving.PoolAnswer); static files and websockets go
through the ASGI application. These run against the session's real server process.
"""

from __future__ import annotations

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import ServerProcess, assert_stopped_cleanly, fresh_database, query_database, wait_for

pytestmark = pytest.mark.e2e


def create_flow_run(api) -> str:
    flow = api.post("flows/", {"name": f"serving-{uuid.uuid4().hex[:8]}"})
    return api.post("flow_runs/", {"flow_id": flow["id"], "state": {"type": "RUNNING"}})["id"]


def log_records(flow_run_id: str, count: int, message_size: int) -> list[dict]:
    return [
        {
            "name": "serving-test",
            "level": 20,
            "message": f"{i:06d} " + "x" * message_size,
            "timestamp": f"2026-11-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}000+00:00",
            "flow_run_id": flow_run_id,
        }
        for i in range(count)
    ]


def test_a_body_larger_than_the_in_memory_limit_arrives_whole(orchestrator_server, server_api):
    # 300 records of 10 kB: about 3 MB, past Django's 2.5 MB in-memory limit for bodies.
    flow_run_id = create_flow_run(server_api)
    records = log_records(flow_run_id, 300, 10_000)
    response = requests.post(f"{orchestrator_server.api_url}/logs/", json=records, timeout=30)
    assert response.status_code == 201, response.text[:500]
    body = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
    stored = server_api.post("logs/filter", body) + server_api.post("logs/filter", dict(body, offset=200))
    assert sorted(log["message"] for log in stored) == sorted(record["message"] for record in records)


def test_a_run_s_log_download_streams_every_record(orchestrator_server, server_api):
    flow_run_id = create_flow_run(server_api)
    server_api.post("logs/", log_records(flow_run_id, 250, 50))
    response = requests.get(f"{orchestrator_server.api_url}/flow_runs/{flow_run_id}/logs/download", timeout=30)
    assert response.status_code == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"
    lines = response.text.splitlines()
    assert lines[0] == "timestamp,level,flow_run_id,task_run_id,message"
    assert sorted(line.rsplit(",", 1)[1].split(" ")[0] for line in lines[1:]) == [f"{i:06d}" for i in range(250)]


def test_a_static_file_is_served_with_its_content_type(orchestrator_server):
    response = requests.get(f"{orchestrator_server.url}/static/css/orchestrator.css", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert len(response.content) > 100


def test_a_dashboard_form_page_sets_its_csrf_cookie(orchestrator_server):
    response = requests.get(f"{orchestrator_server.url}/notifications/new", timeout=30)
    assert response.status_code == 200, response.status_code
    assert "csrftoken" in response.cookies


def test_errors_keep_their_status_and_json_shape(orchestrator_server):
    missing = requests.get(f"{orchestrator_server.api_url}/flow_runs/{uuid.uuid4()}", timeout=30)
    assert missing.status_code == 404
    bad = requests.post(
        f"{orchestrator_server.api_url}/flow_runs/filter",
        json={"flow_runs": {"state": {"type": {"any_": "COMPLETED"}}}},
        timeout=30,
    )
    assert bad.status_code == 422
    assert bad.json()["exception_detail"][0]["loc"] == ["body", "flow_runs", "state", "type", "any_"]


def test_requests_on_one_kept_alive_connection_are_answered_in_order(orchestrator_server, server_api):
    flow_run_ids = [create_flow_run(server_api) for _ in range(3)]
    connection = http.client.HTTPConnection("127.0.0.1", orchestrator_server.port, timeout=30)
    try:
        for _ in range(5):
            for flow_run_id in flow_run_ids:
                connection.request("GET", f"/api/flow_runs/{flow_run_id}")
                response = connection.getresponse()
                assert response.status == 200
                assert json.loads(response.read())["id"] == flow_run_id
    finally:
        connection.close()


def test_many_clients_at_once_each_get_their_own_answer(orchestrator_server, server_api):
    flow_run_ids = [create_flow_run(server_api) for _ in range(8)]

    def fetch(i: int) -> tuple[str, str]:
        flow_run_id = flow_run_ids[i % len(flow_run_ids)]
        answer = requests.get(f"{orchestrator_server.api_url}/flow_runs/{flow_run_id}", timeout=30)
        return flow_run_id, answer.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        pairs = list(pool.map(fetch, range(80)))
    assert all(asked == answered for asked, answered in pairs)


def test_a_state_change_s_event_can_be_read_soon_after_the_change(orchestrator_server, server_api):
    flow_run_id = create_flow_run(server_api)
    server_api.post(f"flow_runs/{flow_run_id}/set_state", {"state": {"type": "COMPLETED"}, "force": True})

    def completed_event():
        found = server_api.post(
            "events/filter",
            {
                "filter": {
                    "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
                    "event": {"name": ["prefect.flow-run.Completed"]},
                }
            },
        )
        return found["events"]

    assert wait_for(completed_event, "the Completed event", timeout=5)


def test_events_of_changes_made_just_before_ctrl_c_are_all_stored(tmp_path):
    with fresh_database(tmp_path) as url:
        server = ServerProcess(tmp_path, url, services=False)
        try:
            server.wait_until_healthy()
            session = requests.Session()
            api = server.api_url
            flow = session.post(f"{api}/flows/", json={"name": "stopping"}, timeout=30).json()
            for i in range(20):
                run = session.post(
                    f"{api}/flow_runs/",
                    json={"flow_id": flow["id"], "name": f"r{i}", "state": {"type": "SCHEDULED"}},
                    timeout=30,
                ).json()
                for state in ("PENDING", "RUNNING"):
                    answer = session.post(
                        f"{api}/flow_runs/{run['id']}/set_state", json={"state": {"type": state}}, timeout=30
                    )
                    assert answer.json()["status"] == "ACCEPT"
        except BaseException:
            server.kill()
            raise
        code, output = server.stop()  # at once: the last events are still gathering
        assert_stopped_cleanly(code, output)
        states = query_database(url, "SELECT id FROM runs_flowrunstate")
        events = query_database(url, "SELECT id FROM events_event WHERE event LIKE 'prefect.flow-run.%'")
        assert len(states) == 60
        assert sorted(str(row[0]).replace("-", "") for row in events) == sorted(
            str(row[0]).replace("-", "") for row in states
        )
