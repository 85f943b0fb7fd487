"""Schedules: when a deployment's runs are due.

Three kinds, stored as Prefect's JSON:
    {"interval": 3600.0, "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"}
    {"cron": "0 9 * * 1-5", "timezone": "America/New_York", "day_or": true}
    {"rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Paris"}

Times are worked out on the schedule's own wall clock, so a daily 09:00 run in New York
stays at 09:00 across daylight-saving changes; `dates()` yields UTC datetimes.

croniter and dateutil's rrule are imported where a cron or rrule schedule is first read or
checked: about 1 MB in every server process otherwise, and most deployments have no such
schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from orchestrator.api.filters import FilterError, parse_time

MAX_ITERATIONS = 1000
MAX_RRULE_LENGTH = 6500  # Prefect's: about a year of RDATEs
RRULE_ANCHOR = dt.datetime(2020, 1, 1)
UTC = dt.UTC


class ScheduleError(ValueError):
    """An invalid schedule, with the key that is wrong."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _zone(name: str | None, key: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(key, f"Invalid timezone: {name!r}") from None


def normalize(raw: Any) -> dict[str, Any]:
    """Validate a schedule from a request and return it as it is stored and answered."""
    if not isinstance(raw, dict):
        raise ScheduleError("schedule", "A schedule must be an object with interval, cron or rrule")
    kinds = [k for k in ("interval", "cron", "rrule") if k in raw]
    if len(kinds) != 1:
        raise ScheduleError("schedule", "A schedule needs exactly one of interval, cron or rrule")
    kind = kinds[0]
    allowed = {
        "interval": {"interval", "anchor_date", "timezone"},
        "cron": {"cron", "timezone", "day_or"},
        "rrule": {"rrule", "timezone"},
    }[kind]
    extra = set(raw) - allowed
    if extra:
        raise ScheduleError(sorted(extra)[0], "Extra inputs are not permitted")
    timezone = raw.get("timezone")
    if timezone is not None and not isinstance(timezone, str):
        raise ScheduleError("timezone", "The timezone must be a string")
    if kind == "interval":
        interval = raw["interval"]
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not _is_timedelta(interval):
            raise ScheduleError("interval", "The interval must be a positive number of seconds")
        try:
            anchor = (
                parse_time(raw.get("anchor_date")) if raw.get("anchor_date") else dt.datetime(2020, 1, 1, tzinfo=UTC)
            )
        except FilterError:
            raise ScheduleError("anchor_date", "The anchor date must be a datetime") from None
        zone = timezone or "UTC"
        _zone(zone)
        return {"interval": float(interval), "anchor_date": _iso(anchor), "timezone": zone}
    if kind == "cron":
        from croniter import croniter

        expression = raw["cron"]
        if not isinstance(expression, str) or not croniter.is_valid(expression):
            raise ScheduleError("cron", f"Invalid cron string: {expression!r}")
        if any(part.casefold() in ("r", "h") for part in expression.split()):
            # croniter's random and hashed fields would move the slots on every pass.
            raise ScheduleError("cron", f"Random and Hashed expressions are unsupported, received: {expression!r}")
        day_or = raw.get("day_or", True)
        if not isinstance(day_or, bool):
            raise ScheduleError("day_or", "day_or must be a boolean")
        _zone(timezone)
        return {"cron": expression, "timezone": timezone or "UTC", "day_or": day_or}
    text = raw["rrule"]
    if not isinstance(text, str):
        raise ScheduleError("rrule", "The rrule must be a string")
    if len(text) > MAX_RRULE_LENGTH:
        raise ScheduleError("rrule", f"Invalid rrule string: max length is {MAX_RRULE_LENGTH}, got {len(text)}")
    from dateutil import rrule as dateutil_rrule

    try:
        dateutil_rrule.rrulestr(text, dtstart=RRULE_ANCHOR, cache=False)
    except (ValueError, TypeError) as exc:
        raise ScheduleError("rrule", f"Invalid rrule string: {exc}") from None
    if timezone is not None and timezone not in available_timezones() and timezone != "UTC":
        raise ScheduleError("timezone", f"Invalid timezone: {timezone!r}")
    return {"rrule": text, "timezone": timezone or "UTC"}


def _is_timedelta(seconds: float) -> bool:
    """Positive, and a timedelta can hold it (not below a microsecond, not beyond its range)."""
    try:
        return dt.timedelta(seconds=seconds) > dt.timedelta(0)
    except OverflowError:
        return False


def _iso(value: dt.datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def describe(schedule: dict[str, Any]) -> str:
    """A short human description for pages and `created_by.display_value`."""
    if "interval" in schedule:
        seconds = schedule["interval"]
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size and seconds % size == 0:
                n = int(seconds // size)
                return f"every {n} {unit}{'s' if n != 1 else ''}"
        return f"every {seconds:g} seconds"
    if "cron" in schedule:
        return f"cron {schedule['cron']} ({schedule.get('timezone') or 'UTC'})"
    return f"rrule {schedule['rrule']} ({schedule.get('timezone') or 'UTC'})"


def kind_name(schedule: dict[str, Any]) -> str:
    if "interval" in schedule:
        return "IntervalSchedule"
    if "cron" in schedule:
        return "CronSchedule"
    return "RRuleSchedule"


def dates(
    schedule: dict[str, Any], start: dt.datetime, end: dt.datetime | None = None, n: int | None = None
) -> Iterator[dt.datetime]:
    """Due times at or after `start` (and not after `end`), oldest first, at most `n`."""
    if n is None:
        n = MAX_ITERATIONS if end is not None else 1
    if "interval" in schedule:
        generator = _interval_dates(schedule, start)
    elif "cron" in schedule:
        generator = _cron_dates(schedule, start)
    else:
        generator = _rrule_dates(schedule, start)
    seen = set()
    try:
        for count, when in enumerate(generator):
            if end is not None and when > end:
                return
            if when not in seen:
                seen.add(when)
                yield when
            if len(seen) >= n or count > MAX_ITERATIONS:
                return
    except OverflowError:
        return  # the next date is beyond the calendar


def _interval_dates(schedule: dict[str, Any], start: dt.datetime) -> Iterator[dt.datetime]:
    zone = _zone(schedule.get("timezone"))
    interval = dt.timedelta(seconds=schedule["interval"])
    days, seconds = interval.days, interval - dt.timedelta(days=interval.days)
    anchor = parse_time(schedule["anchor_date"]).astimezone(zone)
    local_start = start.astimezone(zone)

    def advance(when: dt.datetime, steps: int = 1) -> dt.datetime:
        # Whole days move on the wall clock; the rest is elapsed time.
        wall = when.replace(tzinfo=None) + dt.timedelta(days=days * steps)
        moved = wall.replace(tzinfo=zone)
        return (moved.astimezone(UTC) + seconds * steps).astimezone(zone)

    skipped = int((local_start - anchor) / interval) if local_start > anchor else 0
    when = advance(anchor, skipped) if skipped > 0 else anchor
    while when < local_start:
        when = advance(when)
    while True:
        yield when.astimezone(UTC)
        when = advance(when)


def _cron_dates(schedule: dict[str, Any], start: dt.datetime) -> Iterator[dt.datetime]:
    from croniter import CroniterBadDateError, croniter

    zone = _zone(schedule.get("timezone"))
    local = start.astimezone(zone)
    # croniter works on the naive wall clock; a start with microseconds rounds up to the next second.
    naive = local.replace(tzinfo=None) - dt.timedelta(seconds=1)
    if local.microsecond:
        naive = naive.replace(microsecond=0) + dt.timedelta(seconds=1)
    iterator = croniter(schedule["cron"], naive, day_or=schedule.get("day_or", True))
    while True:
        try:
            wall = iterator.get_next(dt.datetime)
        except CroniterBadDateError:
            return  # there is no next date (cron "0 0 31 2 *")
        yield wall.replace(tzinfo=zone).astimezone(UTC)


def _rrule_dates(schedule: dict[str, Any], start: dt.datetime) -> Iterator[dt.datetime]:
    from dateutil import rrule as dateutil_rrule

    zone = _zone(schedule.get("timezone"))
    rule = dateutil_rrule.rrulestr(schedule["rrule"], dtstart=RRULE_ANCHOR, cache=False, forceset=True)
    localized = dateutil_rrule.rruleset()
    for item in rule._rrule:  # noqa: SLF001 - dateutil exposes the parts only as attributes
        kwargs = {"dtstart": item._dtstart.replace(tzinfo=zone)}
        if item._until:
            kwargs["until"] = item._until.replace(tzinfo=zone)
        localized.rrule(item.replace(**kwargs))
    for item in rule._exrule:  # noqa: SLF001
        localized.exrule(item.replace(dtstart=item._dtstart.replace(tzinfo=zone)))
    for when in rule._rdate:  # noqa: SLF001
        localized.rdate(when if when.tzinfo else when.replace(tzinfo=zone))
    for when in rule._exdate:  # noqa: SLF001
        localized.exdate(when if when.tzinfo else when.replace(tzinfo=zone))
    # One pass from the rule's start: calling after() for each date would walk again from
    # dtstart (2020 by default) every time, minutes of work for a minutely rule.
    for when in localized.xafter(start.astimezone(zone), inc=True):
        yield when.astimezone(UTC)
