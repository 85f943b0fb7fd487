"""Dashboard pages of events: the feed (newest first, filtered by event name prefix, resource
and time range, with a volume chart) and an event's page.

The feed reads a time range of the `occurred` index, newest first, one keyset page at a time
(orchestrator.paging). A resource filter matches the event's own resource and its related
ones through the EventResource index (resource id, occurred). The volume chart is one grouped
count over the range, which is bounded: past VOLUME_CAP events it covers the newest ones
only, and says since when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from orchestrator.charts import Buckets, bucket_counts
from orchestrator.lib.charts import Bar, bar_chart
from orchestrator.paging import Keyset, paginate

from .models import Event, EventResource
from .schema import event_json, row_event

PAGE_SIZE = 50
VOLUME_BUCKETS = 48
VOLUME_CAP = 50_000
ORDER = Keyset("occurred", descending=True, times=True)
RANGES = {
    "1h": ("1 hour", dt.timedelta(hours=1)),
    "24h": ("24 hours", dt.timedelta(hours=24)),
    "7d": ("7 days", dt.timedelta(days=7)),
}
DEFAULT_RANGE = "24h"
TIME_INPUT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">, read as UTC


def _time(text: str) -> dt.datetime | None:
    for pattern in (TIME_INPUT, TIME_INPUT + ":%S"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


@dataclass
class Filters:
    """The feed's filters, read leniently: a value that cannot be read is dropped (and named
    in `ignored`) rather than failing the page."""

    event: str
    resource: str
    range: str
    since: dt.datetime
    until: dt.datetime
    custom: bool
    ignored: list[str]

    @classmethod
    def from_request(cls, request: HttpRequest, now: dt.datetime) -> Filters:
        ignored = []
        # NUL cannot be compared with PostgreSQL text: drop it.
        event = request.GET.get("event", "").replace("\x00", "").strip()[:1024]
        resource = request.GET.get("resource", "").replace("\x00", "").strip()[:1024]
        key = request.GET.get("range", "")
        if key not in RANGES:
            key = DEFAULT_RANGE
        since, until = now - RANGES[key][1], now
        custom = False
        for name in ("since", "until"):
            text = request.GET.get(name, "").strip()
            if not text:
                continue
            when = _time(text)
            if when is None:
                ignored.append(f"{name} ({text[:40]}: not a date and time)")
                continue
            custom = True
            since, until = (when, until) if name == "since" else (since, when)
        if since > until:
            ignored.append("since (after until)")
            since, until, custom = now - RANGES[key][1], now, False
        return cls(event, resource, key, since, until, custom, ignored)

    @property
    def active(self) -> bool:
        return bool(self.event or self.resource or self.custom or self.range != DEFAULT_RANGE)

    def events(self):
        rows = Event.objects.filter(occurred__gte=self.since, occurred__lte=self.until)
        if self.event:
            rows = rows.filter(event__startswith=self.event.rstrip("*"))
        if self.resource:
            # The event's own resource or a related one; "prefect.flow-run.*" is a prefix.
            resources = EventResource.objects.filter(occurred__gte=self.since, occurred__lte=self.until)
            if self.resource.endswith("*"):
                resources = resources.filter(resource_id__startswith=self.resource.rstrip("*"))
            else:
                resources = resources.filter(resource_id=self.resource)
            rows = rows.filter(id__in=resources.values("event_id"))
        return rows

    def query(self, **changes) -> str:
        params = QueryDict(mutable=True)
        values = {"event": self.event, "resource": self.resource, "range": self.range, **changes}
        for key, value in values.items():
            if value and not (key == "range" and value == DEFAULT_RANGE):
                params[key] = value
        return params.urlencode()


def volume_chart(rows, since: dt.datetime, until: dt.datetime) -> tuple[str, dt.datetime | None]:
    """Events per interval of the range; past VOLUME_CAP events, of the newest ones only (the
    time they reach back to is returned)."""
    cutoff = rows.order_by("-occurred").values_list("occurred", flat=True)[VOLUME_CAP - 1 : VOLUME_CAP]
    earliest = next(iter(cutoff), None)
    start = max(since, earliest) if earliest else since
    buckets = Buckets(start, until, VOLUME_BUCKETS)
    counted = bucket_counts(rows, "occurred", buckets)
    bars = []
    for index, counts in enumerate(counted):
        begins, ends = buckets.bounds(index)
        n = counts.get(None, 0)
        bars.append(Bar(f"{begins:%b %d %H:%M}–{ends:%H:%M} UTC: {n} event{'' if n == 1 else 's'}", [("volume", n)]))
    total = sum(counts.get(None, 0) for counts in counted)
    return bar_chart(bars, label=f"Events over time: {total} in all", height=60, css_class="chart volume"), earliest


def events_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    filters = Filters.from_request(request, now)
    rows = filters.events()
    page = paginate(
        request, rows.only("id", "occurred", "event", "resource_id", "resource", "related"), ORDER, PAGE_SIZE
    )
    chart, cut_at = volume_chart(rows, filters.since, filters.until)
    return render(
        request,
        "events/list.html",
        {
            "section": "events",
            "page": page,
            "filters": filters,
            "ranges": [(key, label, filters.query(range=key)) for key, (label, _) in RANGES.items()],
            "since_value": filters.since.strftime(TIME_INPUT),
            "until_value": filters.until.strftime(TIME_INPUT),
            "chart": chart,
            "chart_cut_at": cut_at,
            "volume_cap": VOLUME_CAP,
        },
    )


def event_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    related = [item for item in (event.related or []) if isinstance(item, dict)]
    return render(
        request,
        "events/event.html",
        {
            "section": "events",
            "event": event,
            "resource_labels": sorted((event.resource or {}).items()),
            "related": related,
            "raw": event_json(row_event(event)),
        },
    )
