"""Daphne's server as `orchestrator server start` runs it.

What it changes in how Daphne (Twisted) takes requests:

- HTTP on each connection is spoken by our own channel (orchestrator.httpchannel) instead of
  Twisted's HTTP channel and Daphne's request, which cost more of a process's time than the
  views they served. Earlier, narrower fixes to them (skipping Twisted's form decoding and
  its access log) are subsumed.
- A plain HTTP request (anything but a websocket or a static file) skips the ASGI plumbing:
  no asyncio task, queue or ASGI messages per request. Its body is handed to a PoolAnswer,
  which answers it on the Django handler's thread pool and writes the response through the
  channel on the reactor. The ASGI application still serves static files, and websockets
  are handed to Daphne's websocket protocol.
- With several worker processes, the listening port is handed to the Balancer
  (orchestrator.workers), which spreads connections over the processes.
- Its loop is the one request and service threads hand broadcasts and the events of their
  changes to (events.store); before the loop stops, the events handed over are written.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from functools import partial
from typing import Any

from django.conf import settings

from orchestrator import lean

logger = logging.getLogger("orchestrator.server")


class PoolAnswer:
    """A plain HTTP request, answered on the Django handler's pool (OneTripASGIHandler.respond)
    and written back through its connection's channel (orchestrator.httpchannel) on the
    reactor."""

    def __init__(self, handler, channel, scope: dict[str, Any], body, loop: asyncio.AbstractEventLoop):
        self.handler = handler
        self.channel = channel
        self.scope = scope
        self.body = body
        self.loop = loop

    @classmethod
    def start(cls, handler, channel, scope: dict[str, Any], body) -> None:
        answer = cls(handler, channel, scope, body, asyncio.get_running_loop())
        handler.executor.submit(answer.answer)

    def answer(self) -> None:
        """On a pool thread: the response, handed back to the reactor."""
        try:
            outcome = self.handler.respond(self.scope, self.body)
        except Exception as exc:  # noqa: BLE001 - reported on the reactor, as Daphne would
            outcome = exc
        self.loop.call_soon_threadsafe(self.reply, outcome)

    def reply(self, outcome) -> None:
        """On the reactor: write the response (or a 500 for an exception Django let out)."""
        if isinstance(outcome, Exception):
            self.body.close()
            logger.error("Exception inside application: %s", outcome, exc_info=outcome)
            self.channel.handle_exception(outcome)
        elif outcome.streaming:
            asyncio.ensure_future(self.stream(outcome))
        else:
            self.body.close()
            self.channel.handle_reply(self.handler.response_start(outcome))
            self.channel.handle_reply({"type": "http.response.body", "body": outcome.content})

    async def stream(self, response) -> None:
        """A streaming response (a log download) goes out as the stock handler sends it."""

        async def send(message: dict[str, Any]) -> None:
            self.channel.handle_reply(message)

        try:
            await self.handler.send_response(response, send)
        except Exception as exc:  # noqa: BLE001 - the connection is closed; the error logged
            logger.error("Exception while streaming a response: %s", exc, exc_info=exc)
            self.channel.handle_exception(exc)
        finally:
            self.body.close()
            await self.loop.run_in_executor(self.handler.executor, response.close)


def request_body_file():
    """Where a request's body is kept for Django: in memory up to Django's limit for uploads,
    then on disk."""
    return tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")


def server_class() -> type:
    # Twisted loads pyOpenSSL (and with it much of `cryptography`) for TLS connections, which
    # the server never makes: about 5 MB per process (anonymous memory 66.4 -> 61.9 MB).
    lean.import_without("daphne.server", ("OpenSSL",))
    from daphne.server import Server

    from events.ingest import ingestor, write_emitted_events_here, write_emitted_events_in_place
    from orchestrator.asgi import answered_on_pool, django_app
    from orchestrator.channels import bind_loop
    from orchestrator.httpchannel import IDLE_CHECK_SECONDS, HTTPChannel, close_idle

    answer_on_pool = partial(PoolAnswer.start, django_app)

    class OrchestratorServer(Server):
        def __init__(self, *args: Any, balancer: Any = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.balancer = balancer
            self.idle_check = None

        def run(self) -> None:
            from twisted.internet import reactor

            reactor.callLater(0, self.adopt_loop)
            reactor.addSystemEventTrigger("before", "shutdown", self.write_pending_events)
            try:
                super().run()
            finally:
                write_emitted_events_in_place()

        def write_pending_events(self):
            """Before the loop stops, the events emitted so far are written."""
            from twisted.internet import defer

            return defer.Deferred.fromFuture(asyncio.ensure_future(ingestor().flush()))

        def adopt_loop(self) -> None:
            """On the running loop (Daphne's own, not asyncio's current one): broadcasts from
            request threads and the events this process emits are handed to it."""
            loop = asyncio.get_running_loop()
            bind_loop(loop)
            write_emitted_events_here()

        def listen_success(self, port) -> None:
            super().listen_success(port)
            # Each connection speaks HTTP through our channel (orchestrator.httpchannel), not
            # through the Twisted channel Daphne's factory would build.
            server = self

            def build_channel(addr):
                return HTTPChannel(server, answer_on_pool, answered_on_pool, request_body_file)

            port.factory.buildProtocol = build_channel
            if self.idle_check is None:
                from twisted.internet.task import LoopingCall

                self.idle_check = LoopingCall(close_idle)
                self.idle_check.start(IDLE_CHECK_SECONDS, now=False)
            if self.balancer is not None:
                self.balancer.attach(port)

    return OrchestratorServer
