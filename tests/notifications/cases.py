"""Each notification service: a block's data and the exact request(s) its service must get.

Shared by the unit tests (sender -> local receiver) and the end-to-end tests (a real flow run
fails -> real server -> local receiver). Webhook URLs in the blocks are the services' real
ones; the tests point each service's base-URL override at the receiver, so the path, query,
headers and body the receiver sees are what the real service would see.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notifications.messages import SUBJECT

from .receiver import Recorded

APP_NAME = "Prefect Notifications"


@dataclass
class Case:
    slug: str
    # The block document's data; custom webhooks need the receiver's URL.
    data: Callable[[str], dict[str, Any]]
    path: str  # the path every request of this service goes to
    count: int  # how many requests one notification makes
    check: Callable[[list[Recorded], str], None]  # (requests, message body)

    @property
    def id(self) -> str:
        return self.slug


def _json_post(request: Recorded) -> Any:
    assert request.method == "POST"
    assert request.header("Content-Type") == "application/json"
    return request.json


def _recent(ts: Any) -> None:
    assert isinstance(ts, int) and abs(ts - time.time()) < 600, ts


def check_slack(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    payload = _json_post(request)
    _recent(payload["attachments"][0].pop("ts"))
    assert payload == {
        "mrkdwn": True,
        "attachments": [{"title": SUBJECT, "text": body, "color": "#A32037", "footer": APP_NAME}],
    }


def check_teams(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert request.query == {
        "api-version": ["2016-06-01"],
        "sp": ["/triggers/manual/run"],
        "sv": ["1.0"],
        "sig": ["teams-signature"],
    }
    assert _json_post(request) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": SUBJECT, "weight": "Bolder", "size": "Medium", "wrap": True},
                        {"type": "TextBlock", "text": body, "wrap": True},
                    ],
                    "msteams": {"width": "full"},
                },
            }
        ],
    }


def check_discord(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert _json_post(request) == {
        "tts": False,
        "wait": True,
        "content": f"{SUBJECT}\r\n{body}",
        "username": "orchestrator-bot",
    }


def check_mattermost(requests: list[Recorded], body: str) -> None:
    payloads = sorted((_json_post(r) for r in requests), key=lambda p: p["channel"])
    text = f"{SUBJECT}\r\n{body}"
    assert payloads == [
        {"text": text, "username": APP_NAME, "channel": "alerts"},
        {"text": text, "username": APP_NAME, "channel": "ops"},
    ]


def check_opsgenie(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert request.header("Authorization") == "GenieKey opsgenie-api-key"
    assert _json_post(request) == {
        "source": APP_NAME,
        "message": SUBJECT,
        "description": body,
        "details": {"runbook": "https://wiki.example.com/etl", "type": "failure"},
        "priority": "P2",
        "tags": ["prefect"],
        "responders": [{"type": "team", "name": "data-platform"}],
    }


def check_pagerduty(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert request.header("Authorization") == "Token token=pagerduty-api-key"
    assert _json_post(request) == {
        "routing_key": "pagerduty-routing-key",
        "event_action": "trigger",
        "client": APP_NAME,
        "payload": {
            "summary": SUBJECT,
            "severity": "critical",
            "source": "Prefect",
            "component": "Notification",
            "custom_details": {"team": "data", "Prefect Notification Body": body},
        },
    }


def check_sendgrid(requests: list[Recorded], body: str) -> None:
    assert all(r.header("Authorization") == "Bearer SG.sendgrid-key" for r in requests)
    payloads = sorted((_json_post(r) for r in requests), key=lambda p: p["personalizations"][0]["to"][0]["email"])
    assert payloads == [
        {
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": "alerts@example.com"},
            "subject": SUBJECT,
            "content": [{"type": "text/plain", "value": body}],
        }
        for to in ("oncall@example.com", "team@example.com")
    ]


def check_twilio(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert request.method == "POST"
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(b"ACfedcba9876543210fedcba9876543210:0123456789abcdef0123456789abcdef").decode()
    assert request.header("Authorization") == f"Basic {expected_auth}"
    assert request.form == {"From": ["+15550000000"], "To": ["+15551112222"], "Body": [f"{SUBJECT}\r\n{body}"]}


def check_custom_webhook(requests: list[Recorded], body: str) -> None:
    (request,) = requests
    assert request.query == {"source": ["orchestrator"]}
    assert request.header("User-Agent") == APP_NAME
    assert request.header("X-Api-Token") == "webhook-secret"
    assert _json_post(request) == {"title": SUBJECT, "text": body, "via": "ops-hook"}


CASES = [
    Case(
        "slack-webhook",
        lambda receiver: {"url": "https://hooks.slack.com/services/T0001/B0001/slacksecret", "notify_type": "failure"},
        "/services/T0001/B0001/slacksecret",
        1,
        check_slack,
    ),
    Case(
        "ms-teams-webhook",
        lambda receiver: {
            "url": "https://prod-00.westus.logic.azure.com:443/workflows/wf0001/triggers/manual/paths/invoke"
            "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=teams-signature"
        },
        "/workflows/wf0001/triggers/manual/paths/invoke",
        1,
        check_teams,
    ),
    Case(
        "discord-webhook",
        lambda receiver: {"webhook_id": "100200300", "webhook_token": "discord-token", "botname": "orchestrator-bot"},
        "/api/webhooks/100200300/discord-token",
        1,
        check_discord,
    ),
    Case(
        "mattermost-webhook",
        lambda receiver: {"hostname": "chat.example.com", "token": "mattermost-token", "channels": ["ops", "alerts"]},
        "/hooks/mattermost-token",
        2,
        check_mattermost,
    ),
    Case(
        "opsgenie-webhook",
        lambda receiver: {
            "apikey": "opsgenie-api-key",
            "target_team": ["data-platform"],
            "priority": 2,
            "tags": ["prefect"],
            "details": {"runbook": "https://wiki.example.com/etl"},
            "notify_type": "failure",
        },
        "/v2/alerts",
        1,
        check_opsgenie,
    ),
    Case(
        "pager-duty-webhook",
        lambda receiver: {
            "integration_key": "pagerduty-routing-key",
            "api_key": "pagerduty-api-key",
            "notify_type": "failure",
            "custom_details": {"team": "data"},
        },
        "/v2/enqueue",
        1,
        check_pagerduty,
    ),
    Case(
        "sendgrid-email",
        lambda receiver: {
            "api_key": "SG.sendgrid-key",
            "sender_email": "alerts@example.com",
            "to_emails": ["oncall@example.com", "team@example.com"],
        },
        "/v3/mail/send",
        2,
        check_sendgrid,
    ),
    Case(
        "twilio-sms",
        lambda receiver: {
            "account_sid": "ACfedcba9876543210fedcba9876543210",
            "auth_token": "0123456789abcdef0123456789abcdef",
            "from_phone_number": "+15550000000",
            "to_phone_numbers": ["+15551112222"],
        },
        "/2010-04-01/Accounts/ACfedcba9876543210fedcba9876543210/Messages.json",
        1,
        check_twilio,
    ),
    Case(
        "custom-webhook",
        lambda receiver: {
            "name": "ops-hook",
            "url": f"{receiver}/custom/alerts?source=orchestrator",
            "method": "POST",
            "json_data": {"title": "{{subject}}", "text": "{{body}}", "via": "{{name}}"},
            "headers": {"X-Api-Token": "{{token}}"},
            "secrets": {"token": "webhook-secret"},
        },
        "/custom/alerts",
        1,
        check_custom_webhook,
    ),
]

# The services whose base URL the tests override (the custom webhook's URL is the block's own).
OVERRIDDEN = ("slack", "ms_teams", "discord", "mattermost", "opsgenie", "pagerduty", "sendgrid", "twilio")
