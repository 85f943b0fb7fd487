"""Microsoft Teams through a Power Automate workflow ("Post to a channel when a webhook
request is received"), which takes an Adaptive Card in a message envelope:
https://learn.microsoft.com/connectors/teams/#microsoft-teams-webhook"""

from __future__ import annotations

from typing import Any

from .base import BlockConfigError, HttpCall, Transport, required

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"


class MicrosoftTeams(Transport):
    slug = "ms-teams-webhook"
    service = "ms_teams"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        url = required(data, "url", "webhook URL")
        if not url.lower().startswith(("https://", "http://")):
            raise BlockConfigError("the block's webhook URL must start with https://")
        url, overridden = self.service_url(url)
        wrap = data.get("wrap", True) is not False
        card = {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "body": [
                {"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium", "wrap": wrap},
                {"type": "TextBlock", "text": body, "wrap": wrap},
            ],
            "msteams": {"width": "full"},
        }
        payload = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }
        return [
            HttpCall(
                target="Teams workflow",
                method="POST",
                url=url,
                json=payload,
                allow_private=self.allow_private(data, overridden),
            )
        ]
