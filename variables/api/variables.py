"""/api/variables: by id and by name."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response

from orchestrator.api.errors import Conflict
from orchestrator.api.views import PrefectViewSet, body_of

from ..filters import VARIABLE_BODY_FILTERS, VARIABLE_SORTS
from ..models import Variable
from .serializers import VariableCreateSerializer, VariableUpdateSerializer


def _taken(name: str) -> Conflict:
    return Conflict(f"A variable named {name!r} already exists.")


class VariableViewSet(PrefectViewSet):
    model = Variable
    serializer_class = VariableCreateSerializer
    update_serializer_class = VariableUpdateSerializer
    filter_models = VARIABLE_BODY_FILTERS
    sorts = VARIABLE_SORTS
    default_sort = "NAME_ASC"
    not_found = "Variable not found."

    def perform_create(self, data):
        try:
            with transaction.atomic():
                return Variable.objects.create(**data), True
        except IntegrityError:
            raise _taken(data["name"])

    def _update(self, request, **lookup) -> Response:
        serializer = self.update_serializer_class(data=body_of(request), partial=True)
        serializer.is_valid(raise_exception=True)
        changes = serializer.changes()
        try:
            with transaction.atomic():
                variable = self.get_object(queryset=self.get_queryset().select_for_update(of=("self",)), **lookup)
                self.perform_update(variable, changes)
        except IntegrityError:
            raise _taken(changes.get("name"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request, pk=None):
        return self._update(request, pk=pk)

    def retrieve_by_name(self, request, name=None):
        return Response(self.present(self.get_object(name=name)))

    def update_by_name(self, request, name=None):
        return self._update(request, name=name)

    def destroy_by_name(self, request, name=None):
        with transaction.atomic():
            self.perform_destroy(self.get_object(name=name))
        return Response(status=status.HTTP_204_NO_CONTENT)
