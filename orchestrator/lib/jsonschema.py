"""JSON Schema validation with readable messages (run inputs, deployment parameters)."""

from __future__ import annotations

from typing import Any

import jsonschema


def validation_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `value` breaks `schema`, as 'path: message' strings (empty when valid)."""
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [f"invalid schema: {exc.message}"]
    validator = validator_class(schema)
    errors = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors
