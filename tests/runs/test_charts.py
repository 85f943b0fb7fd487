"""The geometry of the runs pages' charts (runs.charts): plain functions on run-like objects."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from runs.charts import scatter, ticks, time_label, timeline

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=10)
COLORS = {"COMPLETED": "completed", "RUNNING": "running", "FAILED": "failed"}


def run(name, start=None, seconds=None, state="COMPLETED", run_time=None):
    start_time = T0 + dt.timedelta(seconds=start) if start is not None else None
    end_time = start_time + dt.timedelta(seconds=seconds) if start_time and seconds is not None else None
    return SimpleNamespace(
        name=name,
        start_time=start_time,
        end_time=end_time,
        state_type=state,
        estimated_run_time=run_time if run_time is not None else (seconds or 0.0),
    )


def test_overlapping_runs_take_separate_lanes_and_later_ones_reuse_them():
    chart = timeline(
        [("task", run("a", 0, 10)), ("task", run("b", 2, 4)), ("task", run("c", 20, 5))],
        now=NOW,
        colors=COLORS,
        width=1000,
    )

    lanes = {bar.item.name: bar.y for bar in chart.bars}
    assert chart.lanes == 2
    assert lanes["a"] == lanes["c"] != lanes["b"]
    a = next(bar for bar in chart.bars if bar.item.name == "a")
    assert a.x == 0 and a.width == 400.0  # 10 of 25 seconds
    assert chart.span == 25.0


def test_runs_that_have_not_started_are_counted_and_lanes_are_bounded():
    items = [("task", run(f"t{i}", 0, 10)) for i in range(5)] + [("task", run("waiting"))]

    chart = timeline(items, now=NOW, colors=COLORS, max_lanes=3)

    assert len(chart.bars) == 3 and chart.hidden == 2 and chart.not_started == 1


def test_a_running_run_reaches_now_and_a_stopped_one_its_run_time():
    chart = timeline(
        [("task", run("live", 0, state="RUNNING")), ("subflow", run("crashed", 60, state="FAILED", run_time=30))],
        now=NOW,
        colors=COLORS,
    )

    live, crashed = chart.bars
    assert live.running and live.x == 0 and live.width == 1000.0  # to now, the end of the chart
    assert crashed.kind == "subflow" and crashed.color == "failed"
    assert crashed.width == 50.0  # 30 s of 600


def test_names_are_drawn_inside_bars_only_when_they_fit():
    chart = timeline([("task", run("a-long-task-name", 0, 100)), ("task", run("tiny", 99, 1))], now=NOW, colors=COLORS)

    assert [bar.label for bar in chart.bars] == ["a-long-task-name", ""]


def test_nothing_started_draws_nothing():
    chart = timeline([("task", run("waiting"))], now=NOW, colors=COLORS)

    assert chart.bars == [] and chart.not_started == 1


def test_ticks_fall_on_round_times():
    assert [at for _, at in ticks(60, 0, 600)] == [0, 10, 20, 30, 40, 50, 60]
    assert [x for x, _ in ticks(60, 100, 600)][:2] == [100, 200]
    assert len(ticks(10 * 86400, 0, 600)) <= 9


def test_the_scatter_puts_longer_runs_higher_and_later_ones_further_right():
    chart = scatter([run("a", 0, 10), run("b", 60, 40, state="FAILED"), run("never")])

    a, b = chart.dots
    assert a.cx < b.cx and a.cy > b.cy
    assert b.color == "failed" and b.cy == chart.top  # the longest run touches the top
    assert chart.x_ticks[0][1] == "12:00:00"


def test_the_scatter_needs_two_started_runs():
    assert scatter([run("a", 0, 10), run("never")]) is None


def test_axis_times_are_as_precise_as_the_axis_needs():
    assert time_label(T0, 60) == "12:00:00"
    assert time_label(T0, 3600) == "12:00"
    assert time_label(T0, 5 * 86400) == "May 01 12:00"
