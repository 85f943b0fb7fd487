"""The benchmark's HTTP plumbing: retry delays, the tally, the client pool, and the client's
connection against a local scripted server."""

import http.server
import json
import random
import threading
import time

import pytest

from bench.client import Api, RequestFailed, RetryPolicy, Tally, run_pool


def test_retry_delays_double_up_to_the_maximum_with_jitter():
    policy = RetryPolicy(retries=10, first_delay=0.05, max_delay=2.0)
    rng = random.Random(1)
    for attempt, base in [(0, 0.05), (1, 0.1), (2, 0.2), (8, 2.0)]:
        delay = policy.delay(attempt, rng)
        assert 0.5 * base <= delay <= 1.5 * base


def test_the_tally_counts_retries_and_requests_given_up():
    tally = Tally()
    tally.attempt("POST /flow_runs/", 0.01)
    tally.error("POST /flow_runs/", "HTTP 503", "locked", will_retry=True)
    tally.error("POST /flow_runs/", "HTTP 503", "locked", will_retry=False)
    tally.gave_up()
    figures = tally.as_dict()
    assert figures["retried"] == 1
    assert figures["failed_requests"] == 1
    assert figures["error_answers"] == {"POST /flow_runs/": {"HTTP 503": 2}}
    assert tally.latency()["POST /flow_runs/"]["n"] == 1


def test_the_pool_runs_every_item_once_and_returns_the_failures():
    seen = []

    def work(i):
        seen.append(i)
        if i % 10 == 0:
            raise RuntimeError(f"item {i}")

    failures = run_pool(35, 4, work)
    assert sorted(seen) == list(range(35))
    assert sorted(str(f) for f in failures) == ["item 0", "item 10", "item 20", "item 30"]


def test_the_client_only_talks_to_this_machine():
    with pytest.raises(ValueError):
        Api("http://example.com/api")
    assert Api("http://127.0.0.1:4200/api/").api_url == "http://127.0.0.1:4200/api"


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A local server whose answers the test scripts: a queue of (status, body) per path; every
    connection it accepts and every request body it reads are kept."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the servers under test

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(self.rfile.read(length))
        status, body = self.server.script.pop(0) if self.server.script else (200, b'{"ok": true}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.close_after_each:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    server.connections = 0
    server.bodies = []
    server.script = []
    server.close_after_each = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _api(server, **policy) -> Api:
    return Api(f"http://127.0.0.1:{server.server_address[1]}/api", RetryPolicy(first_delay=0.001, **policy), timeout=5)


def test_requests_send_json_and_share_one_kept_alive_connection(receiver):
    api = _api(receiver)
    receiver.script = [(200, b'{"id": 1}'), (201, b"[1, 2]"), (204, b"")]
    assert api.post("flow_runs/", {"name": "a"}) == {"id": 1}
    assert api.get("flow_runs/1") == [1, 2]
    assert api.post("flow_runs/1/delete") is None
    assert [json.loads(body) if body else None for body in receiver.bodies] == [{"name": "a"}, None, {}]
    assert receiver.connections == 1


def test_a_busy_answer_is_retried_and_counted_and_a_server_error_is_not(receiver):
    api = _api(receiver)
    tally = Tally()
    receiver.script = [(503, b'{"detail": "locked"}'), (200, b"{}")]
    assert api.post("flow_runs/", {}, tally=tally, endpoint="create") == {}
    assert tally.retried == 1 and tally.attempts == 2
    receiver.script = [(500, b"boom")]
    with pytest.raises(RequestFailed, match="HTTP 500: boom"):
        api.post("flow_runs/", {}, tally=tally, endpoint="create")
    assert tally.failed == 1 and tally.retried == 1


def test_a_connection_the_server_closed_is_replaced_without_counting_an_error(receiver):
    api = _api(receiver)
    tally = Tally()
    receiver.close_after_each = True
    for _ in range(3):
        api.get("health", tally=tally)
        time.sleep(0.05)  # the server's close reaches the client before the next request
    assert tally.error_count == 0 and tally.attempts == 3
    assert receiver.connections == 3


def test_a_server_that_is_gone_fails_the_request_after_the_retries(receiver):
    api = _api(receiver, retries=2)
    tally = Tally()
    receiver.shutdown()
    receiver.server_close()
    with pytest.raises(RequestFailed):
        api.get("health", tally=tally)
    assert tally.retried == 2 and tally.failed == 1
    assert not api.healthy()


def test_health_is_asked_on_a_connection_of_its_own(receiver):
    api = _api(receiver)
    assert api.healthy()
    receiver.script = [(503, b"{}")]
    assert not api.healthy()
