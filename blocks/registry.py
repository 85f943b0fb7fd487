"""The block types every server has: secrets, webhooks and the notification targets.

They are installed (or brought up to date) after every migration and by
`POST /block_types/install_system_block_types`, so users and the notifications feature can
create documents of them from the first start. Field names follow the Prefect client's
classes of the same slugs, so a document saved from Python and one made on the dashboard
mean the same thing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction

from .models import BlockSchema, BlockType

SYSTEM_VERSION = "3.8.8"
NOTIFY = ["notify"]
NOTIFY_TYPES = ["prefect_default", "info", "success", "warning", "failure"]


def checksum(fields: dict[str, Any]) -> str:
    """The schema checksum exactly as the Prefect client computes it: sha256 of the JSON of
    `[[fields], {}]` with sorted keys, without any `secret_fields` and without definitions
    that describe nested blocks."""

    def without_secret_fields(value):
        if isinstance(value, dict):
            return {k: without_secret_fields(v) for k, v in value.items() if k != "secret_fields"}
        return value

    fields = without_secret_fields(fields)
    definitions = fields.get("definitions")
    if definitions:
        kept = _plain_definitions(fields, definitions)
        if kept:
            fields["definitions"] = kept
        else:
            fields.pop("definitions")
    text = json.dumps([[fields], {}], sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _references(value) -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_references(item))
    return found


def _plain_definitions(obj: dict, definitions: dict) -> dict:
    """Definitions `obj` uses, directly or not, that are not blocks themselves."""
    kept: dict = {}
    for reference in _references(obj):
        key = reference.replace("#/definitions/", "")
        definition = definitions.get(key)
        if definition and definition.get("block_type_slug") is None and key not in kept:
            kept[key] = definition
            kept.update(_plain_definitions(definition, definitions))
    return kept


# -- field helpers -------------------------------------------------------------------


def _text(title: str, description: str, default: Any = ..., nullable: bool = False) -> dict:
    field: dict[str, Any] = {"title": title, "description": description}
    if nullable:
        field["anyOf"] = [{"type": "string"}, {"type": "null"}]
    else:
        field["type"] = "string"
    if default is not ...:
        field["default"] = default
    return field


def _secret(title: str, description: str) -> dict:
    return {"title": title, "description": description, "type": "string", "format": "password", "writeOnly": True}


def _bool(title: str, description: str, default: bool) -> dict:
    return {"title": title, "description": description, "type": "boolean", "default": default}


def _int(title: str, description: str, default: Any, nullable: bool = False) -> dict:
    field = {"title": title, "description": description, "default": default}
    if nullable:
        field["anyOf"] = [{"type": "integer"}, {"type": "null"}]
    else:
        field["type"] = "integer"
    return field


def _list(title: str, description: str, nullable: bool = True) -> dict:
    field: dict[str, Any] = {"title": title, "description": description}
    if nullable:
        field["anyOf"] = [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
        field["default"] = None
    else:
        field["type"] = "array"
        field["items"] = {"type": "string"}
    return field


def _object(title: str, description: str, nullable: bool = True) -> dict:
    field: dict[str, Any] = {"title": title, "description": description}
    if nullable:
        field["anyOf"] = [{"type": "object"}, {"type": "null"}]
        field["default"] = None
    else:
        field["type"] = "object"
    return field


def _notify_type() -> dict:
    return {
        "title": "Notify type",
        "description": "The kind of notification, which some services show as a colour or icon.",
        "type": "string",
        "enum": NOTIFY_TYPES,
        "default": "info",
    }


def _schema(slug: str, title: str, properties: dict[str, dict], required: list[str], secret: list[str]) -> dict:
    for position, field in enumerate(properties.values()):
        field["position"] = position
    return {
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
        "secret_fields": secret,
        "block_type_slug": slug,
        "block_schema_references": {},
    }


def _type(
    slug: str,
    name: str,
    description: str,
    documentation_url: str | None,
    fields: dict,
    capabilities: list[str],
    code: str,
) -> dict:
    return {
        "type": {
            "slug": slug,
            "name": name,
            "description": description,
            "documentation_url": documentation_url,
            "logo_url": None,
            "code_example": code,
        },
        "fields": fields,
        "capabilities": capabilities,
    }


def _notification_code(class_name: str, slug: str) -> str:
    return (
        "```python\n"
        f"from prefect.blocks.notifications import {class_name}\n\n"
        f'block = {class_name}.load("BLOCK_NAME")\n'
        'block.notify("Hello from Prefect!")\n'
        "```"
    )


SYSTEM_BLOCKS: list[dict[str, Any]] = [
    _type(
        "secret",
        "Secret",
        "A single secret value, stored encrypted and hidden when read.",
        "https://docs.prefect.io/latest/develop/blocks",
        _schema("secret", "Secret", {"value": _secret("Value", "The secret.")}, ["value"], ["value"]),
        [],
        '```python\nfrom prefect.blocks.system import Secret\n\nsecret = Secret.load("BLOCK_NAME")\nsecret.get()\n```',
    ),
    _type(
        "webhook",
        "Webhook",
        "Calls an HTTP endpoint with a configurable method and headers.",
        None,
        _schema(
            "webhook",
            "Webhook",
            {
                "method": {
                    "title": "Method",
                    "description": "The HTTP method.",
                    "type": "string",
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                    "default": "POST",
                },
                "url": _secret("Webhook URL", "The address to call."),
                "headers": _object("Headers", "HTTP headers to send.", nullable=False),
                "allow_private_urls": _bool("Allow private URLs", "Whether private addresses may be called.", True),
                "verify": _bool("Verify TLS", "Whether to verify the server's certificate.", True),
            },
            ["url"],
            ["url", "headers.*"],
        ),
        [],
        '```python\nfrom prefect.blocks.webhook import Webhook\n\nwebhook = Webhook.load("BLOCK_NAME")\n```',
    ),
    _type(
        "slack-webhook",
        "Slack Webhook",
        "Posts notifications to a Slack channel through an incoming webhook.",
        "https://api.slack.com/messaging/webhooks",
        _schema(
            "slack-webhook",
            "SlackWebhook",
            {
                "notify_type": _notify_type(),
                "url": _secret("Webhook URL", "The Slack incoming webhook URL."),
                "allow_private_urls": _bool("Allow private URLs", "Whether private addresses may be called.", True),
            },
            ["url"],
            ["url"],
        ),
        NOTIFY,
        _notification_code("SlackWebhook", "slack-webhook"),
    ),
    _type(
        "ms-teams-webhook",
        "Microsoft Teams Webhook",
        "Posts notifications to a Microsoft Teams channel through a workflow or incoming webhook.",
        "https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/",
        _schema(
            "ms-teams-webhook",
            "MicrosoftTeamsWebhook",
            {
                "notify_type": _notify_type(),
                "url": _secret("Webhook URL", "The Teams workflow or incoming webhook URL."),
                "allow_private_urls": _bool("Allow private URLs", "Whether private addresses may be called.", True),
                "include_image": _bool("Include image", "Whether to include the notification icon.", True),
                "wrap": _bool("Wrap text", "Whether long text wraps in the card.", True),
            },
            ["url"],
            ["url"],
        ),
        NOTIFY,
        _notification_code("MicrosoftTeamsWebhook", "ms-teams-webhook"),
    ),
    _type(
        "discord-webhook",
        "Discord Webhook",
        "Posts notifications to a Discord channel through a webhook.",
        "https://discord.com/developers/docs/resources/webhook",
        _schema(
            "discord-webhook",
            "DiscordWebhook",
            {
                "notify_type": _notify_type(),
                "webhook_id": _secret("Webhook ID", "The first part of the webhook URL after /webhooks/."),
                "webhook_token": _secret("Webhook token", "The last part of the webhook URL."),
                "botname": _text("Bot name", "The name shown as the sender.", None, nullable=True),
                "tts": _bool("Text to speech", "Whether Discord reads the message aloud.", False),
                "include_image": _bool("Include image", "Whether to include the notification icon.", False),
                "avatar": _bool("Avatar", "Whether to show an avatar.", False),
                "avatar_url": _text("Avatar URL", "The avatar image to show.", None, nullable=True),
            },
            ["webhook_id", "webhook_token"],
            ["webhook_id", "webhook_token"],
        ),
        NOTIFY,
        _notification_code("DiscordWebhook", "discord-webhook"),
    ),
    _type(
        "mattermost-webhook",
        "Mattermost Webhook",
        "Posts notifications to Mattermost through an incoming webhook.",
        "https://developers.mattermost.com/integrate/webhooks/incoming/",
        _schema(
            "mattermost-webhook",
            "MattermostWebhook",
            {
                "notify_type": _notify_type(),
                "hostname": _text("Hostname", "The Mattermost server's host name."),
                "secure": _bool("Use HTTPS", "Whether to reach the server over HTTPS.", False),
                "token": _secret("Token", "The incoming webhook's token."),
                "botname": _text("Bot name", "The name shown as the sender.", None, nullable=True),
                "channels": _list("Channels", "Channels to post to instead of the webhook's default."),
                "include_image": _bool("Include image", "Whether to include the notification icon.", False),
                "path": _text("Path", "A path prefix of the server, if it has one.", None, nullable=True),
                "port": _int("Port", "The server's port.", 8065),
            },
            ["hostname", "token"],
            ["token"],
        ),
        NOTIFY,
        _notification_code("MattermostWebhook", "mattermost-webhook"),
    ),
    _type(
        "opsgenie-webhook",
        "Opsgenie Webhook",
        "Opens Opsgenie alerts.",
        "https://docs.opsgenie.com/docs/alert-api",
        _schema(
            "opsgenie-webhook",
            "OpsgenieWebhook",
            {
                "notify_type": _notify_type(),
                "apikey": _secret("API key", "An Opsgenie API integration key."),
                "target_user": _list("Target users", "Users to notify."),
                "target_team": _list("Target teams", "Teams to notify."),
                "target_schedule": _list("Target schedules", "Schedules to notify."),
                "target_escalation": _list("Target escalations", "Escalations to notify."),
                "region_name": {
                    "title": "Region",
                    "description": "The Opsgenie region.",
                    "type": "string",
                    "enum": ["us", "eu"],
                    "default": "us",
                },
                "batch": _bool("Batch", "Whether to send targets in one request.", False),
                "tags": _list("Tags", "Tags added to the alert."),
                "priority": _int("Priority", "The alert priority, 1 (P1) to 5 (P5).", 3, nullable=True),
                "alias": _text("Alias", "An identifier that de-duplicates alerts.", None, nullable=True),
                "entity": _text("Entity", "The domain of the alert.", None, nullable=True),
                "details": _object("Details", "Extra key-value details for the alert."),
            },
            ["apikey"],
            ["apikey"],
        ),
        NOTIFY,
        _notification_code("OpsgenieWebhook", "opsgenie-webhook"),
    ),
    _type(
        "pager-duty-webhook",
        "Pager Duty Webhook",
        "Triggers PagerDuty incidents through the Events API.",
        "https://developer.pagerduty.com/docs/events-api-v2/overview/",
        _schema(
            "pager-duty-webhook",
            "PagerDutyWebHook",
            {
                "notify_type": _notify_type(),
                "integration_key": _secret("Integration key", "The routing key of the PagerDuty service."),
                "api_key": _secret("API key", "A PagerDuty API key."),
                "source": _text("Source", "Where the event comes from.", "Prefect", nullable=True),
                "component": _text("Component", "The part of the system that is affected.", "Notification"),
                "group": _text("Group", "A logical group of components.", None, nullable=True),
                "class_id": _text("Class", "The class or type of the event.", None, nullable=True),
                "region_name": {
                    "title": "Region",
                    "description": "The PagerDuty region.",
                    "type": "string",
                    "enum": ["us", "eu"],
                    "default": "us",
                },
                "clickable_url": _text("Link", "A URL shown with the incident.", None, nullable=True),
                "include_image": _bool("Include image", "Whether to include the notification icon.", True),
                "custom_details": _object("Custom details", "Extra key-value details for the incident."),
            },
            ["integration_key", "api_key"],
            ["integration_key", "api_key"],
        ),
        NOTIFY,
        _notification_code("PagerDutyWebHook", "pager-duty-webhook"),
    ),
    _type(
        "sendgrid-email",
        "Sendgrid Email",
        "Sends notification emails through SendGrid.",
        "https://docs.sendgrid.com/api-reference/mail-send/mail-send",
        _schema(
            "sendgrid-email",
            "SendgridEmail",
            {
                "notify_type": _notify_type(),
                "api_key": _secret("API key", "A SendGrid API key with mail send access."),
                "sender_email": _text("Sender", "The address the email comes from."),
                "to_emails": _list("Recipients", "Addresses the email goes to.", nullable=False),
            },
            ["api_key", "sender_email", "to_emails"],
            ["api_key"],
        ),
        NOTIFY,
        _notification_code("SendgridEmail", "sendgrid-email"),
    ),
    _type(
        "twilio-sms",
        "Twilio SMS",
        "Sends notification text messages through Twilio.",
        "https://www.twilio.com/docs/sms/api/message-resource",
        _schema(
            "twilio-sms",
            "TwilioSMS",
            {
                "notify_type": _notify_type(),
                "account_sid": _text("Account SID", "The Twilio account identifier."),
                "auth_token": _secret("Auth token", "The Twilio account's auth token."),
                "from_phone_number": _text("From", "The Twilio number that sends, e.g. +15555550100."),
                "to_phone_numbers": _list("To", "Numbers that receive the message.", nullable=False),
            },
            ["account_sid", "auth_token", "from_phone_number", "to_phone_numbers"],
            ["auth_token"],
        ),
        NOTIFY,
        _notification_code("TwilioSMS", "twilio-sms"),
    ),
    _type(
        "custom-webhook",
        "Custom Webhook",
        "Calls any HTTP endpoint with a request you compose; {{subject}}, {{body}} and secrets are filled in.",
        None,
        _schema(
            "custom-webhook",
            "CustomWebhookNotificationBlock",
            {
                "name": _text("Name", "A name for the service, used in messages."),
                "url": _text("URL", "The address to call; may contain {{placeholders}}."),
                "method": {
                    "title": "Method",
                    "description": "The HTTP method.",
                    "type": "string",
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                    "default": "POST",
                },
                "params": _object("Query parameters", "Query string parameters."),
                "json_data": _object("JSON body", "A JSON body; mutually exclusive with the form body."),
                "form_data": {
                    "title": "Form body",
                    "description": "A form-encoded body.",
                    "anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}],
                    "default": None,
                },
                "headers": _object("Headers", "HTTP headers to send."),
                "cookies": _object("Cookies", "Cookies to send."),
                "timeout": {
                    "title": "Timeout",
                    "description": "Seconds to wait for an answer.",
                    "type": "number",
                    "default": 10,
                },
                "allow_private_urls": _bool("Allow private URLs", "Whether private addresses may be called.", True),
                "secrets": {
                    "title": "Secrets",
                    "description": "Values usable as {{name}} in the request.",
                    "type": "object",
                    "default": {},
                },
            },
            ["name", "url"],
            ["secrets.*"],
        ),
        NOTIFY,
        "```python\nfrom prefect.blocks.notifications import CustomWebhookNotificationBlock\n\n"
        'block = CustomWebhookNotificationBlock.load("BLOCK_NAME")\n```',
    ),
    # Ours, not Prefect's: plain email through the server's SMTP settings (EMAIL_URL), which
    # Prefect offers only in its Cloud. The server sends it; no client class loads it.
    _type(
        "email",
        "Email",
        "Sends notification emails through this server's SMTP settings (EMAIL_URL).",
        None,
        _schema(
            "email",
            "Email",
            {
                "emails": _list("Recipients", "Addresses the email goes to.", nullable=False),
                "subject": _text(
                    "Subject", "The subject line; the default is Prefect's notification subject.", None, nullable=True
                ),
            },
            ["emails"],
            [],
        ),
        NOTIFY,
        "Sent by the server through its `EMAIL_URL` (e.g. `smtp+tls://user:password@smtp.example.com:587`);"
        " choose it as a notification's destination.",
    ),
]

NOTIFICATION_SLUGS = [b["type"]["slug"] for b in SYSTEM_BLOCKS if "notify" in b["capabilities"]]


def install_system_blocks() -> int:
    """Create or update the system block types and their current schemas."""
    installed = 0
    with transaction.atomic():
        for block in SYSTEM_BLOCKS:
            info = block["type"]
            block_type, _ = BlockType.objects.update_or_create(
                slug=info["slug"],
                defaults={
                    "name": info["name"],
                    "description": info["description"],
                    "documentation_url": info["documentation_url"],
                    "logo_url": info["logo_url"],
                    "code_example": info["code_example"],
                    "is_protected": True,
                },
            )
            fields = block["fields"]
            BlockSchema.objects.update_or_create(
                checksum=checksum(fields),
                version=SYSTEM_VERSION,
                defaults={"fields": fields, "block_type": block_type, "capabilities": block["capabilities"]},
            )
            installed += 1
    return installed
