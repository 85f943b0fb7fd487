"""Where the server's settings come from, and which source each value came from.

Prefect users already configure their server with `PREFECT_*` variables, in the
environment or in the active profile of `$PREFECT_HOME/profiles.toml` (what
`prefect config set` writes). We read the same names from the same places, so a
user who followed Prefect's documentation is configured already. Precedence,
highest first: the environment, the active profile, a `.env` file in the working
directory, then our defaults.

This module knows nothing about Django: the settings package and the `config`
command both use it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import environ

DEFAULT_PROFILE = "ephemeral"
MASK = "********"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes", "y", "on"}:
        return True
    if text in {"0", "false", "f", "no", "n", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _int(value: Any) -> int:
    return int(str(value).strip())


def _optional_int(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text else None


def _float(value: Any) -> float:
    return float(str(value).strip())


def _str(value: Any) -> str:
    return str(value)


def _optional_str(value: Any) -> str | None:
    text = str(value).strip()
    return text or None


def _level(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"expected a logging level, got {value!r}")
    return text


def _time_zone(value: Any) -> str | None:
    text = str(value).strip()
    if not text:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected an IANA time zone such as Europe/Paris or America/New_York, got {value!r}"
        ) from None
    return text


def _base_url(value: Any) -> str | None:
    text = str(value).strip().rstrip("/")
    if not text:
        return None
    scheme, sep, rest = text.partition("://")
    if scheme.lower() not in {"http", "https"} or not sep or not rest or rest.startswith("/"):
        raise ValueError(f"expected an http:// or https:// URL with a host, got {value!r}")
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any] = _str
    aliases: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _default_home() -> str:
    return str(Path("~/.prefect").expanduser())


# Every setting the server reads. Names are Prefect's where Prefect has one.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PREFECT_API_DATABASE_CONNECTION_URL",
        None,
        _optional_str,
        aliases=("PREFECT_SERVER_DATABASE_CONNECTION_URL",),
        secret=True,
        help="Database URL (sqlite+aiosqlite:///path, postgresql+asyncpg://user:pw@host/db)."
        " Defaults to SQLite at $PREFECT_HOME/orchestrator.db.",
    ),
    Setting(
        "PREFECT_API_DATABASE_MIGRATE_ON_START",
        True,
        _bool,
        aliases=("PREFECT_SERVER_DATABASE_MIGRATE_ON_START",),
        help="Apply pending migrations when the server starts.",
    ),
    Setting(
        "PREFECT_API_DATABASE_ECHO",
        False,
        _bool,
        aliases=("PREFECT_SERVER_DATABASE_ECHO",),
        help="Log every SQL statement.",
    ),
    Setting(
        "PREFECT_API_DATABASE_TIMEOUT",
        10.0,
        _float,
        aliases=("PREFECT_SERVER_DATABASE_TIMEOUT",),
        help="PostgreSQL statement timeout in seconds (0 disables it).",
    ),
    Setting(
        "PREFECT_API_DATABASE_CONNECTION_TIMEOUT",
        5.0,
        _float,
        aliases=("PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT",),
        help="Seconds to wait for a database connection.",
    ),
    Setting(
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE",
        5,
        _int,
        aliases=("PREFECT_API_DATABASE_SQLALCHEMY_POOL_SIZE",),
        help="PostgreSQL connections kept open in the pool.",
    ),
    Setting(
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW",
        10,
        _int,
        aliases=("PREFECT_API_DATABASE_SQLALCHEMY_MAX_OVERFLOW",),
        help="PostgreSQL connections opened beyond the pool size under load (closed when idle).",
    ),
    Setting("PREFECT_SERVER_API_HOST", "127.0.0.1", _str, help="Address the server listens on."),
    Setting("PREFECT_SERVER_API_PORT", 4200, _int, help="Port the server listens on."),
    Setting(
        "ORCHESTRATOR_SERVER_WORKERS",
        1,
        _int,
        help="Processes serving the API and dashboard on one port (above 1 needs REDIS_URL).",
    ),
    Setting(
        "ORCHESTRATOR_SERVER_THREADS",
        None,
        _optional_int,
        help="Threads per process answering requests, each with its own database connection"
        " (default: 1 on SQLite, 4 on PostgreSQL).",
    ),
    Setting(
        "PREFECT_SERVER_API_AUTH_STRING",
        None,
        _optional_str,
        aliases=("PREFECT_API_AUTH_STRING",),
        secret=True,
        help="'user:password' required as HTTP basic auth on the API when set.",
    ),
    Setting(
        "PREFECT_SERVER_API_DEFAULT_LIMIT",
        200,
        _int,
        aliases=("PREFECT_API_DEFAULT_LIMIT",),
        help="Page size of list endpoints when a request sends no limit.",
    ),
    Setting(
        "PREFECT_UI_URL",
        None,
        _optional_str,
        aliases=("PREFECT_SERVER_UI_URL",),
        help="Public URL of the dashboard, used in links sent out by the server.",
    ),
    Setting(
        "PREFECT_SERVER_LOGGING_LEVEL",
        "WARNING",
        _level,
        aliases=("PREFECT_LOGGING_SERVER_LEVEL",),
        help="Level of the server's own log.",
    ),
    Setting(
        "PREFECT_SERVER_EVENTS_RETENTION_PERIOD",
        7 * 24 * 3600.0,
        _float,
        help="Seconds events are kept.",
    ),
    Setting(
        "PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL",
        15 * 60.0,
        _float,
        aliases=("PREFECT_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL",),
        help="How far back /api/events/out replays stored events to a new subscriber, in seconds.",
    ),
    Setting(
        "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED",
        True,
        _bool,
        help="Serve the /api/events/out websocket.",
    ),
    Setting(
        "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED",
        True,
        _bool,
        help="Serve the /api/logs/out websocket.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED",
        True,
        _bool,
        help="Mark scheduled runs that did not start in time as Late.",
    ),
    Setting("PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS", 5.0, _float),
    Setting(
        "PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS",
        15.0,
        _float,
        help="Seconds past its scheduled time before a run is Late.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED",
        True,
        _bool,
        help="Fail paused runs whose pause timeout has passed.",
    ),
    Setting("PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS", 5.0, _float),
    Setting(
        "ORCHESTRATOR_SERVICES_RUN_COUNTS_LOOP_SECONDS",
        1.0,
        _float,
        help="How often the changes behind counts of runs by state are checked, and folded together once there are more than 100.",
    ),
    Setting(
        "ORCHESTRATOR_SERVICES_TABLE_STATISTICS_LOOP_SECONDS",
        2.0,
        _float,
        help="How often PostgreSQL tables that autovacuum leaves alone are checked, and vacuumed and analyzed.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_EVENT_RETENTION_ENABLED",
        True,
        _bool,
        help="Delete events older than the retention period.",
    ),
    Setting("PREFECT_SERVER_SERVICES_EVENT_RETENTION_LOOP_SECONDS", 3600.0, _float),
    Setting(
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED",
        True,
        _bool,
        help="Create the upcoming runs of deployment schedules.",
    ),
    Setting("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", 60.0, _float),
    Setting("PREFECT_SERVER_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE", 100, _int),
    Setting(
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS",
        3,
        _int,
        help="Keep at least this many runs scheduled per schedule.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS",
        100,
        _int,
        help="Never schedule more than this many runs ahead per schedule.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME",
        3600.0,
        _float,
        help="Schedule runs at least this many seconds ahead.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME",
        100 * 24 * 3600.0,
        _float,
        help="Schedule runs at most this many seconds ahead.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED",
        True,
        _bool,
        help="Mark silent workers offline and unpolled pools, queues and deployments not ready.",
    ),
    Setting("PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS", 15.0, _float),
    Setting("PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE", 3, _int),
    Setting("PREFECT_SERVER_SERVICES_FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS", 30, _int),
    Setting("PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS", 60, _int),
    Setting("PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS", 60, _int),
    Setting(
        "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED",
        True,
        _bool,
        help="Cancel the task runs and subflows of cancelled runs; end runs stuck cancelling.",
    ),
    Setting("PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS", 20.0, _float),
    Setting(
        "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_CANCELLING_TIMEOUT_SECONDS",
        300.0,
        _float,
        help="Seconds a run may stay Cancelling before it is marked Cancelled.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED",
        True,
        _bool,
        help="Return the concurrency slots of expired leases.",
    ),
    Setting("PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS", 15.0, _float),
    Setting(
        "PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION",
        300.0,
        _float,
        help="Seconds a deployment concurrency slot is held before it must be renewed.",
    ),
    Setting(
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS",
        30.0,
        _float,
        help="How long a run waits (AwaitingConcurrencySlot) before trying again.",
    ),
    # -- notifications (the notifications app) --------------------------------------------
    Setting(
        "PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED",
        True,
        _bool,
        aliases=("PREFECT_API_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED",),
        help="Send the notifications of flow-run notification policies.",
    ),
    Setting(
        "PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_LOOP_SECONDS",
        2.0,
        _float,
        aliases=("PREFECT_API_SERVICES_FLOW_RUN_NOTIFICATIONS_LOOP_SECONDS",),
        help="How often the sender looks for due deliveries (it is also woken when a state enqueues one).",
    ),
    Setting(
        "ORCHESTRATOR_TIME_ZONE",
        None,
        _time_zone,
        help="Time zone of the times in notification messages (IANA name). Unset: TZ if it names a zone, else UTC.",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_TIMEOUT_SECONDS",
        10.0,
        _float,
        help="Seconds a notification request may take before it counts as a (retried) failure.",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_MAX_ATTEMPTS",
        10,
        _int,
        help="Tries of a notification before it is marked failed.",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_RETRY_BASE_SECONDS",
        5.0,
        _float,
        help="Delay before the first retry; each further retry waits twice as long (with jitter).",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_RETRY_MAX_SECONDS",
        900.0,
        _float,
        help="Longest delay between two tries of a notification.",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_RETRY_WINDOW_SECONDS",
        3600.0,
        _float,
        help="A notification is not retried later than this many seconds after it was enqueued.",
    ),
    Setting(
        "ORCHESTRATOR_NOTIFICATIONS_LEASE_SECONDS",
        300.0,
        _float,
        help="How long a sender holds a claimed notification; a crashed sender's claims return after it.",
    ),
    *(
        Setting(
            f"ORCHESTRATOR_NOTIFICATIONS_{_service}_URL",
            None,
            _base_url,
            help=f"Send {_label} notifications to this scheme://host[:port] instead of the real service.",
        )
        for _service, _label in (
            ("SLACK", "Slack"),
            ("MS_TEAMS", "Microsoft Teams"),
            ("DISCORD", "Discord"),
            ("MATTERMOST", "Mattermost"),
            ("OPSGENIE", "Opsgenie"),
            ("PAGERDUTY", "PagerDuty"),
            ("SENDGRID", "SendGrid"),
            ("TWILIO", "Twilio"),
            ("CUSTOM_WEBHOOK", "custom webhook"),
        )
    ),
    Setting(
        "EMAIL_URL",
        None,
        _optional_str,
        aliases=("ORCHESTRATOR_EMAIL_URL",),
        secret=True,
        help="SMTP server of email notifications, e.g. smtp+tls://user:password@smtp.example.com:587.",
    ),
    Setting(
        "DEFAULT_FROM_EMAIL",
        "orchestrator@localhost",
        _str,
        aliases=("ORCHESTRATOR_EMAIL_FROM",),
        help="The From address of email notifications.",
    ),
    Setting(
        "REDIS_URL",
        None,
        _optional_str,
        aliases=("ORCHESTRATOR_REDIS_URL",),
        secret=True,
        help="Redis for websocket fan-out across several server processes.",
    ),
    Setting(
        "ORCHESTRATOR_SECRET_KEY",
        None,
        _optional_str,
        secret=True,
        help="Django secret key; created once in $PREFECT_HOME when unset.",
    ),
    Setting(
        "ORCHESTRATOR_BLOCK_ENCRYPTION_KEY",
        None,
        _optional_str,
        secret=True,
        help="Fernet key encrypting block documents; created once in $PREFECT_HOME when unset.",
    ),
    Setting("ORCHESTRATOR_DEBUG", False, _bool, help="Django debug mode (never in production)."),
    Setting(
        "ORCHESTRATOR_MAX_REQUEST_BYTES",
        32 * 1024 * 1024,
        _int,
        help="Largest request body the API accepts.",
    ),
)

BY_NAME: dict[str, Setting] = {}
for _setting in SETTINGS:
    for _name in _setting.names:
        BY_NAME[_name] = _setting


@dataclass(frozen=True)
class Value:
    setting: Setting
    value: Any
    source: str  # "env", "profile", ".env file" or "defaults"
    raw_name: str

    @property
    def display(self) -> Any:
        if self.setting.secret and self.value is not None:
            return MASK
        return self.value


class ConfigurationError(Exception):
    """A setting has a value that cannot be used; the message says which and why."""


def prefect_home(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    home = environ.get("PREFECT_HOME") or _default_home()
    return Path(home).expanduser()


def profiles_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    explicit = environ.get("PREFECT_PROFILES_PATH")
    if explicit:
        return Path(explicit).expanduser()
    return prefect_home(environ) / "profiles.toml"


def read_profiles(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read the profiles file {path}: {exc}") from exc


def active_profile_name(environ: Mapping[str, str] | None = None, profiles: dict | None = None) -> str:
    environ = os.environ if environ is None else environ
    if environ.get("PREFECT_PROFILE"):
        return environ["PREFECT_PROFILE"]
    if profiles is None:
        profiles = read_profiles(profiles_path(environ))
    return profiles.get("active") or DEFAULT_PROFILE


def _dotenv_values(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def resolve(environ: Mapping[str, str] | None = None, dotenv: Path | None = None) -> dict[str, Value]:
    """Every setting's value and where it came from, keyed by its canonical name."""
    environ = dict(os.environ if environ is None else environ)
    profiles = read_profiles(profiles_path(environ))
    profile = profiles.get("profiles", {}).get(active_profile_name(environ, profiles), {}) or {}
    dotenv_values = _dotenv_values(dotenv if dotenv is not None else Path.cwd() / ".env")
    # `*_FILE` variants let secrets come from mounted files (containers, systemd credentials).
    for setting in SETTINGS:
        for name in setting.names:
            file_name = f"{name}_FILE"
            if name not in environ and environ.get(file_name):
                try:
                    environ[name] = Path(environ[file_name]).read_text().strip()
                except OSError as exc:
                    raise ConfigurationError(f"{file_name}: cannot read {environ[file_name]}: {exc}") from exc

    values: dict[str, Value] = {}
    for setting in SETTINGS:
        found = None
        for source_name, source in (("env", environ), ("profile", profile), (".env file", dotenv_values)):
            for name in setting.names:
                if name in source:
                    found = (source_name, name, source[name])
                    break
            if found:
                break
        if found is None:
            values[setting.name] = Value(setting, setting.default, "defaults", setting.name)
            continue
        source_name, raw_name, raw = found
        try:
            parsed = setting.parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{raw_name}={raw!r} (from {source_name}) is not a valid value: {exc}") from exc
        values[setting.name] = Value(setting, parsed, source_name, raw_name)
    return values


def write_profile_settings(
    updates: Mapping[str, str | None], environ: Mapping[str, str] | None = None
) -> tuple[str, Path]:
    """Set (or, with None, remove) keys in the active profile, as `prefect config set` does.

    Returns the profile's name and the file written.
    """
    import tomli_w

    environ = os.environ if environ is None else environ
    path = profiles_path(environ)
    profiles = read_profiles(path)
    name = active_profile_name(environ, profiles)
    profiles.setdefault("active", name)
    table = profiles.setdefault("profiles", {}).setdefault(name, {})
    for key, value in updates.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    with tmp.open("wb") as fh:
        tomli_w.dump(profiles, fh)
    tmp.replace(path)
    return name, path


# ---------------------------------------------------------------------------
# Database URLs in Prefect's SQLAlchemy form, turned into Django's DATABASES entry.


def server_threads(configured: int | None, database: dict[str, Any]) -> int:
    """Threads per serving process: as configured, else 1 on SQLite and 4 on PostgreSQL.

    SQLite's writes take turns across the whole server, and the thread holding the turn shares
    its process's interpreter lock with the others, which only lengthens the turn: measured
    with two processes, one thread each served 26 % more state changes, 47 % more deployment
    runs and 24 % more log records than four each, and answered concurrent reads faster too
    (also with one process). PostgreSQL takes writes at once and a thread waiting on a round
    trip leaves the interpreter to the others: there one thread was 20 % slower than four.
    """
    if configured:
        return max(1, configured)
    return 1 if database.get("ENGINE") == "orchestrator.backends.sqlite" else 4


def database_from_url(
    url: str | None,
    home: Path,
    connect_timeout: float = 5.0,
    statement_timeout: float = 10.0,
    pool_size: int = 5,
    max_overflow: int = 10,
) -> dict:
    if not url:
        return _sqlite(str(home / "orchestrator.db"))
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(f"database URL {url!r} has no scheme (expected sqlite:// or postgresql://)")
    dialect = scheme.split("+", 1)[0].lower()
    if dialect == "sqlite":
        return _sqlite_from_rest(rest, home)
    if dialect in {"postgresql", "postgres"}:
        config = environ.Env.db_url_config("postgres://" + rest)
        config["ENGINE"] = "django.db.backends.postgresql"
        options = config.setdefault("OPTIONS", {})
        # asyncpg spells sslmode "ssl"; psycopg wants sslmode.
        if "ssl" in options:
            options.setdefault("sslmode", options.pop("ssl"))
        for driver_only in ("prepared_statement_cache_size", "statement_cache_size"):
            options.pop(driver_only, None)
        options.setdefault("connect_timeout", max(1, int(connect_timeout)))
        if statement_timeout and statement_timeout > 0:
            existing = options.get("options", "")
            options["options"] = f"{existing} -c statement_timeout={int(statement_timeout * 1000)}".strip()
        options.setdefault("application_name", "orchestrator")
        # Under ASGI each request has its own connection (Django keeps them per request
        # context), so a persistent connection is never reused and every API call cost
        # PostgreSQL a new backend process. psycopg's pool hands out open connections instead.
        options["pool"] = {
            "min_size": max(1, pool_size),
            "max_size": max(1, pool_size) + max(0, max_overflow),
            "timeout": max(1.0, connect_timeout),
        }
        config["CONN_MAX_AGE"] = 0
        # Parameters travel apart from the SQL, so a statement the server sees over and over
        # (every state change runs the same few) is prepared once per connection and then only
        # executed; Django's default interpolates them into a new SQL text every time.
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 5)
        return config
    raise ConfigurationError(f"unsupported database {scheme!r}: use SQLite or PostgreSQL")


def _sqlite_from_rest(rest: str, home: Path) -> dict:
    # SQLAlchemy form: sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory:,
    # sqlite:///file::memory:?cache=shared&uri=true
    path = rest[1:] if rest.startswith("/") else rest
    path, _, query = path.partition("?")
    if path in {"", ":memory:"} or "memory" in path and path.startswith("file:"):
        return _sqlite_memory()
    if not path:
        raise ConfigurationError("SQLite URL has no path")
    return _sqlite(str(Path(path).expanduser()))


def _sqlite(name: str) -> dict:
    return {
        # Django's SQLite backend, with writers woken in turn instead of polling for the lock.
        "ENGINE": "orchestrator.backends.sqlite",
        "NAME": name,
        # Each request thread keeps its connection between requests: opening one (with the
        # pragmas below) costs more than most API calls.
        "CONN_MAX_AGE": 300,
        "OPTIONS": {
            # Writers queue behind one another for up to `timeout` seconds instead of
            # failing with "database is locked"; IMMEDIATE takes the write lock when a
            # transaction begins, so two writers never deadlock upgrading read locks.
            "timeout": 60,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000;",
        },
    }


def _sqlite_memory() -> dict:
    return {
        "ENGINE": "orchestrator.backends.sqlite",
        "NAME": "file:orchestrator-memory?mode=memory&cache=shared",
        "OPTIONS": {"uri": True, "timeout": 60, "transaction_mode": "IMMEDIATE"},
        "TEST": {"NAME": "file:orchestrator-memory-test?mode=memory&cache=shared"},
    }
