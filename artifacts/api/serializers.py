"""Request bodies and responses of artifacts and artifact collections."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework import serializers

from orchestrator.api.fields import AnyJSON, NullableText, NullableUUID, StrictSerializer
from runs.orchestration.states import iso

from .. import models


def _uuid(value) -> str | None:
    return str(value) if value is not None else None


class MetadataField(serializers.JSONField):
    """`metadata_`: string keys and string values; values past 500 characters are cut."""

    default_error_messages = {
        "not_object": "Input should be a valid dictionary",
        "not_string": "Metadata values must be strings; the value of {name} is not",
    }

    def to_internal_value(self, data: Any):
        data = super().to_internal_value(data)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.fail("not_object")
        cut = {}
        for key, value in data.items():
            if not isinstance(value, str):
                self.fail("not_string", name=repr(key))
            if len(value) > models.METADATA_VALUE_MAX_LENGTH:
                value = value[: models.METADATA_VALUE_MAX_LENGTH] + "..."
            cut[key] = value
        return cut


def Metadata(**kwargs: Any) -> MetadataField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", None)
    return MetadataField(**kwargs)


class ArtifactCreateSerializer(StrictSerializer):
    key = NullableText()
    type = NullableText(max_length=models.TYPE_MAX_LENGTH)
    description = NullableText()
    data = AnyJSON()
    metadata_ = Metadata()
    flow_run_id = NullableUUID()
    task_run_id = NullableUUID()

    def validate_key(self, value: str | None) -> str | None:
        if value is not None:
            try:
                models.validate_key(value)
            except ModelValidationError as exc:
                raise serializers.ValidationError(exc.messages[0], code="value_error") from None
        return value

    def to_representation(self, artifact) -> dict[str, Any]:
        return {
            "id": str(artifact.id),
            "created": iso(artifact.created),
            "updated": iso(artifact.updated),
            "key": artifact.key,
            "type": artifact.type,
            "description": artifact.description,
            "data": artifact.data,
            "metadata_": artifact.metadata,
            "flow_run_id": _uuid(artifact.flow_run_id),
            "task_run_id": _uuid(artifact.task_run_id),
        }


class ArtifactUpdateSerializer(StrictSerializer):
    """Only the keys sent are changed (an explicit null clears a field)."""

    data = serializers.JSONField(required=False, allow_null=True)
    description = NullableText()
    metadata_ = Metadata()


class ArtifactCollectionSerializer(serializers.Serializer):
    def to_representation(self, collection) -> dict[str, Any]:
        return {
            "id": str(collection.id),
            "created": iso(collection.created),
            "updated": iso(collection.updated),
            "key": collection.key,
            "latest_id": str(collection.latest_id),
            "type": collection.type,
            "description": collection.description,
            "data": collection.data,
            "metadata_": collection.metadata,
            "flow_run_id": _uuid(collection.flow_run_id),
            "task_run_id": _uuid(collection.task_run_id),
        }


def artifact_fields(validated: dict[str, Any]) -> dict[str, Any]:
    """Model fields from a validated body (`metadata_` on the wire is `metadata` here)."""
    fields = dict(validated)
    if "metadata_" in fields:
        fields["metadata"] = fields.pop("metadata_")
    return fields
