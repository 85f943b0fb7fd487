"""HTTP to the server under test: one keep-alive connection per client thread, a bounded retry
policy, and a tally of every attempt.

The transport is the standard library's `http.client`, one connection per thread (one thread per
simulated client, the model the scenarios describe: "C concurrent clients"). The load generator
shares the small machine with the server it measures, so every millisecond of client CPU is a
millisecond the server does not get: `requests` spent about 1.8 ms of client CPU per request
here, `http.client` about 0.6 ms. Against a server answering a few hundred requests a second on
two cores, that difference was a fifth of a core. The benchmark still reports its own CPU
(`client_cpu_s`), so the share it takes stays visible.
"""

from __future__ import annotations

import http.client
import json
import random
import select
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .stats import latency_summary

# What Prefect's own client retries (PROTOCOL.md §1), plus 504 from a proxy in front; a 500 is a
# server bug and fails the request at once, so it is never hidden by a retry.
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a request up to `retries` times, waiting `first_delay` doubled per attempt up to
    `max_delay`, with ±50 % jitter so that clients refused together do not return together."""

    retries: int = 10
    first_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait before retry number `attempt` (0 for the first retry)."""
        base = min(self.first_delay * 2**attempt, self.max_delay)
        return base * (rng or random).uniform(0.5, 1.5)


class RequestFailed(Exception):
    """A request that did not succeed within the retry policy (or failed in a way no retry mends)."""


class Tally:
    """Every attempt's latency per endpoint, the error answers, how many attempts were retries and
    how many requests failed for good. Shared by a scenario's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.retried = 0
        self.failed = 0
        self.samples: list[str] = []

    def attempt(self, endpoint: str, seconds: float) -> None:
        with self._lock:
            self.latencies[endpoint].append(seconds)

    def error(self, endpoint: str, kind: str, detail: str, *, will_retry: bool) -> None:
        with self._lock:
            self.errors[endpoint][kind] += 1
            if will_retry:
                self.retried += 1
            if len(self.samples) < 10:
                self.samples.append(f"{endpoint}: {kind} {detail[:300]}")

    def gave_up(self) -> None:
        with self._lock:
            self.failed += 1

    @property
    def attempts(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(sum(c.values()) for c in self.errors.values())

    def latency(self) -> dict[str, Any]:
        return {endpoint: latency_summary(values) for endpoint, values in sorted(self.latencies.items())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "error_answers": {endpoint: dict(kinds) for endpoint, kinds in self.errors.items()},
            "retried": self.retried,
            "failed_requests": self.failed,
            "error_samples": self.samples,
        }


class Api:
    """The API of one server (`http://127.0.0.1:PORT/api`), callable from many threads."""

    def __init__(self, api_url: str, policy: RetryPolicy | None = None, timeout: float = 120.0):
        parts = urlsplit(api_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.scheme != "http":
            raise ValueError(f"the benchmark only talks to servers on this machine, not {api_url}")
        self.api_url = api_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        """This thread's kept-alive connection, as one client has; a new one if the server
        closed the last (as urllib3 checks before it reuses a connection), so that an idle
        connection the server let go is not counted as a failed request."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and _closed_by_peer(conn.sock):
            conn.close()
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def _send(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        conn = self.connection()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, f"{self.prefix}/{path.lstrip('/')}", body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        tally: Tally | None = None,
        endpoint: str | None = None,
        retry: bool = True,
    ) -> Any:
        """One logical request: every attempt is timed under `endpoint` (default: method and
        path) in `tally`; retryable answers and connection errors are retried per the policy.
        Returns the decoded JSON (None for an empty body); raises RequestFailed."""
        endpoint = endpoint or f"{method} {path}"
        if data is not None:
            payload = data
        elif body is not None or method != "GET":
            payload = json.dumps({} if body is None else body).encode()
        else:
            payload = None
        retries = self.policy.retries if retry else 0
        last = ""
        for attempt in range(retries + 1):
            will_retry = attempt < retries
            started = time.perf_counter()
            try:
                status, content = self._send(method, path, payload)
            except (OSError, http.client.HTTPException) as exc:
                last = f"{type(exc).__name__}: {exc}"
                if tally:
                    tally.error(endpoint, type(exc).__name__, str(exc), will_retry=will_retry)
                self._drop_connection()  # the connection is broken: open a new one
            else:
                if tally:
                    tally.attempt(endpoint, time.perf_counter() - started)
                if status < 400:
                    return json.loads(content) if content else None
                text = content.decode(errors="replace")
                last = f"HTTP {status}: {text[:300]}"
                retryable = status in RETRY_STATUSES
                if tally:
                    tally.error(endpoint, f"HTTP {status}", text, will_retry=will_retry and retryable)
                if not retryable:
                    break
            if will_retry:
                time.sleep(self.policy.delay(attempt))
        if tally:
            tally.gave_up()
        raise RequestFailed(f"{method} /{path.lstrip('/')} failed: {last}")

    def post(self, path: str, body: Any = None, **kwargs) -> Any:
        return self.call("POST", path, body, **kwargs)

    def get(self, path: str, **kwargs) -> Any:
        return self.call("GET", path, **kwargs)

    def healthy(self) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
        try:
            conn.request("GET", f"{self.prefix}/health")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()


def _closed_by_peer(sock: socket.socket) -> bool:
    """True if a kept-alive connection has been closed by the server (or has bytes no request
    asked for): it reads as ready while nothing is awaited."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def run_pool(count: int, concurrency: int, work: Callable[[int], None]) -> list[BaseException]:
    """work(0..count-1) on `concurrency` threads, each taking the next item when it is done (so
    exactly `concurrency` requests are in flight, as with C clients). Returns the exceptions of
    the items that failed."""
    items = iter(range(count))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                return
            try:
                work(item)
            except Exception as exc:  # noqa: BLE001 - one item's failure is a result, not a crash
                with lock:
                    failures.append(exc)

    threads = [threading.Thread(target=worker, name=f"bench-client-{n}") for n in range(max(1, concurrency))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures
