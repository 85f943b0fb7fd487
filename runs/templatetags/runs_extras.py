"""Template tags and filters of the dashboard: state badges, times, durations, log levels.

Load with `{% load runs_extras %}`. Every helper accepts None (a run that never started, a
state-less run) and shows a dash rather than failing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import template
from django.utils.html import format_html

from runs.choices import COLORS
from runs.logs import LOG_LEVELS, LOG_ORDER, level_name

register = template.Library()

DASH = "—"

__all__ = ["LOG_LEVELS", "register"]


@register.inclusion_tag("partials/state_badge.html")
def state_badge(state_type: str | None, state_name: str | None = None) -> dict[str, Any]:
    """A badge showing the state's own name ("Late", "AwaitingRetry") in its type's colour."""
    return {
        "color": state_color(state_type),
        "type": state_type or "",
        "name": state_name or (str(state_type).capitalize() if state_type else "No state"),
    }


@register.filter
def state_color(state_type: str | None) -> str:
    """The colour name of a state type (runs.choices.COLORS); "none" for a run without state."""
    return COLORS.get(state_type, "none") if state_type else "none"


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@register.filter
def utc(value: dt.datetime | None, precision: str = "") -> str:
    """A <time> element showing `2024-05-01 12:00:05` in UTC; with "ms", milliseconds too."""
    if not value:
        return DASH
    value = _utc(value)
    shown = value.strftime("%Y-%m-%d %H:%M:%S")
    if precision == "ms":
        shown += f".{value.microsecond // 1000:03d}"
    machine = value.isoformat().replace("+00:00", "Z")
    return format_html('<time datetime="{}" title="{}">{}</time>', machine, machine, shown)


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as people read them: "0.25s", "1.5s", "42s", "1m 12s", "2h 5m", "3d 4h"."""
    if seconds is None:
        return DASH
    seconds = max(0.0, float(seconds))
    if seconds == 0:
        return "0s"
    # Short runs and tasks differ in fractions of a second: keep some.
    if seconds < 1:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + "s"
    if seconds < 10:
        return f"{seconds:.1f}".removesuffix(".0") + "s"
    whole = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, whole = divmod(whole, size)
        if amount or parts:
            parts.append((amount, unit))
    # The two largest units are precise enough; a zero second unit adds nothing.
    shown = [f"{amount}{unit}" for amount, unit in parts[:2] if amount]
    return " ".join(shown)


@register.filter
def run_duration(run) -> str:
    """How long a run has run (counting the current stretch if running); a dash if it never started."""
    if run.start_time is None and not run.total_run_time:
        return DASH
    return duration(run.estimated_run_time)


@register.filter
def run_start(run) -> dt.datetime | None:
    """When a run started, or, until it does, when it is expected to."""
    return run.start_time or run.expected_start_time


@register.filter
def log_level(level: int | None) -> str:
    """A numeric logging level as its name: 20 -> "INFO"; 25 -> "INFO" (the nearest below)."""
    return DASH if level is None else level_name(level)


@register.filter
def pretty_json(value: Any) -> str:
    """JSON indented for a <pre> block (escaped by the template as usual)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@register.filter
def log_cursor(log) -> str:
    """Where a log row sits in a run's logs (a keyset cursor): the live stream resumes after it."""
    return str(LOG_ORDER.cursor_of(log))
