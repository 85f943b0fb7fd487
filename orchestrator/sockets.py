"""The handshake every Prefect websocket starts with.

The client offers the `prefect` subprotocol, pings, then sends `{"type": "auth", "token": ...}`
and expects `{"type": "auth_success"}`. A client that offers no subprotocol is let in without
the exchange unless the server requires an auth string. Pings are answered by Daphne.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from .auth import auth_string, token_ok

logger = logging.getLogger("orchestrator.sockets")

POLICY_VIOLATION = 1008
PROTOCOL_ERROR = 1002

# For consumers that join no group: channels then gives them no channel layer. Asking for one
# would load the Redis client (about 7 MB a process) in every process an SDK sends events to or
# a worker knocks on, though only subscribers need it.
NO_CHANNEL_LAYER = None


class PrefectSocket(AsyncWebsocketConsumer):
    authenticated = False

    async def connect(self):
        if "prefect" in (self.scope.get("subprotocols") or []):
            await self.accept("prefect")
            return
        if auth_string():
            await self.close(code=POLICY_VIOLATION)
            return
        await self.accept()
        self.authenticated = True
        await self.on_authenticated()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not self.authenticated:
            if not isinstance(message, dict) or message.get("type") != "auth":
                await self.close(code=POLICY_VIOLATION, reason="Expected 'auth' message")
                return
            if not token_ok(message.get("token")):
                reason = "Auth required but no token provided" if message.get("token") is None else "Invalid token"
                await self.close(code=POLICY_VIOLATION, reason=reason)
                return
            self.authenticated = True
            await self.send_json({"type": "auth_success"})
            await self.on_authenticated()
            return
        await self.on_message(message, raw)

    async def send_json(self, payload: Any) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":"), default=str))

    async def on_authenticated(self) -> None:
        pass

    async def on_message(self, message: Any, raw: str) -> None:
        pass


class RefuseSocket(AsyncWebsocketConsumer):
    """A websocket we do not offer; closing before accepting answers the upgrade with 403,
    which makes the Prefect worker fall back to its REST heartbeat."""

    channel_layer_alias = NO_CHANNEL_LAYER

    async def connect(self):
        await self.close()
