"""SendGrid mail send: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send

One request per recipient, so recipients do not see one another's addresses.
"""

from __future__ import annotations

from typing import Any

from .base import HttpCall, Transport, required, text_list

API = "https://api.sendgrid.com/v3/mail/send"


class Sendgrid(Transport):
    slug = "sendgrid-email"
    service = "sendgrid"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        api_key = required(data, "api_key", "API key")
        sender = required(data, "sender_email", "sender email")
        recipients = text_list(data, "to_emails", required_=True)
        url, overridden = self.service_url(API)
        return [
            HttpCall(
                target=f"email to {to}"[:255],
                method="POST",
                url=url,
                headers={"Authorization": f"Bearer {api_key}"},
                json={
                    "personalizations": [{"to": [{"email": to}]}],
                    "from": {"email": sender},
                    "subject": subject,
                    "content": [{"type": "text/plain", "value": body}],
                },
                allow_private=self.allow_private(data, overridden),
            )
            for to in recipients
        ]
