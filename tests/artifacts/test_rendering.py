"""Reading artifact data for display: tables in their three shapes, progress, image addresses."""

from __future__ import annotations

import json

from artifacts import rendering
from artifacts.rendering import image_url, progress_of, table_of


def test_a_list_of_rows_as_objects_takes_its_columns_from_every_row():
    table = table_of(json.dumps([{"a": 1, "b": 2}, {"b": 3, "c": None}]))

    assert table.columns == ["a", "b", "c"]
    assert table.rows == [["1", "2", ""], ["", "3", ""]]
    assert not table.truncated


def test_a_list_of_lists_has_no_header():
    table = table_of("[[1, 2], [3, 4, 5]]")

    assert table.columns is None
    assert table.rows == [["1", "2"], ["3", "4", "5"]]
    assert table.width == 3


def test_an_object_of_columns_fills_short_columns_with_blanks():
    table = table_of({"col1": [1, 2], "col2": ["x"]})

    assert table.columns == ["col1", "col2"]
    assert table.rows == [["1", "x"], ["2", ""]]


def test_cells_show_booleans_nested_values_and_nan_readably():
    table = table_of([[True, {"k": [1]}, float("nan")]])

    assert table.rows == [["true", '{"k": [1]}', "nan"]]


def test_anything_else_is_not_a_table():
    for data in ("not json", "42", {"a": 1}, [1, 2], [{"a": 1}, [1]], None):
        assert table_of(data) is None


def test_big_tables_are_cut(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_ROWS", 3)
    monkeypatch.setattr(rendering, "MAX_COLUMNS", 2)

    table = table_of([{"a": i, "b": i, "c": i} for i in range(10)])

    assert len(table.rows) == 3
    assert table.columns == ["a", "b"]
    assert (table.total_rows, table.total_columns, table.truncated) == (10, 3, True)


def test_progress_is_a_number_between_0_and_100():
    assert progress_of(0) == 0.0
    assert progress_of(42.5) == 42.5
    assert progress_of("75") == 75.0
    assert progress_of(150) == 100.0
    assert progress_of(-5) == 0.0
    assert progress_of(True) is None
    assert progress_of("lots") is None
    assert progress_of(float("nan")) is None


def test_image_addresses_must_be_safe():
    assert image_url("https://example.com/a.png") == "https://example.com/a.png"
    assert image_url("javascript:alert(1)") is None
    assert image_url({"url": "x"}) is None
    assert image_url("  ") is None
