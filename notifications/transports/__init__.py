"""One transport per notification service, found by its block type's slug."""

from __future__ import annotations

from .base import APP_NAME, BlockConfigError, Call, EmailCall, HttpCall, Transport
from .discord import Discord
from .email import Email
from .mattermost import Mattermost
from .opsgenie import Opsgenie
from .pagerduty import PagerDuty
from .sendgrid import Sendgrid
from .slack import Slack
from .teams import MicrosoftTeams
from .twilio import TwilioSMS
from .webhook import CustomWebhook

TRANSPORTS: dict[str, Transport] = {
    transport.slug: transport
    for transport in (
        Slack(),
        MicrosoftTeams(),
        Discord(),
        Mattermost(),
        Opsgenie(),
        PagerDuty(),
        Sendgrid(),
        TwilioSMS(),
        CustomWebhook(),
        Email(),
    )
}


def for_slug(slug: str | None) -> Transport | None:
    return TRANSPORTS.get(slug or "")


__all__ = ["APP_NAME", "TRANSPORTS", "BlockConfigError", "Call", "EmailCall", "HttpCall", "Transport", "for_slug"]
