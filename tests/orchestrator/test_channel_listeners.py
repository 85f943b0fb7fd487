"""Which broadcasts leave the process: orchestrator.channels' join/leave/may_listen with the
processes' shared board (orchestrator.workers.LoadBoard)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.layers import get_channel_layer

from events.consumers import EventsInConsumer, EventsOutConsumer
from orchestrator import channels
from orchestrator.sockets import RefuseSocket
from orchestrator.workers import LoadBoard


class SharedLayer:
    """Stands in for the Redis layer: what matters here is only that it is not in memory."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.groups: dict[str, set[str]] = {}

    async def group_add(self, group: str, channel: str) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        self.groups.setdefault(group, set()).add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.groups.get(group, set()).discard(channel)


def run(coroutine):
    """Run `coroutine` to its end on a new event loop, in a thread of its own: a browser test
    earlier in the same test process leaves Playwright's loop marked running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture
def board(monkeypatch):
    board = LoadBoard.create(2)
    monkeypatch.setattr(channels, "_board", board)
    monkeypatch.setattr(channels, "_slot", 1)
    return board


@pytest.fixture
def layer(monkeypatch):
    layer = SharedLayer()
    monkeypatch.setattr(channels, "get_channel_layer", lambda: layer)
    return layer


def test_a_broadcast_leaves_the_process_only_while_some_websocket_of_its_kind_listens(board, layer):
    assert not channels.may_listen("flow-run.0191e0b2-0000-7000-8000-000000000001")

    run(channels.join(layer, "flow-run.0191e0b2-0000-7000-8000-000000000002", "page"))
    assert channels.may_listen("flow-run.0191e0b2-0000-7000-8000-000000000001")
    assert not channels.may_listen("events")

    run(channels.leave(layer, "flow-run.0191e0b2-0000-7000-8000-000000000002", "page"))
    assert not channels.may_listen("flow-run.0191e0b2-0000-7000-8000-000000000001")


def test_a_websocket_that_could_not_join_is_not_counted(board, layer):
    run(channels.join(layer, "events", "other"))
    layer.fail = True
    with pytest.raises(ConnectionError):
        run(channels.join(layer, "events", "failed"))
    layer.fail = False
    run(channels.leave(layer, "events", "other"))
    assert not channels.may_listen("events")


def test_without_a_shared_board_every_broadcast_leaves_the_process(monkeypatch, layer):
    monkeypatch.setattr(channels, "_board", None)
    assert channels.may_listen("flow-run.0191e0b2-0000-7000-8000-000000000001")


def test_with_a_shared_board_and_nobody_listening_the_channel_layer_is_never_built(board, monkeypatch):
    def build_layer():
        raise AssertionError("the channel layer (and its Redis client) was built")

    monkeypatch.setattr(channels, "get_channel_layer", build_layer)
    channels.broadcast("flow-run.0191e0b2-0000-7000-8000-000000000001", {"type": "state"})
    assert not channels.may_listen("events")


@pytest.mark.parametrize("consumer", [EventsInConsumer, RefuseSocket])
def test_a_socket_that_joins_no_group_asks_for_no_channel_layer(consumer):
    """Getting one would load the Redis client in every process an SDK sends events to."""
    assert get_channel_layer(consumer.channel_layer_alias) is None
    assert get_channel_layer(EventsOutConsumer.channel_layer_alias) is not None
