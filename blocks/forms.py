"""The dashboard's block forms, generated from a block schema.

A block schema is the JSON Schema of a Prefect `Block` class (`fields` of a BlockSchema). Each
property becomes one form field: text, a password input for a secret, a checkbox, a number,
a select for an enum, one line per item for a list of strings, a JSON text area for anything
else, or a select of saved documents for a nested block (`block_schema_references`). An
`anyOf` with a `{"type": "null"}` branch makes a field optional.

Secrets never go back to the browser: an edit form shows the mask ("********") in place of a
stored secret, and the mask sent back means "keep the secret as it is".
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from orchestrator.lib.jsonschema import error_tree

from .documents import MASK, keep_unchanged_secrets, mask
from .models import BlockDocument

# The Prefect client refuses other names when it loads or saves a block (`Block.save`).
NAME_VALIDATOR = RegexValidator(
    r"^[a-z0-9-]+$", "Use lowercase letters, numbers and dashes only, like “my-slack-webhook”."
)
NAME_MAX_LENGTH = 255
REFERENCE_CHOICES = 200  # saved documents offered for a nested block
FIELD_PREFIX = "data-"  # form field names of schema properties: "data-url" (a property may be called "name")
MISSING = object()


class Kind(StrEnum):
    TEXT = "text"
    SECRET = "secret"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    CHOICE = "choice"
    LINES = "lines"
    JSON = "json"
    BLOCK = "block"


@dataclass
class SchemaField:
    """One property of a block schema, as the form and the document page show it."""

    name: str
    kind: Kind
    label: str
    help: str = ""
    required: bool = False  # the form needs a value (required by the schema and not nullable)
    nullable: bool = False  # an empty input means null
    default: Any = MISSING
    choices: list[Any] = field(default_factory=list)  # the enum of a CHOICE
    block_type_slugs: list[str] = field(default_factory=list)  # the types a BLOCK may hold
    secret: bool = False


# -- reading a schema ---------------------------------------------------------------------


def _definition(schema: dict, ref: Any) -> dict | None:
    if not isinstance(ref, str):
        return None
    for prefix, key in (("#/definitions/", "definitions"), ("#/$defs/", "$defs")):
        if ref.startswith(prefix):
            found = (schema.get(key) or {}).get(ref[len(prefix) :])
            return found if isinstance(found, dict) else None
    return None


def _resolve(prop: dict, schema: dict) -> dict:
    """A property with a local `$ref` (or a single-item `allOf`) to a plain definition
    merged in; the property's own title, description and default win."""
    prop = dict(prop)
    for _ in range(10):  # definitions may point at definitions; never loop forever
        target = _definition(schema, prop.get("$ref"))
        if target is not None and target.get("block_type_slug") is None:
            own = {k: v for k, v in prop.items() if k != "$ref"}
            prop = {**target, **own}
            continue
        all_of = prop.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            own = {k: v for k, v in prop.items() if k != "allOf"}
            prop = {**all_of[0], **own}
            continue
        return prop
    return prop


def _is_password(prop: dict) -> bool:
    return prop.get("format") == "password"


def _shape(prop: dict, schema: dict) -> tuple[dict, bool]:
    """What a property holds, without the null branch; and whether null is allowed."""
    prop = _resolve(prop, schema)
    branches = prop.get("anyOf") or prop.get("oneOf")
    nullable = False
    if isinstance(branches, list):
        resolved = [_resolve(b, schema) for b in branches if isinstance(b, dict)]
        nullable = any(b.get("type") == "null" for b in resolved)
        rest = [b for b in resolved if b.get("type") != "null"]
        own = {k: v for k, v in prop.items() if k not in ("anyOf", "oneOf")}
        if len(rest) == 1:
            shape = {**rest[0], **own}
        elif any(_is_password(b) for b in rest) or all(b.get("type") == "string" for b in rest):
            # e.g. Prefect's Secret: a password, or any string, or JSON: a password input.
            shape = {**own, "type": "string"}
            if any(_is_password(b) for b in rest):
                shape["format"] = "password"
        else:
            shape = {k: v for k, v in own.items() if k not in ("type", "enum")}
    else:
        shape = prop
    kind = shape.get("type")
    if isinstance(kind, list):  # {"type": ["string", "null"]}
        nullable = nullable or "null" in kind
        others = [t for t in kind if t != "null"]
        shape = {**shape, "type": others[0] if len(others) == 1 else None}
    return shape, nullable


def _kind(shape: dict, secret: bool) -> Kind:
    kind = shape.get("type")
    if isinstance(shape.get("enum"), list) and shape["enum"]:
        return Kind.CHOICE
    if secret and kind in ("string", None):
        return Kind.SECRET
    if kind == "boolean":
        return Kind.BOOLEAN
    if kind == "integer":
        return Kind.INTEGER
    if kind == "number":
        return Kind.NUMBER
    if kind == "array" and isinstance(shape.get("items"), dict) and shape["items"].get("type") == "string":
        return Kind.LINES
    if kind == "string":
        return Kind.TEXT
    return Kind.JSON


def _reference_slugs(reference: Any) -> list[str]:
    items = reference if isinstance(reference, list) else [reference]
    return [item["block_type_slug"] for item in items if isinstance(item, dict) and item.get("block_type_slug")]


def _label(name: str, prop: dict) -> str:
    title = prop.get("title")
    if isinstance(title, str) and title.strip():
        return title
    return name.replace("_", " ").capitalize()


def describe(fields: dict[str, Any]) -> list[SchemaField]:
    """The properties of a block schema's `fields`, in the schema's order (`position`)."""
    properties = fields.get("properties") if isinstance(fields, dict) else None
    if not isinstance(properties, dict):
        return []
    required = set(fields.get("required") or [])
    secret_names = {path for path in fields.get("secret_fields") or [] if "." not in path}
    references = fields.get("block_schema_references") or {}
    ordered = sorted(
        enumerate(properties.items()),
        key=lambda item: (item[1][1].get("position", item[0]) if isinstance(item[1][1], dict) else item[0], item[0]),
    )
    described = []
    for _, (name, prop) in ordered:
        if not isinstance(prop, dict):
            continue
        shape, nullable = _shape(prop, fields)
        secret = name in secret_names or _is_password(shape) or _is_password(prop)
        slugs = _reference_slugs(references.get(name))
        kind = Kind.BLOCK if slugs else _kind(shape, secret)
        described.append(
            SchemaField(
                name=name,
                kind=kind,
                label=_label(name, prop),
                help=str(prop.get("description") or shape.get("description") or ""),
                required=name in required and not nullable,
                nullable=nullable,
                default=copy.deepcopy(prop["default"]) if "default" in prop else MISSING,
                choices=list(shape.get("enum") or []) if kind == Kind.CHOICE else [],
                block_type_slugs=slugs,
                secret=secret,
            )
        )
    return described


def secret_paths(fields: dict[str, Any]) -> list[str]:
    """The schema's secret fields, plus any top-level property the schema marks as a password."""
    paths = [path for path in (fields.get("secret_fields") or []) if isinstance(path, str)]
    paths += [f.name for f in describe(fields) if f.secret and f.name not in paths]
    return paths


def masked(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """A document's own data as the dashboard may show it: every secret is the mask."""
    return mask(data, secret_paths(fields))


def _validation_schema(fields: dict[str, Any], blocks: set[str]) -> dict[str, Any]:
    """The schema the form's values are checked against: nested blocks are checked by the
    select that picks them, so they are left out."""
    schema = copy.deepcopy(fields)
    schema["properties"] = {k: v for k, v in (schema.get("properties") or {}).items() if k not in blocks}
    schema["required"] = [name for name in schema.get("required") or [] if name not in blocks]
    return schema


def _messages(errors: list, where: str = "") -> list[str]:
    """error_tree() nodes below one property, flattened into lines: "url: not a string"."""
    found = []
    for error in errors:
        if isinstance(error, str):
            found.append(f"{where}: {error}" if where else error)
        else:
            key = error.get("property", error.get("index"))
            found += _messages(error.get("errors") or [], f"{where}.{key}" if where else str(key))
    return found


def _masks_left(data: dict[str, Any], paths: list[str]) -> set[str]:
    """The top-level names under which a secret path (dotted, `*` for any key) holds the mask."""
    found = set()

    def visit(node: Any, parts: list[str]) -> bool:
        if not parts:
            return node == MASK
        if not isinstance(node, dict):
            return False
        keys = list(node) if parts[0] == "*" else [parts[0]] if parts[0] in node else []
        return any(visit(node[key], parts[1:]) for key in keys)

    for path in paths:
        head, *rest = path.split(".")
        if head in data and visit(data[head], rest):
            found.add(head)
    return found


# -- widgets and the form ---------------------------------------------------------------


class SecretInput(forms.PasswordInput):
    """A password input that shows only the mask, never a typed or stored secret."""

    def __init__(self, attrs=None):
        super().__init__(attrs, render_value=True)

    def format_value(self, value: Any) -> str | None:
        return MASK if value == MASK else None


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _choice_key(value: Any) -> str:
    return json.dumps(value)


class BlockDocumentForm(forms.Form):
    """A block document's name (when creating) and one field per schema property.

    `cleaned_data["document_data"]` is the data to save: secrets left as the mask are the
    stored ones again (`current`), nested blocks are `{"$ref": {"block_document_id": ...}}`.
    """

    def __init__(
        self,
        fields: dict[str, Any],
        *args: Any,
        document: BlockDocument | None = None,
        current: dict[str, Any] | None = None,
        references: dict[str, str] | None = None,
        block_choices: dict[str, list[tuple[str, str]]] | None = None,
        **kwargs: Any,
    ):
        self.schema_fields = fields
        self.document = document
        self.current = current or {}  # the stored data, secrets included: server side only
        self.described = describe(fields)
        kwargs.setdefault("initial", self._initial(references or {}))
        super().__init__(*args, **kwargs)
        if document is None:
            self.fields["name"] = forms.CharField(
                label="Block name",
                max_length=NAME_MAX_LENGTH,
                validators=[NAME_VALIDATOR],
                help_text="How your code loads it: lowercase letters, numbers and dashes.",
                # Browsers compile `pattern` with the RegExp `v` flag, where a bare "-" in a
                # class is a syntax error (and the check silently off): escape it.
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "pattern": r"[a-z0-9\-]+"}),
            )
        for described in self.described:
            form_field = self._field(described, (block_choices or {}).get(described.name, []))
            form_field.schema_field = described
            self.fields[FIELD_PREFIX + described.name] = form_field

    # The values a new form starts with: the schema's defaults, or the document's data.
    def _initial(self, references: dict[str, str]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        shown = masked(self.current, self.schema_fields) if self.document is not None else {}
        for described in self.described:
            key = FIELD_PREFIX + described.name
            if described.kind == Kind.BLOCK:
                if described.name in references:
                    initial[key] = references[described.name]
                continue
            if self.document is not None:
                value = shown.get(described.name, MISSING)
            else:
                value = described.default
            if value is MISSING or value is None:
                continue
            if described.kind == Kind.SECRET:
                initial[key] = MASK if self.document is not None else None  # a default secret stays unshown
            elif described.kind == Kind.LINES and isinstance(value, list):
                initial[key] = "\n".join(str(item) for item in value)
            elif described.kind == Kind.JSON:
                initial[key] = value if value == MASK else _json_text(value)
            elif described.kind == Kind.CHOICE:
                initial[key] = _choice_key(value)
            else:
                initial[key] = value
        return initial

    def _field(self, described: SchemaField, block_choices: list[tuple[str, str]]) -> forms.Field:
        common = {"label": described.label, "help_text": described.help, "required": described.required}
        kind = described.kind
        if kind == Kind.SECRET:
            return forms.CharField(strip=False, widget=SecretInput(attrs={"autocomplete": "new-password"}), **common)
        if kind == Kind.BOOLEAN:
            return forms.BooleanField(**{**common, "required": False})
        if kind == Kind.INTEGER:
            return forms.IntegerField(**common)
        if kind == Kind.NUMBER:
            return forms.FloatField(**common, widget=forms.NumberInput(attrs={"step": "any"}))
        if kind == Kind.CHOICE:
            choices = [(_choice_key(value), str(value)) for value in described.choices]
            if not described.required:
                choices.insert(0, ("", "—"))
            return forms.ChoiceField(choices=choices, **common)
        if kind == Kind.LINES:
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}), **common)
        if kind == Kind.JSON:
            return forms.CharField(
                strip=False,
                widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code-input"}),
                **common,
            )
        if kind == Kind.BLOCK:
            choices = [("", "Choose a saved block" if described.required else "—"), *block_choices]
            return forms.ChoiceField(choices=choices, **common)
        return forms.CharField(widget=forms.TextInput(attrs={"spellcheck": "false"}), **common)

    def schema_bound_fields(self) -> list[forms.BoundField]:
        return [self[FIELD_PREFIX + described.name] for described in self.described]

    # -- turning the inputs into document data ---------------------------------------

    def _value(self, described: SchemaField, raw: Any) -> Any:
        """The JSON value of one input; MISSING when an empty optional input leaves it out."""
        kind = described.kind
        if kind == Kind.BOOLEAN:
            return bool(raw)
        if kind == Kind.LINES:
            lines = [line.strip() for line in (raw or "").splitlines() if line.strip()]
            if lines or not described.nullable:
                return lines
            return None
        if raw in (None, ""):
            return None if described.nullable else MISSING
        if kind == Kind.CHOICE:
            return json.loads(raw)
        if kind == Kind.BLOCK:
            return {"$ref": {"block_document_id": raw}}
        if kind == Kind.JSON:
            if described.secret and raw.strip() == MASK:
                return MASK
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise forms.ValidationError(
                    f"This is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
                ) from None
        return raw

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        data: dict[str, Any] = {}
        for described in self.described:
            key = FIELD_PREFIX + described.name
            if key not in cleaned:  # the field has an error already
                continue
            try:
                value = self._value(described, cleaned[key])
            except forms.ValidationError as error:
                self.add_error(key, error)
                continue
            if value is not MISSING:
                data[described.name] = value
        if self.document is not None:
            # Keys the schema does not name (written by another client) are kept as they are.
            names = {described.name for described in self.described}
            data = {**{k: v for k, v in self.current.items() if k not in names}, **data}
            data = keep_unchanged_secrets(data, self.current, secret_paths(self.schema_fields))
        for described in self.described:
            if described.secret and data.get(described.name) == MASK:
                # The mask with nothing stored behind it: the secret was never set.
                if described.required:
                    self.add_error(FIELD_PREFIX + described.name, "Enter the secret.")
                data[described.name] = None
                if not described.nullable:
                    data.pop(described.name)
        for name in _masks_left(data, [path for path in secret_paths(self.schema_fields) if "." in path]):
            # "********" inside JSON stands for a saved secret; with none saved it would be
            # stored as the secret itself.
            if FIELD_PREFIX + name in self.fields:
                self.add_error(FIELD_PREFIX + name, f"Type the secret values again: {MASK} stands for a saved one.")
        if not self.errors:
            self._check_schema(data)
        cleaned["document_data"] = data
        return cleaned

    def _check_schema(self, data: dict[str, Any]) -> None:
        blocks = {d.name for d in self.described if d.kind == Kind.BLOCK}
        plain = {k: v for k, v in data.items() if k not in blocks}
        try:
            tree = error_tree(plain, _validation_schema(self.schema_fields, blocks))
        except ValueError:
            return  # a schema the validator cannot read: the API does not check it either
        for node in tree:
            if isinstance(node, str):
                self.add_error(None, node)
                continue
            key = FIELD_PREFIX + str(node.get("property"))
            messages = _messages(node.get("errors") or [])
            self.add_error(key if key in self.fields else None, messages)

    def forget_typed_secrets(self) -> None:
        """Before the form is shown again: a secret someone typed is not sent back to the
        browser. An edit form shows the mask again (the stored secret is kept if saved)."""
        if not self.is_bound:
            return
        data = self.data.copy()
        paths = secret_paths(self.schema_fields)
        for described in self.described:
            key = self.add_prefix(FIELD_PREFIX + described.name)
            typed = data.get(key)
            if typed in (None, "", MASK):
                continue
            if described.kind == Kind.SECRET:
                stored = self.current.get(described.name) is not None
                data[key] = MASK if self.document is not None and stored else ""
            elif described.kind == Kind.JSON and any(p.split(".")[0] == described.name for p in paths):
                # JSON that holds secrets (a webhook's headers): shown again with them masked.
                try:
                    value = json.loads(typed)
                except ValueError:
                    continue  # not JSON yet: the text is what was just typed, kept to be fixed
                data[key] = _json_text(mask({described.name: value}, paths)[described.name])
        self.data = data
