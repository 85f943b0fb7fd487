"""URL patterns for Prefect-style resources.

Prefect's client creates with `POST /<resource>/` and addresses everything else without a
trailing slash; both spellings are routed so no request is ever redirected (a redirect
turns the client's POST into a GET).
"""

from __future__ import annotations

from django.urls import URLResolver, include, path, register_converter
from django.urls.converters import StringConverter
from django.urls.resolvers import RoutePattern

STANDARD = ("create", "detail", "filter", "count", "paginate", "bulk_delete")


class TextConverter(StringConverter):
    """A path segment that can be looked up: no NUL, which PostgreSQL cannot compare."""

    regex = r"[^/\x00]+"


register_converter(TextConverter, "text")


def slashed(route: str, view, name: str | None = None) -> list:
    """A path with and without its trailing slash."""
    route = route.rstrip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]


def resource(prefix: str, viewset, actions=STANDARD, lookup: str = "<uuid:pk>", name: str | None = None) -> list:
    name = name or prefix.replace("/", "-")
    urls = []
    if "create" in actions:
        view = viewset.as_view({"post": "create"})
        urls += [path(f"{prefix}/", view, name=f"{name}-create"), path(prefix, view)]
    if "detail" in actions:
        methods = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        urls.append(path(f"{prefix}/{lookup}", viewset.as_view(methods), name=f"{name}-detail"))
    for action in ("filter", "count", "paginate", "bulk_delete"):
        if action in actions:
            view = viewset.as_view({"post": action})
            urls += slashed(f"{prefix}/{action}", view, name=f"{name}-{action}")
    return urls


def by_first_segment(patterns: list) -> list:
    """The same routes, grouped under their first path segment so that resolving a path looks
    only at the routes that can match it.

    Django tries routes in order, one regular expression each, and the API has about 350 (every
    app's, most twice for the trailing slash); a request for a late app's route walked past the
    others, raising and catching a miss for every app's include on the way. Here `include()`s
    mounted at "" are opened, and routes whose first segment is plain text (`flow_runs/...`) go
    into one include per segment; routes without a slash stay as they are. The order in which
    routes that could match the same path are tried does not change: a group is closed once a
    route that could match any path (a converter or regular expression first) follows it.
    """
    result: list = []
    groups: dict[str, list] = {}
    for pattern in _opened(patterns):
        segment, rest = _first_segment(pattern)
        if segment is None:
            if rest is None:  # could match any path: nothing after it may move before it
                groups = {}
            result.append(pattern)
            continue
        group = groups.get(segment)
        if group is None:
            group = groups[segment] = []
            result.append((segment, group))
        group.append(path(rest, pattern.callback, pattern.default_args, pattern.name))
    return [path(f"{item[0]}/", include(item[1])) if isinstance(item, tuple) else item for item in result]


class FirstSegmentResolver(URLResolver):
    """Routes (as `by_first_segment` groups them) resolved through only those that a path's
    first segment lets match: the plain-text segment includes are looked up by name, the
    others tried in order as before.

    Django's resolver tries each include in turn, and an include that does not match raises
    and catches a miss: resolving `flow_runs/count` went past a dozen groups first and took a
    quarter of the handler's time for a count. For each segment there is one resolver over
    that segment's includes and every route that is not such an include, in their order, so a
    path resolves to what it did."""

    def __init__(self, patterns: list):
        super().__init__(RoutePattern(""), patterns)
        segments = {_include_segment(pattern) for pattern in patterns} - {None}
        self._by_segment = {
            segment: URLResolver(RoutePattern(""), [p for p in patterns if _include_segment(p) in (None, segment)])
            for segment in segments
        }
        self._others = URLResolver(RoutePattern(""), [p for p in patterns if _include_segment(p) is None])

    def resolve(self, path):
        path = str(path)
        return self._by_segment.get(path.partition("/")[0], self._others).resolve(path)


def _include_segment(pattern) -> str | None:
    """The segment an include mounted at plain text and one slash (`flow_runs/`) needs a path
    to start with; None for any other route."""
    if not isinstance(pattern, URLResolver) or not isinstance(pattern.pattern, RoutePattern):
        return None
    route = str(pattern.pattern)
    segment, slash, rest = route.partition("/")
    if not slash or rest or not segment or "<" in segment:
        return None
    return segment


def _opened(patterns: list):
    """The patterns, with include()s mounted at "" replaced by what they include."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == "" and not pattern.namespace:
            yield from _opened(pattern.url_patterns)
        else:
            yield pattern


def _first_segment(pattern) -> tuple[str | None, str | None]:
    """(segment, the route after it) for a route of plain text and a slash; (None, route) for
    one that stays as it is; (None, None) for one that could match any path."""
    if isinstance(pattern, URLResolver) or not isinstance(pattern.pattern, RoutePattern):
        return None, None
    route = str(pattern.pattern)
    segment, slash, rest = route.partition("/")
    if "<" in segment:
        return None, None
    if not slash:
        return None, route
    return segment, rest
