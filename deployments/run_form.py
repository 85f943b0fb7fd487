"""The custom run form of a deployment: a field per parameter of its `parameter_openapi_schema`,
plus the run's name, tags, job variables and start time.

The schema is what the Prefect client sends with a deployment: pydantic's JSON Schema of the
flow's signature, with a `position` per parameter, `definitions` for enums and models (reached
through `$ref`, often wrapped in a one-item `allOf`), and `anyOf [X, null]` for optional ones.
Each parameter becomes the field its type asks for: a text box (string), a number box
(integer, number), a checkbox (boolean), a menu (enum), or a JSON text area (array, object,
and anything else). Defaults are prefilled: the deployment's own parameter value, else the
schema's default; required parameters are marked.

The form only builds the request: `cleaned_request()` is the body of
`POST /api/deployments/{id}/create_flow_run`, which the view validates and creates through the
same serializer and domain function as the API. When the deployment enforces its schema, the
parameters are checked against it first (orchestrator.lib.jsonschema) so each error shows
beside its field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from django import forms

from orchestrator.lib.jsonschema import error_tree

PREFIX = "param-"
TIME_INPUT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">, read as UTC
MAX_REF_DEPTH = 20


@dataclass
class Parameter:
    """One parameter of the schema, resolved: its name, kind, and what the form shows."""

    name: str
    kind: str  # "string", "integer", "number", "boolean", "enum", "json"
    title: str
    description: str
    required: bool
    schema: dict[str, Any]
    choices: list[Any]
    has_default: bool
    default: Any

    @property
    def field_name(self) -> str:
        return PREFIX + self.name

    @property
    def hint(self) -> str:
        """What to type, beside the label: "integer", "JSON list", ..."""
        if self.kind == "json":
            return {"array": "JSON list", "object": "JSON object"}.get(self.schema.get("type"), "JSON")
        return {"string": "text", "integer": "integer", "number": "number"}.get(self.kind, "")


def _lookup(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """The schema a local `$ref` ("#/definitions/Color") points at, or {} if none."""
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, dict) else {}


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with `$ref`, a one-item `allOf` and `anyOf [X, null]` followed,
    keeping the outer title, description and default."""
    if not isinstance(schema, dict):
        return {}
    resolved = dict(schema)
    for _ in range(MAX_REF_DEPTH):
        if "$ref" in resolved:
            target = _lookup(root, resolved.pop("$ref"))
            resolved = {**target, **resolved}
        elif isinstance(resolved.get("allOf"), list) and len(resolved["allOf"]) == 1:
            (inner,) = resolved.pop("allOf")
            resolved = {**(inner if isinstance(inner, dict) else {}), **resolved}
        elif isinstance(resolved.get("anyOf"), list):
            options = [o for o in resolved["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(options) != 1 or len(options) == len(resolved["anyOf"]):
                break
            resolved.pop("anyOf")
            resolved = {**(options[0] if isinstance(options[0], dict) else {}), **resolved, "nullable": True}
        else:
            break
    return resolved


def _kind(schema: dict[str, Any]) -> str:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "enum"
    kind = schema.get("type")
    if kind in ("string", "integer", "number", "boolean"):
        return kind
    return "json"


def parameters_of(schema: Any) -> list[Parameter] | None:
    """The schema's parameters in the flow's order (none for a flow without parameters), or
    None when there is no schema to read: the form then takes the parameters as JSON."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    found = []
    for order, (name, raw) in enumerate(schema["properties"].items()):
        prop = resolve(raw, schema)
        kind = _kind(prop)
        found.append(
            (
                prop.get("position", order) if isinstance(prop.get("position"), int) else order,
                order,
                Parameter(
                    name=str(name),
                    kind=kind,
                    title=str(prop.get("title") or name),
                    description=str(prop.get("description") or ""),
                    required=name in required,
                    schema=prop,
                    choices=list(prop.get("enum") or []),
                    has_default="default" in prop,
                    default=prop.get("default"),
                ),
            )
        )
    return [parameter for *_, parameter in sorted(found, key=lambda item: item[:2])]


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _json_value(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise forms.ValidationError(f"{what} is not valid JSON: {exc}.") from None


class NumberField(forms.FloatField):
    """A JSON Schema number: "3" stays the integer 3, "2.5" is 2.5; never NaN or infinite."""

    def to_python(self, value):
        text = str(value or "").strip()
        number = super().to_python(value)
        if number is None:
            return None
        if not math.isfinite(number):
            raise forms.ValidationError("Enter a finite number.")
        if number.is_integer() and not any(c in text for c in ".eE"):
            return int(number)
        return number


def _field(parameter: Parameter, initial: Any, has_initial: bool) -> forms.Field:
    common = {"label": parameter.title, "help_text": parameter.description, "required": parameter.required}
    if parameter.kind == "string":
        field = forms.CharField(strip=False, **common)
        if parameter.schema.get("format") in ("date-time", "date", "time"):
            field.widget.attrs["placeholder"] = {"date-time": "2024-05-01T12:00:00Z", "date": "2024-05-01"}.get(
                parameter.schema["format"], "12:00:00"
            )
        field.initial = initial if has_initial and isinstance(initial, str) else None
    elif parameter.kind == "integer":
        field = forms.IntegerField(**common)
        field.initial = initial if has_initial and isinstance(initial, int) and not isinstance(initial, bool) else None
    elif parameter.kind == "number":
        field = NumberField(**common)
        field.widget.attrs["step"] = "any"
        field.initial = initial if has_initial and isinstance(initial, (int, float)) else None
    elif parameter.kind == "boolean":
        # Always sent: unticked is false.
        field = forms.BooleanField(**{**common, "required": False})
        field.initial = bool(initial) if has_initial else False
    elif parameter.kind == "enum":
        choices = [(json.dumps(value), str(value)) for value in parameter.choices]
        if not parameter.required:
            choices.insert(0, ("", "—"))
        field = forms.ChoiceField(choices=choices, **common)
        field.initial = json.dumps(initial) if has_initial and initial in parameter.choices else None
    else:
        field = forms.CharField(
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code-input"}), **common
        )
        field.initial = _json_text(initial) if has_initial else None
        field.json = True
    field.parameter = parameter
    return field


class CustomRunForm(forms.Form):
    """A run of `deployment` with chosen parameters, name, tags, job variables and start."""

    custom = forms.CharField(widget=forms.HiddenInput, initial="1", required=False)
    name = forms.CharField(
        required=False, max_length=255, label="Run name", help_text="Empty: a generated name such as “brave-otter”."
    )
    tags = forms.CharField(
        required=False, max_length=2000, help_text="Separated by commas; added to the deployment's tags."
    )
    start = forms.ChoiceField(
        choices=[("now", "Now"), ("later", "Later")], initial="now", widget=forms.RadioSelect, label="Start"
    )
    scheduled_time = forms.CharField(
        required=False,
        label="Scheduled start (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    job_variables = forms.CharField(
        required=False,
        label="Job variables",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code-input"}),
        help_text="A JSON object overriding the work pool's job template for this run, e.g. "
        '{"env": {"MODE": "fast"}}.',
    )

    def __init__(self, deployment, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deployment = deployment
        self.schema = deployment.parameter_openapi_schema
        self.parameters = parameters_of(self.schema)
        defaults = deployment.parameters or {}
        self.parameter_fields: list[str] = []
        if self.parameters is None:
            self.fields["parameters"] = forms.CharField(
                required=False,
                label="Parameters",
                widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code-input"}),
                help_text="A JSON object, merged over the deployment's default parameters.",
                initial=_json_text(defaults),
            )
            self.parameter_fields.append("parameters")
            return
        for parameter in self.parameters:
            if parameter.name in defaults:
                initial, has_initial = defaults[parameter.name], True
            else:
                initial, has_initial = parameter.default, parameter.has_default
            self.fields[parameter.field_name] = _field(parameter, initial, has_initial)
            self.parameter_fields.append(parameter.field_name)

    # -- the fields people see, grouped ------------------------------------------------------

    def parameter_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.parameter_fields]

    # -- cleaning --------------------------------------------------------------------------

    def clean_tags(self) -> list[str]:
        tags = []
        for part in self.cleaned_data["tags"].split(","):
            tag = part.strip()
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    def clean_job_variables(self) -> dict | None:
        text = self.cleaned_data["job_variables"].strip()
        if not text:
            return None
        value = _json_value(text, "The job variables")
        if not isinstance(value, dict):
            raise forms.ValidationError('The job variables must be a JSON object, such as {"env": {"MODE": "fast"}}.')
        return value

    def clean_parameters(self) -> dict:
        text = (self.cleaned_data.get("parameters") or "").strip()
        if not text:
            return {}
        value = _json_value(text, "The parameters")
        if not isinstance(value, dict):
            raise forms.ValidationError('The parameters must be a JSON object, such as {"name": "world"}.')
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") == "later":
            text = (cleaned.get("scheduled_time") or "").strip()
            when = None
            for pattern in (TIME_INPUT, TIME_INPUT + ":%S"):
                try:
                    when = dt.datetime.strptime(text, pattern).replace(tzinfo=dt.UTC)
                    break
                except ValueError:
                    continue
            if when is None:
                self.add_error("scheduled_time", "Enter the date and time to start at (UTC), or choose “Now”.")
            cleaned["scheduled_at"] = when
        else:
            cleaned["scheduled_at"] = None
        if self.parameters is not None:
            cleaned["parameters"] = self._parameter_values(cleaned)
            if not self.errors and self.deployment.enforce_parameter_schema and isinstance(self.schema, dict):
                self._check_schema(cleaned["parameters"])
        return cleaned

    def _parameter_values(self, cleaned: dict) -> dict[str, Any]:
        """The parameters given, by name; a blank optional field is left out (the deployment's
        or the flow's default then applies)."""
        values = {}
        for parameter in self.parameters or ():
            name = parameter.field_name
            if name not in cleaned:  # the field has an error already
                continue
            raw = cleaned[name]
            field = self.fields[name]
            if parameter.kind == "boolean":
                values[parameter.name] = bool(raw)
            elif raw in (None, ""):
                continue
            elif parameter.kind == "enum":
                values[parameter.name] = json.loads(raw)
            elif getattr(field, "json", False):
                try:
                    values[parameter.name] = _json_value(raw, parameter.title)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
            else:
                values[parameter.name] = raw
        return values

    def _check_schema(self, given: dict[str, Any]) -> None:
        """Errors of the parameters the run would get (the given ones over the deployment's)
        against the schema, each beside its field."""
        merged = {**(self.deployment.parameters or {}), **given}
        try:
            tree = error_tree(merged, self.schema)
        except ValueError as exc:
            self.add_error(None, f"The deployment's parameter schema is not valid: {exc}")
            return
        names = {parameter.name: parameter.field_name for parameter in self.parameters or ()}
        for node in tree:
            if isinstance(node, dict) and node.get("property") in names:
                for message in _messages(node["errors"]):
                    self.add_error(names[node["property"]], message)
            elif isinstance(node, dict):
                for message in _messages(node["errors"]):
                    self.add_error(None, f"{node.get('property', node.get('index'))}: {message}")
            else:
                self.add_error(None, str(node))

    # -- the API request ---------------------------------------------------------------------

    def request_body(self) -> dict[str, Any]:
        """The body of POST /api/deployments/{id}/create_flow_run for this run."""
        cleaned = self.cleaned_data
        body: dict[str, Any] = {"parameters": cleaned.get("parameters") or {}}
        if cleaned.get("name", "").strip():
            body["name"] = cleaned["name"].strip()
        if cleaned.get("tags"):
            body["tags"] = cleaned["tags"]
        if cleaned.get("job_variables") is not None:
            body["job_variables"] = cleaned["job_variables"]
        if cleaned.get("scheduled_at") is not None:
            body["state"] = {
                "type": "SCHEDULED",
                "name": "Scheduled",
                "state_details": {"scheduled_time": cleaned["scheduled_at"].isoformat()},
            }
        return body


def _messages(errors: list) -> list[str]:
    """The messages of an error_tree branch, nested ones prefixed with where they are."""
    found = []
    for error in errors:
        if isinstance(error, dict):
            where = error.get("property", error.get("index"))
            found += [f"{where}: {message}" for message in _messages(error.get("errors", []))]
        else:
            found.append(str(error))
    return found
