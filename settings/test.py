"""Settings for the test suite: the base settings with a throw-away home and the
database named by ORCHESTRATOR_TEST_DATABASE_URL (SQLite in a temporary file by default)."""

import os
import tempfile

_home = tempfile.mkdtemp(prefix="orchestrator-test-home-")
os.environ["PREFECT_HOME"] = _home
os.environ.setdefault("ORCHESTRATOR_SECRET_KEY", "test-secret-key-not-for-production")
if os.environ.get("ORCHESTRATOR_TEST_DATABASE_URL"):
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = os.environ["ORCHESTRATOR_TEST_DATABASE_URL"]
else:
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{_home}/test.db"

from settings.base import *  # noqa: E402,F403
from settings.base import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if "sqlite" in DATABASES["default"]["ENGINE"]:
    # A file, not memory, so threads (the events consumer, services) share it.
    DATABASES["default"]["TEST"] = {"NAME": f"{_home}/test-db.sqlite3"}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
