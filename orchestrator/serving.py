"""Daphne's server as `orchestrator server start` runs it.

Two changes to how Daphne (Twisted) takes requests:

- The request body is handed to Django as it came. Twisted's HTTP request parses the
  Content-Type of every POST through the standard library's email package, to decode HTML form
  submissions into arguments Daphne never reads (Django parses bodies itself). On the API's hot
  paths that was about 8 % of a server process's CPU.
- No Twisted access log. Daphne sends Twisted's log nowhere, yet Twisted formatted a
  combined-log line for every request (about 3 % of the CPU) before dropping it.
- With several worker processes, the listening port is handed to the Balancer
  (orchestrator.workers), which spreads connections over the processes.
"""

from __future__ import annotations

from typing import Any

from orchestrator import lean


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

    class OrchestratorServer(Server):
        def __init__(self, *args: Any, balancer: Any = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.balancer = balancer

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
