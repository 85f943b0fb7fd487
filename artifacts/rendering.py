"""Reading an artifact's data for display: table rows, a progress figure, an image address.

Prefect's client sends tables as JSON text (`"[{\\"a\\": 1}]"`) in one of three shapes: a list
of rows as objects, a list of rows as lists, or an object of columns. An API caller may send the
decoded JSON instead; both are read the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from .markdown import safe_url

MAX_ROWS = 1000  # rows shown on a page; the rest are counted
MAX_COLUMNS = 100


@dataclass
class Table:
    columns: list[str] | None  # None: rows given as lists, without a header
    rows: list[list[str]]
    total_rows: int
    total_columns: int
    notes: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows) or self.total_columns > self.width

    @property
    def width(self) -> int:
        if self.columns is not None:
            return len(self.columns)
        return max((len(row) for row in self.rows), default=0)


def cell(value: Any) -> str:
    """One value as table text: numbers and text as they are, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _decoded(data: Any) -> Any:
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return None
    return data


def table_of(data: Any) -> Table | None:
    """The table in an artifact's data, or None when it is not one of the three shapes."""
    data = _decoded(data)
    if isinstance(data, dict):
        return _columns_table(data)
    if not isinstance(data, list):
        return None
    if all(isinstance(row, dict) for row in data):
        columns: dict[str, None] = {}
        for row in data[:MAX_ROWS]:
            columns.update(dict.fromkeys(str(key) for key in row))
        names = list(columns)
        shown = names[:MAX_COLUMNS]
        rows = [[cell(row.get(name)) for name in shown] for row in data[:MAX_ROWS]]
        return Table(shown, rows, len(data), len(names))
    if all(isinstance(row, list) for row in data):
        rows = [[cell(value) for value in row[:MAX_COLUMNS]] for row in data[:MAX_ROWS]]
        return Table(None, rows, len(data), max((len(row) for row in data), default=0))
    return None


def _columns_table(data: dict) -> Table | None:
    if not all(isinstance(values, list) for values in data.values()):
        return None
    names = [str(name) for name in data]
    shown = list(data.values())[:MAX_COLUMNS]
    total = max((len(values) for values in data.values()), default=0)
    rows = [
        [cell(value) for value in values]
        for values in zip_longest(*(column[:MAX_ROWS] for column in shown), fillvalue=None)
    ]
    return Table(names[:MAX_COLUMNS], rows, total, len(names))


def progress_of(data: Any) -> float | None:
    """A progress artifact's percentage, 0 to 100, or None when the data is not a number."""
    if isinstance(data, bool):
        return None
    if isinstance(data, str):
        try:
            data = float(data)
        except ValueError:
            return None
    if not isinstance(data, (int, float)) or math.isnan(data):
        return None
    return max(0.0, min(100.0, float(data)))


def image_url(data: Any) -> str | None:
    """An image artifact's address, if it is one a page may show."""
    if not isinstance(data, str) or not data.strip():
        return None
    return safe_url(data.strip(), image=True)
