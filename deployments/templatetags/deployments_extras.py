"""Template tags of the deployment and work-pool pages: status badges, schedules in words, ages.

Load with `{% load deployments_extras %}`, beside `runs_extras` (state badges, UTC times).
Like those helpers, every one accepts None and shows a dash rather than failing.
"""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from deployments import schedules
from deployments.choices import STATUS_COLORS

register = template.Library()

DASH = "—"


@register.filter
def status_label(status: str | None) -> str:
    """A status as people read it: READY is "Ready", NOT_READY is "Not ready"."""
    if not status:
        return "Unknown"
    return str(status).replace("_", " ").lower().capitalize()


@register.inclusion_tag("partials/state_badge.html")
def status_badge(status: str | None) -> dict[str, Any]:
    """A READY / NOT_READY / PAUSED / ONLINE / OFFLINE badge, drawn by the state badge partial."""
    return {"color": STATUS_COLORS.get(status, "none"), "type": "", "name": status_label(status)}


@register.filter
def schedule_text(schedule: dict[str, Any] | None) -> str:
    """A schedule in words: "every 5 minutes", "cron 0 9 * * * (America/New_York)"."""
    if not isinstance(schedule, dict):
        return DASH
    try:
        return schedules.describe(schedule)
    except (KeyError, TypeError, ValueError):
        return "unreadable schedule"


@register.filter
def as_time(value: str | dt.datetime | None) -> dt.datetime | None:
    """An ISO 8601 string from stored JSON (a schedule's anchor date) as a datetime, for `utc`."""
    if isinstance(value, dt.datetime) or not value:
        return value or None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@register.filter
def ago(value: dt.datetime | None) -> str:
    """How long ago (or how soon) a time is, to one unit: "3 minutes ago", "in 2 hours"."""
    if not value:
        return DASH
    now = timezone.now()
    if abs((now - value).total_seconds()) < 60:
        return "just now"
    if value > now:
        return f"in {timeuntil(value, now, depth=1)}"
    return f"{timesince(value, now, depth=1)} ago"


@register.filter
def shell_quote(value: Any) -> str:
    """A value as one shell word, quoted only when it needs to be."""
    return shlex.quote(str(value))
