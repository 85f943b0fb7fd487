"""Request bodies and responses of variables."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers

from orchestrator.api.fields import StrictSerializer, Tags, Text
from runs.orchestration.states import iso

from .. import models


def _checked(check, value):
    try:
        check(value)
    except ModelValidationError as exc:
        raise serializers.ValidationError(exc.messages[0], code="value_error") from None
    return value


class VariableCreateSerializer(StrictSerializer):
    name = Text()
    value = serializers.JSONField(allow_null=True)  # required: null is a value, absence is not
    tags = Tags()

    def validate_name(self, value: str) -> str:
        return _checked(models.validate_name, value)

    def validate_value(self, value: Any) -> Any:
        return _checked(models.validate_value, value)

    def to_representation(self, variable) -> dict[str, Any]:
        return {
            "id": str(variable.id),
            "created": iso(variable.created),
            "updated": iso(variable.updated),
            "name": variable.name,
            "value": variable.value,
            "tags": variable.tags,
        }


class VariableUpdateSerializer(StrictSerializer):
    """Only the keys sent are changed; a null name or tags changes nothing (a null value is
    a value)."""

    name = Text(required=False, allow_null=True)
    value = serializers.JSONField(required=False, allow_null=True)
    tags = Tags(allow_null=True)

    def validate_name(self, value: str | None) -> str | None:
        return value if value is None else _checked(models.validate_name, value)

    def validate_value(self, value: Any) -> Any:
        return _checked(models.validate_value, value)

    def changes(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        for key in ("name", "tags"):
            if key in data and data[key] is None:
                del data[key]
        return data
