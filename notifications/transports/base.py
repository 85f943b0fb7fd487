"""What every transport shares: the calls it asks for, reading block data, service URLs.

A transport turns a block document's data and a message into the calls its service expects
(`calls()`); it sends nothing itself. The sender makes the calls, in order, and records each;
a call that succeeded is not repeated when the delivery is retried.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from ..outcomes import Outcome, TransportError

# The sender's name Prefect's notification blocks give services (Slack footer, Opsgenie
# source, PagerDuty client, webhook User-Agent); kept so rules receivers wrote for Prefect's
# notifications keep matching ours.
APP_NAME = "Prefect Notifications"


class BlockConfigError(TransportError):
    """The block's settings cannot be sent with: a permanent failure that names the field."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


def notification_settings() -> dict[str, Any]:
    return settings.ORCHESTRATOR.get("NOTIFICATIONS", {})


def default_timeout() -> float:
    return float(notification_settings().get("TIMEOUT_SECONDS", 10.0))


@dataclass
class HttpCall:
    """One HTTP request to make."""

    target: str  # who is addressed, for the history (never a secret)
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: Any = None
    params: dict[str, Any] | None = None
    cookies: dict[str, str] | None = None
    auth: tuple[str, str] | None = None
    timeout: float | None = None
    allow_private: bool = True

    def send(self) -> Outcome:
        from .. import http  # loads `requests`, which only a process that sends needs

        return http.request(
            self.method,
            self.url,
            timeout=self.timeout or default_timeout(),
            headers=self.headers,
            json=self.json,
            data=self.data,
            params=self.params,
            cookies=self.cookies,
            auth=self.auth,
            allow_private=self.allow_private,
        )


@dataclass
class EmailCall:
    """One email to send through Django's mail settings (EMAIL_URL)."""

    target: str
    subject: str
    body: str
    recipients: list[str]

    def send(self) -> Outcome:
        from django.core.mail import EmailMessage, get_connection

        if not notification_settings().get("EMAIL_CONFIGURED"):
            raise TransportError(
                "email is not configured on this server: set EMAIL_URL (e.g. smtp+tls://user:pw@smtp.example.com:587)",
                permanent=True,
            )
        message = EmailMessage(
            subject=self.subject,
            body=self.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.recipients,
            connection=get_connection(fail_silently=False),
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{rcpt}: {code} {_decode(msg)}" for rcpt, (code, msg) in exc.recipients.items())
            raise TransportError(
                f"recipients refused: {detail}",
                permanent=all(code >= 500 for code in codes),
                status_code=codes[0] if codes else None,
            ) from None
        except smtplib.SMTPResponseException as exc:
            # 4yz replies are transient, 5yz permanent (RFC 5321 §4.2.1).
            raise TransportError(
                f"the mail server answered {exc.smtp_code} {_decode(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
                status_code=exc.smtp_code,
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"could not send email: {exc or exc.__class__.__name__}", permanent=False) from None
        return Outcome(250, f"accepted for {', '.join(self.recipients)}")


def _decode(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


Call = HttpCall | EmailCall


class Transport:
    """One notification service: its block type's slug and how to build its calls."""

    slug: str = ""
    # The key of ORCHESTRATOR_NOTIFICATIONS_<SERVICE>_URL, the base-URL override.
    service: str = ""

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[Call]:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------

    def service_url(self, url: str) -> tuple[str, bool]:
        """`url` with its scheme and host replaced by the service's override, if one is set;
        and whether it was. An override may carry a path prefix."""
        base = (notification_settings().get("SERVICE_URLS") or {}).get(self.service)
        if not base:
            return url, False
        real, override = urlsplit(url), urlsplit(base)
        path = override.path.rstrip("/") + (real.path or "")
        return urlunsplit((override.scheme, override.netloc, path, real.query, real.fragment)), True

    def allow_private(self, data: dict[str, Any], overridden: bool) -> bool:
        """Whether the destination may be a private address: the block says so (Prefect's
        default is yes), or the URL is the administrator's override, not the block's."""
        return overridden or data.get("allow_private_urls", True) is not False


def required(data: dict[str, Any], key: str, label: str | None = None) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BlockConfigError(f"the block has no {label or key}")
    if not isinstance(value, str):
        raise BlockConfigError(f"the block's {label or key} must be text")
    return value.strip()


def optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int, float)):
        raise BlockConfigError(f"the block's {key} must be text")
    return str(value)


def text_list(data: dict[str, Any], key: str, *, required_: bool = False) -> list[str]:
    value = data.get(key)
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BlockConfigError(f"the block's {key} must be a list of text")
    value = [v.strip() for v in value if v.strip()]
    if required_ and not value:
        raise BlockConfigError(f"the block has no {key}")
    return value


def mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BlockConfigError(f"the block's {key} must be an object")
    return value


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def joined(subject: str, body: str) -> str:
    """Subject and body in one text, for services with no title (Discord, Mattermost, SMS)."""
    return f"{subject}\r\n{body}" if subject else body
