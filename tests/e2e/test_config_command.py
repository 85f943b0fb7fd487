"""`orchestrator config set|view` read and write the Prefect profile as `prefect config` does."""

from __future__ import annotations

import tomllib

import pytest
import requests

from .conftest import ORCHESTRATOR, Background, clean_env, free_port, fresh_database, run, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def home(tmp_path):
    return tmp_path / "prefect-home"


def config(tmp_path, home, *args: str, expect: int | None = 0, **env: str):
    return run([ORCHESTRATOR, "config", *args], clean_env(PREFECT_HOME=str(home), **env), tmp_path, expect=expect)


def shown(output: str, name: str) -> str:
    """The line `config view` prints for one setting."""
    lines = [line for line in output.splitlines() if line.startswith(f"{name}=")]
    assert len(lines) == 1, output
    return lines[0]


def test_config_set_writes_the_active_profile(tmp_path, home):
    done = config(tmp_path, home, "set", "PREFECT_SERVER_API_PORT=4444")

    assert "Updated profile 'ephemeral'" in done.stdout
    profiles = tomllib.loads((home / "profiles.toml").read_text())
    assert profiles["active"] == "ephemeral"
    assert profiles["profiles"]["ephemeral"] == {"PREFECT_SERVER_API_PORT": "4444"}


def test_config_view_names_the_profile_as_the_source(tmp_path, home):
    config(tmp_path, home, "set", "PREFECT_SERVER_API_PORT=4444")

    done = config(tmp_path, home, "view", "--show-sources")

    assert "PREFECT_PROFILE='ephemeral'" in done.stdout
    assert shown(done.stdout, "PREFECT_SERVER_API_PORT") == "PREFECT_SERVER_API_PORT='4444' (from profile)"
    assert shown(done.stdout, "PREFECT_SERVER_API_HOST") == "PREFECT_SERVER_API_HOST='127.0.0.1' (from defaults)"


def test_an_environment_variable_wins_over_the_profile(tmp_path, home):
    config(tmp_path, home, "set", "PREFECT_SERVER_API_PORT=4444")

    done = config(tmp_path, home, "view", "--show-sources", PREFECT_SERVER_API_PORT="5555")

    assert shown(done.stdout, "PREFECT_SERVER_API_PORT") == "PREFECT_SERVER_API_PORT='5555' (from env)"


def test_secrets_are_masked(tmp_path, home):
    url = "postgresql+asyncpg://prefect:hunter2@db.example:5432/prefect"

    done = config(tmp_path, home, "view", "--show-sources", PREFECT_API_DATABASE_CONNECTION_URL=url)

    assert shown(done.stdout, "PREFECT_API_DATABASE_CONNECTION_URL") == (
        "PREFECT_API_DATABASE_CONNECTION_URL='********' (from env)"
    )
    assert "hunter2" not in done.output


def test_the_server_listens_on_the_port_set_in_the_profile(tmp_path, home):
    # What `config view` shows is what the server uses: `server start` without --port.
    port = free_port()
    config(tmp_path, home, "set", f"PREFECT_SERVER_API_PORT={port}")

    with fresh_database(tmp_path) as url:
        env = clean_env(PREFECT_HOME=str(home), PREFECT_API_DATABASE_CONNECTION_URL=url)
        server = Background([ORCHESTRATOR, "server", "start", "--no-services"], env, tmp_path, tmp_path / "server.log")
        try:
            wait_for(lambda: answers(port) or not server.running(), f"a server on port {port}", timeout=60)
            assert answers(port), server.describe()
        finally:
            code = server.interrupt()
            server.kill()
    assert code == 0 and "Traceback" not in server.output(), server.describe()


def answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json() is True
    except (requests.RequestException, ValueError):
        return False


def test_an_unknown_setting_is_refused(tmp_path, home):
    done = config(tmp_path, home, "set", "NOT_A_SETTING=1", expect=None)

    assert done.returncode != 0
    assert "Unknown setting name 'NOT_A_SETTING'" in done.output
    assert not (home / "profiles.toml").exists()
