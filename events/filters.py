"""Event filters: which events a query or a subscriber wants.

One parsed `EventFilter` serves both paths: `queryset()` narrows stored events with the
indexed columns, and `matches()` decides for one event (stored or live) with the full
rules, including resource labels with `*` wildcards and `!` negation.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import shlex
import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from orchestrator.api.filters import FilterError, parse_time

from .models import Event, EventResource


def _strings(value: Any, loc: tuple, single: bool = False) -> list[str] | None:
    """A list of strings; `single` also takes one bare string (label values may be either)."""
    if value is None:
        return None
    if isinstance(value, str) and single:
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FilterError(loc, "Input should be a list of strings", "list_type")
    return value


def _obj(value: Any, loc: tuple, keys: set[str]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FilterError(loc, "Input should be a valid dictionary or object", "model_type")
    for key in value:
        if key not in keys:
            raise FilterError((*loc, key), "Extra inputs are not permitted", "extra_forbidden")
    return value


def _labels(value: Any, loc: tuple) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FilterError(loc, "Input should be a valid dictionary", "dict_type")
    return {k: (_strings(v, (*loc, k), single=True) or []) for k, v in value.items()}


def label_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if pattern.startswith("!"):
        return not fnmatch.fnmatchcase(value, pattern[1:])
    return fnmatch.fnmatchcase(value, pattern)


def labels_match(spec: dict[str, list[str]], resource: dict[str, str]) -> bool:
    return all(any(label_matches(p, resource.get(label)) for p in patterns) for label, patterns in spec.items())


class _ResourceCriteria:
    def __init__(self, raw: dict, loc: tuple, related: bool = False):
        self.ids = _strings(raw.get("id"), (*loc, "id"))
        self.id_prefixes = _strings(raw.get("id_prefix"), (*loc, "id_prefix"))
        self.labels = _labels(raw.get("labels"), (*loc, "labels"))
        self.roles = _strings(raw.get("role"), (*loc, "role")) if related else None
        pairs = raw.get("resources_in_roles") if related else None
        self.in_roles = None
        if pairs is not None:
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise FilterError((*loc, "resources_in_roles"), "Input should be a list of [id, role] pairs")
            self.in_roles = [tuple(p) for p in pairs]

    def empty(self) -> bool:
        return not (self.ids or self.id_prefixes or self.labels or self.roles or self.in_roles)

    def matches(self, resource: dict[str, str]) -> bool:
        rid = resource.get("prefect.resource.id", "")
        if self.ids and rid not in self.ids:
            return False
        if self.id_prefixes and not any(rid.startswith(p) for p in self.id_prefixes):
            return False
        if self.roles and resource.get("prefect.resource.role") not in self.roles:
            return False
        if self.in_roles and (rid, resource.get("prefect.resource.role")) not in self.in_roles:
            return False
        if self.labels and not labels_match(self.labels, resource):
            return False
        return True


def _text_terms(query: str) -> tuple[list[str], list[str], list[str]]:
    """Split a search query into (any of, none of, all of) terms; quotes keep phrases."""
    try:
        words = shlex.split(query)
    except ValueError:
        words = query.split()
    include, exclude, required = [], [], []
    for word in words:
        if word.startswith("-") and len(word) > 1:
            exclude.append(word[1:].lower())
        elif word.startswith("+") and len(word) > 1:
            required.append(word[1:].lower())
        elif word:
            include.append(word.lower())
    return include, exclude, required


class EventFilter:
    def __init__(self, raw: Any = None, loc: tuple = ("body", "filter")):
        raw = _obj(raw, loc, {"occurred", "event", "resource", "related", "any_resource", "id", "text", "order"}) or {}
        now = timezone.now()
        occurred = _obj(raw.get("occurred"), (*loc, "occurred"), {"since", "until"}) or {}
        self.since = (
            parse_time(occurred["since"], (*loc, "occurred", "since"))
            if occurred.get("since")
            else (now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=180))
        )
        self.until = parse_time(occurred["until"], (*loc, "occurred", "until")) if occurred.get("until") else now
        event = _obj(raw.get("event"), (*loc, "event"), {"prefix", "exclude_prefix", "name", "exclude_name"}) or {}
        self.prefixes = _strings(event.get("prefix"), (*loc, "event", "prefix"))
        self.exclude_prefixes = _strings(event.get("exclude_prefix"), (*loc, "event", "exclude_prefix"))
        self.names = _strings(event.get("name"), (*loc, "event", "name"))
        self.exclude_names = _strings(event.get("exclude_name"), (*loc, "event", "exclude_name"))
        resource = _obj(raw.get("resource"), (*loc, "resource"), {"id", "id_prefix", "labels", "distinct"})
        self.resource = _ResourceCriteria(resource, (*loc, "resource")) if resource else None
        if resource and not isinstance(resource.get("distinct", False), bool):
            raise FilterError((*loc, "resource", "distinct"), "Input should be a valid boolean", "bool_type")
        self.distinct = bool(resource and resource.get("distinct"))
        self.related = [
            _ResourceCriteria(item, (*loc, "related"), related=True)
            for item in self._list(
                raw.get("related"), (*loc, "related"), {"id", "role", "resources_in_roles", "labels"}
            )
        ]
        self.any_resource = [
            _ResourceCriteria(item, (*loc, "any_resource"))
            for item in self._list(raw.get("any_resource"), (*loc, "any_resource"), {"id", "id_prefix", "labels"})
        ]
        ids = _obj(raw.get("id"), (*loc, "id"), {"id"}) or {}
        self.ids = None
        if ids.get("id"):
            try:
                self.ids = [uuid.UUID(str(v)) for v in ids["id"]]
            except (ValueError, TypeError):
                raise FilterError((*loc, "id", "id"), "Input should be a list of UUIDs", "uuid_parsing") from None
        text = _obj(raw.get("text"), (*loc, "text"), {"query"})
        self.text = None
        if text and not isinstance(text.get("query"), str):
            raise FilterError((*loc, "text", "query"), "Input should be a valid string", "string_type")
        if text and text["query"].strip():
            if len(text["query"]) > 200:
                raise FilterError((*loc, "text", "query"), "String should have at most 200 characters")
            self.text = _text_terms(text["query"])
        order = raw.get("order") or "DESC"
        if order not in ("ASC", "DESC"):
            raise FilterError((*loc, "order"), "Input should be 'ASC' or 'DESC'", "enum")
        self.order = order

    @staticmethod
    def _list(value: Any, loc: tuple, keys: set[str]) -> list[dict]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        return [_obj(item, loc, keys) or {} for item in items]

    def clamp_since(self, earliest: dt.datetime) -> None:
        self.since = max(self.since, earliest)

    # -- one event ---------------------------------------------------------------

    def matches(self, event: dict[str, Any]) -> bool:
        occurred = event["occurred"]
        if isinstance(occurred, str):
            occurred = parse_time(occurred)
        if not (self.since <= occurred <= self.until):
            return False
        name = event["event"]
        if self.prefixes and not any(name.startswith(p) for p in self.prefixes):
            return False
        if self.exclude_prefixes and any(name.startswith(p) for p in self.exclude_prefixes):
            return False
        if self.names and name not in self.names:
            return False
        if self.exclude_names and name in self.exclude_names:
            return False
        if self.ids and uuid.UUID(str(event["id"])) not in self.ids:
            return False
        if self.resource and not self.resource.matches(event["resource"]):
            return False
        related = event.get("related") or []
        for criteria in self.related:
            if not criteria.empty() and not any(criteria.matches(r) for r in related):
                return False
        everything = [event["resource"], *related]
        for criteria in self.any_resource:
            if not criteria.empty() and not any(criteria.matches(r) for r in everything):
                return False
        if self.text:
            include, exclude, required = self.text
            haystack = " ".join(
                [
                    name,
                    *event["resource"].values(),
                    *(v for r in related for v in r.values()),
                    str(event.get("payload")),
                ]
            ).lower()
            if include and not any(t in haystack for t in include):
                return False
            if any(t in haystack for t in exclude):
                return False
            if not all(t in haystack for t in required):
                return False
        return True

    # -- stored events --------------------------------------------------------------

    def queryset(self) -> QuerySet:
        """Stored events narrowed by the indexed criteria; `matches()` decides the rest."""
        qs = Event.objects.filter(occurred__gte=self.since, occurred__lte=self.until)
        if self.names:
            qs = qs.filter(event__in=self.names)
        if self.prefixes:
            q = Q()
            for p in self.prefixes:
                q |= Q(event__startswith=p)
            qs = qs.filter(q)
        if self.exclude_names:
            qs = qs.exclude(event__in=self.exclude_names)
        if self.ids:
            qs = qs.filter(id__in=self.ids)
        if self.resource and self.resource.ids:
            qs = qs.filter(resource_id__in=self.resource.ids)
        scoped = EventResource.objects.filter(occurred__gte=self.since, occurred__lte=self.until)
        for criteria in self.any_resource:
            if criteria.ids:
                qs = qs.filter(id__in=scoped.filter(resource_id__in=criteria.ids).values("event_id"))
        for criteria in self.related:
            if criteria.ids:
                qs = qs.filter(
                    id__in=scoped.filter(resource_id__in=criteria.ids).exclude(resource_role="").values("event_id")
                )
        order = "occurred" if self.order == "ASC" else "-occurred"
        return qs.order_by(order, "id")

    def needs_python_check(self) -> bool:
        """Whether `queryset()` alone is not exact (labels, prefixes of resource ids, text...)."""
        if self.exclude_prefixes or self.text:
            return True
        if self.resource and (self.resource.id_prefixes or self.resource.labels):
            return True
        for criteria in [*self.related, *self.any_resource]:
            if criteria.id_prefixes or criteria.labels or criteria.roles or criteria.in_roles:
                return True
        return False
