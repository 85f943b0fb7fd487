"""PagerDuty Events API v2: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/

The subject is the incident's summary; the message goes into its custom details under
"Prefect Notification Body", where Prefect's block puts it.
"""

from __future__ import annotations

from typing import Any

from .base import APP_NAME, HttpCall, Transport, mapping, optional_text, required, truncate

API = {"us": "https://events.pagerduty.com/v2/enqueue", "eu": "https://events.eu.pagerduty.com/v2/enqueue"}
SEVERITY = {"info": "info", "success": "info", "warning": "warning", "failure": "critical"}
MAX_SUMMARY = 1024
BODY_KEY = "Prefect Notification Body"


class PagerDuty(Transport):
    slug = "pager-duty-webhook"
    service = "pagerduty"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        routing_key = required(data, "integration_key", "integration key")
        api_key = required(data, "api_key", "API key")
        region = data.get("region_name") or "us"
        url, overridden = self.service_url(API.get(region, API["us"]))
        event_payload: dict[str, Any] = {
            "summary": truncate(subject or body, MAX_SUMMARY),
            "severity": SEVERITY.get(data.get("notify_type"), "info"),
            "source": optional_text(data, "source") or "Prefect",
            "component": optional_text(data, "component") or "Notification",
        }
        for key, field in (("group", "group"), ("class", "class_id")):
            value = optional_text(data, field)
            if value:
                event_payload[key] = value
        event_payload["custom_details"] = {
            **{str(k): str(v) for k, v in mapping(data, "custom_details").items()},
            BODY_KEY: body,
        }
        payload: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "client": APP_NAME,
            "payload": event_payload,
        }
        link = optional_text(data, "clickable_url")
        if link:
            payload["links"] = [{"href": link}]
        return [
            HttpCall(
                target="PagerDuty event",
                method="POST",
                url=url,
                headers={"Authorization": f"Token token={api_key}"},
                json=payload,
                allow_private=self.allow_private(data, overridden),
            )
        ]
