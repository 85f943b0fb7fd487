"""Template helpers of the dashboard home, the flows, events and settings pages: counts as
people read them, and links to the page of the object an event names.

Load with `{% load dashboard_extras %}`, beside `runs_extras` (state badges, UTC times).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from events.schema import resource_uuid

register = template.Library()

# The dashboard page of each kind of resource an event names, by the id in its resource id
# (`prefect.flow-run.<uuid>`); work pools are addressed by name.
RESOURCE_PAGES = {
    "flow-run": "flow-run",
    "flow": "flow",
    "deployment": "deployment",
    "task-run": "task-run",
}


@register.filter
def count(value: int | None, cap: int | None = None) -> str:
    """A count with thousands separators; past `cap`, "cap+" (a count that stopped there)."""
    if value is None:
        return "—"
    if cap is not None and value > cap:
        return f"{cap:,}+"
    return f"{value:,}"


@register.filter
def resource_url(resource: dict[str, Any] | None) -> str:
    """The dashboard page of an event's resource (a flow run, flow, deployment, work pool),
    or "" when there is none."""
    if not isinstance(resource, dict):
        return ""
    ident = str(resource.get("prefect.resource.id") or "")
    kind = ident.split(".")[1] if ident.startswith("prefect.") and ident.count(".") >= 2 else ""
    try:
        if kind in RESOURCE_PAGES:
            pk = resource_uuid(ident, kind)
            return reverse(RESOURCE_PAGES[kind], args=[pk]) if pk else ""
        if kind == "work-pool" and resource.get("prefect.resource.name"):
            return reverse("work-pool", args=[resource["prefect.resource.name"]])
    except NoReverseMatch:  # a page that does not exist (yet), or a name no URL takes
        return ""
    return ""


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """`mapping[key]`, or "" when it is missing (event resources use dotted keys, which
    templates cannot look up)."""
    if isinstance(mapping, dict):
        return mapping.get(key, "")
    return ""
