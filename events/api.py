"""/api/events: report events over REST, and query the stored ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import signing
from django.db.models import Count, Max, Min
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api.errors import BodyInvalid, NotFound
from orchestrator.api.filters import FilterError
from orchestrator.api.views import body_of
from runs.orchestration.states import iso
from runs.queries import BucketIndex

from .filters import EventFilter
from .ingest import ingest
from .schema import InvalidEvent, event_json, parse_event, row_event

PAGE_SIZE = 50
SCAN_LIMIT = 20_000
TOKEN_SALT = "orchestrator.events.page"
TIME_UNITS = {
    "week": dt.timedelta(weeks=1),
    "day": dt.timedelta(days=1),
    "hour": dt.timedelta(hours=1),
    "minute": dt.timedelta(minutes=1),
    "second": dt.timedelta(seconds=1),
}


def _parse_filter(raw: Any) -> EventFilter:
    try:
        return EventFilter(raw, ("body", "filter"))
    except FilterError as exc:
        raise BodyInvalid([exc.as_error()], raw) from None


class EventsView(APIView):
    """`POST /events`: a list of events, stored like those sent over /api/events/in."""

    def post(self, request):
        raw = request.data
        if not isinstance(raw, list):
            raise BodyInvalid([{"loc": ["body"], "msg": "Input should be a valid list", "type": "list_type"}], raw)
        events = []
        errors = []
        for index, item in enumerate(raw):
            try:
                events.append(parse_event(item))
            except InvalidEvent as exc:
                errors.append({"loc": ["body", index], "msg": str(exc), "type": "value_error"})
        if errors:
            raise BodyInvalid(errors, raw)
        ingest(events)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _page(event_filter: EventFilter, raw_filter: Any, offset: int, limit: int, request) -> dict[str, Any]:
    qs = event_filter.queryset()
    if not event_filter.needs_python_check() and not event_filter.distinct:
        total = qs.count()
        rows = [row_event(r) for r in qs[offset : offset + limit]]
    else:
        matched = []
        seen_resources: set[str] = set()
        for row in qs[:SCAN_LIMIT]:
            event = row_event(row)
            if not event_filter.matches(event):
                continue
            if event_filter.distinct:
                if row.resource_id in seen_resources:
                    continue
                seen_resources.add(row.resource_id)
            matched.append(event)
        total = len(matched)
        rows = matched[offset : offset + limit]
    next_page = None
    if offset + limit < total:
        token = signing.dumps({"filter": raw_filter, "offset": offset + limit, "limit": limit}, salt=TOKEN_SALT)
        next_page = request.build_absolute_uri(f"/api/events/filter/next?page-token={token}")
    return {"events": [event_json(e) for e in rows], "total": total, "next_page": next_page}


class EventFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        limit = body.get("limit", PAGE_SIZE)
        if limit is None:
            limit = PAGE_SIZE
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= PAGE_SIZE:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "limit"],
                        "msg": f"Input should be between 0 and {PAGE_SIZE}",
                        "type": "value_error",
                    }
                ],
                body,
            )
        raw_filter = body.get("filter")
        return Response(_page(_parse_filter(raw_filter), raw_filter, 0, limit, request))


class EventFilterNextView(APIView):
    def get(self, request):
        token = request.query_params.get("page-token")
        if not token:
            raise BodyInvalid([{"loc": ["query", "page-token"], "msg": "Field required", "type": "missing"}], None)
        try:
            state = signing.loads(token, salt=TOKEN_SALT)
        except signing.BadSignature:
            raise NotFound("Invalid page token") from None
        return Response(
            _page(_parse_filter(state["filter"]), state["filter"], state["offset"], state["limit"], request)
        )


class EventCountView(APIView):
    """`POST /events/count-by/{day|time|event|resource}`"""

    def post(self, request, countable: str):
        if countable not in ("day", "time", "event", "resource"):
            raise BodyInvalid(
                [
                    {
                        "loc": ["path", "countable"],
                        "msg": "Input should be 'day', 'time', 'event' or 'resource'",
                        "type": "enum",
                    }
                ],
                None,
            )
        body = body_of(request)
        if "filter" not in body:
            raise BodyInvalid([{"loc": ["body", "filter"], "msg": "Field required", "type": "missing"}], body)
        event_filter = _parse_filter(body.get("filter"))
        qs = event_filter.queryset().order_by()
        if countable == "event":
            rows = qs.values("event").annotate(count=Count("id"), start=Min("occurred"), end=Max("occurred"))
            return Response(
                sorted(
                    (
                        {
                            "value": r["event"],
                            "label": r["event"],
                            "count": r["count"],
                            "start_time": iso(r["start"]),
                            "end_time": iso(r["end"]),
                        }
                        for r in rows
                    ),
                    key=lambda item: (-item["count"], item["value"]),
                )
            )
        if countable == "resource":
            rows = qs.values("resource_id").annotate(count=Count("id"), start=Min("occurred"), end=Max("occurred"))
            return Response(
                sorted(
                    (
                        {
                            "value": r["resource_id"],
                            "label": r["resource_id"],
                            "count": r["count"],
                            "start_time": iso(r["start"]),
                            "end_time": iso(r["end"]),
                        }
                        for r in rows
                    ),
                    key=lambda item: (-item["count"], item["value"]),
                )
            )
        unit = body.get("time_unit", "day") if countable == "time" else "day"
        if unit not in TIME_UNITS:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "time_unit"],
                        "msg": "Input should be week, day, hour, minute or second",
                        "type": "enum",
                    }
                ],
                body,
            )
        interval = body.get("time_interval", 1.0) if countable == "time" else 1.0
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0.01:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "time_interval"],
                        "msg": "Input should be at least 0.01",
                        "type": "greater_than_equal",
                    }
                ],
                body,
            )
        start = event_filter.since
        if countable == "day":
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            width = TIME_UNITS[unit] * interval
            buckets = int(-(-(event_filter.until - start).total_seconds() // width.total_seconds()))
            start + width * max(buckets, 1)  # every interval must end within the calendar
        except OverflowError:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "time_interval"],
                        "msg": "The intervals reach beyond the year 9999",
                        "type": "value_error",
                    }
                ],
                body,
            ) from None
        if buckets > 1000:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "time_interval"],
                        "msg": "The window holds more than 1000 intervals",
                        "type": "value_error",
                    }
                ],
                body,
            )
        counts = dict(
            qs.annotate(bucket=BucketIndex("occurred", start, width.total_seconds()))
            .values("bucket")
            .annotate(count=Count("id"))
            .values_list("bucket", "count")
        )
        result = []
        for index in range(max(buckets, 0)):
            lower = start + index * width
            result.append(
                {
                    "value": iso(lower),
                    "label": iso(lower),
                    "count": counts.get(index, 0),
                    "start_time": iso(lower),
                    "end_time": iso(lower + width),
                }
            )
        return Response(result)
