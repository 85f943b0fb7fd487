"""Variables: named JSON values that flows read at run time (`Variable.get("name")`).

The rules on names and values live here, so the API and the dashboard's form refuse the same
things with the same words.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from orchestrator.lib.json_field import JSONField
from runs.models import PrefectModel, empty_list

NAME_MAX_LENGTH = 255
VALUE_MAX_LENGTH = 5000  # characters of the value's compact JSON text
NAME_PATTERN = re.compile(r"[a-z0-9_-]+")


def validate_name(name: str) -> None:
    if not name:
        raise ValidationError("A variable name may not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"A variable name may be at most {NAME_MAX_LENGTH} characters long")
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationError(
            f"A variable name may contain only lowercase letters, numbers, dashes and underscores; {name!r} is not allowed"
        )


def json_text(value: Any) -> str:
    """The value as compact JSON, the form its length is measured in."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def validate_value(value: Any) -> None:
    """Any JSON value (null too) whose JSON text is at most VALUE_MAX_LENGTH characters."""
    try:
        text = json_text(value)
    except (TypeError, ValueError):
        raise ValidationError("A variable value must be a JSON value") from None
    if len(text) > VALUE_MAX_LENGTH:
        raise ValidationError(
            f"A variable value may be at most {VALUE_MAX_LENGTH} characters of JSON; this one is {len(text)}"
        )


class Variable(PrefectModel):
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    value = JSONField(null=True)
    tags = JSONField(default=empty_list)

    class Meta:
        indexes = [
            models.Index(fields=["-created"], name="variable_created"),
            models.Index(fields=["-updated"], name="variable_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for field, check in (("name", validate_name), ("value", validate_value)):
            try:
                check(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)
