"""The geometry of the runs pages' SVG charts, computed on the server: a flow run's timeline
(its task runs and subflow runs as bars on lanes) and the runs list's scatter (duration
against start time). Plain Python on anything with the run fields (start_time, end_time,
state_type, name, estimated_run_time); the templates draw the shapes.

Coordinates are in the SVG's own units (its viewBox), not pixels: the page scales it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Nice steps for a time axis, in seconds.
STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 8
CHAR_WIDTH = 7.0  # of a 12-unit label, roughly: whether a name fits inside its bar


def _seconds(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds()


def _step(span: float) -> float:
    for step in STEPS:
        if span / step <= MAX_TICKS:
            return step
    return span / MAX_TICKS


def ticks(span: float, left: float, width: float) -> list[tuple[float, float]]:
    """(x, seconds from the start) of round marks along an axis of `span` seconds drawn from
    `left` over `width` units."""
    if span <= 0:
        return [(left, 0.0)]
    step = _step(span)
    marks, at = [], 0.0
    while at <= span + 1e-9:
        marks.append((left + width * at / span, at))
        at += step
    return marks


# --- the flow-run timeline ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    item: Any
    label: str  # drawn inside the bar when it fits, else empty (the tooltip names it)
    kind: str  # "task" or "subflow"
    running: bool

    @property
    def label_x(self) -> float:
        return round(self.x + 5, 2)

    @property
    def label_y(self) -> float:
        return round(self.y + self.height / 2 + 4, 2)


@dataclass
class Timeline:
    width: float
    height: float
    left: float
    plot_width: float
    start: dt.datetime | None
    span: float
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, float]] = field(default_factory=list)
    lanes: int = 0
    not_started: int = 0
    hidden: int = 0


def timeline(
    items: Iterable[tuple[str, Any]],
    *,
    now: dt.datetime,
    colors: dict[str, str],
    run_start: dt.datetime | None = None,
    run_end: dt.datetime | None = None,
    max_lanes: int = 24,
    width: float = 1000.0,
    lane_height: float = 22.0,
    axis_height: float = 24.0,
) -> Timeline:
    """Lay out ("task" | "subflow", run) items as bars from their start to their end (now, while
    running), packed onto as few lanes as do not overlap, at most `max_lanes`: an item that
    finds no lane is counted in `hidden`, one that has not started in `not_started`."""
    started, not_started = [], 0
    for kind, item in items:
        if item.start_time is None:
            not_started += 1
            continue
        end = item.end_time or (now if item.state_type == "RUNNING" else None)
        if end is None:  # stopped without an end (crashed, cancelled early): its run time
            end = item.start_time + dt.timedelta(seconds=max(0.0, item.estimated_run_time or 0.0))
        started.append((item.start_time, max(end, item.start_time), kind, item))

    chart = Timeline(width=width, height=axis_height, left=0.0, plot_width=width, start=None, span=0.0)
    chart.not_started = not_started
    if not started:
        return chart

    t0 = min([s for s, _, _, _ in started] + ([run_start] if run_start else []))
    t1 = max([e for _, e, _, _ in started] + ([run_end or now] if run_start else []))
    span = max(_seconds(t1, t0), 0.001)
    chart.start, chart.span = t0, span
    scale = width / span
    gap = 3.0 / scale  # bars on one lane keep a few units apart

    lane_ends: list[dt.datetime] = []
    for start, end, kind, item in sorted(started, key=lambda row: (row[0], row[1])):
        lane = next((i for i, last in enumerate(lane_ends) if _seconds(start, last) >= gap), None)
        if lane is None:
            if len(lane_ends) >= max_lanes:
                chart.hidden += 1
                continue
            lane_ends.append(end)
            lane = len(lane_ends) - 1
        else:
            lane_ends[lane] = end
        x = _seconds(start, t0) * scale
        bar_width = max(_seconds(end, start) * scale, 2.0)
        bar_width = min(bar_width, width - x) if x < width else 2.0
        name = item.name or ""
        chart.bars.append(
            Bar(
                x=round(x, 2),
                y=axis_height + lane * lane_height + 3,
                width=round(max(bar_width, 2.0), 2),
                height=lane_height - 6,
                color=colors.get(item.state_type, "none"),
                item=item,
                label=name if len(name) * CHAR_WIDTH + 8 <= bar_width else "",
                kind=kind,
                running=item.state_type == "RUNNING",
            )
        )
    chart.lanes = len(lane_ends)
    chart.height = axis_height + chart.lanes * lane_height + 4
    chart.ticks = ticks(span, 0.0, width)
    return chart


def time_label(value: dt.datetime, span: float) -> str:
    """A time on an axis (UTC), as precise as the axis needs: seconds over a few minutes,
    the date over a few days."""
    value = value.astimezone(dt.UTC)
    if span < 600:
        return value.strftime("%H:%M:%S")
    if span < 2 * 86400:
        return value.strftime("%H:%M")
    return value.strftime("%b %d %H:%M")


# --- the runs list's scatter ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    color: str
    run: Any


@dataclass
class Scatter:
    width: float
    height: float
    left: float
    top: float
    plot_width: float
    plot_height: float
    start: dt.datetime
    end: dt.datetime
    longest: float
    dots: list[Dot]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, float]]


def scatter(
    runs: Iterable[Any],
    *,
    colors: dict[str, str] | None = None,
    width: float = 1000.0,
    height: float = 180.0,
    left: float = 64.0,
    top: float = 10.0,
    bottom: float = 26.0,
) -> Scatter | None:
    """The runs that have started, as dots: start time across, run time up. None with fewer
    than two (nothing to compare)."""
    from runs.choices import COLORS  # a plain dict, imported late to keep this module light

    colors = colors or COLORS
    shown = [run for run in runs if run.start_time is not None]
    if len(shown) < 2:
        return None
    start = min(run.start_time for run in shown)
    end = max(run.start_time for run in shown)
    span = max(_seconds(end, start), 0.001)
    # At least a second up the axis: runs of no measurable length sit on it, not at its top.
    longest = max(max(run.estimated_run_time or 0.0 for run in shown), 1.0)
    plot_width, plot_height = width - left - 12, height - top - bottom
    dots = [
        Dot(
            cx=round(left + plot_width * _seconds(run.start_time, start) / span, 2),
            cy=round(top + plot_height * (1 - (run.estimated_run_time or 0.0) / longest), 2),
            color=colors.get(run.state_type, "none"),
            run=run,
        )
        for run in shown
    ]
    x_ticks: list[tuple[float, str]] = []
    for x, at in ticks(span, left, plot_width):
        label = time_label(start + dt.timedelta(seconds=at), span)
        if not x_ticks or x_ticks[-1][1] != label:  # a short span repeats its seconds
            x_ticks.append((x, label))
    y_step = _step(longest)
    y_ticks, at = [], 0.0
    while at <= longest + 1e-9 and len(y_ticks) <= MAX_TICKS:
        y_ticks.append((round(top + plot_height * (1 - at / longest), 2), at))
        at += y_step
    return Scatter(width, height, left, top, plot_width, plot_height, start, end, longest, dots, x_ticks, y_ticks)
