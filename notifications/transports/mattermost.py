"""Mattermost incoming webhooks: https://developers.mattermost.com/integrate/webhooks/incoming/

The server is the block's own (hostname, port, path; http unless `secure`); one request per
channel, or one to the webhook's own channel when none are listed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import APP_NAME, BlockConfigError, HttpCall, Transport, joined, optional_text, required, text_list


class Mattermost(Transport):
    slug = "mattermost-webhook"
    service = "mattermost"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        host = required(data, "hostname")
        if "/" in host or " " in host:
            raise BlockConfigError("the block's hostname must be a host name only, without scheme or path")
        port = data.get("port", 8065)
        if port is None:
            port = 8065
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BlockConfigError("the block's port must be a number from 1 to 65535")
        token = quote(required(data, "token"), safe="")
        path = (optional_text(data, "path") or "").strip("/")
        scheme = "https" if data.get("secure") is True else "http"
        prefix = f"/{path}" if path else ""
        url, overridden = self.service_url(f"{scheme}://{host}:{port}{prefix}/hooks/{token}")
        base = {"text": joined(subject, body), "username": optional_text(data, "botname") or APP_NAME}
        channels = [channel.lstrip("#") for channel in text_list(data, "channels")]
        allow = self.allow_private(data, overridden)
        if not channels:
            return [HttpCall(target="Mattermost webhook", method="POST", url=url, json=base, allow_private=allow)]
        return [
            HttpCall(
                target=f"Mattermost channel {channel}",
                method="POST",
                url=url,
                json={**base, "channel": channel},
                allow_private=allow,
            )
            for channel in channels
        ]
