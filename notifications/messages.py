"""What a notification says: the default message, custom `message_template`s, and the
sentences that describe a policy.

Templates are Python format strings with the eleven `{placeholders}` Prefect 2's policies
offered, so a template written for Prefect works here unchanged. Only bare names are
allowed: `{flow_name.__class__}` or `{0}` are refused when the policy is saved, so
rendering a saved template cannot fail or reach past the values it is given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import string
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

SUBJECT = "Prefect flow run notification"

# The placeholders a message_template may use (Prefect 2's names and meanings).
TEMPLATE_KEYS = (
    "flow_run_notification_policy_id",
    "flow_id",
    "flow_name",
    "flow_run_url",
    "flow_run_id",
    "flow_run_name",
    "flow_run_parameters",
    "flow_run_state_type",
    "flow_run_state_name",
    "flow_run_state_timestamp",
    "flow_run_state_message",
)

# What follows the opening sentence of the default message.
DEFAULT_DETAILS = "Flow ID: {flow_id}\nFlow run ID: {flow_run_id}\nFlow run URL: {flow_run_url}\nState message: {flow_run_state_message}"


class TemplateError(ValueError):
    """A message template that cannot be used; the message says why, for the person saving it."""


def validate_template(template: str) -> None:
    """Refuse a template with an unknown placeholder, or one that is not a valid format string."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"Invalid message template: {exc}. Write a literal brace as '{{{{' or '}}}}'.") from None
    for _, field, spec, _conversion in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise TemplateError(
                "Invalid template variable provided: '{" + field + "}'. Placeholders must be named; "
                f"use one of: {', '.join(TEMPLATE_KEYS)}"
            )
        if field not in TEMPLATE_KEYS:
            raise TemplateError(
                f"Invalid template variable provided: '{field}'. Use one of: {', '.join(TEMPLATE_KEYS)}"
            )
        if spec and "{" in spec:
            raise TemplateError(f"Invalid template variable provided: '{field}': nested placeholders are not allowed")
    try:
        template.format(**dict.fromkeys(TEMPLATE_KEYS, "test"))
    except (ValueError, KeyError, IndexError) as exc:
        raise TemplateError(f"Invalid message template: {exc}") from None


# -- time ---------------------------------------------------------------------------------


def time_zone() -> dt.tzinfo:
    """ORCHESTRATOR_TIME_ZONE, else TZ when it names a zone, else UTC."""
    name = settings.ORCHESTRATOR.get("NOTIFICATIONS", {}).get("TIME_ZONE") or os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return dt.UTC


def short_time(value: dt.datetime) -> str:
    """`22-06-27 16:21:37 EST`: the form of the opening sentence."""
    local = value.astimezone(time_zone())
    return local.strftime("%y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def long_time(value: dt.datetime) -> str:
    """ISO 8601 in the server's time zone, to the second: what `{flow_run_state_timestamp}` gives."""
    return value.astimezone(time_zone()).replace(microsecond=0).isoformat()


# -- values -------------------------------------------------------------------------------


def flow_run_url(flow_run_id: Any) -> str:
    """The run's page on our dashboard, at PREFECT_UI_URL (or where the server listens)."""
    base = settings.ORCHESTRATOR.get("UI_URL")
    if not base:
        host = settings.ORCHESTRATOR.get("API_HOST") or "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        base = f"http://{host}:{settings.ORCHESTRATOR.get('API_PORT') or 4200}"
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def template_values(
    *,
    policy_id: Any,
    flow_id: Any,
    flow_name: str,
    flow_run_id: Any,
    flow_run_name: str,
    parameters: Any,
    state_type: str,
    state_name: str,
    state_timestamp: dt.datetime,
    state_message: str | None,
) -> dict[str, str]:
    return {
        "flow_run_notification_policy_id": _text(policy_id),
        "flow_id": _text(flow_id),
        "flow_name": _text(flow_name),
        "flow_run_url": flow_run_url(flow_run_id),
        "flow_run_id": _text(flow_run_id),
        "flow_run_name": _text(flow_run_name),
        "flow_run_parameters": json.dumps(parameters or {}, sort_keys=True, default=str),
        "flow_run_state_type": _text(state_type),
        "flow_run_state_name": _text(state_name),
        "flow_run_state_timestamp": long_time(state_timestamp),
        "flow_run_state_message": _text(state_message),
    }


# -- sentences ----------------------------------------------------------------------------


def state_words(state_name: str) -> str:
    """`Failed` -> `failed`, `AwaitingRetry` -> `awaiting retry`, `TimedOut` -> `timed out`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", state_name or "").lower()


def with_article(words: str) -> str:
    return f"{'an' if words[:1] in set('aeiou') else 'a'} {words}"


def opening_sentence(flow_run_name: str, flow_name: str, state_name: str, when: dt.datetime) -> str:
    """`The fuzzy-leopard run of the daily-etl flow entered a failed state at 22-06-27 16:21:37 EST.`"""
    return (
        f"The {flow_run_name} run of the {flow_name} flow entered "
        f"{with_article(state_words(state_name))} state at {short_time(when)}."
    )


def render(template: str | None, values: dict[str, str], state_name: str, when: dt.datetime) -> str:
    """The message of one delivery: the policy's template, or the default message."""
    if template:
        try:
            return template.format(**values)
        except (ValueError, KeyError, IndexError, AttributeError):
            # Saved templates are checked, so this only guards rows written some other way.
            pass
    sentence = opening_sentence(values["flow_run_name"], values["flow_name"], state_name, when)
    return f"{sentence}\n\n{DEFAULT_DETAILS.format(**values)}"


def _join(words: list[str], last: str = "or") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def describe_policy(state_names: list[str], tags: list[str], destination: str) -> str:
    """`If a run of any flow with daily-etl tag enters a failed state, send a notification to my-slack`."""
    runs = "If a run of any flow"
    if len(tags) == 1:
        runs += f" with {tags[0]} tag"
    elif tags:
        runs += f" with any of the tags {_join(tags)}"
    if state_names:
        states = with_article(_join([state_words(name) for name in state_names])) + " state"
    else:
        states = "any state"
    return f"{runs} enters {states}, send a notification to {destination}"
