"""Discord webhooks: https://discord.com/developers/docs/resources/webhook#execute-webhook"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import HttpCall, Transport, joined, optional_text, required, truncate

API = "https://discord.com/api/webhooks"
# Discord refuses messages longer than this (400).
MAX_CONTENT = 2000


class Discord(Transport):
    slug = "discord-webhook"
    service = "discord"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        webhook_id = quote(required(data, "webhook_id", "webhook ID"), safe="")
        token = quote(required(data, "webhook_token", "webhook token"), safe="")
        url, overridden = self.service_url(f"{API}/{webhook_id}/{token}")
        payload: dict[str, Any] = {
            "tts": data.get("tts") is True,
            "wait": True,
            "content": truncate(joined(subject, body), MAX_CONTENT),
        }
        botname = optional_text(data, "botname")
        if botname:
            payload["username"] = botname
        avatar_url = optional_text(data, "avatar_url")
        if data.get("avatar") is True and avatar_url:
            payload["avatar_url"] = avatar_url
        return [
            HttpCall(
                target="Discord webhook",
                method="POST",
                url=url,
                json=payload,
                allow_private=self.allow_private(data, overridden),
            )
        ]
