"""Django's JSONField, read with orjson, and written with it on PostgreSQL.

Each flow run carries about ten JSON columns (tags, labels, parameters, context, policies...),
so a page of 50 runs with their states decodes several hundred small documents. The standard
library takes about 1 us for each, orjson about a tenth of that. Only what orjson reads exactly as
the standard library does goes through it: a document holding a run of 19 or more digits (an
integer orjson would turn into a float beyond 64 bits) and anything orjson refuses (NaN,
infinities, lone surrogates) are read by Django's own code, as are columns with a custom decoder.

On PostgreSQL a value is also written with orjson: psycopg's JSON dumper called the standard
library's encoder, about 3 % of a server's CPU while runs change state. jsonb keeps the value, not
the text, so the compact spelling changes nothing stored. What orjson refuses (integers beyond 64
bits, keys that are not strings, objects it does not know) is written by the standard library as
before; dates and dataclasses still fail as they always did (orjson would write them, so it is
told to hand them over). UUIDs, which the standard library refused, are written as strings.
SQLite keeps JSON as text, and there the text stays Django's.

The field queries and migrates exactly as Django's: its deconstruction names Django's JSONField,
so no migration sees a difference.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from django.db import models
from psycopg.types.json import Jsonb

LONG_NUMBER = re.compile(r"\d{19}")
# Dates and dataclasses go to the standard library, which refuses them, as Django always did.
DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> bytes | str:
    """JSON for a jsonb parameter: orjson's, or the standard library's where orjson refuses."""
    try:
        return orjson.dumps(value, option=DUMPS_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value)


class JSONField(models.JSONField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:  # SQL NULL (a run without `data`, say): Django's reading gives None too
            return None
        if isinstance(value, str) and self.decoder is None and LONG_NUMBER.search(value) is None:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        adapted = super().get_db_prep_value(value, connection, prepared)
        if self.encoder is None and isinstance(adapted, Jsonb):
            adapted.dumps = dumps
        return adapted

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
