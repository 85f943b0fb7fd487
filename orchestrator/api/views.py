"""The generic Prefect resource API: create, read, update, delete, filter, count, paginate
and bulk delete, declared per resource.

A resource's viewset names its model, its serializers, the filter models its list bodies
accept and its sort orders; everything else is here:

    class FlowViewSet(PrefectViewSet):
        model = Flow
        serializer_class = FlowSerializer
        update_serializer_class = FlowUpdateSerializer
        filter_models = {"flows": (FLOW_FILTER, same), "flow_runs": (FLOW_RUN_FILTER, runs_of_flow)}
        sorts = FLOW_SORTS
        default_sort = "NAME_ASC"
        not_found = "Flow not found"

Lists are POST bodies `{<filter keys>, "sort", "limit", "offset"}` answering a plain JSON list;
`limit` defaults to (and may not exceed) PREFECT_SERVER_API_DEFAULT_LIMIT.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, QuerySet
from rest_framework import status, viewsets
from rest_framework.response import Response

from .errors import BodyInvalid, NotFound
from .fields import validate
from .filters import parse_filters

BULK_LIMIT = 50  # Prefect's bulk operations take 1 to 50 objects, 50 by default


def default_limit() -> int:
    return settings.ORCHESTRATOR["DEFAULT_LIMIT"]


def body_of(request) -> dict[str, Any]:
    data = request.data
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BodyInvalid([{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}], data)
    return data


MAX_INT = 2**31 - 1  # pages and offsets beyond this are typos, and overflow SQL integers


def _int(body: dict, key: str, default: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if not (isinstance(value, float) and value.is_integer()):
            raise BodyInvalid(
                [{"loc": ["body", key], "msg": "Input should be a valid integer", "type": "int_type"}], body
            )
        value = int(value)
    if value > MAX_INT:
        raise BodyInvalid(
            [
                {
                    "loc": ["body", key],
                    "msg": f"Input should be less than or equal to {MAX_INT}",
                    "type": "less_than_equal",
                }
            ],
            body,
        )
    return value


def limit_of(body: dict, maximum: int | None = None, minimum: int = 0) -> int:
    maximum = maximum if maximum is not None else default_limit()
    limit = _int(body, "limit", maximum)
    if limit < minimum:
        message = f"Invalid limit: must be greater than or equal to {minimum}."
    elif limit > maximum:
        message = f"Invalid limit: must be less than or equal to {maximum}."
    else:
        return limit
    # Prefect's own words, located like every other body error.
    raise BodyInvalid([{"loc": ["body", "limit"], "msg": message, "type": "value_error"}], body)


def offset_of(body: dict) -> int:
    offset = _int(body, "offset", 0)
    if offset < 0:
        raise BodyInvalid(
            [
                {
                    "loc": ["body", "offset"],
                    "msg": "Input should be greater than or equal to 0",
                    "type": "greater_than_equal",
                }
            ],
            body,
        )
    return offset


def sort_of(body: dict, sorts: dict[str, list], default: str | None) -> list:
    name = body.get("sort") or default
    if name is None:
        return []
    if name not in sorts:
        options = ", ".join(f"'{s}'" for s in sorts)
        raise BodyInvalid([{"loc": ["body", "sort"], "msg": f"Input should be {options}", "type": "enum"}], body)
    return sorts[name]


class PrefectViewSet(viewsets.ViewSet):
    model: type[Model]
    serializer_class: type | None = None
    update_serializer_class: type | None = None
    filter_models: dict[str, tuple] = {}
    sorts: dict[str, list] = {}
    default_sort: str | None = None
    not_found = "Not found"
    create_status = status.HTTP_201_CREATED

    # -- hooks a resource may override ------------------------------------------

    def get_queryset(self) -> QuerySet:
        return self.model.objects.all()

    def present(self, obj: Any) -> dict[str, Any]:
        return self.serializer_class(context=self.get_serializer_context()).to_representation(obj)

    def present_many(self, objects) -> list[dict[str, Any]]:
        serializer = self.serializer_class(context=self.get_serializer_context())
        return [serializer.to_representation(obj) for obj in objects]

    def get_serializer_context(self) -> dict[str, Any]:
        return {"request": getattr(self, "request", None), "view": self}

    def perform_create(self, data: dict[str, Any]) -> tuple[Any, bool]:
        """Create the object; return it and whether it is new (200 instead of 201 if not)."""
        return self.model.objects.create(**data), True

    def perform_update(self, obj: Any, data: dict[str, Any]) -> None:
        for key, value in data.items():
            setattr(obj, key, value)
        obj.save()

    def perform_destroy(self, obj: Any) -> None:
        obj.delete()

    def delete_many(self, queryset: QuerySet) -> list:
        ids = list(queryset.values_list("pk", flat=True))
        self.model.objects.filter(pk__in=ids).delete()
        return ids

    # -- helpers -----------------------------------------------------------------

    def get_object(self, pk: Any = None, queryset: QuerySet | None = None, **lookup: Any) -> Any:
        qs = self.get_queryset() if queryset is None else queryset
        obj = qs.filter(**(lookup or {"pk": pk})).first()
        if obj is None:
            raise NotFound(self.not_found)
        return obj

    def filtered(self, body: dict[str, Any], queryset: QuerySet | None = None) -> QuerySet:
        qs = self.get_queryset() if queryset is None else queryset
        return qs.filter(parse_filters(body, self.filter_models))

    def listed(self, body: dict[str, Any], limit_max: int | None = None) -> QuerySet:
        qs = self.filtered(body)
        order = sort_of(body, self.sorts, self.default_sort)
        if order:
            qs = qs.order_by(*order)
        offset = offset_of(body)
        limit = limit_of(body, limit_max)
        return qs[offset : offset + limit]

    # -- actions -------------------------------------------------------------------

    def create(self, request):
        data = validate(self.serializer_class, body_of(request), context=self.get_serializer_context())
        with transaction.atomic():
            obj, created = self.perform_create(dict(data))
        return Response(self.present(obj), status=self.create_status if created else status.HTTP_200_OK)

    def retrieve(self, request, pk=None):
        return Response(self.present(self.get_object(pk)))

    def partial_update(self, request, pk=None):
        serializer = self.update_serializer_class(data=body_of(request), partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            obj = self.get_object(pk, self.get_queryset().select_for_update(of=("self",)))
            self.perform_update(obj, {k: serializer.validated_data[k] for k in serializer.validated_data})
        return Response(status=status.HTTP_204_NO_CONTENT)

    def destroy(self, request, pk=None):
        with transaction.atomic():
            self.perform_destroy(self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def filter(self, request):
        return Response(self.present_many(self.listed(body_of(request))))

    def count(self, request):
        return Response(self.filtered(body_of(request)).count())

    def paginate(self, request):
        body = body_of(request)
        page = _int(body, "page", 1)
        if page < 1:
            raise BodyInvalid(
                [
                    {
                        "loc": ["body", "page"],
                        "msg": "Input should be greater than or equal to 1",
                        "type": "greater_than_equal",
                    }
                ],
                body,
            )
        limit = limit_of(body)
        qs = self.filtered(body)
        count = qs.count()
        order = sort_of(body, self.sorts, self.default_sort)
        if order:
            qs = qs.order_by(*order)
        offset = (page - 1) * limit
        results = self.present_many(qs[offset : offset + limit]) if limit else []
        return Response(
            {
                "results": results,
                "count": count,
                "limit": limit,
                "pages": math.ceil(count / limit) if limit else 0,
                "page": page,
            }
        )

    def bulk_delete(self, request):
        body = body_of(request)
        limit = limit_of(body, BULK_LIMIT, minimum=1)
        with transaction.atomic():
            qs = self.filtered(body)
            order = sort_of(body, self.sorts, self.default_sort)
            if order:
                qs = qs.order_by(*order)
            deleted = self.delete_many(qs[:limit])
        return Response({"deleted": [str(pk) for pk in deleted]})
