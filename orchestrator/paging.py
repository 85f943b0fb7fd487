"""Keyset paging for the dashboard's lists: one mechanism for every page that pages.

A list is read in a fixed order, a `Keyset`: a sort value (a name or a time), then the id to
break ties, ascending or descending. A page link carries a `Cursor`, the (value, id) of the
row at the page's edge, as `value~id`: the id comes last because a name may itself contain
"~" and an id never does; a time is written `20240501T120000.000000Z`, in UTC. A missing
or mangled cursor means the first page, never an error.

Pages never count and never use OFFSET: a page is one query with a range filter on the sort
column (`value >= cursor`, which an index on (value, id) or on value answers) plus a Q that
breaks ties by id, and it fetches one row more than it shows to know whether more follow.
Paging backward reads the rows before the cursor in reverse order and turns them round.

A nullable sort value (a run never given a state has no expected start time) sorts after
every value, its rows by id in the list's direction; each part is read with its own
index-ordered query, so the order is the same on SQLite and PostgreSQL, which sort NULLs
differently.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict

TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
SEPARATOR = "~"

Value = str | dt.datetime | None


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the sort value and id of the row it names."""

    value: Value
    id: uuid.UUID

    def __str__(self) -> str:
        if isinstance(self.value, dt.datetime):
            value = self.value.astimezone(dt.UTC).strftime(TIME_FORMAT)
        else:
            value = self.value or ""
        return f"{value}{SEPARATOR}{self.id}"


@dataclass
class Page:
    """One page of rows, with the cursors (and links) of its neighbours.

    `previous` and `next` are None where nothing comes before or after; `paged` is False on
    the first page. The links are query strings that keep the request's other parameters
    (filters, search, tab); `first_link` leads back to the first page.
    """

    rows: list
    previous: Cursor | None = None
    next: Cursor | None = None
    paged: bool = False
    previous_link: str | None = None
    next_link: str | None = None
    first_link: str | None = None


@dataclass(frozen=True)
class Keyset:
    """The order a list is paged in: by `field` then id, ascending or `descending`.

    `times`: the field holds datetimes (else strings). `nullable`: rows without a value come
    last, by id in the list's direction.
    """

    field: str
    descending: bool = False
    times: bool = False
    nullable: bool = False

    # -- cursors ----------------------------------------------------------------------------

    def cursor_of(self, row: Model) -> Cursor:
        return Cursor(getattr(row, self.field), row.pk)

    def parse(self, text: str | None) -> Cursor | None:
        """The cursor in a link, or None for a missing or mangled one (the first page)."""
        value, found, ident = (text or "").rpartition(SEPARATOR)
        if not found:
            return None
        try:
            ident = uuid.UUID(ident)
            if not self.times:
                return Cursor(value, ident)
            if not value:
                return Cursor(None, ident) if self.nullable else None
            return Cursor(dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=dt.UTC), ident)
        except ValueError:
            return None

    # -- pages ------------------------------------------------------------------------------

    def page(self, rows: QuerySet, after: Cursor | None = None, before: Cursor | None = None, size: int = 50) -> Page:
        """One page of `rows` just after `after` or just before `before` (which wins), or the
        first page; fewer than a page before `before` is the first page too."""
        if before is not None:
            found = self._read(rows, before, size + 1, forward=False)
            if len(found) > size:
                shown = found[:size][::-1]
                return Page(shown, self.cursor_of(shown[0]), self.cursor_of(shown[-1]), paged=True)
            after = None
        found = self._read(rows, after, size + 1, forward=True)
        shown = found[:size]
        return Page(
            shown,
            previous=self.cursor_of(shown[0]) if after is not None and shown else None,
            next=self.cursor_of(shown[-1]) if len(found) > size else None,
            paged=after is not None,
        )

    def _read(self, rows: QuerySet, cursor: Cursor | None, limit: int, *, forward: bool) -> list:
        """Up to `limit` rows that follow (forward) or precede `cursor` in list order,
        nearest first; from the start of the list (forward) without a cursor."""
        # Ascending in the database when the list is ascending and we read forward, or when
        # it is descending and we read backward.
        up = forward != self.descending
        at_nulls = cursor is not None and cursor.value is None

        valued = rows.filter(**{f"{self.field}__isnull": False}) if self.nullable else rows
        if cursor is not None and not at_nulls:
            valued = valued.filter(self.beyond(cursor, up))
        valued = valued.order_by(*((self.field, "id") if up else (f"-{self.field}", "-id")))
        nulls = None
        if self.nullable and (forward or at_nulls):
            nulls = rows.filter(**{f"{self.field}__isnull": True})
            if at_nulls:
                nulls = nulls.filter(**{"id__gt" if up else "id__lt": cursor.id})
            nulls = nulls.order_by("id" if up else "-id")

        # The NULLs come after every value: forward from among them, no value is left.
        parts = (([] if at_nulls else [valued]) + [nulls]) if forward else [nulls, valued]
        found: list = []
        for part in parts:
            if part is not None and len(found) < limit:
                found += part[: limit - len(found)]
        return found

    def beyond(self, cursor: Cursor, up: bool) -> Q:
        """The rows past `cursor` going up (or down): a range on the sort column that an index
        answers, and a Q that breaks ties on it by id."""
        greater, or_equal, on_id = ("gt", "gte", "id__gt") if up else ("lt", "lte", "id__lt")
        field, value = self.field, cursor.value
        return Q(**{f"{field}__{or_equal}": value}) & (
            Q(**{f"{field}__{greater}": value}) | Q(**{field: value, on_id: cursor.id})
        )


BY_NAME = Keyset("name")


def paginate(
    request: HttpRequest,
    rows: QuerySet,
    keyset: Keyset,
    size: int,
    *,
    after: str = "after",
    before: str = "before",
) -> Page:
    """The page of `rows` a request asks for with its `after`/`before` parameters (names a
    page may choose: the runs list says "older"/"newer"), with its links filled in."""
    page = keyset.page(rows, keyset.parse(request.GET.get(after)), keyset.parse(request.GET.get(before)), size)
    page.previous_link = _link(request, page.previous and {before: page.previous}, (after, before))
    page.next_link = _link(request, page.next and {after: page.next}, (after, before))
    page.first_link = _link(request, {}, (after, before))
    return page


def _link(request: HttpRequest, cursor: dict[str, Cursor] | None, drop: tuple[str, str]) -> str | None:
    """The current query string with the paging parameters replaced by `cursor`."""
    if cursor is None:
        return None
    params: QueryDict = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    for name, value in cursor.items():
        params[name] = str(value)
    return f"?{params.urlencode()}" if params else request.path


def search_text(request: HttpRequest, name: str = "q", max_length: int = 255) -> str:
    """A list's search box (or another free-text filter) as typed, trimmed and bounded.

    A NUL character (which a URL can carry as %00) is dropped: PostgreSQL text cannot hold one
    and would refuse the whole query."""
    return (request.GET.get(name) or "").replace("\x00", "").strip()[:max_length]
