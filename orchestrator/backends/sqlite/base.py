"""SQLite whose writers take turns (DATABASES ENGINE "orchestrator.backends.sqlite").

SQLite lets one connection write at a time. A connection that finds the database locked waits in
SQLite's busy handler, which sleeps and tries again: 1, 2, 5, 10, 15 ... up to 100 ms between
tries, and never hears that the lock came free. Under load most writes arrive while another is
under way, so they sleep long past the moment they could have written: with 8 clients creating
and finishing runs on two server processes, a third of the two cores sat idle while state changes
took 8 ms at the median, 86 ms at the 95th percentile and up to 1.3 s.

Here a connection takes its turn before it writes, and is woken the moment the turn is free:
among the threads of a process on a lock, and between processes (the workers of `server start
--workers`, a separate services process, a command run beside the server) on an exclusive
flock(2) of a file beside the database, `<database>-writer.lock`, which the kernel hands on as
soon as its holder lets go (or dies). A transaction holds the turn from its BEGIN (IMMEDIATE: it
means to write) to its COMMIT or ROLLBACK; a single write statement outside a transaction holds it
for that statement. Reads do not take turns: in WAL mode they never wait for a writer.

SQLite's own locking is unchanged underneath, so a program that does not take turns (the sqlite3
shell, say) is still kept out as before, by the busy handler. Waiting for the other threads of the
process is bounded by the database's timeout, like SQLite's own wait, and ends in "database is
locked" (which the API answers 503, and clients retry). Waiting for another process is as long as
that process's transaction; were one stuck, no process could write anyway. In-memory databases
belong to one process and take no turns. Where the lock file cannot be created or locked (a
read-only directory, a file system without flock), the threads of each process still take
turns, processes meet in SQLite's busy handler as before, and the log says so once.

Two more changes, to how datetimes are written and read (see DatabaseOperations), and one to
how a statement's placeholders are rewritten (see TurnTakingCursor.convert_query).

A server takes the checkpoints of the database's write-ahead log on a thread of its own,
outside the turns, rather than in the commit of the connection that filled the log (see
checkpoints.py).

Last, work that means only to read can say so (`DatabaseWrapper.reads_only`): while it runs, a
statement other than a SELECT, or the start of a transaction, raises WouldWrite instead. The
state engine uses it to prepare a state change before its turn (see runs.orchestration.engine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import threading

from django.db.backends.sqlite3 import base as sqlite

WRITE = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)

logger = logging.getLogger("orchestrator.database")

_turns: dict[str, WriterTurns] = {}
_turns_lock = threading.Lock()


class WouldWrite(Exception):
    """Raised, under DatabaseWrapper.reads_only, by what would write or begin a transaction."""


class WriterTurns:
    """One database file's turns to write, shared by every connection of the process."""

    def __init__(self, path: str):
        self.path = path
        self.threads = threading.Lock()
        self.fd: int | None = None
        self.across_processes = True

    @classmethod
    def for_database(cls, name: str) -> WriterTurns:
        path = os.path.realpath(name)
        with _turns_lock:
            turns = _turns.get(path)
            if turns is None:
                turns = _turns[path] = cls(path)
            return turns

    def take(self, timeout: float) -> bool:
        """Wait for the turn: False if the other threads of the process kept it `timeout` s."""
        if not self.threads.acquire(timeout=timeout):
            return False
        try:
            if self.across_processes:
                self._lock_file()
        except BaseException:
            self.threads.release()
            raise
        return True

    def _lock_file(self) -> None:
        try:
            if self.fd is None:
                self.fd = os.open(self.path + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.across_processes = False
            logger.warning(
                "SQLite writers of different processes cannot take turns on %s-writer.lock (%s); "
                "they wait for one another in SQLite's busy handler",
                self.path,
                exc.strerror or exc,
            )

    def give_back(self) -> None:
        try:
            if self.across_processes:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


ZERO = dt.timedelta(0)


class DatabaseOperations(sqlite.DatabaseOperations):
    def adapt_datetimefield_value(self, value):
        """A datetime at UTC, as Django writes it, without Django's detour: is it aware, is
        USE_TZ on (read through the lazy settings object), convert to the connection's zone.
        That took about 4 us a value against 3 us here; a batch of 100 log records writes
        200 of them. With the connection at UTC (which also means USE_TZ is on), a value whose
        offset is zero has the same wall clock in UTC, so dropping its zone gives what Django's
        conversion gives. Anything else (naive values, other offsets, other zones) goes
        Django's way."""
        if type(value) is dt.datetime and value.utcoffset() == ZERO and self.connection.timezone is dt.UTC:
            return value.isoformat(" ")[:-6]  # without its "+00:00"
        return super().adapt_datetimefield_value(value)

    def convert_datetimefield_value(self, value, expression, connection):
        """A stored datetime read back, without Django's detour: Django parses the text (with
        fromisoformat first), then reads USE_TZ through the lazy settings object and makes
        the value aware in the connection's zone. A page of 50 runs with their states reads
        about 500 of these, and that detour was a sixth of `POST /flow_runs/filter`. With the
        connection at UTC (USE_TZ on), text that fromisoformat reads as a naive time is that
        time at UTC, which is what Django's conversion gives; anything else goes Django's
        way."""
        if type(value) is str and self.connection.timezone is dt.UTC:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    return parsed.replace(tzinfo=dt.UTC)
        return super().convert_datetimefield_value(value, expression, connection)


class DatabaseWrapper(sqlite.DatabaseWrapper):
    ops_class = DatabaseOperations

    # Pages in the write-ahead log past which a commit checkpoints it (SQLite's
    # wal_autocheckpoint); None keeps SQLite's 1,000. A server raises it (checkpoints.py).
    autocheckpoint_frames: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holds_turn = False
        self.reading_only = False
        self._turns: WriterTurns | None = None

    @contextlib.contextmanager
    def reads_only(self):
        """Run the block's statements outside any transaction, refusing (with WouldWrite) every
        statement but SELECT and every BEGIN, so that it never takes the turn."""
        if self.in_atomic_block:
            raise WouldWrite("already inside a transaction")
        self.reading_only = True
        try:
            yield
        finally:
            self.reading_only = False

    @property
    def turns(self) -> WriterTurns | None:
        if self._turns is None and not self.is_in_memory_db():
            self._turns = WriterTurns.for_database(self.settings_dict["NAME"])
        return self._turns

    def take_turn(self) -> bool:
        """Take this process's turn to write unless held already; True if taken here."""
        turns = self.turns
        if self.holds_turn or turns is None:
            return False
        if not turns.take(float(self.settings_dict["OPTIONS"].get("timeout", 5))):
            with self.wrap_database_errors:
                raise sqlite.Database.OperationalError("database is locked")
        self.holds_turn = True
        return True

    def end_turn(self) -> None:
        if self.holds_turn:
            self.holds_turn = False
            self._turns.give_back()

    def _start_transaction_under_autocommit(self):
        if self.reading_only:
            raise WouldWrite("a transaction would begin")
        taken = self.take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            if taken:
                self.end_turn()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self.end_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self.end_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self.end_turn()

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.autocheckpoint_frames is not None and not self.is_in_memory_db():
            connection.execute(f"PRAGMA wal_autocheckpoint = {self.autocheckpoint_frames:d}")
        return connection

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=TurnTakingCursor)
        cursor.database = self
        return cursor


# Statements in Django's "format" style and the same in SQLite's "qmark" style. The server runs
# a few hundred distinct statements over and over; past the bound, the cache starts again.
_QMARK: dict[str, str] = {}
QMARK_CACHE_SIZE = 4096


class TurnTakingCursor(sqlite.SQLiteCursorWrapper):
    """A write statement outside a transaction takes the turn for as long as it runs."""

    database: DatabaseWrapper

    def convert_query(self, query, *, param_names=None):
        """Django rewrites every statement's %s placeholders to ? with a regular expression, on
        every execution: 3 % of a state change's time, and a tenth of the SQLite 24-hour history,
        which runs one statement per interval. The rewrite depends on the text alone, so it is
        kept per statement."""
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        converted = _QMARK.get(query)
        if converted is None:
            converted = super().convert_query(query)
            if len(_QMARK) >= QMARK_CACHE_SIZE:
                _QMARK.clear()
            _QMARK[query] = converted
        return converted

    def execute(self, query, params=None):
        return self._in_turn(super().execute, query, params)

    def executemany(self, query, param_list):
        return self._in_turn(super().executemany, query, param_list)

    def _in_turn(self, run, query, params):
        database = self.database
        if database.reading_only and not SELECT.match(query):
            raise WouldWrite(query)
        if database.holds_turn or not WRITE.match(query) or not database.take_turn():
            return run(query, params)
        try:
            return run(query, params)
        finally:
            database.end_turn()
