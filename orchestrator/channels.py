"""Sending to websocket subscribers from anywhere: request threads, services, the event loop.

Channel layers are asyncio objects. The server's event loop is remembered when the ASGI
application first runs, and every broadcast is handed to that loop, so threads never
touch the layer from another loop. A process without a server loop (a standalone
services process) only broadcasts when a shared layer (Redis) can reach other processes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger("orchestrator.channels")

_loop: asyncio.AbstractEventLoop | None = None


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _loop
    _loop = loop


async def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, message)
    except Exception:  # noqa: BLE001 - a slow subscriber must not break the sender
        logger.warning("could not broadcast to %s", group, exc_info=True)


# With `server start --workers N` the processes share a board (orchestrator.workers.LoadBoard)
# on which each counts its websockets per kind of group; set by the server command.
_board: Any = None
_slot = 0


def share_listener_counts(board: Any, slot: int) -> None:
    global _board, _slot
    _board, _slot = board, slot


def _kind(group: str) -> str:
    return group.split(".", 1)[0]


async def join(layer: Any, group: str, channel: str) -> None:
    """group_add, counted on the shared board first: a broadcast that sees the count is sent,
    and the subscription is in place before the caller reads what it has missed."""
    if _board is not None:
        _board.count_listener(_slot, _kind(group), 1)
    try:
        await layer.group_add(group, channel)
    except BaseException:
        if _board is not None:
            _board.count_listener(_slot, _kind(group), -1)
        raise


async def leave(layer: Any, group: str, channel: str) -> None:
    try:
        await layer.group_discard(group, channel)
    finally:
        if _board is not None:
            _board.count_listener(_slot, _kind(group), -1)


def may_listen(group: str) -> bool:
    """Whether anyone may be subscribed to the group: when the processes share a board (and
    so a Redis layer), any process's websockets of that kind; with this process's own layer,
    its members; with a shared layer and no board, always (the other processes' subscribers
    are unknown). The board is read first: a worker nobody has subscribed through never
    loads the Redis client (about 6 MB a process)."""
    if _board is not None:
        return _board.anyone_listens(_kind(group))
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return bool(layer.groups.get(group))
    return layer is not None


def broadcast(group: str, message: dict[str, Any]) -> None:
    if not may_listen(group):
        return
    layer = get_channel_layer()
    loop = _loop
    if loop is not None and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(_send(group, message))
        else:
            asyncio.run_coroutine_threadsafe(_send(group, message), loop)
        return
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return  # nobody in this process can be listening
    try:
        async_to_sync(_send)(group, message)
    except Exception:  # noqa: BLE001
        logger.warning("could not broadcast to %s", group, exc_info=True)
