"""Keyset paging (orchestrator.paging), walked over real rows in both directions.

The expected order is always the database's own ORDER BY, so the tests hold on SQLite and
on PostgreSQL whatever the collation does with "~" and "-".
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import RequestFactory

from orchestrator.paging import BY_NAME, Cursor, Keyset, Page, paginate
from runs.models import FlowRun

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
NEWEST_FIRST = Keyset("expected_start_time", descending=True, times=True, nullable=True)


def run(flow, name: str, start: dt.datetime | None = None, n: int | None = None) -> FlowRun:
    fields = {"id": uuid.UUID(int=n)} if n is not None else {}
    return FlowRun.objects.create(flow=flow, name=name, expected_start_time=start, **fields)


def walk(keyset: Keyset, rows, size: int) -> tuple[list[Page], list[Page]]:
    """Every page from the first by its Next links (through their text, as a browser does),
    then every page back from the last by its Previous links."""
    forward = [keyset.page(rows, size=size)]
    while forward[-1].next is not None:
        assert len(forward) < 100, "paging does not end"
        forward.append(keyset.page(rows, after=keyset.parse(str(forward[-1].next)), size=size))
    backward = [forward[-1]]
    while backward[-1].previous is not None:
        assert len(backward) < 100, "paging back does not end"
        backward.append(keyset.page(rows, before=keyset.parse(str(backward[-1].previous)), size=size))
    return forward, backward


def names_of(pages: list[Page]) -> list[list[str]]:
    return [[row.name for row in page.rows] for page in pages]


def test_it_walks_names_with_tildes_and_repeats_both_ways(flow):
    for n, name in enumerate(["b", "a~z", "a", "a~", "~", "b", "b", "a-b", "c~d~e", "a"], start=1):
        run(flow, name, n=n)
    rows = FlowRun.objects.all()
    expected = [r.name for r in rows.order_by("name", "id")]

    forward, backward = walk(BY_NAME, rows, size=3)

    assert [name for page in names_of(forward) for name in page] == expected
    assert [len(page.rows) for page in forward] == [3, 3, 3, 1]
    assert names_of(backward) == names_of(forward)[::-1]
    assert not forward[0].paged and all(page.paged for page in forward[1:])
    assert forward[0].previous is None and forward[-1].next is None


def test_rows_with_one_sort_value_are_each_shown_once(flow):
    for n in range(1, 8):
        run(flow, "same", start=T0, n=n)
    rows = FlowRun.objects.all()

    for keyset in (BY_NAME, NEWEST_FIRST):
        forward, backward = walk(keyset, rows, size=2)
        ids = [row.pk for page in forward for row in page.rows]
        assert len(ids) == len(set(ids)) == 7
        assert [[r.pk for r in p.rows] for p in backward] == [[r.pk for r in p.rows] for p in forward][::-1]


def test_a_descending_time_list_shows_rows_without_a_time_last_both_ways(flow):
    for n in range(1, 6):
        run(flow, f"timed-{n}", start=T0 + dt.timedelta(seconds=n), n=10 + n)
    run(flow, "tie", start=T0 + dt.timedelta(seconds=3), n=1)
    for n in range(1, 5):
        run(flow, f"untimed-{n}", n=n + 20)
    rows = FlowRun.objects.all()

    forward, backward = walk(NEWEST_FIRST, rows, size=3)

    assert names_of(forward) == [
        ["timed-5", "timed-4", "timed-3"],
        ["tie", "timed-2", "timed-1"],
        ["untimed-4", "untimed-3", "untimed-2"],
        ["untimed-1"],
    ]
    assert names_of(backward) == names_of(forward)[::-1]
    assert str(forward[2].next) == f"~{uuid.UUID(int=22)}"  # a cursor among the untimed rows


def test_an_ascending_time_list_pages_both_ways(flow):
    for n in range(1, 6):
        run(flow, f"r{n}", start=T0 + dt.timedelta(minutes=n), n=n)
    oldest_first = Keyset("expected_start_time", times=True)

    forward, backward = walk(oldest_first, FlowRun.objects.all(), size=2)

    assert names_of(forward) == [["r1", "r2"], ["r3", "r4"], ["r5"]]
    assert names_of(backward) == names_of(forward)[::-1]


def test_less_than_a_page_before_the_cursor_is_the_first_page(flow):
    for n, name in enumerate("abcde", start=1):
        run(flow, name, n=n)
    rows = FlowRun.objects.all()
    c = rows.get(name="c")

    page = BY_NAME.page(rows, before=BY_NAME.cursor_of(c), size=3)

    assert [row.name for row in page.rows] == ["a", "b", "c"]
    assert page.previous is None and not page.paged
    assert page.next == Cursor("c", c.pk)


def test_a_cursor_reads_back_from_its_link():
    ident = uuid.uuid4()
    times = Keyset("created", times=True, nullable=True)

    assert str(Cursor("a~b", ident)) == f"a~b~{ident}"
    assert BY_NAME.parse(str(Cursor("a~b", ident))) == Cursor("a~b", ident)
    assert BY_NAME.parse(f"~{ident}") == Cursor("", ident)
    assert str(Cursor(T0, ident)) == f"20240501T120000.123456Z~{ident}"
    assert times.parse(str(Cursor(T0, ident))) == Cursor(T0, ident)
    assert times.parse(str(Cursor(T0.astimezone(dt.timezone(dt.timedelta(hours=2))), ident))) == Cursor(T0, ident)
    assert times.parse(str(Cursor(None, ident))) == Cursor(None, ident)


@pytest.mark.parametrize(
    ("keyset", "text"),
    [
        (BY_NAME, None),
        (BY_NAME, ""),
        (BY_NAME, "garbage"),
        (BY_NAME, "x~not-an-id"),
        (BY_NAME, f"x~{uuid.UUID(int=1)}~"),
        (NEWEST_FIRST, f"yesterday~{uuid.UUID(int=1)}"),
        (NEWEST_FIRST, f"20241301T000000.000000Z~{uuid.UUID(int=1)}"),  # month 13
        (Keyset("created", times=True), f"~{uuid.UUID(int=1)}"),  # no time where one is required
    ],
)
def test_a_mangled_cursor_is_no_cursor(keyset, text):
    assert keyset.parse(text) is None


def test_a_mangled_cursor_in_a_link_shows_the_first_page(flow):
    for n, name in enumerate("abc", start=1):
        run(flow, name, n=n)
    request = RequestFactory().get("/x/", {"after": "garbage", "before": "x~not-an-id"})

    page = paginate(request, FlowRun.objects.all(), BY_NAME, 2)

    assert [row.name for row in page.rows] == ["a", "b"]
    assert page.previous_link is None and not page.paged


def test_links_keep_the_other_parameters_and_use_the_pages_names(flow):
    for n, name in enumerate("abcde", start=1):
        run(flow, name, start=T0 + dt.timedelta(minutes=n), n=n)
    rows = FlowRun.objects.all()
    factory = RequestFactory()

    first = paginate(factory.get("/runs/", {"state": ["A", "B"]}), rows, NEWEST_FIRST, 2, after="older", before="newer")
    assert first.previous_link is None
    assert first.next_link == f"?state=A&state=B&older=20240501T120400.123456Z~{uuid.UUID(int=4)}"

    request = factory.get("/runs/" + first.next_link)
    second = paginate(request, rows, NEWEST_FIRST, 2, after="older", before="newer")
    assert [row.name for row in second.rows] == ["c", "b"]
    assert second.previous_link == f"?state=A&state=B&newer=20240501T120300.123456Z~{uuid.UUID(int=3)}"
    assert second.first_link == "?state=A&state=B"
    assert paginate(factory.get("/runs/?older=x"), rows, NEWEST_FIRST, 2, after="older").first_link == "/runs/"


def test_a_page_is_one_query(flow, django_assert_num_queries):
    for n in range(1, 30):
        run(flow, f"r{n:02d}", start=T0 + dt.timedelta(minutes=n), n=n)
    rows = FlowRun.objects.all()
    middle = rows.get(name="r15")

    with django_assert_num_queries(1):
        BY_NAME.page(rows, after=BY_NAME.cursor_of(middle), size=5)
    with django_assert_num_queries(1):
        NEWEST_FIRST.page(rows, before=NEWEST_FIRST.cursor_of(middle), size=5)
