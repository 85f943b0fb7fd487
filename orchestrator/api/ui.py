"""Dashboard helpers of the API: saved searches, schema validation of form values,
template validation, and the (empty) list of background task workers."""

from __future__ import annotations

import functools

from django.db import transaction
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.lib.jsonschema import error_tree
from orchestrator.models import SavedSearch
from runs.orchestration.states import iso

from .errors import BodyInvalid, NotFound, Unprocessable
from .fields import JSONObject, StrictSerializer, Text, validate
from .views import body_of, limit_of, offset_of


class SavedSearchFilterSerializer(serializers.Serializer):
    object = Text(max_length=255)
    property = Text(max_length=255)
    type = Text(max_length=255)
    operation = Text(max_length=255)
    value = serializers.JSONField(allow_null=True)


class SavedSearchCreateSerializer(StrictSerializer):
    name = Text(max_length=255)
    filters = serializers.ListField(child=SavedSearchFilterSerializer(), required=False, default=list)


def saved_search_json(search: SavedSearch) -> dict:
    return {
        "id": str(search.id),
        "created": iso(search.created),
        "updated": iso(search.updated),
        "name": search.name,
        "filters": search.filters,
    }


class SavedSearchesView(APIView):
    def put(self, request):
        data = validate(SavedSearchCreateSerializer, body_of(request))
        with transaction.atomic():
            search, _ = SavedSearch.objects.update_or_create(
                name=data["name"], defaults={"filters": [dict(f) for f in data["filters"]]}
            )
        return Response(saved_search_json(search))


class SavedSearchView(APIView):
    def get(self, request, pk=None):
        search = SavedSearch.objects.filter(pk=pk).first()
        if search is None:
            raise NotFound("Saved search not found")
        return Response(saved_search_json(search))

    def delete(self, request, pk=None):
        deleted, _ = SavedSearch.objects.filter(pk=pk).delete()
        if not deleted:
            raise NotFound("Saved search not found")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedSearchFilterView(APIView):
    def post(self, request):
        body = body_of(request)
        offset, limit = offset_of(body), limit_of(body)
        return Response([saved_search_json(s) for s in SavedSearch.objects.order_by("name")[offset : offset + limit]])


class SchemaValidateSerializer(StrictSerializer):
    schema = JSONObject()
    values = JSONObject()


class SchemaValidateView(APIView):
    """Check form values against a JSON schema and answer errors per property."""

    def post(self, request):
        data = validate(SchemaValidateSerializer, body_of(request))
        try:
            errors = error_tree(data["values"], data["schema"])
        except ValueError as exc:
            raise Unprocessable(f"Invalid schema: {exc}") from None
        return Response({"errors": errors, "valid": not errors})


class TemplateValidateView(APIView):
    """Check that an automation template parses; 204 when it does."""

    @staticmethod
    @functools.cache
    def environment():
        # Jinja is imported on first use: about 2 MB in every server process otherwise.
        from jinja2.sandbox import SandboxedEnvironment

        return SandboxedEnvironment()

    def post(self, request):
        from jinja2 import TemplateSyntaxError

        template = request.data if request.data is not None else ""
        if not isinstance(template, str):
            raise BodyInvalid(
                [{"loc": ["body"], "msg": "Input should be a valid string", "type": "string_type"}], template
            )
        try:
            self.environment().parse(template)
        except TemplateSyntaxError as exc:
            return Response(
                {"error": {"line": exc.lineno, "message": exc.message, "source": template}},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskWorkersFilterView(APIView):
    """Background task workers subscribed to this server. This server serves no task
    subscriptions, so none are ever connected."""

    def post(self, request):
        body = body_of(request)
        task_filter = body.get("task_worker_filter")
        if task_filter is not None:
            if not isinstance(task_filter, dict) or not isinstance(task_filter.get("task_keys", []), list):
                raise BodyInvalid(
                    [
                        {
                            "loc": ["body", "task_worker_filter"],
                            "msg": "Input should be {task_keys: [...]}",
                            "type": "model_type",
                        }
                    ],
                    body,
                )
        return Response([])
