"""URL patterns for Prefect-style resources.

Prefect's client creates with `POST /<resource>/` and addresses everything else without a
trailing slash; both spellings are routed so no request is ever redirected (a redirect
turns the client's POST into a GET).
"""

from __future__ import annotations

from django.urls import path, register_converter
from django.urls.converters import StringConverter

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
