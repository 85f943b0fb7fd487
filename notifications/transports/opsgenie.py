"""Opsgenie alerts: https://docs.opsgenie.com/docs/alert-api#create-alert

Responders are the block's target users, teams, schedules and escalations; without `batch`,
each responder gets an alert of its own (one request each), as Prefect's block does.
"""

from __future__ import annotations

import re
from typing import Any

from .base import APP_NAME, HttpCall, Transport, mapping, optional_text, required, text_list, truncate

API = {"us": "https://api.opsgenie.com/v2/alerts", "eu": "https://api.eu.opsgenie.com/v2/alerts"}
MAX_MESSAGE = 130  # Opsgenie cuts longer alert messages
MAX_DESCRIPTION = 15000
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _responder(kind: str, value: str) -> dict[str, str]:
    if UUID.match(value):
        return {"type": kind, "id": value}
    # Users are addressed by their login (an email address), the others by name.
    return {"type": kind, "username" if kind == "user" else "name": value}


class Opsgenie(Transport):
    slug = "opsgenie-webhook"
    service = "opsgenie"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        apikey = required(data, "apikey", "API key")
        region = data.get("region_name") or "us"
        url, overridden = self.service_url(API.get(region, API["us"]))
        priority = data.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
            priority = 3
        payload: dict[str, Any] = {
            "source": APP_NAME,
            "message": truncate(subject or body, MAX_MESSAGE),
            "description": truncate(body, MAX_DESCRIPTION),
            "details": {**{str(k): str(v) for k, v in mapping(data, "details").items()}, "type": _type(data)},
            "priority": f"P{priority}",
        }
        tags = text_list(data, "tags")
        if tags:
            payload["tags"] = tags
        for key in ("alias", "entity"):
            value = optional_text(data, key)
            if value:
                payload[key] = value
        responders = [
            _responder(kind, value)
            for kind, key in (
                ("user", "target_user"),
                ("team", "target_team"),
                ("schedule", "target_schedule"),
                ("escalation", "target_escalation"),
            )
            for value in text_list(data, key)
        ]
        call = {
            "method": "POST",
            "url": url,
            "headers": {"Authorization": f"GenieKey {apikey}"},
            "allow_private": self.allow_private(data, overridden),
        }
        if data.get("batch") is True or len(responders) <= 1:
            if responders:
                payload["responders"] = responders
            return [HttpCall(target=_label(responders), json=payload, **call)]
        return [HttpCall(target=_label([r]), json={**payload, "responders": [r]}, **call) for r in responders]


def _type(data: dict[str, Any]) -> str:
    return str(data.get("notify_type") or "info")


def _label(responders: list[dict[str, str]]) -> str:
    if not responders:
        return "Opsgenie alert"
    names = ", ".join(f"{r['type']} {r.get('username') or r.get('name') or r.get('id')}" for r in responders)
    return f"Opsgenie alert for {names}"[:255]
