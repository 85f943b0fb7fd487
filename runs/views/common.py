"""What the runs pages share: reading query parameters that may be anything, where to go
back to after a button, and turning an orchestration outcome into a flash message."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.contrib import messages
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from orchestrator.paging import search_text
from runs.domain import Outcome, describe
from runs.orchestration.rules import Context

# What a row of a runs table reads; the rest (parameters, context) can be large.
RUN_ROW_FIELDS = (
    "id",
    "name",
    "state_type",
    "state_name",
    "state_timestamp",
    "expected_start_time",
    "start_time",
    "end_time",
    "total_run_time",
)

# Query parameters are typed in by people and pasted from old links: never trust their size.
MAX_PARAM = 200


def uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except (ValueError, AttributeError, TypeError):
        return None


def text(request: HttpRequest, name: str) -> str:
    return search_text(request, name, MAX_PARAM)


def utc_time(value: str) -> dt.datetime | None:
    """A time typed in a `datetime-local` field (or an ISO time), read as UTC when it names no
    zone; None when it is not a time."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def back(request: HttpRequest, default: str) -> str:
    """The page a form came from (its `next` field), if it is one of ours; else `default`."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


def flash(request: HttpRequest, ctx: Context, what: str = "") -> None:
    level, sentence = describe(ctx)
    getattr(messages, level)(request, f"{what} {sentence}".strip())


def flash_many(request: HttpRequest, verb: str, outcomes: Iterable[Outcome]) -> None:
    """One message for the runs that changed, one naming those that did not and why."""
    outcomes = list(outcomes)
    changed = [o for o in outcomes if o.changed]
    unchanged = [o for o in outcomes if not o.changed]
    if changed:
        names = ", ".join(o.name for o in changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        messages.success(request, f"{verb} {len(changed)} run{'' if len(changed) == 1 else 's'}: {names}.")
    for outcome in unchanged[:5]:
        reason = outcome.refused or describe(outcome.ctx)[1]
        messages.error(request, f"{outcome.name}: {reason}")
    if len(unchanged) > 5:
        messages.error(request, f"{len(unchanged) - 5} more runs were not changed.")
    if not outcomes:
        messages.info(request, "None of the chosen runs exist any more.")
