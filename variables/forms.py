"""The dashboard's variable form: the same rules as the API, in words for a person."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import NAME_MAX_LENGTH, Variable, validate_name, validate_value

VALUE_HELP = 'A JSON value: text in double quotes ("hello"), a number, true or false, null, a [list] or an {object}.'


def value_as_text(value: Any) -> str:
    """A stored value as the form shows it for editing."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def tags_as_text(tags: list[str]) -> str:
    return ", ".join(tags)


class VariableForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, strip=True, validators=[validate_name])
    value = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}), strip=False, help_text=VALUE_HELP
    )
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")

    def __init__(self, *args: Any, instance: Variable | None = None, **kwargs: Any):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "value": value_as_text(instance.value),
                "tags": tags_as_text(instance.tags),
            }
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = Variable.objects.filter(name=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(f"A variable named {name!r} already exists.")
        return name

    def clean_value(self) -> Any:
        text = self.cleaned_data["value"]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(
                f"This is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). {VALUE_HELP}"
            ) from None
        validate_value(value)
        return value

    def clean_tags(self) -> list[str]:
        parts = (part.strip() for part in self.cleaned_data["tags"].split(","))
        return list(dict.fromkeys(part for part in parts if part))
