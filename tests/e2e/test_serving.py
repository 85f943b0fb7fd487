"""How the real server answers over HTTP, whichever way a request takes through it.

Each connection speaks HTTP through orchestrator.httpchannel. Plain HTTP requests are answered
on the Django handler's thread pool (orchestrator.serving.PoolAnswer); static files go through
the ASGI application, and websockets are handed to Daphne's websocket protocol. These run
against the session's real server process, some over a raw socket to send what a client
library would not.
"""

from __future__ import annotations

import http.client
import json
import socket
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


# --- HTTP on the wire --------------------------------------------------------------------------


def exchange(server, data: bytes, *, until_closed: bool = False, responses: int = 1) -> bytes:
    """Send raw bytes; read until the server closes the connection, or until `responses`
    whole responses (each with a Content-Length) have arrived."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(data)
        received = b""
        while True:
            if not until_closed and complete_responses(received) >= responses:
                return received
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def complete_responses(data: bytes) -> int:
    count = 0
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        if len(rest) < length:
            break
        data = rest[length:]
        count += 1
    return count


def test_a_chunked_request_body_is_read_whole(orchestrator_server):
    name = f"chunked-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", orchestrator_server.port, timeout=30)
    try:
        parts = iter([body[:5], body[5:9], body[9:]])
        connection.request(
            "POST", "/api/flows/", body=parts, headers={"Content-Type": "application/json"}, encode_chunked=True
        )
        response = connection.getresponse()
        assert response.status == 201, response.read()
        assert json.loads(response.read())["name"] == name
    finally:
        connection.close()


def test_pipelined_requests_are_answered_in_the_order_sent(orchestrator_server, server_api):
    flow_run_ids = [create_flow_run(server_api) for _ in range(3)]
    requests_bytes = b"".join(
        f"GET /api/flow_runs/{flow_run_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for flow_run_id in flow_run_ids
    )
    received = exchange(orchestrator_server, requests_bytes, responses=3)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert [json.loads(body)["id"] for body in bodies] == flow_run_ids


def test_a_head_request_gets_the_headers_without_a_body(orchestrator_server):
    received = exchange(
        orchestrator_server, b"HEAD /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", until_closed=True
    )
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length: 4" in head
    assert body == b""


def test_an_http_1_0_connection_closes_after_its_answer_unless_kept_alive(orchestrator_server):
    closed = exchange(orchestrator_server, b"GET /api/health HTTP/1.0\r\n\r\n", until_closed=True)
    assert closed.startswith(b"HTTP/1.0 200 OK") and closed.endswith(b"\r\n\r\ntrue")
    kept = exchange(orchestrator_server, b"GET /api/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2, responses=2)
    assert kept.count(b"HTTP/1.0 200 OK") == 2
    assert b"Connection: keep-alive" in kept


def test_a_client_that_expects_100_continue_is_told_to_send_its_body(orchestrator_server):
    name = f"continue-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name}).encode()
    head = (
        f"POST /api/flows/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", orchestrator_server.port), timeout=30) as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 201 Created")
    assert json.loads(received.partition(b"\r\n\r\n")[2])["name"] == name


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /api/health HTTP/1.1\r\nBad Header Name: x\r\n\r\n", b"400"),
        (b"GET /api/health HTTP/1.1\r\nX-Value: a\x0bb\r\n\r\n", b"400"),
        (b"POST /api/flows/ HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", b"400"),
        (b"POST /api/flows/ HTTP/1.1\r\nContent-Length: two\r\n\r\n{}", b"400"),
        (b"POST /api/flows/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"POST /api/flows/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"GET /api/health HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /api/h\xc3\xa9alth HTTP/1.1\r\n\r\n", b"400"),
        (b"GET /api/health HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
    ],
    ids=[
        "no request line",
        "header name with spaces",
        "control byte in a value",
        "both framings",
        "non-numeric length",
        "unknown coding",
        "bad chunk size",
        "HTTP/2 over plain text",
        "non-ASCII path",
        "oversized head",
    ],
)
def test_a_malformed_request_is_refused_and_its_connection_closed(orchestrator_server, request_bytes, status):
    received = exchange(orchestrator_server, request_bytes, until_closed=True)
    assert received.split(b" ")[1] == status, received[:200]
    assert b"Connection: close" in received


def test_the_server_still_answers_after_malformed_requests(orchestrator_server):
    exchange(orchestrator_server, b"NONSENSE\r\n\r\n", until_closed=True)
    assert requests.get(f"{orchestrator_server.api_url}/health", timeout=30).json() is True
