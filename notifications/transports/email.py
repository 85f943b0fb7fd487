"""Email through the server's own SMTP settings (EMAIL_URL), one message to all recipients."""

from __future__ import annotations

from typing import Any

from .base import EmailCall, Transport, optional_text, text_list


class Email(Transport):
    slug = "email"
    service = ""  # the SMTP server is EMAIL_URL itself

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[EmailCall]:
        recipients = text_list(data, "emails", required_=True)
        return [
            EmailCall(
                target=f"email to {', '.join(recipients)}"[:255],
                subject=optional_text(data, "subject") or subject,
                body=body,
                recipients=recipients,
            )
        ]
