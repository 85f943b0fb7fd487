"""`orchestrator server ...` run as real processes, as a user runs them from a shell."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess

import pytest
import requests

from orchestrator.database import PROJECT_APPS

from .conftest import (
    ORCHESTRATOR,
    ServerProcess,
    clean_env,
    free_port,
    fresh_database,
    query_database,
    run,
    running_server,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def database(tmp_path):
    """A fresh database of this test's own (SQLite, or PostgreSQL in the PostgreSQL run)."""
    with fresh_database(tmp_path) as url:
        yield url


def orchestrator(
    tmp_path, database_url: str, *args: str, expect: int | None = 0, input: str | None = None, timeout=120
):
    env = clean_env(PREFECT_HOME=str(tmp_path / "home"), PREFECT_API_DATABASE_CONNECTION_URL=database_url)
    return run([ORCHESTRATOR, *args], env, tmp_path, expect=expect, input=input, timeout=timeout)


def flow_names(database_url: str) -> list[str]:
    return [name for (name,) in query_database(database_url, "SELECT name FROM runs_flow ORDER BY name")]


def applied_migrations(database_url: str) -> set[tuple[str, str]]:
    return set(query_database(database_url, "SELECT app, name FROM django_migrations"))


def our_migrations(database_url: str) -> set[tuple[str, str]]:
    return {(app, name) for app, name in applied_migrations(database_url) if app in PROJECT_APPS}


def create_flow(tmp_path, database_url: str, name: str) -> None:
    """Create a flow as a client does: through a server on this database."""
    with running_server(tmp_path, database_url, services=False) as server:
        response = requests.post(f"{server.api_url}/flows/", json={"name": name}, timeout=10)
        assert response.status_code == 201, response.text


# --- start and stop ----------------------------------------------------------------------------------


def test_the_server_serves_until_ctrl_c_then_stops_cleanly(tmp_path, database):
    server = ServerProcess(tmp_path, database)
    try:
        server.wait_until_healthy()
        assert requests.post(f"{server.api_url}/flows/", json={"name": "etl"}, timeout=10).status_code == 201
        assert requests.get(f"{server.api_url}/admin/version", timeout=10).json().startswith("3.")
    finally:
        code, output = server.stop()

    assert code == 0, output
    assert "Server stopped." in output
    assert "Traceback" not in output
    assert f"http://127.0.0.1:{server.port}/api" in output
    assert flow_names(database) == ["etl"]


def test_a_server_started_with_ctrl_c_ignored_still_stops_on_sigint(tmp_path, database, monkeypatch):
    """A script's `orchestrator server start &` leaves SIGINT ignored in the server."""
    real_popen = subprocess.Popen

    def popen_ignoring_sigint(args, **kwargs):
        return real_popen(["sh", "-c", 'trap "" INT; exec "$0" "$@"', *map(str, args)], **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen_ignoring_sigint)
    server = ServerProcess(tmp_path, database)
    monkeypatch.setattr(subprocess, "Popen", real_popen)
    try:
        server.wait_until_healthy()
    finally:
        code, output = server.stop()

    assert code == 0, output
    assert "Server stopped." in output


# --- database reset, upgrade, downgrade ------------------------------------------------------------------


def test_database_reset_drops_the_data_and_applies_the_schema_again(tmp_path, database):
    create_flow(tmp_path, database, "before-reset")
    before = our_migrations(database)
    assert flow_names(database) == ["before-reset"]

    done = orchestrator(tmp_path, database, "server", "database", "reset", "-y")

    assert "Database reset." in done.stdout
    assert flow_names(database) == []
    assert our_migrations(database) == before and before


def test_database_reset_asks_first_and_stops_on_no(tmp_path, database):
    create_flow(tmp_path, database, "kept")

    done = orchestrator(tmp_path, database, "server", "database", "reset", input="n\n", expect=None)

    assert done.returncode != 0
    assert "Are you sure" in done.stdout
    assert "aborted" in done.output.lower()
    assert "Traceback" not in done.output
    assert flow_names(database) == ["kept"]


def test_database_upgrade_creates_the_schema_of_a_new_database(tmp_path, database):
    done = orchestrator(tmp_path, database, "server", "database", "upgrade", "-y")

    assert "Database upgraded." in done.stdout
    assert {app for app, _ in our_migrations(database)} == set(PROJECT_APPS)
    assert flow_names(database) == []
    # Upgrading an up-to-date database changes nothing.
    orchestrator(tmp_path, database, "server", "database", "upgrade", "-y")
    assert flow_names(database) == []


def test_database_downgrade_steps_back_one_migration_and_upgrade_returns(tmp_path, database):
    orchestrator(tmp_path, database, "server", "database", "upgrade", "-y")
    everything = our_migrations(database)

    done = orchestrator(tmp_path, database, "server", "database", "downgrade", "-y", "-r", "-1")

    assert "Database downgraded." in done.stdout
    after = our_migrations(database)
    assert after < everything and len(everything - after) == 1
    orchestrator(tmp_path, database, "server", "database", "upgrade", "-y")
    assert our_migrations(database) == everything
    create_flow(tmp_path, database, "after-downgrade-and-upgrade")
    assert flow_names(database) == ["after-downgrade-and-upgrade"]


# --- a database Prefect's own server created -------------------------------------------------------------


@pytest.fixture
def prefect_database(tmp_path):
    """A SQLite file with Prefect's `alembic_version` table, as Prefect's server leaves it."""
    path = tmp_path / "prefect.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    conn.execute("INSERT INTO alembic_version VALUES ('3c841a1800a1')")
    conn.execute("CREATE TABLE flow (id CHAR(36) PRIMARY KEY, name VARCHAR NOT NULL)")
    conn.commit()
    conn.close()
    return path


def fingerprint(path) -> tuple[str, list[str]]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.glob(f"{path.name}*"))


@pytest.mark.parametrize(
    "command",
    [("server", "start", "--port", str(free_port())), ("server", "database", "upgrade", "-y")],
    ids=["start", "upgrade"],
)
def test_a_database_of_prefects_own_server_is_refused_and_left_alone(tmp_path, prefect_database, command):
    before = fingerprint(prefect_database)

    done = orchestrator(tmp_path, f"sqlite+aiosqlite:///{prefect_database}", *command, expect=None, timeout=30)

    assert done.returncode != 0
    assert "created by Prefect's own server" in done.stderr
    assert "alembic_version" in done.stderr
    assert "Traceback" not in done.output
    assert fingerprint(prefect_database) == before
