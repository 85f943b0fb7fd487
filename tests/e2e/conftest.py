"""End-to-end fixtures: a real server process and the real Prefect client.

The server runs as `orchestrator server start` in its own process group, with a temporary
PREFECT_HOME and its own database: a temporary SQLite file, or, when
ORCHESTRATOR_TEST_DATABASE_URL names a PostgreSQL server, a fresh database created there and
dropped afterwards. Flows run in the separate Prefect venv (ORCHESTRATOR_PREFECT_PYTHON) exactly
as a user runs them, and the tests read what the server recorded over HTTP. Nothing here
touches the pytest-django test database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
FLOWS = Path(__file__).resolve().parent / "flows"
PREFECT_PYTHON = Path(os.environ.get("ORCHESTRATOR_PREFECT_PYTHON") or REPO / ".venv-prefect" / "bin" / "python")
PREFECT_CLI = PREFECT_PYTHON.with_name("prefect")
ORCHESTRATOR = (
    Path(sys.executable).with_name("orchestrator")
    if Path(sys.executable).with_name("orchestrator").exists()
    else REPO / ".venv" / "bin" / "orchestrator"
)

# Task runs reach the server as websocket events and are written asynchronously; the server
# records them within about a second, so 15 s only runs out when something is wrong.
RECORD_TIMEOUT = 15.0


@pytest.fixture(scope="session", autouse=True)
def _prefect_client_installed() -> None:
    if not os.access(PREFECT_PYTHON, os.X_OK):
        pytest.skip(
            f"end-to-end tests need the real Prefect client: {PREFECT_PYTHON} is missing "
            "(run `make install-test`, or set ORCHESTRATOR_PREFECT_PYTHON to a python with prefect==3.8.8)"
        )


# --- processes -----------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: ours minus every setting that would leak the test
    process's configuration (pytest-django exports PREFECT_HOME, a database URL and
    DJANGO_SETTINGS_MODULE=settings.test)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "ORCHESTRATOR_", "DJANGO_")) and key != "REDIS_URL"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Finished:
    """A finished child process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return f"$ {' '.join(self.args)}\nexit status {self.returncode}\n--- output ---\n{self.output[-6000:]}"

    def result(self) -> Any:
        """The JSON (or text) a flow script printed on its `RESULT ...` line."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("RESULT "):
                text = line[len("RESULT ") :]
                try:
                    return json.loads(text)
                except ValueError:
                    return text
        raise AssertionError(f"no RESULT line\n{self.describe()}")


def run(
    args: list[str], env: dict[str, str], cwd: Path, *, expect: int | None = 0, input: str | None = None, timeout=120
) -> Finished:
    """Run a command to its end; fail with its output unless it exits with `expect`
    (None accepts any status)."""
    try:
        done = subprocess.run(
            [str(a) for a in args],
            env=env,
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"$ {' '.join(map(str, args))} did not finish within {timeout}s\n{out[-6000:]}")
    finished = Finished([str(a) for a in args], done.returncode, done.stdout, done.stderr)
    if expect is not None and done.returncode != expect:
        pytest.fail(f"expected exit status {expect}\n{finished.describe()}")
    return finished


def _default_interrupt() -> None:
    """In the child before exec: Ctrl+C (SIGINT) stops it, as in a user's terminal, even when
    the suite itself runs in the background of a script (`make test &`, nohup), which makes
    every child inherit SIGINT ignored and the Prefect processes deaf to the tests' Ctrl+C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Background:
    """A child process in its own process group, its output going to a file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log_path: Path):
        self.args = [str(a) for a in args]
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            self.args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_interrupt,
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; kill it (and fail) when it does not."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"$ {' '.join(self.args)} did not finish within {timeout}s\n{self.output()[-6000:]}")

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl+C: SIGINT to the process group, then wait for the exit status."""
        if self.running():
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.running():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self._log.close()

    def describe(self) -> str:
        return f"$ {' '.join(self.args)}\n--- output ---\n{self.output()[-6000:]}"


# --- the database ----------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("ORCHESTRATOR_TEST_DATABASE_URL", "")
    return url if url.split("://", 1)[0].split("+", 1)[0] in ("postgres", "postgresql") else None


def _libpq_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, ""))


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """A new, empty database for one server; yields its PREFECT_API_DATABASE_CONNECTION_URL."""
    url = postgres_url()
    if url is None:
        yield f"sqlite+aiosqlite:///{directory / 'orchestrator.db'}"
        return
    import psycopg

    name = f"orchestrator_e2e_{secrets.token_hex(6)}"
    admin = _libpq_url(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _libpq_url(url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def query_database(url: str, sql: str) -> list[tuple]:
    """Read a server's database directly (for what no API shows, e.g. after a reset)."""
    if url.startswith("sqlite"):
        import sqlite3

        path = url.split(":///", 1)[1]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


# --- the server ------------------------------------------------------------------------------


class ServerProcess(Background):
    """`orchestrator server start` on a free loopback port."""

    def __init__(self, workdir: Path, database_url: str, *, services: bool = True, **env: str):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.database_url = database_url
        self.env = clean_env(
            PREFECT_HOME=str(workdir / "server-home"), PREFECT_API_DATABASE_CONNECTION_URL=database_url, **env
        )
        args = [ORCHESTRATOR, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        if not services:
            args.append("--no-services")
        super().__init__(args, self.env, workdir, workdir / f"server-{self.port}.log")

    def wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                pytest.fail(
                    f"the server exited with status {self.proc.returncode} before it answered\n{self.describe()}"
                )
            try:
                # Not kept alive: a probe's connection left open would count as a client's.
                response = requests.get(f"{self.api_url}/health", timeout=2, headers={"Connection": "close"})
                if response.status_code == 200 and response.json() is True:
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"the server did not answer GET /api/health within {timeout}s\n{self.describe()}")

    def stop(self) -> tuple[int, str]:
        """Ctrl+C, as a user stops it; returns the exit status and everything it printed."""
        code = self.interrupt(timeout=30)
        self._log.close()
        return code, self.output()


def assert_stopped_cleanly(code: int, output: str) -> None:
    assert code == 0, f"the server exited with status {code}\n{output[-6000:]}"
    assert "Traceback" not in output, f"the server printed a traceback\n{output[-6000:]}"
    assert "Server stopped." in output, output[-6000:]


@contextmanager
def running_server(workdir: Path, database_url: str, **kwargs) -> Iterator[ServerProcess]:
    """A started, healthy server; stopped with Ctrl+C on the way out (and checked to stop
    cleanly unless the body failed)."""
    server = ServerProcess(workdir, database_url, **kwargs)
    try:
        server.wait_until_healthy()
        yield server
    except BaseException:
        server.kill()
        raise
    code, output = server.stop()
    assert_stopped_cleanly(code, output)


@pytest.fixture(scope="session")
def orchestrator_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """The server every flow test talks to, for the whole session."""
    workdir = tmp_path_factory.mktemp("orchestrator-server")
    with fresh_database(workdir) as url:
        with running_server(workdir, url) as server:
            yield server


# --- talking to the server -------------------------------------------------------------------


class Api:
    """Our API over HTTP, as any client sees it."""

    def __init__(self, api_url: str):
        self.api_url = api_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, f"{self.api_url}/{path.lstrip('/')}", **kwargs)

    def _json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.ok, f"{method} /api/{path} answered {response.status_code}: {response.text[:2000]}"
        return response.json() if response.content else None

    def get(self, path: str, **params) -> Any:
        return self._json("GET", path, params=params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self._json("POST", path, json={} if body is None else body)

    # The reads the tests need most.

    def flow_run(self, flow_run_id: str) -> dict:
        return self.get(f"flow_runs/{flow_run_id}")

    def flow_run_states(self, flow_run_id: str) -> list[dict]:
        return self.get("flow_run_states/", flow_run_id=flow_run_id)

    def task_run(self, task_run_id: str) -> dict:
        return self.get(f"task_runs/{task_run_id}")

    def task_runs(self, flow_run_id: str) -> list[dict]:
        return self.post(
            "task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}, "sort": "EXPECTED_START_TIME_ASC"}
        )

    def task_run_states(self, task_run_id: str) -> list[dict]:
        return self.get("task_run_states/", task_run_id=task_run_id)

    def logs(self, flow_run_id: str) -> list[dict]:
        return self.post("logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_ASC"})

    def children(self, flow_run_id: str) -> list[dict]:
        return self.post(
            "flow_runs/filter",
            {"flow_runs": {"parent_flow_run_id": {"any_": [flow_run_id]}}, "sort": "EXPECTED_START_TIME_ASC"},
        )


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def wait_for(probe: Callable[[], Any], what: str, timeout: float = RECORD_TIMEOUT, every: float = 0.2) -> Any:
    """Poll probe() until it returns something truthy (the server records task runs and
    hands back some results asynchronously)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}; last saw: {last!r}"[:4000])
        time.sleep(every)


def wait_for_task_runs(api: Api, flow_run_id: str, count: int, final: bool = True) -> list[dict]:
    """The flow run's task runs once `count` of them are recorded (in a final state, unless
    final=False)."""

    def probe():
        runs = api.task_runs(flow_run_id)
        if len(runs) < count:
            return None
        if final and not all(r["state_type"] in FINAL_TYPES for r in runs):
            return None
        return runs

    return wait_for(probe, f"{count} task runs of flow run {flow_run_id}")


FINAL_TYPES = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


@pytest.fixture(scope="session")
def server_api(orchestrator_server) -> Api:
    return Api(orchestrator_server.api_url)


# What the client prints when the server lets it down without failing the flow: a refused
# events socket (task runs are then lost), events or logs it gave up sending, a version warning.
CLIENT_COMPLAINTS = (
    "Unable to connect to",
    "pending items",
    "running an older version of Prefect",
    "Failed to reach API",
)


def assert_no_client_complaints(output: str, described: str) -> None:
    complaints = [line for line in output.splitlines() if any(c in line for c in CLIENT_COMPLAINTS)]
    assert not complaints, "the Prefect client complained:\n" + "\n".join(complaints) + "\n" + described


class PrefectClient:
    """Runs flow scripts and the `prefect` CLI from the Prefect venv against the live server,
    with a temporary PREFECT_HOME."""

    def __init__(self, server: ServerProcess, workdir: Path):
        self.workdir = workdir
        self.env = clean_env(
            PREFECT_API_URL=server.api_url,
            PREFECT_HOME=str(workdir / "client-home"),
            COLUMNS="250",  # rich tables cut long names in a narrow terminal
        )

    def script(self, name: str, *args: Any, expect: int | None = 0, timeout: float = 120) -> Finished:
        done = run([PREFECT_PYTHON, FLOWS / name, *args], self.env, self.workdir, expect=expect, timeout=timeout)
        assert_no_client_complaints(done.output, done.describe())
        return done

    def start_script(self, name: str, *args: Any) -> Background:
        log = self.workdir / f"{Path(name).stem}-{secrets.token_hex(3)}.log"
        return Background([PREFECT_PYTHON, FLOWS / name, *args], self.env, self.workdir, log)

    def python(self, code: str, expect: int | None = 0) -> Finished:
        return run([PREFECT_PYTHON, "-c", code], self.env, self.workdir, expect=expect)

    def cli(self, *args: Any, expect: int | None = 0) -> Finished:
        return run([PREFECT_CLI, *args], self.env, self.workdir, expect=expect)


@pytest.fixture(scope="session")
def prefect(orchestrator_server, tmp_path_factory) -> PrefectClient:
    return PrefectClient(orchestrator_server, tmp_path_factory.mktemp("prefect-client"))


@pytest.fixture(scope="session")
def core_runs(prefect) -> dict[str, str]:
    """flows/core.py, run once: the ids of its pipeline, recovers, broken and parent runs."""
    return prefect.script("core.py").result()


# --- a server whose services loop every second ------------------------------------------------

# For the tests that wait for a service to act (the scheduler restocking, the foreman,
# cancellation cleanup): every loop runs each second and the timeouts are a second or two,
# so a service's effect shows within a few seconds instead of minutes.
FAST_SERVICES = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_CANCELLING_TIMEOUT_SECONDS": "1",
    # A run held back by its deployment's concurrency limit tries again 2 s later, not 30 s.
    "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
}


@pytest.fixture(scope="session")
def fast_services_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """A second server, with its own database, whose services loop every second."""
    workdir = tmp_path_factory.mktemp("fast-services-server")
    with fresh_database(workdir) as url:
        with running_server(workdir, url, **FAST_SERVICES) as server:
            yield server


@pytest.fixture(scope="session")
def fast_api(fast_services_server) -> Api:
    return Api(fast_services_server.api_url)


@pytest.fixture(scope="session")
def fast_prefect(fast_services_server, tmp_path_factory) -> PrefectClient:
    return PrefectClient(fast_services_server, tmp_path_factory.mktemp("fast-prefect-client"))
