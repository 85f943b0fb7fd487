"""The API's routes grouped under their first path segment (orchestrator.api.routes)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, path, re_path
from django.urls.resolvers import RegexPattern, RoutePattern

from orchestrator.api.routes import FirstSegmentResolver, _opened, by_first_segment
from orchestrator.urls import api_patterns

SAMPLES = {"uuid": "0b7c4b62-5a5e-4a39-9b8a-2a1b0d7f1b11", "text": "some-name", "str": "some-name"}


def view(name):
    def answer(request, **kwargs):
        return name

    answer.__name__ = name
    return answer


def resolver(patterns) -> URLResolver:
    return URLResolver(RegexPattern(r"^/"), patterns)


def example_path(route: str) -> str:
    return "/" + re.sub(r"<(\w+):\w+>", lambda m: SAMPLES[m.group(1)], route)


def flat_routes() -> list[str]:
    return [str(p.pattern) for p in _opened(api_patterns) if isinstance(p.pattern, RoutePattern)]


@pytest.mark.parametrize("route", flat_routes())
def test_every_api_route_resolves_to_the_same_view_once_grouped(route):
    as_written, grouped = resolver(api_patterns), resolver(by_first_segment(api_patterns))
    before, after = as_written.resolve(example_path(route)), grouped.resolve(example_path(route))
    assert (after.func, after.kwargs, after.url_name) == (before.func, before.kwargs, before.url_name)


@pytest.mark.parametrize("route", flat_routes())
def test_every_api_route_resolves_to_the_same_view_looked_up_by_its_first_segment(route):
    as_written = resolver(api_patterns)
    by_segment = resolver([FirstSegmentResolver(by_first_segment(api_patterns))])
    before, after = as_written.resolve(example_path(route)), by_segment.resolve(example_path(route))
    assert (after.func, after.kwargs, after.url_name, after.route) == (
        before.func,
        before.kwargs,
        before.url_name,
        before.route,
    )


def test_a_path_whose_first_segment_has_no_group_still_reaches_the_routes_that_match_anything():
    patterns = [
        path("runs/<uuid:pk>", view("detail")),
        path("health", view("health")),
        re_path(r"^.*$", view("not_found")),
    ]
    by_segment = resolver([FirstSegmentResolver(by_first_segment(patterns))])
    assert by_segment.resolve("/health").func.__name__ == "health"
    assert by_segment.resolve("/runs/late").func.__name__ == "not_found"
    assert by_segment.resolve("/nothing/here").func.__name__ == "not_found"
    assert by_segment.resolve(f"/runs/{SAMPLES['uuid']}").func.__name__ == "detail"


def test_a_route_after_one_that_matches_anything_is_not_moved_before_it():
    patterns = [
        path("runs/<uuid:pk>", view("detail")),
        re_path(r"^runs/.*$", view("anything")),
        path("runs/late", view("late")),  # never reached as written
    ]
    for grouped in (resolver(by_first_segment(patterns)), resolver([FirstSegmentResolver(by_first_segment(patterns))])):
        assert grouped.resolve("/runs/late").func.__name__ == "anything"
        assert grouped.resolve(f"/runs/{SAMPLES['uuid']}").func.__name__ == "detail"


def test_routes_of_one_segment_from_different_includes_share_one_group():
    patterns = [
        path("", ([path("runs/a", view("a")), path("flows/x", view("x"))], None, None)),
        path("", ([path("runs/b", view("b"))], None, None)),
        path("runs", view("create")),
    ]
    grouped = by_first_segment(patterns)
    assert [str(p.pattern) for p in grouped] == ["runs/", "flows/", "runs"]
    assert [str(p.pattern) for p in grouped[0].url_patterns] == ["a", "b"]
    assert resolver(grouped).resolve("/runs").func.__name__ == "create"
