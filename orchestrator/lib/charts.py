"""Bar charts as inline SVG, drawn on the server: the dashboard's run history, a flow's activity
sparkline, the events feed's volume.

A chart is a row of bars, one per time bucket, each a stack of segments (a count and a CSS class
that gives its colour, e.g. `state-completed`, so the state colours stay in the stylesheet and
follow dark mode). Every bar carries a `<title>`, which browsers show as a tooltip and screen
readers read; the chart as a whole has a label. The drawing scales to its container's width
(`viewBox` with `preserveAspectRatio="none"`); it holds no text, which would be stretched, so
axis labels belong in the page around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape


@dataclass
class Bar:
    """One bucket: its tooltip and its segments, bottom first, as (css class, count)."""

    title: str
    segments: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(count for _, count in self.segments)


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    width: int = 600,
    height: int = 120,
    gap: float = 0.2,
    css_class: str = "chart",
    min_height: float = 1.5,
    ceiling: int | None = None,
) -> str:
    """An SVG element of stacked bars, as markup (every text in it escaped).

    `gap` is the fraction of a bucket's width left empty beside its bar; a bar with any count
    is at least `min_height` units tall so a lone run is visible beside thousands. The tallest
    bar fills the height unless `ceiling` sets the top of the scale.
    """
    top = max(ceiling or 0, max((bar.total for bar in bars), default=0), 1)
    slot = width / max(len(bars), 1)
    bar_width = max(slot * (1 - gap), 0.5)
    parts = [
        f'<svg class="{escape(css_class)}" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}"'
        f' preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f"<title>{escape(label)}</title>",
    ]
    for index, bar in enumerate(bars):
        x = index * slot + (slot - bar_width) / 2
        total = bar.total
        parts.append(f'<g class="bar"><title>{escape(bar.title)}</title>')
        # A hit area the full height of the chart, so the tooltip shows over short bars too.
        parts.append(f'<rect class="hit" x="{_n(index * slot)}" y="0" width="{_n(slot)}" height="{height}"/>')
        if total:
            bar_height = max(height * total / top, min_height)
            y = height
            for css, count in bar.segments:
                if count <= 0:
                    continue
                segment = bar_height * count / total
                y -= segment
                parts.append(
                    f'<rect class="{escape(css)}" x="{_n(x)}" y="{_n(y)}" width="{_n(bar_width)}" height="{_n(segment)}"/>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _n(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
