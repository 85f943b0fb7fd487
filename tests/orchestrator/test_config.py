"""Where settings come from: environment, active profile, .env file, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import config


def write_profiles(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.toml").write_text(text)


def test_defaults_apply_when_nothing_is_set(tmp_path):
    values = config.resolve({"PREFECT_HOME": str(tmp_path)}, dotenv=tmp_path / "none.env")
    assert values["PREFECT_SERVER_API_PORT"].value == 4200
    assert values["PREFECT_SERVER_API_PORT"].source == "defaults"


def test_the_active_profile_is_read_from_profiles_toml(tmp_path):
    write_profiles(tmp_path, 'active = "local"\n[profiles.local]\nPREFECT_SERVER_API_PORT = "4300"\n')
    values = config.resolve({"PREFECT_HOME": str(tmp_path)}, dotenv=tmp_path / "none.env")
    assert (values["PREFECT_SERVER_API_PORT"].value, values["PREFECT_SERVER_API_PORT"].source) == (4300, "profile")


def test_the_environment_beats_the_profile_which_beats_dotenv(tmp_path):
    write_profiles(
        tmp_path,
        'active = "local"\n[profiles.local]\nPREFECT_SERVER_API_HOST = "0.0.0.0"\nPREFECT_SERVER_API_PORT = "4300"\n',
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("PREFECT_SERVER_API_PORT=4500\nPREFECT_UI_URL='http://ui.example'\n")
    values = config.resolve({"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_API_HOST": "10.0.0.1"}, dotenv=dotenv)
    assert values["PREFECT_SERVER_API_HOST"].source == "env"
    assert values["PREFECT_SERVER_API_PORT"].source == "profile"
    assert (values["PREFECT_UI_URL"].value, values["PREFECT_UI_URL"].source) == ("http://ui.example", ".env file")


def test_prefect_profile_selects_another_profile(tmp_path):
    write_profiles(
        tmp_path,
        'active = "a"\n[profiles.a]\nPREFECT_SERVER_API_PORT = "1"\n[profiles.b]\nPREFECT_SERVER_API_PORT = "2"\n',
    )
    values = config.resolve({"PREFECT_HOME": str(tmp_path), "PREFECT_PROFILE": "b"}, dotenv=tmp_path / "x")
    assert values["PREFECT_SERVER_API_PORT"].value == 2


def test_prefects_alias_names_are_honoured(tmp_path):
    values = config.resolve(
        {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_DATABASE_CONNECTION_URL": "sqlite:///x.db"},
        dotenv=tmp_path / "x",
    )
    assert values["PREFECT_API_DATABASE_CONNECTION_URL"].value == "sqlite:///x.db"


def test_secrets_are_masked_for_display(tmp_path):
    values = config.resolve(
        {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_API_AUTH_STRING": "u:p"}, dotenv=tmp_path / "x"
    )
    assert values["PREFECT_SERVER_API_AUTH_STRING"].display == "********"


def test_a_malformed_value_fails_loudly_naming_the_setting(tmp_path):
    with pytest.raises(config.ConfigurationError, match="PREFECT_SERVER_API_PORT"):
        config.resolve({"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_API_PORT": "many"}, dotenv=tmp_path / "x")


def test_file_variants_read_secrets_from_files(tmp_path):
    secret = tmp_path / "auth"
    secret.write_text("admin:hunter2\n")
    values = config.resolve(
        {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_API_AUTH_STRING_FILE": str(secret)}, dotenv=tmp_path / "x"
    )
    assert values["PREFECT_SERVER_API_AUTH_STRING"].value == "admin:hunter2"


def test_writing_a_setting_updates_the_active_profile_only(tmp_path):
    write_profiles(tmp_path, 'active = "local"\n[profiles.local]\nA = "1"\n[profiles.other]\nB = "2"\n')
    name, path = config.write_profile_settings({"PREFECT_SERVER_API_PORT": "4444"}, {"PREFECT_HOME": str(tmp_path)})
    assert name == "local"
    import tomllib

    data = tomllib.loads(path.read_text())
    assert data["profiles"]["local"] == {"A": "1", "PREFECT_SERVER_API_PORT": "4444"}
    assert data["profiles"]["other"] == {"B": "2"}


def test_writing_without_a_profiles_file_creates_the_default_profile(tmp_path):
    name, path = config.write_profile_settings({"PREFECT_SERVER_API_PORT": "4444"}, {"PREFECT_HOME": str(tmp_path)})
    assert name == "ephemeral"
    assert 'active = "ephemeral"' in path.read_text()


@pytest.mark.parametrize(
    "url,engine,name",
    [
        (None, "orchestrator.backends.sqlite", "HOME/orchestrator.db"),
        ("sqlite+aiosqlite:////data/prefect.db", "orchestrator.backends.sqlite", "/data/prefect.db"),
        ("sqlite:///relative.db", "orchestrator.backends.sqlite", "relative.db"),
        ("postgresql+asyncpg://user:pw@db.example:5433/prefect", "django.db.backends.postgresql", "prefect"),
        ("postgresql://user@localhost/prefect", "django.db.backends.postgresql", "prefect"),
    ],
)
def test_prefect_database_urls_become_django_databases(tmp_path, url, engine, name):
    database = config.database_from_url(url, tmp_path)
    assert database["ENGINE"] == engine
    assert database["NAME"] == name.replace("HOME", str(tmp_path))


def test_the_in_memory_sqlite_url_is_a_shared_memory_database(tmp_path):
    url = "sqlite+aiosqlite:///file::memory:?cache=shared&uri=true&check_same_thread=false"
    database = config.database_from_url(url, tmp_path)
    assert "mode=memory" in database["NAME"]
    assert database["OPTIONS"]["uri"] is True


def test_postgres_credentials_and_port_are_kept(tmp_path):
    database = config.database_from_url("postgresql+asyncpg://user:pw@db.example:5433/prefect", tmp_path)
    assert (database["USER"], database["PASSWORD"], database["HOST"], database["PORT"]) == (
        "user",
        "pw",
        "db.example",
        5433,
    )


def test_sqlite_waits_for_locks_and_uses_wal(tmp_path):
    options = config.database_from_url(None, tmp_path)["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 30


def test_an_unknown_database_is_refused(tmp_path):
    with pytest.raises(config.ConfigurationError, match="unsupported"):
        config.database_from_url("mysql://x/y", tmp_path)


def test_postgres_connections_come_from_a_pool_sized_by_prefects_pool_settings(tmp_path):
    database = config.database_from_url("postgresql://user@localhost/prefect", tmp_path, pool_size=3, max_overflow=7)
    assert database["OPTIONS"]["pool"]["min_size"] == 3
    assert database["OPTIONS"]["pool"]["max_size"] == 10
    # Django refuses persistent connections together with a pool.
    assert database["CONN_MAX_AGE"] == 0


def test_the_pool_settings_are_read_under_prefects_names(tmp_path):
    environ = {
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "8",
        "PREFECT_API_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "2",
    }
    values = config.resolve(environ, dotenv=tmp_path / "none.env")
    assert values["PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE"].value == 8
    assert values["PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW"].value == 2


@pytest.mark.parametrize(
    ("url", "configured", "threads"),
    [
        (None, None, 1),
        ("postgresql://user@localhost/prefect", None, 4),
        (None, 3, 3),
        ("postgresql://user@localhost/prefect", 2, 2),
    ],
)
def test_server_threads_default_to_one_on_sqlite_and_four_on_postgresql(tmp_path, url, configured, threads):
    assert config.server_threads(configured, config.database_from_url(url, tmp_path)) == threads


def test_server_threads_left_empty_in_the_environment_take_the_database_default(tmp_path):
    env = {"PREFECT_HOME": str(tmp_path), "ORCHESTRATOR_SERVER_THREADS": ""}
    assert config.resolve(env, dotenv=tmp_path / "none.env")["ORCHESTRATOR_SERVER_THREADS"].value is None
