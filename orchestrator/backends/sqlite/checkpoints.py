"""Checkpoints of a served SQLite database, taken off the write path.

In WAL mode a commit appends the pages it changed to the database's -wal file; a checkpoint
copies them back into the database file, after which the next writer starts the -wal file over.
SQLite takes one itself, in the connection whose commit takes the log past 1,000 pages, before
that commit returns. A state change writes about 21 pages (the run's row and indexes, its state
row, the count of its type), so that was every 45 or so changes, and it ran while the connection
still held the write turn (see base.py): every writer of every process waited for the copy. In
one process writing flow run state changes, the 99th percentile of a commit was 10.9 ms, against
0.75 ms without SQLite's checkpoints.

A server leaves checkpoints to one thread of its first process instead (`serve_checkpoints`).
Every CHECK_SECONDS it copies what the log holds without the turn (a PASSIVE checkpoint, which
writers neither wait for nor are waited for by). While writers keep appending, that copy never
quite catches up, and the log would only grow; so once the log holds RESTART_FRAMES pages, the
thread takes the turn for as long as it takes to copy what was appended meanwhile, and the next
writer starts the log over. The same page written many times between two checkpoints is copied
once. The server's connections keep SQLite's own checkpoint at FALLBACK_FRAMES pages, should the
thread stop or fall behind; other programs writing the database keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from django.db import DEFAULT_DB_ALIAS, connections

from .base import DatabaseWrapper, WriterTurns

logger = logging.getLogger("orchestrator.database")

CHECK_SECONDS = 0.5
# Pages in the log (4 KiB each) past which the thread finishes a checkpoint in the turn.
RESTART_FRAMES = 4000
# Where the server's connections checkpoint themselves, as SQLite does at 1,000 by default.
FALLBACK_FRAMES = 20000
TURN_TIMEOUT_SECONDS = 60.0


class Checkpointer:
    """The thread that takes one database file's checkpoints (see the module's docstring)."""

    def __init__(self, path: str, *, check_seconds: float = CHECK_SECONDS, restart_frames: int = RESTART_FRAMES):
        self.path = path
        self.turns = WriterTurns.for_database(path)
        self.check_seconds = check_seconds
        self.restart_frames = restart_frames
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None
        self._failing = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TURN_TIMEOUT_SECONDS)

    def checkpoint(self) -> tuple[int, int]:
        """One round: (pages in the log, pages copied) after it. The log is copied without the
        turn; once it is long, what was appended during that copy is copied too, still without
        the turn, and the little appended during the second copy in the turn. Each copy ends
        by syncing the files, which takes milliseconds for even a few hundred pages: copied in
        the turn straight after the first copy, they held it 10-17 ms; after the second, 2-10."""
        frames, copied = self._passive()
        if frames >= self.restart_frames:
            self._passive()
            if self.turns.take(TURN_TIMEOUT_SECONDS):
                try:
                    frames, copied = self._passive()
                finally:
                    self.turns.give_back()
        return frames, copied

    def _passive(self) -> tuple[int, int]:
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # (busy, pages in the log, pages copied); -1 pages when no checkpoint could run.
        _busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.check_seconds):
                try:
                    self.checkpoint()
                except sqlite3.Error as exc:
                    if not self._failing:
                        logger.warning("Checkpoint of %s failed (%s); trying again", self.path, exc)
                    self._failing = True
                    self._close()
                else:
                    self._failing = False
        finally:
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def serve_checkpoints(*, first_process: bool) -> Checkpointer | None:
    """For a serving process of a database file: its connections leave checkpoints to the
    checkpointer, which the first process returns (to start and stop); None otherwise."""
    connection = connections[DEFAULT_DB_ALIAS]
    if not isinstance(connection, DatabaseWrapper) or connection.is_in_memory_db():
        return None
    DatabaseWrapper.autocheckpoint_frames = FALLBACK_FRAMES
    connection.close()  # a connection opened before (migrations) would checkpoint as SQLite does
    return Checkpointer(connection.settings_dict["NAME"]) if first_process else None
