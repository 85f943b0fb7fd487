"""Custom webhooks: any HTTP request the user composes.

Every string in the URL, query parameters, JSON or form body, headers and cookies may hold
`{{subject}}`, `{{body}}`, `{{name}}` (the block's name field) and `{{<key>}}` of the block's
secrets; any other placeholder is a configuration error. Values are inserted as text, so a
JSON body stays valid JSON whatever the message says.
"""

from __future__ import annotations

import re
from typing import Any

from .base import APP_NAME, BlockConfigError, HttpCall, Transport, mapping, required

PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def fill(value: Any, values: dict[str, str], where: str) -> Any:
    """`value` with every placeholder of its strings replaced, at any depth."""
    if isinstance(value, str):

        def replace(match: re.Match) -> str:
            key = match.group(1)
            if key not in values:
                allowed = ", ".join("{{" + k + "}}" for k in values)
                raise BlockConfigError(f"the block's {where} uses the unknown placeholder {{{{{key}}}}}; use {allowed}")
            return values[key]

        return PLACEHOLDER.sub(replace, value)
    if isinstance(value, dict):
        return {key: fill(item, values, where) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values, where) for item in value]
    return value


def _strings(value: dict[str, Any]) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


class CustomWebhook(Transport):
    slug = "custom-webhook"
    service = "custom_webhook"

    def calls(self, data: dict[str, Any], subject: str, body: str) -> list[HttpCall]:
        name = str(data.get("name") or "")
        secrets = _strings(mapping(data, "secrets"))
        values = {**secrets, "subject": subject, "body": body, "name": name}
        method = str(data.get("method") or "POST").upper()
        if method not in METHODS:
            raise BlockConfigError(f"the block's method must be one of {', '.join(METHODS)}")
        json_data, form_data = data.get("json_data"), data.get("form_data")
        if json_data is not None and form_data is not None:
            raise BlockConfigError("the block has both a JSON body and a form body; keep one")
        if form_data is not None and not isinstance(form_data, (dict, str)):
            raise BlockConfigError("the block's form body must be an object or text")
        url = fill(required(data, "url", "URL"), values, "URL")
        if not url.lower().startswith(("https://", "http://")):
            raise BlockConfigError("the block's URL must start with http:// or https://")
        url, overridden = self.service_url(url)
        timeout = data.get("timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            timeout = None
        headers = {"User-Agent": APP_NAME, **_strings(fill(mapping(data, "headers"), values, "headers"))}
        params = fill(mapping(data, "params"), values, "query parameters")
        return [
            HttpCall(
                target=f"webhook {name}".strip()[:255],
                method=method,
                url=url,
                headers=headers,
                params=_strings(params) or None,
                json=fill(json_data, values, "JSON body"),
                data=fill(form_data, values, "form body"),
                cookies=_strings(fill(mapping(data, "cookies"), values, "cookies")) or None,
                timeout=float(timeout) if timeout else None,
                allow_private=self.allow_private(data, overridden),
            )
        ]
