"""Small, dependency-free SVG charts for reports and pages.

Built as an element tree, never by pasting strings, so every label and tooltip is escaped
by the serialiser (post-derived text can reach a chart's titles). Deterministic output:
the same numbers give byte-identical SVG, which keeps reports diffable and testable.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Colour-blind-safe (Okabe-Ito) colours for the labels that recur across charts.
COLOURS = {
    "negative": "#D55E00",
    "neutral": "#999999",
    "positive": "#009E73",
    "offensive": "#CC79A7",
    "hate": "#7F2704",
    "irony": "#0072B2",
    "sarcasm": "#56B4E9",
    "genuine": "#009E73",
    "hostile": "#D55E00",
    "other": "#BBBBBB",
}
_FALLBACK = ("#E69F00", "#0072B2", "#F0E442", "#56B4E9", "#000000")


def colour(name: str, index: int = 0) -> str:
    return COLOURS.get(name, _FALLBACK[index % len(_FALLBACK)])


@dataclass(frozen=True)
class Frame:
    """The plotting area inside an SVG of `width` x `height` pixels."""

    width: int = 720
    height: int = 240
    left: int = 52
    right: int = 12
    top: int = 28
    bottom: int = 40

    @property
    def inner_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, index: float, count: int) -> float:
        """Left edge of slot `index` of `count` equal slots."""
        return self.left + self.inner_width * index / max(count, 1)

    def y(self, value: float, top_value: float) -> float:
        return self.top + self.inner_height * (1 - value / top_value if top_value else 1)


def _svg(frame: Frame, title: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {frame.width} {frame.height}",
            "width": str(frame.width),
            "height": str(frame.height),
            "role": "img",
            "class": "chart",
        },
    )
    ET.SubElement(root, "title").text = title
    return root


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _axes(
    root: ET.Element,
    frame: Frame,
    top_value: float,
    ticks: Sequence[str],
    percent: bool,
) -> None:
    axis = ET.SubElement(root, "g", {"class": "axis", "font-size": "11", "fill": "#444"})
    for i in range(5):
        value = top_value * i / 4
        y = frame.y(value, top_value)
        ET.SubElement(
            axis,
            "line",
            {
                "x1": _num(frame.left),
                "x2": _num(frame.width - frame.right),
                "y1": _num(y),
                "y2": _num(y),
                "stroke": "#ddd",
            },
        )
        label = f"{value * 100:.0f}%" if percent else f"{value:,.0f}"
        text = ET.SubElement(
            axis, "text", {"x": _num(frame.left - 6), "y": _num(y + 4), "text-anchor": "end"}
        )
        text.text = label
    count = len(ticks)
    every = max(1, math.ceil(count / 8))
    for i in range(0, count, every):
        x = frame.x(i + 0.5, count)
        text = ET.SubElement(
            axis,
            "text",
            {"x": _num(x), "y": _num(frame.height - frame.bottom + 16), "text-anchor": "middle"},
        )
        text.text = ticks[i]


def _legend(root: ET.Element, frame: Frame, names: Sequence[str]) -> None:
    legend = ET.SubElement(root, "g", {"class": "legend", "font-size": "11", "fill": "#222"})
    x = float(frame.left)
    for i, name in enumerate(names):
        ET.SubElement(
            legend,
            "rect",
            {"x": _num(x), "y": "8", "width": "10", "height": "10", "fill": colour(name, i)},
        )
        text = ET.SubElement(legend, "text", {"x": _num(x + 14), "y": "17"})
        text.text = name
        x += 22 + 7 * len(name)


def stacked_bars(
    ticks: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    frame: Frame | None = None,
    hover: Sequence[str] | None = None,
) -> str:
    """One bar per slot, stacked by series (e.g. posts per hour by sentiment)."""
    frame = frame or Frame()
    root = _svg(frame, title)
    count = len(ticks)
    totals = [sum(values[i] for values in series.values()) for i in range(count)]
    top_value = nice_top(max(totals, default=0))
    _axes(root, frame, top_value, ticks, percent=False)
    bars = ET.SubElement(root, "g", {"class": "bars"})
    gap = min(2.0, frame.inner_width / max(count, 1) * 0.15)
    width = max(frame.inner_width / max(count, 1) - gap, 0.5)
    for i in range(count):
        base = 0.0
        for j, (name, values) in enumerate(series.items()):
            value = float(values[i])
            if value <= 0:
                continue
            y_top = frame.y(base + value, top_value)
            rect = ET.SubElement(
                bars,
                "rect",
                {
                    "x": _num(frame.x(i, count) + gap / 2),
                    "y": _num(y_top),
                    "width": _num(width),
                    "height": _num(frame.y(base, top_value) - y_top),
                    "fill": colour(name, j),
                    "data-series": name,
                },
            )
            label = hover[i] if hover else ticks[i]
            ET.SubElement(rect, "title").text = f"{label}: {value:,.0f} {name}"
            base += value
    _legend(root, frame, list(series))
    return ET.tostring(root, encoding="unicode")


def lines_with_bands(
    ticks: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    bands: Mapping[str, tuple[Sequence[float | None], Sequence[float | None]]] | None = None,
    frame: Frame | None = None,
) -> str:
    """Shares (0..1) over time, one line per series, each with an optional interval band.
    Slots with no value (None: no posts in that window) break the line."""
    frame = frame or Frame()
    root = _svg(frame, title)
    count = len(ticks)
    highs = [v for values in series.values() for v in values if v is not None]
    for _, high in (bands or {}).values():
        highs += [v for v in high if v is not None]
    top_value = min(1.0, nice_top(max(highs, default=0.0)))
    _axes(root, frame, top_value, ticks, percent=True)
    for j, (name, values) in enumerate(series.items()):
        group = ET.SubElement(root, "g", {"class": "series", "data-series": name})
        fill = colour(name, j)
        if bands and name in bands:
            low, high = bands[name]
            for run in _runs(low, high):
                upper = [(frame.x(i + 0.5, count), frame.y(high[i], top_value)) for i in run]
                lower = [(frame.x(i + 0.5, count), frame.y(low[i], top_value)) for i in run]
                points = upper + lower[::-1]
                ET.SubElement(
                    group,
                    "polygon",
                    {
                        "points": " ".join(f"{_num(x)},{_num(y)}" for x, y in points),
                        "fill": fill,
                        "fill-opacity": "0.18",
                        "class": "band",
                    },
                )
        for run in _runs(values):
            points = [(frame.x(i + 0.5, count), frame.y(values[i], top_value)) for i in run]
            ET.SubElement(
                group,
                "polyline",
                {
                    "points": " ".join(f"{_num(x)},{_num(y)}" for x, y in points),
                    "fill": "none",
                    "stroke": fill,
                    "stroke-width": "2",
                },
            )
            for i, (x, y) in zip(run, points, strict=True):
                dot = ET.SubElement(
                    group, "circle", {"cx": _num(x), "cy": _num(y), "r": "2.5", "fill": fill}
                )
                ET.SubElement(dot, "title").text = f"{ticks[i]}: {values[i] * 100:.1f}% {name}"
    _legend(root, frame, list(series))
    return ET.tostring(root, encoding="unicode")


def _runs(*columns: Sequence[float | None]) -> list[list[int]]:
    """Stretches of consecutive slots where every column has a value."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i in range(len(columns[0])):
        if all(column[i] is not None for column in columns):
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def sparkline(values: Sequence[float], title: str, width: int = 120, height: int = 28) -> str:
    """A tiny bar chart of counts over time (a theme's rise), for tables."""
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "aria-label": title,
        },
    )
    ET.SubElement(root, "title").text = title
    top = max(values) if len(values) and max(values) > 0 else 1
    slot = width / max(len(values), 1)
    for i, value in enumerate(values):
        bar = (height - 2) * value / top
        ET.SubElement(
            root,
            "rect",
            {
                "x": _num(i * slot + 1),
                "y": _num(height - bar),
                "width": _num(max(slot - 2, 1)),
                "height": _num(bar),
                "fill": "#0072B2",
            },
        )
    return ET.tostring(root, encoding="unicode")
