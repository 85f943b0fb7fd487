"""The dashboard's notification form: which flow runs and states trigger a policy, its message,
and whether it is active. Where it sends is a block form generated from the chosen service's
schema (blocks.forms.BlockDocumentForm), shown beside it; the views save both together."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from runs.choices import COLORS, StateType

from . import messages
from .models import NotificationPolicy

TAG_MAX_LENGTH = 255  # as the API's
TEMPLATE_MAX_LENGTH = 10_000

# The state names Prefect users know, by state type, in the order of a run's life: a policy
# matches a state by its name, so `Late` or `TimedOut` can be chosen apart from their type.
STATE_NAMES: tuple[tuple[str, str], ...] = (
    ("Scheduled", StateType.SCHEDULED),
    ("Late", StateType.SCHEDULED),
    ("AwaitingRetry", StateType.SCHEDULED),
    ("AwaitingConcurrencySlot", StateType.SCHEDULED),
    ("Resuming", StateType.SCHEDULED),
    ("Pending", StateType.PENDING),
    ("Running", StateType.RUNNING),
    ("Retrying", StateType.RUNNING),
    ("Paused", StateType.PAUSED),
    ("Suspended", StateType.PAUSED),
    ("Cancelling", StateType.CANCELLING),
    ("Cancelled", StateType.CANCELLED),
    ("Completed", StateType.COMPLETED),
    ("Cached", StateType.COMPLETED),
    ("Failed", StateType.FAILED),
    ("TimedOut", StateType.FAILED),
    ("Crashed", StateType.CRASHED),
)
STATE_COLORS = {name: COLORS[state_type] for name, state_type in STATE_NAMES}


def tags_as_text(tags: list[str]) -> str:
    return ", ".join(tags)


class PolicyForm(forms.Form):
    """The policy's own fields. A policy saved through the API may name states this list does
    not know: they are offered too, so editing it keeps them."""

    state_names = forms.MultipleChoiceField(
        label="Run states",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: a run entering any state.",
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        max_length=4000,
        help_text="Separate tags with commas. A run with any one of them is covered; none: every flow run.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "daily-etl, prod"}),
    )
    message_template = forms.CharField(
        label="Message",
        required=False,
        strip=False,
        max_length=TEMPLATE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code-input"}),
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args: Any, policy: NotificationPolicy | None = None, **kwargs: Any):
        self.policy = policy
        if policy is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "state_names": list(policy.state_names),
                "tags": tags_as_text(policy.tags),
                "message_template": policy.message_template or "",
                "is_active": policy.is_active,
            }
        super().__init__(*args, **kwargs)
        known = [name for name, _ in STATE_NAMES]
        extra = [name for name in (policy.state_names if policy is not None else []) if name not in known]
        self.fields["state_names"].choices = [(name, name) for name in known + extra]

    def state_options(self) -> list[dict[str, Any]]:
        """The state checkboxes with the colour of their state type, as the template draws them."""
        chosen = set(self["state_names"].value() or [])
        return [
            {"name": name, "color": STATE_COLORS.get(name, "none"), "checked": name in chosen}
            for name, _ in self.fields["state_names"].choices
        ]

    def clean_tags(self) -> list[str]:
        parts = (part.strip() for part in self.cleaned_data["tags"].split(","))
        tags = list(dict.fromkeys(part for part in parts if part))
        too_long = [tag for tag in tags if len(tag) > TAG_MAX_LENGTH]
        if too_long:
            raise ValidationError(f"A tag is at most {TAG_MAX_LENGTH} characters long.")
        return tags

    def clean_message_template(self) -> str | None:
        template = self.cleaned_data["message_template"]
        if not template.strip():
            return None  # the default message
        try:
            messages.validate_template(template)
        except messages.TemplateError as exc:
            raise ValidationError(str(exc)) from None
        return template

    def policy_fields(self) -> dict[str, Any]:
        """What domain.create_policy_with_block and update_policy take."""
        data = self.cleaned_data
        return {
            "state_names": data["state_names"],
            "tags": data["tags"],
            "is_active": data["is_active"],
            "message_template": data["message_template"],
        }
