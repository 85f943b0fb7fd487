"""Twilio SMS: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource

One request per recipient, with the account SID and auth token as HTTP basic auth.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .base import HttpCall, Transport, joined, required, text_list, truncate

API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
# Twilio refuses message bodies longer than this (error 21617).
MAX_BODY = 1600


class TwilioSMS(Transport):
    slug = "twilio-sms"
    service = "twilio"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        sid = required(data, "account_sid", "account SID")
        token = required(data, "auth_token", "auth token")
        sender = required(data, "from_phone_number", "sending number")
        recipients = text_list(data, "to_phone_numbers", required_=True)
        url, overridden = self.service_url(API.format(sid=quote(sid, safe="")))
        text = truncate(joined(subject, body), MAX_BODY)
        return [
            HttpCall(
                target=f"SMS to {to}"[:255],
                method="POST",
                url=url,
                auth=(sid, token),
                data={"From": sender, "To": to, "Body": text},
                allow_private=self.allow_private(data, overridden),
            )
            for to in recipients
        ]
