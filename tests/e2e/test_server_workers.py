"""`orchestrator server start --workers N`: one port served by several real processes.

The first process serves and starts N-1 more (`--worker-process`), which inherit its listening
socket; a process takes a new connection only while no other holds fewer, so kept-alive clients
are spread evenly. Websockets hear state changes made in other processes through Redis.
Which process holds a connection is read from /proc: the server side of a loopback
connection is the socket in /proc/net/tcp whose remote port is the client's local port, and
its owner is the process with that socket among its file descriptors.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import secrets
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from .conftest import (
    ORCHESTRATOR,
    Background,
    ServerProcess,
    assert_stopped_cleanly,
    clean_env,
    free_port,
    fresh_database,
    run,
    wait_for,
)

pytestmark = pytest.mark.e2e

# A database number of its own. (Redis's publish/subscribe, which the channel layer uses, is
# not separated by database number: events of another server on the same Redis may arrive
# too, so the tests only look at the runs they made.)
REDIS_URL = "redis://127.0.0.1:6379/11"
WORKERS = 3


def require_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        pytest.skip("serving from several workers needs Redis on 127.0.0.1:6379")


@pytest.fixture
def database(tmp_path):
    """A fresh database of this test's own (SQLite, or PostgreSQL in the PostgreSQL run)."""
    with fresh_database(tmp_path) as url:
        yield url


# --- processes and their sockets, from /proc ------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return state, int(ppid)


def alive(pid: int) -> bool:
    """Whether any thread of the process is still running. The leader alone is not enough: when
    a process exits, its main thread can already be a zombie while another thread is still on
    its way out, holding the process's files (the listening socket among them)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in threads:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if text[text.rindex(")") + 2] not in ("Z", "X"):
            return True
    return False


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def worker_processes(parent: int) -> set[int]:
    """The live `--worker-process` children of a server process."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat and stat[1] == parent and stat[0] not in ("Z", "X") and "--worker-process" in _cmdline(int(entry)):
            found.add(int(entry))
    return found


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    listening: bool
    inode: int


def tcp_sockets() -> list[TcpSocket]:
    """IPv4 TCP sockets of this network namespace (/proc/net/tcp)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        found.append(
            TcpSocket(
                local_port=int(fields[1].rsplit(":", 1)[1], 16),
                remote_port=int(fields[2].rsplit(":", 1)[1], 16),
                listening=fields[3] == "0A",
                inode=int(fields[9]),
            )
        )
    return found


def sockets_of(pid: int) -> set[int]:
    """The inodes of the sockets a process has open."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    inodes = set()
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def socket_owners(pids: set[int]) -> dict[int, int]:
    """Socket inode -> the one of these processes that has it open."""
    return {inode: pid for pid in pids for inode in sockets_of(pid)}


def listeners(port: int) -> list[TcpSocket]:
    return [s for s in tcp_sockets() if s.listening and s.local_port == port]


def processes_listening(port: int, pids: set[int]) -> set[int]:
    """The processes (of pids) holding a socket that listens on the port."""
    inodes = {s.inode for s in listeners(port)}
    return {pid for pid in pids if sockets_of(pid) & inodes}


def served_connections(port: int, pids: set[int]) -> Iterator[tuple[int, int]]:
    """(client's port, serving process) of each connection on the port that one of these
    processes holds open (a closed client's stays until its process has seen the close)."""
    owners = socket_owners(pids)
    for s in tcp_sockets():
        if s.local_port == port and not s.listening and s.inode in owners:
            yield s.remote_port, owners[s.inode]


def connections_held(port: int, pids: set[int]) -> Counter:
    """How many connections on the port each of these processes holds open."""
    return Counter(pid for _, pid in served_connections(port, pids))


def process_serving(port: int, client_port: int, pids: set[int]) -> int | None:
    """The process (of pids) holding the server side of our connection from client_port."""
    return next((pid for remote, pid in served_connections(port, pids) if remote == client_port), None)


# --- the server --------------------------------------------------------------------------------


class WorkersServer(ServerProcess):
    """`orchestrator server start --workers N` on a free loopback port, with REDIS_URL."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        workers: int = WORKERS,
        *,
        port: int | None = None,
        program: Sequence[Any] = (ORCHESTRATOR,),
    ):
        require_redis()
        # As ServerProcess, with --workers on the command line.
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.database_url = database_url
        self.workers = workers
        self.env = clean_env(
            PREFECT_HOME=str(workdir / "server-home"),
            PREFECT_API_DATABASE_CONNECTION_URL=database_url,
            REDIS_URL=REDIS_URL,
        )
        self.seen: set[int] = set()
        args = [*program, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--workers", str(workers)]
        Background.__init__(self, args, self.env, workdir, workdir / f"server-{self.port}.log")

    def children(self) -> set[int]:
        found = worker_processes(self.proc.pid)
        self.seen |= found
        return found

    def processes(self) -> set[int]:
        """The first process and its workers."""
        return {self.proc.pid} | self.children()

    def all_listening(self) -> set[int] | None:
        """Every process when there are N, each holding the port's listening socket and
        answering on it (a worker just started holds the socket before it serves)."""
        pids = self.processes()
        if len(pids) != self.workers or processes_listening(self.port, pids) != pids:
            return None
        with held_connections(self, 2 * self.workers) as held:
            return pids if {pid for _, pid in held} == pids else None

    def wait_until_ready(self, timeout: float = 60) -> set[int]:
        self.wait_until_healthy()

        def ready() -> set[int] | None:
            assert "Traceback" not in self.output(), f"a process of the server failed\n{self.describe()}"
            return self.all_listening()

        return wait_for(ready, f"{self.workers} processes listening on the port", timeout=timeout)

    def kill_all(self) -> None:
        """Leave nothing behind: the first process's group, then any worker still running."""
        if self.running():
            self.children()
        self.kill()
        for pid in self.seen:
            if alive(pid) and "--worker-process" in _cmdline(pid) and str(self.port) in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def workers_server(workdir: Path, database_url: str, ready_within: float = 60, **kwargs) -> Iterator[WorkersServer]:
    """A started server whose workers all listen; whatever the test leaves running is killed."""
    server = WorkersServer(workdir, database_url, **kwargs)
    try:
        server.wait_until_ready(ready_within)
        yield server
    finally:
        server.kill_all()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> Iterator[WorkersServer]:
    """One server with three workers for the tests that only talk to it; Ctrl+C at the end."""
    workdir = tmp_path_factory.mktemp("workers-server")
    with fresh_database(workdir) as url:
        server = WorkersServer(workdir, url)
        try:
            server.wait_until_ready()
            yield server
        except BaseException:
            server.kill_all()
            raise
        code, output = server.stop()
        server.kill_all()
        assert_stopped_cleanly(code, output)


# --- talking to the server over new connections -------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any
    pid: int | None  # the process that answered


def on_a_new_connection(server: WorkersServer, method: str, path: str, body: Any = None) -> Answer:
    """One API call over a connection of its own, and which process answered it."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, f"/api/{path}", body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        content = response.read()
        # The connection is kept alive after the answer, so its server side is still open.
        pid = process_serving(server.port, conn.sock.getsockname()[1], server.processes())
    finally:
        conn.close()
    return Answer(response.status, json.loads(content) if content else None, pid)


def call(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, f"/api/{path}", body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    content = response.read()
    return response.status, json.loads(content) if content else None


@contextmanager
def held_connections(server: WorkersServer, count: int) -> Iterator[list[tuple[http.client.HTTPConnection, int]]]:
    """`count` kept-alive connections opened one after another and held open, each with the
    process serving it (as clients that keep their connections, like Prefect's, hold them)."""
    held = []
    try:
        for _ in range(count):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            held.append(conn)
            assert call(conn, "GET", "health") == (200, True)
            pid = process_serving(server.port, conn.sock.getsockname()[1], server.processes())
            held[-1] = (conn, pid)
        yield held
    finally:
        for item in held:
            (item[0] if isinstance(item, tuple) else item).close()


def api(server: WorkersServer, method: str, path: str, body: Any = None, expect: int = 200) -> Answer:
    answer = on_a_new_connection(server, method, path, body)
    assert answer.status == expect, f"{method} /api/{path} answered {answer.status}: {answer.body!r}"[:2000]
    return answer


def new_flow(server: WorkersServer) -> str:
    return api(server, "POST", "flows/", {"name": f"workers-{secrets.token_hex(4)}"}, expect=201).body["id"]


def new_run(server: WorkersServer, flow_id: str, **fields: Any) -> Answer:
    return api(server, "POST", "flow_runs/", {"flow_id": flow_id, "state": {"type": "PENDING"}, **fields}, expect=201)


def propose(server: WorkersServer, run_id: str, type_: str) -> Answer:
    state = {"type": type_, "name": type_.capitalize()}
    answer = on_a_new_connection(server, "POST", f"flow_runs/{run_id}/set_state", {"state": state})
    assert answer.status in (200, 201) and answer.body["status"] == "ACCEPT", (answer.status, answer.body)
    return answer


@dataclass
class Subscriber:
    """A websocket on /api/events/out, following every flow-run event."""

    ws: ClientConnection
    pid: int
    heard: list[tuple[str, str]] = field(default_factory=list)  # (flow run id, event name)

    def follow(self) -> None:
        self.ws.send(json.dumps({"type": "auth", "token": None}))
        assert json.loads(self.ws.recv(timeout=10)) == {"type": "auth_success"}
        now = dt.datetime.now(dt.UTC)
        flow_run_events = {
            "event": {"prefix": ["prefect.flow-run."]},
            "occurred": {
                "since": (now - dt.timedelta(minutes=1)).isoformat(),
                "until": (now + dt.timedelta(hours=1)).isoformat(),
            },
        }
        # No backfill: whatever it hears was broadcast while it listened.
        self.ws.send(json.dumps({"type": "filter", "filter": flow_run_events, "backfill": False}))

    def listen(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return
            if message.get("type") == "event":
                event = message["event"]
                run_id = event["resource"]["prefect.resource.id"].removeprefix("prefect.flow-run.")
                self.heard.append((run_id, event["event"]))

    def has_heard(self, run_ids: set[str], name: str) -> bool:
        return any(run_id in run_ids and event == name for run_id, event in self.heard)


def wait_until_heard(subscribers: list[Subscriber], run_ids: set[str], names: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(s.has_heard(run_ids, name) for s in subscribers for name in names):
            return True
        for s in subscribers:
            s.listen(0.1)
    return all(s.has_heard(run_ids, name) for s in subscribers for name in names)


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize("asked_by", ["--workers", "ORCHESTRATOR_SERVER_WORKERS"])
def test_more_than_one_worker_without_redis_url_is_refused(tmp_path, database, asked_by):
    port = free_port()
    args = [ORCHESTRATOR, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    env = clean_env(PREFECT_HOME=str(tmp_path / "home"), PREFECT_API_DATABASE_CONNECTION_URL=database)
    if asked_by == "--workers":
        args += ["--workers", "2"]
    else:
        env["ORCHESTRATOR_SERVER_WORKERS"] = "2"

    done = run(args, env, tmp_path, expect=None, timeout=60)

    assert done.returncode != 0, done.describe()
    assert "REDIS_URL" in done.stderr, done.describe()
    assert "Traceback" not in done.output, done.describe()
    assert "Orchestrator is serving" not in done.output, done.describe()
    assert listeners(port) == []


# --- serving ------------------------------------------------------------------------------------


def test_three_processes_share_the_port_and_kept_alive_connections_are_spread_evenly(shared_server):
    processes = shared_server.processes()
    assert len(processes) == WORKERS, processes
    # One listening socket, held by every process.
    assert len(listeners(shared_server.port)) == 1
    assert processes_listening(shared_server.port, processes) == processes

    # The connections of earlier calls count until their process has seen them close; on a
    # busy machine that can lag, so start from none.
    wait_for(
        lambda: not connections_held(shared_server.port, processes) or None,
        "the server to see earlier connections close",
        timeout=10,
        every=0.05,
    )
    with held_connections(shared_server, 4 * WORKERS + 1) as held:
        holding = Counter(pid for _, pid in held)
    # A process takes a new connection only while no other holds fewer.
    assert set(holding) == processes, holding
    assert max(holding.values()) - min(holding.values()) <= 1, holding

    for _ in range(20):  # and connections opened and closed one by one are all answered
        answer = on_a_new_connection(shared_server, "GET", "health")
        assert (answer.status, answer.body) == (200, True)


def test_clients_that_connect_while_the_workers_are_still_starting_are_spread_over_them_too(tmp_path, database):
    server = WorkersServer(tmp_path, database)
    try:
        server.wait_until_healthy()  # the first process serves; its workers are loading
        with held_connections(server, 2 * WORKERS) as held:
            holding = Counter(pid for _, pid in held)
        assert set(holding) == server.processes(), holding
        assert max(holding.values()) - min(holding.values()) <= 1, holding
        code, output = server.stop()
    finally:
        server.kill_all()
    assert_stopped_cleanly(code, output)


def test_writes_made_through_any_worker_are_read_back_through_every_worker(shared_server):
    processes = shared_server.processes()
    flow_id = new_flow(shared_server)
    created, writers = set(), Counter()
    with held_connections(shared_server, 2 * WORKERS) as held:
        for number in range(30):
            conn, pid = held[number % len(held)]
            status, run = call(conn, "POST", "flow_runs/", {"flow_id": flow_id, "name": f"spread-{number}"})
            assert status == 201, run
            created.add(run["id"])
            writers[pid] += 1
        assert set(writers) == processes, writers

        read_by: dict[int, set[str]] = {}
        for conn, pid in held:
            status, runs = call(conn, "POST", "flow_runs/filter", {"flows": {"id": {"any_": [flow_id]}}, "limit": 200})
            assert status == 200, runs
            read_by[pid] = {run["id"] for run in runs}

    assert set(read_by) == processes, read_by.keys()
    for pid, seen in read_by.items():
        assert seen == created, f"process {pid} sees {len(seen)} of the {len(created)} runs"


def test_a_websocket_on_one_worker_hears_a_state_change_made_on_another(shared_server):
    processes = shared_server.processes()
    url = f"ws://127.0.0.1:{shared_server.port}/api/events/out"
    opened: list[ClientConnection] = []
    subscribers: dict[int, Subscriber] = {}
    with ExitStack() as websockets:
        # Connect until every process holds one of our websockets.
        for _ in range(40):
            ws = websockets.enter_context(connect(url, subprotocols=["prefect"], proxy=None, open_timeout=10))
            opened.append(ws)
            pid = process_serving(shared_server.port, ws.socket.getsockname()[1], processes)
            if pid is not None and pid not in subscribers:
                subscribers[pid] = Subscriber(ws, pid)
            if set(subscribers) == processes:
                break
        assert set(subscribers) == processes, f"our websockets landed on {sorted(subscribers)} of {sorted(processes)}"
        for ws in opened:
            if all(ws is not s.ws for s in subscribers.values()):
                ws.close()
        listening = list(subscribers.values())
        for subscriber in listening:
            subscriber.follow()

        # The filter takes effect shortly after it is sent; start once every socket hears a
        # run that exists only for that.
        flow_id = new_flow(shared_server)
        warm_up: set[str] = set()
        deadline = time.monotonic() + 20
        while True:
            run_id = new_run(shared_server, flow_id).body["id"]
            warm_up.add(run_id)
            propose(shared_server, run_id, "RUNNING")
            if wait_until_heard(listening, warm_up, ["prefect.flow-run.Running"], timeout=2):
                break
            assert time.monotonic() < deadline, {s.pid: s.heard for s in listening}

        # Each state change goes through a new connection, to whichever process the kernel picks.
        run_id = new_run(shared_server, flow_id, name="heard-everywhere").body["id"]
        written_by = [propose(shared_server, run_id, "RUNNING").pid, propose(shared_server, run_id, "COMPLETED").pid]

        # With a socket in every process, those of the other processes heard it through Redis.
        names = ["prefect.flow-run.Running", "prefect.flow-run.Completed"]
        heard = wait_until_heard(listening, {run_id}, names, timeout=10)
        assert heard, "\n".join(
            [f"state changes made by processes {written_by}"]
            + [f"socket on process {s.pid} heard {[e for r, e in s.heard if r == run_id]}" for s in listening]
        )


class RedisCommands:
    """Every command the Redis server runs while in use, as MONITOR reports them (one
    connection throughout: a command seen late shows it was watching all along)."""

    def __init__(self) -> None:
        import redis

        self.client = redis.Redis.from_url(REDIS_URL)
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        try:
            with self.client.monitor() as monitor:
                while True:
                    self.seen.append(monitor.next_command()["command"])
        except Exception:  # noqa: BLE001 - the connection is closed when the test is done
            return

    def __enter__(self) -> RedisCommands:
        self._thread.start()
        wait_for(lambda: self.client.ping() and self.seen, "MONITOR to report a command", timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.connection_pool.disconnect()
        self.client.close()

    def publishes_about(self, text: str) -> list[str]:
        return [command for command in list(self.seen) if command.upper().startswith("PUBLISH") and text in command]


def test_state_changes_no_websocket_listens_for_are_not_sent_to_redis_and_followed_ones_are(tmp_path, database):
    with workers_server(tmp_path, database, workers=2) as server, RedisCommands() as redis_commands:
        run_id = new_run(server, new_flow(server)).body["id"]
        propose(server, run_id, "RUNNING")
        time.sleep(1)
        # No dashboard page follows the run and no /api/events/out client is connected: the
        # event and the run's new state stay in the process that wrote them.
        assert redis_commands.publishes_about(run_id) == []

        url = f"ws://127.0.0.1:{server.port}/ws/flow-runs/{run_id}/logs"
        with connect(url, proxy=None, open_timeout=10) as page:
            assert json.loads(page.recv(timeout=10))["state_type"] == "RUNNING"
            propose(server, run_id, "COMPLETED")
            # Whichever process wrote it, the page hears the new state, through Redis.
            assert json.loads(page.recv(timeout=10))["state_type"] == "COMPLETED"
        assert any(f"flow-run.{run_id}" in command for command in redis_commands.publishes_about(run_id))


# --- stopping and restarting --------------------------------------------------------------------


def test_a_worker_killed_with_sigkill_is_replaced_and_the_port_keeps_answering(tmp_path, database):
    with workers_server(tmp_path, database) as server:
        before = server.children()
        victim = min(before)

        os.kill(victim, signal.SIGKILL)

        def replaced() -> set[int] | None:
            pids = server.all_listening()
            return pids if pids is not None and victim not in pids and pids - before - {server.proc.pid} else None

        def restarted() -> set[int]:
            return server.children() - before

        # A new worker process starts within a second or two ...
        wait_for(restarted, "a worker process started in place of the killed one", timeout=5)
        # ... and listens on the port once it has loaded.
        processes = wait_for(replaced, "the new worker to listen on the port", timeout=30)
        assert f"worker process {victim} exited" in server.output()
        with held_connections(server, 3 * WORKERS) as held:
            assert {pid for _, pid in held} == processes

        code, output = server.stop()
    assert_stopped_cleanly(code, output)


def test_ctrl_c_on_the_first_process_stops_every_worker_and_exits_0(tmp_path, database):
    with workers_server(tmp_path, database) as server:
        workers = server.children()
        assert len(workers) == WORKERS - 1

        code, output = server.stop()

        assert_stopped_cleanly(code, output)
        wait_for(lambda: not any(alive(pid) for pid in workers), "every worker to exit", timeout=5)
        assert listeners(server.port) == []


def test_the_workers_exit_when_the_first_process_is_killed(tmp_path, database):
    with workers_server(tmp_path, database) as server:
        workers = server.children()
        assert len(workers) == WORKERS - 1

        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)

        wait_for(lambda: not any(alive(pid) for pid in workers), "every worker to exit", timeout=10)
        assert listeners(server.port) == []


# --- known problems -----------------------------------------------------------------------------


def test_the_workers_of_a_server_started_with_python_m_serve_too(tmp_path, database):
    python = ORCHESTRATOR.with_name("python")
    with workers_server(tmp_path, database, ready_within=15, program=[python, "-m", "orchestrator.cli"]) as server:
        assert "exited with status" not in server.output()
        code, output = server.stop()
    assert_stopped_cleanly(code, output)


def test_a_second_server_on_a_port_already_served_by_workers_is_refused(tmp_path, shared_server):
    with fresh_database(tmp_path) as other_database:
        second = WorkersServer(tmp_path, other_database, workers=2, port=shared_server.port)
        try:
            wait_for(
                lambda: not second.running() or "Orchestrator is serving" in second.output(),
                "the second server to exit or serve",
                timeout=60,
            )
            assert not second.running(), f"a second server serves the same port\n{second.describe()}"
            assert second.proc.returncode != 0
            assert "could not listen" in second.output(), second.describe()
        finally:
            second.kill_all()
