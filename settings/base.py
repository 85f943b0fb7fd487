"""Django settings, driven by the environment and the active Prefect profile.

Every value comes from `orchestrator.config`, which knows Prefect's setting names
and their sources; nothing here reads os.environ directly, so `orchestrator config
view` always shows what the server really uses.
"""

import hashlib
import secrets
from pathlib import Path

import environ

from orchestrator import config

BASE_DIR = Path(__file__).resolve().parent.parent

CONF = config.resolve()


def conf(name: str):
    return CONF[name].value


PREFECT_HOME = config.prefect_home()

DEBUG = conf("ORCHESTRATOR_DEBUG")


def _secret_key() -> str:
    explicit = conf("ORCHESTRATOR_SECRET_KEY")
    if explicit:
        return explicit
    # One key per installation, created on first use and kept beside the database.
    path = PREFECT_HOME / "orchestrator-secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        PREFECT_HOME.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        with open(path, "x") as fh:
            fh.write(key)
        path.chmod(0o600)
        return key
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        # A read-only home: the key only protects sessions, so a per-process key is acceptable.
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "orchestrator",
    "runs",
    "events",
    "deployments",
    "concurrency",
    "artifacts",
    "variables",
    "blocks",
    "notifications",
]

MIDDLEWARE = [
    "orchestrator.middleware.ApiBasicAuthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "orchestrator.middleware.DashboardSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "orchestrator.middleware.DashboardCsrfViewMiddleware",
    "orchestrator.middleware.DashboardAuthenticationMiddleware",
    "orchestrator.middleware.DashboardMessageMiddleware",
]

# Prefect's client posts to exact paths; a redirect would turn a POST into a GET.
APPEND_SLASH = False

ROOT_URLCONF = "orchestrator.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "orchestrator.asgi.application"

DATABASES = {
    "default": config.database_from_url(
        conf("PREFECT_API_DATABASE_CONNECTION_URL"),
        PREFECT_HOME,
        connect_timeout=conf("PREFECT_API_DATABASE_CONNECTION_TIMEOUT"),
        statement_timeout=conf("PREFECT_API_DATABASE_TIMEOUT"),
        pool_size=conf("PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE"),
        max_overflow=conf("PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW"),
    )
}
DATABASE_ECHO = conf("PREFECT_API_DATABASE_ECHO")
MIGRATE_ON_START = conf("PREFECT_API_DATABASE_MIGRATE_ON_START")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

DATA_UPLOAD_MAX_MEMORY_SIZE = conf("ORCHESTRATOR_MAX_REQUEST_BYTES")
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "orchestrator.api.renderers.PrefectJSONRenderer",
        "orchestrator.api.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["orchestrator.api.parsers.PrefectJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "orchestrator.api.errors.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "orchestrator.api.renderers.JSONFirstNegotiation",
}

REDIS_URL = conf("REDIS_URL")
if REDIS_URL:
    # Redis pub/sub channels ignore the database number in REDIS_URL: two servers sharing one
    # Redis would hear each other's events. Their channels are named after their database.
    _database_key = "|".join(str(DATABASES["default"].get(key) or "") for key in ("HOST", "PORT", "NAME"))
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": "orchestrator-" + hashlib.sha256(_database_key.encode()).hexdigest()[:12],
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10_000}}}

# What the API and the services read at run time.
ORCHESTRATOR = {
    "API_HOST": conf("PREFECT_SERVER_API_HOST"),
    "API_PORT": conf("PREFECT_SERVER_API_PORT"),
    "SERVER_WORKERS": conf("ORCHESTRATOR_SERVER_WORKERS"),
    "SERVER_THREADS": config.server_threads(conf("ORCHESTRATOR_SERVER_THREADS"), DATABASES["default"]),
    "AUTH_STRING": conf("PREFECT_SERVER_API_AUTH_STRING"),
    "DEFAULT_LIMIT": conf("PREFECT_SERVER_API_DEFAULT_LIMIT"),
    "UI_URL": conf("PREFECT_UI_URL"),
    "EVENTS_RETENTION_SECONDS": conf("PREFECT_SERVER_EVENTS_RETENTION_PERIOD"),
    "EVENTS_BACKFILL_SECONDS": conf("PREFECT_SERVER_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL"),
    "EVENTS_STREAM_OUT_ENABLED": conf("PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED"),
    "LOGS_STREAM_OUT_ENABLED": conf("PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED"),
    "SERVICES": {
        "late_runs": {
            "enabled": conf("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS"),
            "after_seconds": conf("PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS"),
        },
        "pause_expirations": {
            "enabled": conf("PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS"),
        },
        "run_counts": {
            "enabled": True,
            "loop_seconds": conf("ORCHESTRATOR_SERVICES_RUN_COUNTS_LOOP_SECONDS"),
        },
        "table_statistics": {
            "enabled": True,
            "loop_seconds": conf("ORCHESTRATOR_SERVICES_TABLE_STATISTICS_LOOP_SECONDS"),
        },
        "event_retention": {
            "enabled": conf("PREFECT_SERVER_SERVICES_EVENT_RETENTION_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_EVENT_RETENTION_LOOP_SECONDS"),
        },
        "scheduler": {
            "enabled": conf("PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS"),
            "deployment_batch_size": conf("PREFECT_SERVER_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE"),
            "min_runs": conf("PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS"),
            "max_runs": conf("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS"),
            "min_scheduled_time": conf("PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME"),
            "max_scheduled_time": conf("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME"),
        },
        "foreman": {
            "enabled": conf("PREFECT_SERVER_SERVICES_FOREMAN_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS"),
            "inactivity_heartbeat_multiple": conf("PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE"),
            "fallback_heartbeat_interval_seconds": conf(
                "PREFECT_SERVER_SERVICES_FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS"
            ),
            "deployment_last_polled_timeout_seconds": conf(
                "PREFECT_SERVER_SERVICES_FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS"
            ),
            "work_queue_last_polled_timeout_seconds": conf(
                "PREFECT_SERVER_SERVICES_FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS"
            ),
        },
        "cancellation_cleanup": {
            "enabled": conf("PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS"),
            "cancelling_timeout_seconds": conf(
                "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_CANCELLING_TIMEOUT_SECONDS"
            ),
        },
        "lease_reaper": {
            "enabled": conf("PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS"),
        },
        "flow_run_notifications": {
            "enabled": conf("PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED"),
            "loop_seconds": conf("PREFECT_SERVER_SERVICES_FLOW_RUN_NOTIFICATIONS_LOOP_SECONDS"),
        },
    },
    # The notifications app: retries, time zone of messages, service URL overrides.
    "NOTIFICATIONS": {
        "TIME_ZONE": conf("ORCHESTRATOR_TIME_ZONE"),
        "TIMEOUT_SECONDS": conf("ORCHESTRATOR_NOTIFICATIONS_TIMEOUT_SECONDS"),
        "MAX_ATTEMPTS": conf("ORCHESTRATOR_NOTIFICATIONS_MAX_ATTEMPTS"),
        "RETRY_BASE_SECONDS": conf("ORCHESTRATOR_NOTIFICATIONS_RETRY_BASE_SECONDS"),
        "RETRY_MAX_SECONDS": conf("ORCHESTRATOR_NOTIFICATIONS_RETRY_MAX_SECONDS"),
        "RETRY_WINDOW_SECONDS": conf("ORCHESTRATOR_NOTIFICATIONS_RETRY_WINDOW_SECONDS"),
        "LEASE_SECONDS": conf("ORCHESTRATOR_NOTIFICATIONS_LEASE_SECONDS"),
        "EMAIL_CONFIGURED": conf("EMAIL_URL") is not None,
        "SERVICE_URLS": {
            service: conf(f"ORCHESTRATOR_NOTIFICATIONS_{service.upper()}_URL")
            for service in (
                "slack",
                "ms_teams",
                "discord",
                "mattermost",
                "opsgenie",
                "pagerduty",
                "sendgrid",
                "twilio",
                "custom_webhook",
            )
        },
    },
    "BLOCK_ENCRYPTION_KEY": conf("ORCHESTRATOR_BLOCK_ENCRYPTION_KEY"),
    "DEPLOYMENT_LEASE_SECONDS": conf("PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION"),
    "DEPLOYMENT_SLOT_WAIT_SECONDS": conf("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS"),
}

# Email notifications go through Django's mail settings, read from one EMAIL_URL
# (smtp://, smtp+tls://, smtp+ssl://; consolemail:// prints them).
if conf("EMAIL_URL"):
    try:
        globals().update(environ.Env.email_url_config(conf("EMAIL_URL")))
    except Exception as exc:  # noqa: BLE001 - a malformed value stops the server with its name
        raise config.ConfigurationError(f"EMAIL_URL is not a valid email URL: {exc}") from exc
DEFAULT_FROM_EMAIL = conf("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = conf("ORCHESTRATOR_NOTIFICATIONS_TIMEOUT_SECONDS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s - %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "orchestrator": {"level": conf("PREFECT_SERVER_LOGGING_LEVEL"), "propagate": True},
        "django.db.backends": {"level": "DEBUG" if DATABASE_ECHO else "WARNING", "propagate": True},
        "django.request": {"level": "ERROR", "propagate": True},
        "daphne": {"level": "WARNING", "propagate": True},
    },
}
