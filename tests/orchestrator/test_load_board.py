"""The board on which server processes publish their open connections (orchestrator.workers)."""

from __future__ import annotations

import os
import time

from orchestrator import workers
from orchestrator.workers import Balancer, LoadBoard


class FakePort:
    """The part of Twisted's listening port a Balancer drives."""

    connected = True

    def __init__(self):
        self.reading = True

    def startReading(self):  # noqa: N802 - Twisted's name
        self.reading = True

    def stopReading(self):  # noqa: N802
        self.reading = False


def test_a_board_inherited_through_its_descriptor_sees_what_the_first_process_published():
    board = LoadBoard.create(3)
    board.publish(0, 4)
    other = LoadBoard.inherited(os.dup(board.fd))
    assert other.slots == 3
    other.publish(2, 1)
    assert board.fewest() == 1


def test_slots_never_published_or_gone_quiet_are_left_out(monkeypatch):
    board = LoadBoard.create(3)
    assert board.fewest() is None
    board.publish(1, 0)
    board.publish(2, 5)
    later = time.monotonic() + workers.STALE_SECONDS + 0.5
    board.publish(2, 5)
    monkeypatch.setattr(workers.time, "monotonic", lambda: later)
    board.publish(2, 5)  # slot 1 (0 connections) has gone quiet since
    assert board.fewest() == 5


def test_a_process_stops_taking_connections_while_another_has_fewer_and_resumes_when_level():
    board = LoadBoard.create(2)
    mine, theirs = Balancer(board, 0), Balancer(board, 1)
    mine.port, theirs.port = FakePort(), FakePort()
    mine.update()
    theirs.update()
    mine.connected("a")
    assert (mine.port.reading, theirs.port.reading) == (False, True)
    theirs.connected("b")
    mine.update()  # its next publication
    assert (mine.port.reading, theirs.port.reading) == (True, True)
    theirs.connected("c")
    theirs.disconnected("b")
    theirs.disconnected("c")
    mine.update()
    assert (mine.port.reading, theirs.port.reading) == (False, True)
    mine.disconnected("a")
    assert mine.port.reading


def test_a_starting_workers_held_slot_counts_as_no_connections_until_it_publishes(monkeypatch):
    board = LoadBoard.create(2)
    first = Balancer(board, 0)
    first.port = FakePort()
    board.hold(1, 30)
    first.update()
    assert first.port.reading  # level with the worker's held slot
    first.connected("a")
    assert not first.port.reading  # the next connection waits for the worker
    board.publish(1, 0)  # the worker has joined: nothing changes until it holds as many
    first.update()
    assert not first.port.reading
    board.publish(1, 1)
    first.update()
    assert first.port.reading


def test_a_held_slot_is_let_go_when_its_time_is_up_or_it_is_released(monkeypatch):
    board = LoadBoard.create(3)
    board.publish(0, 2)
    board.hold(1, 5)
    board.hold(2, 30)
    assert board.fewest() == 0
    board.release(2)
    later = time.monotonic() + 6
    monkeypatch.setattr(workers.time, "monotonic", lambda: later)
    board.publish(0, 2)
    assert board.fewest() == 2


# --- websockets listening, per kind of broadcast ------------------------------------------------


def test_a_kind_counts_as_listened_to_while_any_process_has_a_websocket_on_it():
    board = LoadBoard.create(3)
    other = LoadBoard.inherited(os.dup(board.fd))
    assert not board.anyone_listens("flow-run")

    other.count_listener(2, "flow-run", 1)
    other.count_listener(2, "flow-run", 1)
    assert board.anyone_listens("flow-run")
    assert not board.anyone_listens("events")

    other.count_listener(2, "flow-run", -1)
    assert board.anyone_listens("flow-run")
    other.count_listener(2, "flow-run", -1)
    assert not board.anyone_listens("flow-run")


def test_listener_counts_leave_the_connection_figures_alone_and_the_reverse():
    board = LoadBoard.create(2)
    board.publish(0, 7)
    board.count_listener(0, "events", 1)
    board.publish(0, 3)
    assert board.fewest() == 3
    assert board.anyone_listens("events")


def test_a_process_that_exits_takes_its_listeners_with_it():
    board = LoadBoard.create(2)
    board.count_listener(1, "logs", 2)
    board.release(1)
    assert not board.anyone_listens("logs")


def test_a_kind_the_board_does_not_count_is_always_taken_as_listened_to():
    assert LoadBoard.create(2).anyone_listens("something-new")
