"""A server's SQLite checkpoints are taken by a thread of their own, outside the write turns.

The tests write to databases of their own (with SQLite's own checkpoints off, as a server's
connections have them until the log is very long) and watch what the checkpointer copies into
the database file and when it waits for the turn.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
import time

import pytest
from django.db import connection

from orchestrator.backends.sqlite.base import DatabaseWrapper
from orchestrator.backends.sqlite.checkpoints import FALLBACK_FRAMES, Checkpointer, serve_checkpoints

from .test_sqlite_turns import commit, holding, open_database, own_connections  # noqa: F401


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "checkpoints.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x TEXT)")
    # Kept open: the last connection to close checkpoints the log and removes it.
    yield path
    db.close()


def write(path, count: int) -> None:
    """`count` rows, one transaction each, without SQLite's own checkpoints."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    for i in range(count):
        db.execute("INSERT INTO t VALUES (?)", (f"row {i} " + "x" * 2000,))
    db.close()


def rows_in_database_file(path, tmp_path) -> int:
    """The rows the database file holds by itself, without its write-ahead log."""
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(path, copy)
    db = sqlite3.connect(copy)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 't'").fetchall():
            return 0  # not even the table has been copied yet
        return db.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        db.close()


def in_background(work):
    done = threading.Event()
    result = []

    def run():
        result.append(work())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, result


@contextlib.contextmanager
def turn_held_by_another_writer(path):
    """While the block runs, another connection is in the middle of a write transaction."""
    writer = holding(path, "in the turn")
    try:
        yield
    finally:
        commit(writer)
        writer.close()


def test_a_short_log_is_copied_into_the_database_file_while_another_writer_holds_the_turn(database, tmp_path):
    write(database, 20)
    checkpointer = Checkpointer(str(database), restart_frames=10_000)
    with turn_held_by_another_writer(database):
        done, result = in_background(checkpointer.checkpoint)
        assert done.wait(10), "the checkpoint waited for the writer's turn"
    frames, copied = result[0]
    assert frames == copied > 0
    assert rows_in_database_file(database, tmp_path) == 20


def test_a_long_log_is_finished_in_the_turn_and_the_next_writer_starts_it_over(database, tmp_path):
    write(database, 50)
    checkpointer = Checkpointer(str(database), restart_frames=10)
    with turn_held_by_another_writer(database):
        done, result = in_background(checkpointer.checkpoint)
        assert not done.wait(0.5), "the checkpoint of a long log did not wait for the turn"
    assert done.wait(10)
    frames, copied = result[0]
    assert frames == copied >= 50
    assert rows_in_database_file(database, tmp_path) == 51

    write(database, 1)
    assert checkpointer.checkpoint()[0] < 10  # the log started over with that one row


def test_the_thread_checkpoints_until_it_is_stopped(database, tmp_path):
    checkpointer = Checkpointer(str(database), check_seconds=0.01, restart_frames=5)
    checkpointer.start()
    try:
        write(database, 30)
        deadline = time.monotonic() + 10
        while rows_in_database_file(database, tmp_path) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rows_in_database_file(database, tmp_path) == 30
    finally:
        checkpointer.stop()
    assert not checkpointer._thread.is_alive()


def test_a_failing_checkpoint_is_logged_once_and_tried_again(database, tmp_path, caplog):
    checkpointer = Checkpointer(str(tmp_path / "missing" / "db.sqlite3"), check_seconds=0.01)
    checkpointer.start()
    time.sleep(0.2)
    checkpointer.path = str(database)
    write(database, 5)
    deadline = time.monotonic() + 10
    while rows_in_database_file(database, tmp_path) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    checkpointer.stop()
    failures = [r for r in caplog.records if "Checkpoint of" in r.getMessage()]
    assert len(failures) == 1
    assert "unable to open database file" in failures[0].getMessage()
    assert rows_in_database_file(database, tmp_path) == 5


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_a_serving_process_leaves_checkpoints_to_the_first_processs_thread(database, monkeypatch):
    monkeypatch.setattr(DatabaseWrapper, "autocheckpoint_frames", None)
    assert serve_checkpoints(first_process=False) is None
    checkpointer = serve_checkpoints(first_process=True)
    assert checkpointer is not None and checkpointer.path == connection.settings_dict["NAME"]

    db = open_database(database)
    try:
        with db.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone()[0] == FALLBACK_FRAMES
    finally:
        db.close()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL only")
def test_postgresql_has_no_checkpointer_of_ours():
    assert serve_checkpoints(first_process=True) is None
