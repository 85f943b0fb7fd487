"""JSON Schema validation with readable messages (run inputs, deployment parameters).

jsonschema is imported when a schema is first checked: with its reference resolver it takes
about 3 MB in every server process, and most processes never validate anything.
"""

from __future__ import annotations

import functools
import json
from typing import Any


@functools.lru_cache(maxsize=256)
def _validator(schema_text: str):
    """A checked validator for a schema (by its JSON text): checking a schema against its
    metaschema costs more than most validations, and a deployment's schema is checked on
    every run it creates."""
    import jsonschema

    schema = json.loads(schema_text)
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return None, exc.message
    return validator_class(schema), None


def validation_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `value` breaks `schema`, as 'path: message' strings (empty when valid)."""
    validator, problem = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return [f"invalid schema: {problem}"]
    errors = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors


def error_tree(value: Any, schema: dict[str, Any]) -> list:
    """Errors arranged the way forms show them: messages for the whole value first, then
    `{"property": name, "errors": [...]}` and `{"index": i, "errors": [...]}` entries that
    nest down to the field at fault. Raises ValueError for a schema that is not valid."""
    import jsonschema

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(exc.message) from None
    tree: list = []
    for error in jsonschema.validators.validator_for(schema)(schema).iter_errors(value):
        path = list(error.path)
        if error.validator == "required":
            # "'x' is a required property" belongs to the property x
            path.append(error.message.partition(" ")[0].strip("'"))
        level = tree
        for part in path:
            key = "index" if isinstance(part, int) else "property"
            node = next((n for n in level if isinstance(n, dict) and n.get(key) == part), None)
            if node is None:
                node = {key: part, "errors": []}
                level.append(node)
            level = node["errors"]
        level.append(error.message)
    return tree
