"""The servers under test, each started in its own process group on a fresh database.

- ours:    `manage.py server start` (what the `orchestrator` command runs) with the project venv,
           from this checkout or from a commit exported with `git archive` (`--ours-ref`);
- prefect: `prefect server start` from the Prefect venv (`ORCHESTRATOR_PREFECT_PYTHON`, default
           `.venv-prefect/bin/python`), pinned to 3.8.8 as ../shared/PROTOCOL.md §0 says, with
           analytics off.

Both get a temporary PREFECT_HOME (SQLite databases live there) or a new PostgreSQL database
`bench_<server>_<n>` (with pg_trgm, which Prefect's migrations need), created before the start
and dropped after the stop. Both run their background services, as a user runs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .client import Api
from .procs import parent_of

REPO = Path(__file__).resolve().parents[1]
OURS_PYTHON = REPO / ".venv" / "bin" / "python"
PREFECT_PYTHON = Path(os.environ.get("ORCHESTRATOR_PREFECT_PYTHON") or REPO / ".venv-prefect" / "bin" / "python")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class ServerFailed(RuntimeError):
    pass


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment without anything that would configure a server or client behind our
    back (a PREFECT_API_URL, a profile, Django settings)."""
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


def libpq_url(url: str, database: str) -> str:
    """The same server's URL for another database, in libpq's form (no +driver)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, ""))


def sqlalchemy_url(url: str) -> str:
    """The form both servers read from PREFECT_API_DATABASE_CONNECTION_URL."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, ""))


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine: the parent of our
    backend. Its tree is every backend, so its CPU is the database's (everyone's) CPU."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", None, ""):
        return None
    import psycopg

    with psycopg.connect(libpq_url(url, "postgres"), autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    parent = parent_of(backend)
    return parent if parent and os.path.exists(f"/proc/{parent}") else None


def default_interrupt() -> None:
    """In the child before exec: let Ctrl+C (SIGINT) stop it even when the benchmark itself was
    started in the background by a shell, which makes children inherit an ignored SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Database:
    """A fresh database for one server run: SQLite in the run's home, or a new PostgreSQL one."""

    backend: str
    home: Path
    postgres_url: str = DEFAULT_POSTGRES
    name: str | None = None

    def create(self, server: str, n: str) -> str:
        """Make it and return the connection URL for PREFECT_API_DATABASE_CONNECTION_URL."""
        if self.backend == "sqlite":
            filename = "orchestrator.db" if server == "ours" else "prefect.db"
            return f"sqlite+aiosqlite:///{self.home / filename}"
        import psycopg

        self.name = f"bench_{server}_{n}"
        with psycopg.connect(libpq_url(self.postgres_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        with psycopg.connect(libpq_url(self.postgres_url, self.name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return sqlalchemy_url(libpq_url(self.postgres_url, self.name))

    def drop(self) -> None:
        if not self.name:
            return
        import psycopg

        with psycopg.connect(libpq_url(self.postgres_url, "postgres"), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        self.name = None


@dataclass
class Server:
    """One server process (group) on a loopback port."""

    kind: str  # "ours" or "prefect"
    database_url: str
    home: Path
    port: int = field(default_factory=free_port)
    source: Path = REPO  # ours: the tree whose manage.py is run
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = clean_env(PREFECT_HOME=str(self.home / "home"), PREFECT_API_DATABASE_CONNECTION_URL=self.database_url)
        env.update(self.extra_env)
        host_port = ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.kind == "ours":
            # `python <tree>/manage.py` puts <tree> first on sys.path, ahead of the venv's
            # editable install of this checkout, so an exported commit runs its own code.
            return [str(OURS_PYTHON), str(self.source / "manage.py"), "server", "start", *host_port], env
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        prefect = PREFECT_PYTHON.with_name("prefect")
        return [str(prefect), "server", "start", *host_port], env

    def start(self, timeout: float = 180) -> None:
        """Start and wait until GET /api/health answers 200."""
        args, env = self.command()
        if not Path(args[0]).exists():
            raise ServerFailed(f"{args[0]} is missing (run `make install-test` to create the venvs)")
        (self.home / "home").mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args, env=env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=default_interrupt,
        )  # fmt: skip
        log.close()
        api = Api(self.api_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.kind} server exited with {self.proc.returncode}:\n{self.tail()}")
            if api.healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise ServerFailed(f"{self.kind} server did not answer /api/health within {timeout:g}s:\n{self.tail()}")

    def stop(self, timeout: float = 30) -> int | None:
        """Ctrl+C to the process group (how a user stops it), then SIGTERM, then SIGKILL.
        Returns the exit status."""
        if not self.proc:
            return None
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        # Whatever the group leader left behind (Prefect's uvicorn child) goes with the group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.proc.returncode

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def export_commit(ref: str, into: Path) -> str:
    """Write the tree of commit `ref` into `into` (read-only for the repository: `git archive`,
    no checkout), so a benchmark measures a commit rather than a working tree others are
    editing. Returns the full commit id."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", "--format=tar", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise ServerFailed(f"git archive {commit} failed")
    return commit


def describe_tree() -> str:
    """The checkout's commit, marked dirty when it has uncommitted changes."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True).stdout
    return f"{head} (working tree{', with uncommitted changes' if dirty.strip() else ''})"


class Workdir:
    """A temporary directory for one server run, removed afterwards unless kept."""

    def __init__(self, label: str, keep: bool = False):
        self.path = Path(tempfile.mkdtemp(prefix=f"orchestrator-bench-{label}-"))
        self.keep = keep

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
