"""Serving one port from several processes (`server start --workers N`).

One Python process serves at most one core: the API's views hold the interpreter lock, so on a
machine with more cores a single process leaves them idle while requests queue. With N workers
the first process (the one the user started) binds the port, runs the background services and
serves like any worker; it starts N-1 more processes that serve only. Each process listens on
the port with its own socket (SO_REUSEPORT), so the kernel spreads new connections evenly over
them; one shared socket would let whichever process woke first take every kept-alive client.

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
import os
import signal
import socket
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


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP (IPv4) socket that the other workers' sockets share the port with."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    return sock


def endpoint_for(fileno: int) -> str:
    """Daphne's (Twisted's) description of an already listening IPv4 socket."""
    return f"fd:fileno={fileno}"


def port_is_free(host: str, port: int) -> bool:
    """Whether no other server listens on the port. Our own sockets share the port
    (SO_REUSEPORT), which would also let a second server of the same user join it unnoticed,
    so the first process tries it once without that option."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


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

    def __init__(self, host: str, port: int, count: int, announce: Callable[[str], None] = logger.warning):
        self.host = host
        self.port = port
        self.count = count
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

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        # The first process has migrated and checked the database already.
        env["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"
        env[PARENT_ENV] = str(os.getpid())
        process = subprocess.Popen(
            self.command(),
            env=env,
            stdin=subprocess.DEVNULL,
            # Ctrl+C reaches the first process only; it stops the workers in order.
            start_new_session=True,
        )
        self._started[process.pid] = time.monotonic()
        return process

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self._quick_exits = [0] * self.count
        self._watcher = threading.Thread(target=self._watch, name="worker-watcher", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_CHECK_SECONDS):
            for index, process in enumerate(self.processes):
                code = process.poll()
                if code is None or self._stopping.is_set() or self._quick_exits[index] >= GIVE_UP_AFTER:
                    continue
                lived = time.monotonic() - self._started.pop(process.pid, 0.0)
                self._quick_exits[index] = self._quick_exits[index] + 1 if lived < QUICK_EXIT_SECONDS else 0
                if self._quick_exits[index] >= GIVE_UP_AFTER:
                    self.announce(
                        f"worker process {process.pid} exited with status {code}, the {GIVE_UP_AFTER}th quick "
                        "exit in a row: not starting it again (see the errors above)"
                    )
                    continue
                self.announce(f"worker process {process.pid} exited with status {code}; starting another")
                self.processes[index] = self._spawn()

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
