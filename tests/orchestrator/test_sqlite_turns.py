"""SQLite writers take turns: woken when the writer before them ends, across threads and processes.

Each test opens its own database file with its own connections (not the test database, whose
test-long transaction holds the turn), with SQLite's busy timeout short enough that a writer left
to SQLite's own waiting would fail where a writer waiting for its turn succeeds.
"""

from __future__ import annotations

import errno
import fcntl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from orchestrator.backends.sqlite.base import WriterTurns

REPO = Path(__file__).resolve().parents[2]
SHORT = 0.2  # seconds: SQLite's busy timeout in these tests


def open_database(path: Path, timeout: float = SHORT):
    """A new connection (of this thread) to the database file at `path`."""
    settings = {
        "ENGINE": "orchestrator.backends.sqlite",
        "NAME": str(path),
        "OPTIONS": {"timeout": timeout, "transaction_mode": "IMMEDIATE"},
    }
    return ConnectionHandler({"default": settings})["default"]


def begin(db) -> None:
    """What an outermost `transaction.atomic()` does on SQLite to start."""
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def commit(db) -> None:
    db.commit()
    db.set_autocommit(True)


def holding(path: Path, value: str):
    """A connection in the middle of a write transaction: it holds the turn."""
    db = open_database(path, timeout=60)
    begin(db)
    db.cursor().execute("INSERT INTO t VALUES (%s)", [value])
    return db


def in_thread(work) -> None:
    """Run `work` to its end on a thread of its own (a connection belongs to its thread)."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)


def written(path: Path) -> list[str]:
    db = open_database(path)
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT x FROM t ORDER BY rowid")
            return [x for (x,) in cursor.fetchall()]
    finally:
        db.close()


@pytest.fixture(autouse=True)
def own_connections(django_db_blocker, monkeypatch):
    """These tests' connections are their own, to their own files: no test database needed.
    A browser test earlier in the same test process leaves Playwright's event loop marked
    running in this thread, which Django takes for an async context; these calls are plain
    synchronous code."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "turns.sqlite3"
    db = open_database(path)
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("CREATE TABLE t (x TEXT)")
    db.close()
    return path


CHILD = textwrap.dedent(
    """
    import sys
    import django
    from django.conf import settings

    settings.configure()
    django.setup()
    from django.db.utils import ConnectionHandler

    db = ConnectionHandler({"default": {"ENGINE": "orchestrator.backends.sqlite", "NAME": sys.argv[1],
                                      "OPTIONS": {"timeout": 60, "transaction_mode": "IMMEDIATE"}}})["default"]
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    db.cursor().execute("INSERT INTO t VALUES ('other process')")
    print("holding", flush=True)
    sys.stdin.readline()
    db.commit()
    db.set_autocommit(True)
    db.close()
    """
)


@pytest.mark.parametrize("in_transaction", [False, True], ids=["single statement", "transaction"])
def test_a_writer_waits_for_another_processs_transaction_however_long_and_writes_when_it_ends(database, in_transaction):
    other = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(database)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline().strip() == "holding"
        outcome = []

        def write():
            db = open_database(database)
            try:
                if in_transaction:
                    begin(db)
                with db.cursor() as cursor:
                    cursor.execute("INSERT INTO t VALUES ('this process')")
                if in_transaction:
                    commit(db)
                outcome.append("wrote")
            except OperationalError as exc:
                outcome.append(str(exc))
            finally:
                db.close()

        writer = threading.Thread(target=write)
        writer.start()
        # Several times SQLite's busy timeout: left to SQLite, the writer would have given up.
        time.sleep(4 * SHORT)
        assert outcome == []
        other.stdin.write("commit\n")
        other.stdin.flush()
        writer.join(30)
        assert outcome == ["wrote"]
        assert written(database) == ["other process", "this process"]
    finally:
        other.kill()
        other.wait()


def test_a_thread_kept_waiting_past_the_timeout_is_told_the_database_is_locked(database):
    holder = holding(database, "holder")
    errors = []

    def write():
        db = open_database(database)
        try:
            with db.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES ('late')")
        except OperationalError as exc:  # Django's, so the API answers 503
            errors.append(str(exc))
        finally:
            db.close()

    in_thread(write)
    commit(holder)
    holder.close()
    assert errors == ["database is locked"]
    assert written(database) == ["holder"]


@pytest.mark.parametrize("ending", ["rollback", "close"])
def test_the_turn_is_given_back_when_a_transaction_is_rolled_back_or_its_connection_closed(database, ending):
    first = holding(database, "undone")
    if ending == "rollback":
        first.rollback()
        first.set_autocommit(True)
    else:
        first.close()
    assert not first.holds_turn

    def write():
        db = open_database(database)
        begin(db)
        db.cursor().execute("INSERT INTO t VALUES ('next')")
        commit(db)
        db.close()

    in_thread(write)
    assert written(database) == ["next"]
    first.close()


def test_reads_do_not_wait_for_a_writer(database):
    holder = holding(database, "uncommitted")
    seen = []

    def read():
        seen.extend(written(database))
        seen.append("read")

    in_thread(read)
    commit(holder)
    holder.close()
    assert seen == ["read"]


def test_connections_to_one_file_share_its_turns_whatever_path_names_it(tmp_path):
    (tmp_path / "sub").mkdir()
    assert WriterTurns.for_database(str(tmp_path / "a.db")) is WriterTurns.for_database(
        str(tmp_path / "sub" / ".." / "a.db")
    )


def test_without_a_usable_lock_file_writers_still_write_and_the_log_says_why(database, monkeypatch, caplog):
    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    turns = WriterTurns(str(database))
    assert turns.take(SHORT)
    turns.give_back()
    assert turns.take(SHORT)  # the threads of the process still take turns, without the file
    turns.give_back()
    assert not turns.across_processes
    assert [r.getMessage() for r in caplog.records if "cannot take turns" in r.getMessage()] == [
        f"SQLite writers of different processes cannot take turns on {database}-writer.lock (No locks available); "
        "they wait for one another in SQLite's busy handler"
    ]
