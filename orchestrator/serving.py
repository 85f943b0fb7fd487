"""Daphne's server as `orchestrator server start` runs it.

What it changes in how Daphne (Twisted) takes requests:

- The request body is handed to Django as it came. Twisted's HTTP request parses the
  Content-Type of every POST through the standard library's email package, to decode HTML form
  submissions into arguments Daphne never reads (Django parses bodies itself). On the API's hot
  paths that was about 8 % of a server process's CPU.
- No Twisted access log. Daphne sends Twisted's log nowhere, yet Twisted formatted a
  combined-log line for every request (about 3 % of the CPU) before dropping it.
- A plain HTTP request (anything but a websocket or a static file) skips the ASGI plumbing:
  no asyncio task, queue or ASGI messages per request. Its body is handed to a PoolAnswer,
  which answers it on the Django handler's thread pool and gives the response to Daphne's
  request on the reactor. The ASGI application still serves websockets and static files.
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
    """A plain HTTP request's application, as Daphne sees it: Daphne puts the request's body
    here as it would on an application's input queue; with the last chunk the request is
    answered on the Django handler's pool (OneTripASGIHandler.respond), and the response is
    written through Daphne's request on the reactor. `done` stands for the application
    instance in Daphne's bookkeeping (its checker reaps it; shutdown waits for it)."""

    def __init__(self, handler, server, protocol, scope: dict[str, Any], loop: asyncio.AbstractEventLoop):
        self.handler = handler
        self.server = server
        self.protocol = protocol
        self.scope = scope
        self.loop = loop
        self.done = loop.create_future()
        self.body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")

    def put_nowait(self, message: dict[str, Any]) -> None:
        # After the answer, Daphne also puts an http.disconnect here: nothing listens for it.
        if message["type"] != "http.request" or self.body.closed:
            return
        self.body.write(message.get("body", b""))
        if not message.get("more_body", False):
            self.body.seek(0)
            self.handler.executor.submit(self.answer)

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
            self.protocol.handle_exception(outcome)
            self.finish()
        elif outcome.streaming:
            asyncio.ensure_future(self.stream(outcome))
        else:
            self.body.close()
            self.protocol.handle_reply(self.handler.response_start(outcome))
            self.protocol.handle_reply({"type": "http.response.body", "body": outcome.content})
            self.finish()

    async def stream(self, response) -> None:
        """A streaming response (a log download) goes out as the stock handler sends it."""
        try:
            await self.handler.send_response(response, partial(self.server.handle_reply, self.protocol))
        finally:
            self.body.close()
            await self.loop.run_in_executor(self.handler.executor, response.close)
            self.finish()

    def finish(self) -> None:
        if not self.done.done():  # Daphne cancels it when the server stops
            self.done.set_result(None)


def server_class() -> type:
    # Twisted loads pyOpenSSL (and with it much of `cryptography`) for TLS connections, which
    # the server never makes: about 5 MB per process (anonymous memory 66.4 -> 61.9 MB).
    lean.import_without("daphne.server", ("OpenSSL",))
    from daphne.http_protocol import WebRequest
    from daphne.server import Server

    class BodyAsIsRequest(WebRequest):
        """Daphne's request, without Twisted's form decoding (Twisted reads the flag it is
        constructed with when the body has arrived; this one always says no)."""

        @property
        def _parsePOSTFormSubmission(self) -> bool:  # noqa: N802 - Twisted's name
            return False

        @_parsePOSTFormSubmission.setter
        def _parsePOSTFormSubmission(self, value: bool) -> None:  # noqa: N802
            pass

    from events.ingest import ingestor, write_emitted_events_here, write_emitted_events_in_place
    from orchestrator.asgi import answered_on_pool, django_app
    from orchestrator.channels import bind_loop

    class OrchestratorServer(Server):
        def __init__(self, *args: Any, balancer: Any = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.balancer = balancer

        def create_application(self, protocol, scope):
            if not answered_on_pool(scope):
                return super().create_application(protocol, scope)
            details = self.connections.get(protocol)
            if details is None:
                return None
            answer = PoolAnswer(django_app, self, protocol, scope, asyncio.get_running_loop())
            details["application_instance"] = answer.done
            return answer

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
            # Daphne's factory sets its own request class on each connection it builds.
            build_protocol = port.factory.buildProtocol

            def build_with_body_as_is(addr):
                protocol = build_protocol(addr)
                if protocol is not None:
                    protocol.requestFactory = BodyAsIsRequest
                return protocol

            port.factory.buildProtocol = build_with_body_as_is
            port.factory.log = lambda request: None
            if self.balancer is not None:
                self.balancer.attach(port)

    return OrchestratorServer
