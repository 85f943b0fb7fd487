"""Serializer fields with Prefect's rules, and the strict serializer base every request body uses.

Prefect's request models refuse unknown keys, keep strings exactly as sent, and accept
null where the contract says so; DRF's defaults differ on all three, so bodies are declared
with these instead.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not declare, as Prefect's action models do."""

    def to_internal_value(self, data: Any):
        if isinstance(data, dict):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: [serializers.ErrorDetail("Extra inputs are not permitted", "extra_forbidden")]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


class LenientSerializer(serializers.Serializer):
    """Ignores keys it does not declare (for nested models Prefect reads loosely)."""


class BodyFields(LenientSerializer):
    """The named fields of an endpoint that reads several of them from one body (set_state's
    `state` and `force`, a heartbeat's `name`...). Prefect picks out the fields it knows there
    and ignores the rest, and newer clients count on it (a worker sends `metadata` with its
    heartbeat); the models inside those fields stay strict."""


class NoSurrogates(ProhibitSurrogateCharactersValidator):
    """DRF's refusal of lone surrogates, with the usual case (there are none, so the text
    encodes as UTF-8) decided in C rather than by looking at every character in Python, which
    was a tenth of storing a batch of log lines."""

    def __call__(self, value):
        try:
            str(value).encode("utf-8")
        except UnicodeEncodeError:
            super().__call__(value)


class StringField(serializers.CharField):
    """A string, and only a string: DRF would turn 42 into "42", Prefect refuses it."""

    default_error_messages = {"string_type": "Input should be a valid string"}

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.validators = [
            NoSurrogates() if type(v) is ProhibitSurrogateCharactersValidator else v for v in self.validators
        ]

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("string_type")
        return super().to_internal_value(data)


class UUIDField(serializers.UUIDField):
    """A UUID written as a string: DRF would read 123 as UUID(int=123), Prefect refuses it."""

    default_error_messages = {"uuid_parsing": "Input should be a valid UUID"}

    def to_internal_value(self, data: Any):
        if not isinstance(data, (str, uuid.UUID)):
            self.fail("uuid_parsing")
        return super().to_internal_value(data)


def Text(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("allow_blank", True)
    kwargs.setdefault("trim_whitespace", False)
    return StringField(**kwargs)


def NullableText(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", None)
    return Text(**kwargs)


def NullableUUID(**kwargs: Any) -> serializers.UUIDField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", None)
    return UUIDField(**kwargs)


def NullableDateTime(**kwargs: Any) -> serializers.DateTimeField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", None)
    return serializers.DateTimeField(**kwargs)


class JSONObject(serializers.JSONField):
    """Any JSON object (a dict)."""

    default_error_messages = {"not_object": "Input should be a valid dictionary"}

    def to_internal_value(self, data: Any):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            self.fail("not_object")
        return data


def Obj(**kwargs: Any) -> JSONObject:
    kwargs.setdefault("required", False)
    if "allow_null" not in kwargs:
        kwargs.setdefault("default", dict)
    return JSONObject(**kwargs)


def AnyJSON(**kwargs: Any) -> serializers.JSONField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", None)
    return serializers.JSONField(**kwargs)


def Tags(**kwargs: Any) -> serializers.ListField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("default", list)
    return serializers.ListField(child=Text(), **kwargs)


class LabelValues(serializers.JSONField):
    """Labels: a flat object of string, number or boolean values."""

    default_error_messages = {
        "not_object": "Input should be a valid dictionary",
        "bad_value": "Label values must be strings, numbers or booleans",
    }

    def to_internal_value(self, data: Any):
        data = super().to_internal_value(data)
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail("not_object")
        if any(not isinstance(v, (str, int, float, bool)) for v in data.values()):
            self.fail("bad_value")
        return data


def Labels(**kwargs: Any) -> LabelValues:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_null", True)
    kwargs.setdefault("default", dict)
    return LabelValues(**kwargs)


def Choice(choices, **kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, **kwargs)


_reused = threading.local()


def _kept_serializer(serializer_class: type[serializers.Serializer], data: Any, kwargs: dict) -> serializers.Serializer:
    """This thread's serializer of the class (and options), set to validate `data` afresh."""
    kept = getattr(_reused, "serializers", None)
    if kept is None:
        kept = _reused.serializers = {}
    key = (serializer_class, tuple(sorted(kwargs.items())))
    serializer = kept.get(key)
    if serializer is None:
        serializer = kept[key] = serializer_class(data=data, **kwargs)
    else:
        serializer.initial_data = data
        for result in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(result, None)
    return serializer


def validate(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    """Validate a request body; errors become Prefect's 422 through the exception handler.

    DRF builds a serializer's fields by deep-copying every declared field (nested ones too) each
    time one is made, which profiling showed as a tenth of a state change. Our body serializers
    keep no state between validations but DRF's own results, so each thread keeps one of each
    kind and runs it again on the new body."""
    if data is None:
        data = {}
    if "context" in kwargs:  # a request's context belongs to that request
        serializer = serializer_class(data=data, **kwargs)
    else:
        serializer = _kept_serializer(serializer_class, data, kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
