"""Request bodies and responses of notification policies and deliveries."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from orchestrator.api.fields import NullableText, StrictSerializer, Text, UUIDField
from runs.orchestration.states import iso

from .. import messages
from ..models import Delivery, NotificationPolicy


def _template(value: str | None) -> str | None:
    if value:
        try:
            messages.validate_template(value)
        except messages.TemplateError as exc:
            raise serializers.ValidationError(str(exc), code="value_error") from None
    return value


def _names(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=Text(max_length=255), **kwargs)


def policy_json(policy: NotificationPolicy) -> dict[str, Any]:
    return {
        "id": str(policy.id),
        "created": iso(policy.created),
        "updated": iso(policy.updated),
        "is_active": policy.is_active,
        "state_names": policy.state_names,
        "tags": policy.tags,
        "block_document_id": str(policy.block_document_id),
        "message_template": policy.message_template,
    }


class PolicyCreateSerializer(StrictSerializer):
    """Prefect 2's FlowRunNotificationPolicyCreate: state_names, tags and the block are required."""

    is_active = serializers.BooleanField(required=False, default=True)
    state_names = _names()
    tags = _names()
    block_document_id = UUIDField()
    message_template = NullableText()

    def validate_message_template(self, value: str | None) -> str | None:
        return _template(value)

    def to_representation(self, policy: NotificationPolicy) -> dict[str, Any]:
        return policy_json(policy)


class PolicyUpdateSerializer(StrictSerializer):
    """Only the keys sent change; null leaves a field as it is, except message_template, where
    null means the default message."""

    is_active = serializers.BooleanField(required=False, allow_null=True)
    state_names = _names(required=False, allow_null=True)
    tags = _names(required=False, allow_null=True)
    block_document_id = UUIDField(required=False, allow_null=True)
    message_template = Text(required=False, allow_null=True)

    def validate_message_template(self, value: str | None) -> str | None:
        return _template(value)


def attempt_json(attempt) -> dict[str, Any]:
    return {
        "id": str(attempt.id),
        "number": attempt.number,
        "target": attempt.target,
        "started": iso(attempt.started),
        "duration": attempt.duration,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "response_excerpt": attempt.response_excerpt,
        "error": attempt.error,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "created": iso(delivery.created),
        "updated": iso(delivery.updated),
        "policy_id": str(delivery.policy_id),
        "is_test": delivery.is_test,
        "flow_run_id": str(delivery.flow_run_id) if delivery.flow_run_id else None,
        "flow_run_name": delivery.flow_run_name,
        "flow_id": str(delivery.flow_id) if delivery.flow_id else None,
        "flow_name": delivery.flow_name,
        "state_id": str(delivery.state_id) if delivery.state_id else None,
        "state_type": delivery.state_type,
        "state_name": delivery.state_name,
        "state_timestamp": iso(delivery.state_timestamp),
        "subject": delivery.subject,
        "body": delivery.body,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "queued": iso(delivery.queued),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "finished": iso(delivery.finished),
        "error": delivery.error,
        "attempts": [attempt_json(a) for a in delivery.attempts.all()],
    }


class DeliverySerializer(serializers.Serializer):
    def to_representation(self, delivery: Delivery) -> dict[str, Any]:
        return delivery_json(delivery)
