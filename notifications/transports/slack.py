"""Slack incoming webhooks: https://api.slack.com/messaging/webhooks"""

from __future__ import annotations

import time
from typing import Any

from .base import APP_NAME, BlockConfigError, HttpCall, Transport, required

# Attachment colours by the block's notify_type (Slack shows them as the message's side bar).
COLORS = {
    "info": "#3AA3E3",
    "success": "#3AA337",
    "warning": "#CACF29",
    "failure": "#A32037",
}
DEFAULT_COLOR = "#888888"


class Slack(Transport):
    slug = "slack-webhook"
    service = "slack"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        url = required(data, "url", "webhook URL")
        if not url.lower().startswith(("https://", "http://")):
            raise BlockConfigError("the block's webhook URL must start with https://")
        url, overridden = self.service_url(url)
        payload = {
            "mrkdwn": True,
            "attachments": [
                {
                    "title": subject,
                    "text": body,
                    "color": COLORS.get(data.get("notify_type"), DEFAULT_COLOR),
                    "footer": APP_NAME,
                    "ts": int(time.time()),
                }
            ],
        }
        return [
            HttpCall(
                target="Slack webhook",
                method="POST",
                url=url,
                json=payload,
                allow_private=self.allow_private(data, overridden),
            )
        ]
