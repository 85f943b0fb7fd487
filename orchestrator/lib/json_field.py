"""Django's JSONField, read with orjson.

Each flow run carries about ten JSON columns (tags, labels, parameters, context, policies...),
so a page of 50 runs with their states decodes several hundred small documents. The standard
library takes about 1 us for each, orjson about a tenth of that. Only what orjson reads exactly as
the standard library does goes through it: a document holding a run of 19 or more digits (an
integer orjson would turn into a float beyond 64 bits) and anything orjson refuses (NaN,
infinities, lone surrogates) are read by Django's own code, as are columns with a custom decoder.
The field writes, queries and migrates exactly as Django's: its deconstruction names Django's
JSONField, so no migration sees a difference.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.db import models

LONG_NUMBER = re.compile(r"\d{19}")


class JSONField(models.JSONField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and self.decoder is None and LONG_NUMBER.search(value) is None:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
