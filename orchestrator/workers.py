"""Serving one port from several processes (`server start --workers N`).

One Python process serves at most one core: the API's views hold the interpreter lock, so on a
machine with more cores a single process leaves them idle while requests queue. With N workers
the first process (the one the user started) binds the port, runs the background services and
serves like any worker; it starts N-1 more processes that serve only, handing them the listening
socket. Clients keep their connections open, so what must be spread is connections, not
requests: each process publishes how many it has open on a shared board (LoadBoard) and takes
new ones only while no live process has fewer (Balancer). Per-process SO_REUSEPORT sockets
were tried first: the kernel assigns connections by a hash, and 8 clients on 2 processes often
split 6 to 2, leaving one process saturated and the other a quarter busy.

The workers take a few seconds to load after the first process serves. Clients that connect in
that time would all stay on the first process for as long as they keep their connections, so
each worker's slot is held for it (as a process with no connections) until it joins, it dies,
or JOIN_SECONDS pass: new connections wait in the listening queue meanwhile.

Websockets then live in any of the processes while the state change they must hear happens in
another, so the workers need a channel layer that crosses processes: REDIS_URL (channels-redis).
Without it more than one worker is refused.

A worker that dies is started again; Ctrl+C (or SIGTERM) on the first process stops them all,
each finishing the requests it is answering. Workers are told to exit if the first process dies
without stopping them (Linux's parent-death signal). A worker that keeps failing within
seconds of starting is given up on after a few tries rather than restarted forever.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("orchestrator.server")

RESTART_CHECK_SECONDS = 1.0
STOP_GRACE_SECONDS = 15.0
# A worker that keeps dying within seconds of starting (a broken install, say) is given up on.
QUICK_EXIT_SECONDS = 10.0
GIVE_UP_AFTER = 5
PARENT_ENV = "ORCHESTRATOR_WORKER_PARENT_PID"
SOCKET_ENV = "ORCHESTRATOR_WORKER_SOCKET_FD"
BOARD_ENV = "ORCHESTRATOR_WORKER_BOARD_FD"
SLOT_ENV = "ORCHESTRATOR_WORKER_SLOT"
# A process that has not published for this long (dead, or stuck) is left out of the balance.
STALE_SECONDS = 1.0
PUBLISH_SECONDS = 0.02
# How long a starting worker's slot is held for it at most.
JOIN_SECONDS = 30.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP (IPv4) socket, which the workers inherit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    return sock


class LoadBoard:
    """Memory shared by the serving processes (a memfd the workers inherit), one fixed slot per
    process: its open connections and until when that figure counts (for the Balancer), and
    how many of its websockets listen to each kind of broadcast (for orchestrator.channels,
    which sends nothing to Redis that no process would hear)."""

    SLOT = struct.Struct("qd")  # open connections, time.monotonic() until which they count
    LISTENER_KINDS = ("events", "logs", "flow-run")  # group names, or their part before the first "."
    LISTENERS = struct.Struct("q" * len(LISTENER_KINDS))
    SIZE = SLOT.size + LISTENERS.size

    def __init__(self, fd: int, slots: int):
        self.fd = fd
        self.slots = slots
        self.memory = mmap.mmap(fd, self.SIZE * slots)

    @classmethod
    def inherited(cls, fd: int) -> LoadBoard:
        return cls(fd, os.fstat(fd).st_size // cls.SIZE)

    @classmethod
    def create(cls, slots: int) -> LoadBoard:
        fd = os.memfd_create("orchestrator-workers", 0)
        os.ftruncate(fd, cls.SIZE * slots)
        return cls(fd, slots)

    def _write(self, slot: int, connections: int, until: float) -> None:
        self.SLOT.pack_into(self.memory, slot * self.SIZE, connections, until)

    def publish(self, slot: int, connections: int) -> None:
        """A live process's figure; it counts until the process goes quiet for STALE_SECONDS."""
        self._write(slot, connections, time.monotonic() + STALE_SECONDS)

    def hold(self, slot: int, seconds: float) -> None:
        """Count a process that is still starting as one with no connections, for `seconds`
        at most (its first publication replaces this)."""
        self._write(slot, 0, time.monotonic() + seconds)

    def release(self, slot: int) -> None:
        """Leave a slot out of the balance (its process has exited, and its listeners with it)."""
        self._write(slot, 0, 0.0)
        self.LISTENERS.pack_into(self.memory, slot * self.SIZE + self.SLOT.size, *([0] * len(self.LISTENER_KINDS)))

    def fewest(self) -> int | None:
        """The fewest open connections of any live process (None when none is live)."""
        now = time.monotonic()
        live = []
        for slot in range(self.slots):
            count, until = self.SLOT.unpack_from(self.memory, slot * self.SIZE)
            if until > now:
                live.append(count)
        return min(live) if live else None

    def count_listener(self, slot: int, kind: str, change: int) -> None:
        """One more (or fewer) of this process's websockets listens to `kind`. Only the
        process that owns the slot writes its counts, from its event loop."""
        offset = slot * self.SIZE + self.SLOT.size
        counts = list(self.LISTENERS.unpack_from(self.memory, offset))
        index = self.LISTENER_KINDS.index(kind)
        counts[index] = max(0, counts[index] + change)
        self.LISTENERS.pack_into(self.memory, offset, *counts)

    def anyone_listens(self, kind: str) -> bool:
        """Whether a websocket of any process listens to `kind` (always yes for a kind not
        counted here)."""
        if kind not in self.LISTENER_KINDS:
            return True
        index = self.LISTENER_KINDS.index(kind)
        return any(
            self.LISTENERS.unpack_from(self.memory, slot * self.SIZE + self.SLOT.size)[index]
            for slot in range(self.slots)
        )


class Balancer:
    """Lets this process accept connections only while it has no more open than any other
    live process. Connections arrive on the shared socket; a process that stops reading it
    leaves them to the others."""

    def __init__(self, board: LoadBoard, slot: int):
        self.board = board
        self.slot = slot
        self.open: set = set()
        self.port = None
        self.reading = True

    def attach(self, port) -> None:
        from twisted.internet.task import LoopingCall
        from twisted.protocols.policies import WrappingFactory

        balancer = self

        class CountingFactory(WrappingFactory):
            """Sees every TCP connection open and close, whatever runs on it (HTTP requests
            come and go on a kept-alive connection; a websocket takes it over)."""

            def registerProtocol(self, protocol):
                super().registerProtocol(protocol)
                balancer.connected(protocol)

            def unregisterProtocol(self, protocol):
                super().unregisterProtocol(protocol)
                balancer.disconnected(protocol)

        counting = CountingFactory(port.factory)
        counting.numPorts = port.factory.numPorts  # it is listening already
        port.factory = counting
        self.port = port
        accept_many = port.doRead

        def accept_one():
            # Twisted accepts up to a hundred queued connections per wake-up; one at a time
            # lets the count, and so the balance, follow every connection.
            port.numberAccepts = 1
            return accept_many()

        port.doRead = accept_one
        self._publisher = LoopingCall(self.update)
        self._publisher.start(PUBLISH_SECONDS)

    def connected(self, protocol) -> None:
        self.open.add(protocol)
        self.update()

    def disconnected(self, protocol) -> None:
        self.open.discard(protocol)
        self.update()

    def update(self) -> None:
        mine = len(self.open)
        self.board.publish(self.slot, mine)
        if self.port is None or not self.port.connected:
            return
        fewest = self.board.fewest()
        accept = fewest is None or mine <= fewest
        if accept and not self.reading:
            self.port.startReading()
        elif not accept and self.reading:
            self.port.stopReading()
        self.reading = accept


def endpoint_for(fileno: int) -> str:
    """Daphne's (Twisted's) description of an already listening IPv4 socket."""
    return f"fd:fileno={fileno}"


def exit_with_parent(parent_pid: int) -> None:
    """In a worker: get SIGTERM when the first process dies, even if it is killed outright."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the first process still stops its workers
        pass
    if os.getppid() != parent_pid:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


class WorkerGroup:
    """The extra worker processes: start, restart when one dies, stop."""

    def __init__(
        self,
        host: str,
        port: int,
        count: int,
        socket_fd: int,
        board: LoadBoard,
        announce: Callable[[str], None] = logger.warning,
    ):
        self.host = host
        self.port = port
        self.count = count
        self.socket_fd = socket_fd
        self.board = board
        self.announce = announce
        self.processes: list[subprocess.Popen] = []
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started: dict[int, float] = {}
        self._quick_exits: list[int] = []

    def command(self) -> list[str]:
        # The same program the user ran (`python -m orchestrator.cli`, manage.py of a checkout,
        # or the `orchestrator` script), so every worker runs the same code.
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        if spec is not None:
            program = ["-m", spec.name]
        elif os.path.isfile(sys.argv[0]):
            program = [sys.argv[0]]
        else:
            program = ["-m", "orchestrator.cli"]
        return [
            sys.executable,
            *program,
            "server",
            "start",
            "--no-services",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--worker-process",
        ]

    def _spawn(self, index: int) -> subprocess.Popen:
        env = dict(os.environ)
        # The first process has migrated and checked the database already.
        env["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"
        env[PARENT_ENV] = str(os.getpid())
        env[SOCKET_ENV] = str(self.socket_fd)
        env[BOARD_ENV] = str(self.board.fd)
        env[SLOT_ENV] = str(index + 1)  # slot 0 is the first process's
        process = subprocess.Popen(
            self.command(),
            env=env,
            pass_fds=(self.socket_fd, self.board.fd),
            stdin=subprocess.DEVNULL,
            # Ctrl+C reaches the first process only; it stops the workers in order.
            start_new_session=True,
        )
        self._started[process.pid] = time.monotonic()
        return process

    def start(self) -> None:
        for index in range(self.count):
            self.board.hold(index + 1, JOIN_SECONDS)
        self.processes = [self._spawn(index) for index in range(self.count)]
        self._quick_exits = [0] * self.count
        self._watcher = threading.Thread(target=self._watch, name="worker-watcher", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_CHECK_SECONDS):
            for index, process in enumerate(self.processes):
                code = process.poll()
                if code is None or self._stopping.is_set() or self._quick_exits[index] >= GIVE_UP_AFTER:
                    continue
                self.board.release(index + 1)
                lived = time.monotonic() - self._started.pop(process.pid, 0.0)
                self._quick_exits[index] = self._quick_exits[index] + 1 if lived < QUICK_EXIT_SECONDS else 0
                if self._quick_exits[index] >= GIVE_UP_AFTER:
                    self.announce(
                        f"worker process {process.pid} exited with status {code}, the {GIVE_UP_AFTER}th quick "
                        "exit in a row: not starting it again (see the errors above)"
                    )
                    continue
                self.announce(f"worker process {process.pid} exited with status {code}; starting another")
                self.processes[index] = self._spawn(index)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
