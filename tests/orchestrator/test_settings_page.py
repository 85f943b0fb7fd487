"""The settings page (`/settings`): versions, database, Redis, services, and every setting with
its source, secrets masked, as `orchestrator config view --show-sources` shows them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from orchestrator import config
from orchestrator.lib.masking import mask_url_password
from orchestrator.version import API_VERSION, ORCHESTRATOR_VERSION, PREFECT_COMPATIBLE_VERSION
from tests.pages import text

pytestmark = pytest.mark.django_db

SECRET_PASSWORD = "hunter2-very-secret"


def page(client: Client) -> str:
    response = client.get("/settings")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def row(markup: str, name: str) -> str:
    start = markup.index(f"<td><code>{name}</code>")
    return markup[start : markup.index("</tr>", start)]


@pytest.fixture
def configured(settings, tmp_path):
    """The server as if started with a PostgreSQL URL holding a password, Redis, an auth
    string in the environment and a setting from the active profile."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "work"\n[profiles.work]\nPREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS = "30"\n'
    )
    environ = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://orch:{SECRET_PASSWORD}@db.internal:5432/prod",
        "REDIS_URL": f"redis://:{SECRET_PASSWORD}@cache.internal:6379/0",
        "PREFECT_API_AUTH_STRING": f"admin:{SECRET_PASSWORD}",
    }
    settings.CONF = config.resolve(environ=environ, dotenv=tmp_path / "no.env")
    return settings.CONF


def test_it_shows_the_versions_the_server_reports(client, db):
    markup = page(client)

    assert "<h1>Settings</h1>" in markup
    for version in (PREFECT_COMPATIBLE_VERSION, API_VERSION, ORCHESTRATOR_VERSION):
        assert f"<code>{version}</code>" in markup


def test_the_database_url_is_shown_with_its_password_masked(client, configured):
    markup = page(client)

    assert "<code>postgresql+asyncpg://orch:********@db.internal:5432/prod</code>" in markup
    assert "Redis Configured" in text(markup)
    assert "<code>redis://:********@cache.internal:6379/0</code>" in markup
    assert SECRET_PASSWORD not in markup


def test_every_setting_is_listed_with_its_source_and_secrets_masked(client, configured, monkeypatch):
    monkeypatch.setenv("PREFECT_PROFILE", "work")

    markup = page(client)

    for name in configured:
        assert f"<td><code>{name}</code>" in markup, name
    auth = row(markup, "PREFECT_SERVER_API_AUTH_STRING")
    assert '<span class="secret">********</span>' in auth and ">env</span>" in auth
    assert "set as <code>PREFECT_API_AUTH_STRING</code>" in auth
    assert '<span class="secret">********</span>' in row(markup, "PREFECT_API_DATABASE_CONNECTION_URL")
    scheduler = row(markup, "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS")
    assert "<code>30.0</code>" in scheduler and ">profile</span>" in scheduler
    late = row(markup, "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED")
    assert "<code>true</code>" in late and ">defaults</span>" in late
    assert "Mark scheduled runs that did not start in time as Late." in late
    assert "not set" in row(markup, "PREFECT_UI_URL")
    assert "<code>work</code>" in markup  # the active profile
    assert SECRET_PASSWORD not in markup


def test_without_a_database_url_the_default_sqlite_file_is_named(client, settings, tmp_path):
    settings.CONF = config.resolve(environ={"PREFECT_HOME": str(tmp_path)}, dotenv=tmp_path / "no.env")

    markup = page(client)

    assert "(the default)</code>" in markup
    assert "Redis Not configured" in text(markup)


def test_it_lists_the_loop_services_with_their_intervals(client, db):
    markup = text(page(client))

    assert "late_runs Enabled 5s Scheduled runs whose start time passed" in markup
    assert "scheduler Enabled 1m" in markup
    assert "event_retention Enabled 1h" in markup


def test_the_page_needs_no_query(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        page(client)


def test_the_settings_link_is_in_the_sidebar_footer_and_marked_current(client, db):
    markup = page(client)

    footer = markup[markup.index('class="sidebar-footer"') :]
    assert re.search(r'<a class="settings-link" href="/settings" aria-current="page">', footer)
    assert client.get("/settings/").status_code == 200


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+asyncpg://user:pw@host:5432/db", "postgresql+asyncpg://user:********@host:5432/db"),
        ("postgresql://user:p%40ss:word@host/db", "postgresql://user:********@host/db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("postgresql://host/db?sslmode=require&password=pw", "postgresql://host/db?sslmode=require&password=********"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:********@127.0.0.1:6379/0"),
        ("sqlite+aiosqlite:////var/lib/orchestrator.db", "sqlite+aiosqlite:////var/lib/orchestrator.db"),
        ("postgresql://u:pw@[::1]:5432/db", "postgresql://u:********@[::1]:5432/db"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url, shown):
    assert mask_url_password(url) == shown
