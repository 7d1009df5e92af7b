"""Small inline-SVG charts for the statistics report.

The report is opened on machines without internet access (and must not leak anything to a
CDN), so charts are plain SVG strings generated here, with no JavaScript and no fonts to fetch.

Charts scale to their container (a ``viewBox`` and no fixed width, so a phone shows the whole
chart), the legend sits on its own line under the title (long Chinese titles never run into
it), text uses the shared CJK font stack, and the value axis is divided at round steps (1, 2 or
5 times a power of ten: 0/10/20/30/40/50, never 0/12/25/38/50).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from gridgate.i18n import FONT_STACK

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")


def nice_ticks(value: float, most: int = 6) -> list[float]:
    """Axis ticks from 0 to at or above `value`, at a round step, at most `most` intervals."""
    if value <= 0:
        return [0.0, 1.0]
    magnitude = 10.0 ** math.floor(math.log10(value / most)) if value / most > 0 else 1.0
    for factor in (1, 2, 5, 10, 20, 50):
        step = factor * magnitude
        if step * most >= value:
            break
    if value >= 1:
        step = max(step, 1.0)
    intervals = math.ceil(value / step - 1e-9)
    return [round(step * i, 10) for i in range(intervals + 1)]


def _nice_max(value: float) -> float:
    """The top of the axis (its last round tick)."""
    return nice_ticks(value)[-1]


def _svg_open(title: str, width: int, height: int) -> str:
    font = html.escape(FONT_STACK, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{html.escape(title)}" font-family="{font}" font-size="11">'
    )


def _fmt(value: float) -> str:
    return f"{value:.2f}" if 0 < abs(value) < 10 and value != int(value) else f"{int(round(value)):,}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 520,
    height: int = 240,
) -> str:
    """Vertical grouped bars: one group per label, one bar per series, with a legend."""
    left, right, top, bottom = 56, 12, 46, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((v for values in series.values() for v in values), default=0))
    top_value = ticks[-1]
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        _svg_open(title, width, height),
        f'<text x="4" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
    ]
    for value in ticks:
        y = top + plot_h - plot_h * value / top_value
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series.items()):
            value = values[i]
            h = plot_h * value / top_value
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"><title>{html.escape(name)} {html.escape(label)}: '
                f"{_fmt(value)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle">{html.escape(label)}</text>'
        )
    for j, name in enumerate(series):
        x = 4 + j * 100
        parts.append(f'<rect x="{x}" y="25" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="34">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(title: str, labels: Sequence[str], values: Sequence[float], *, width: int = 520) -> str:
    """One horizontal bar per label (e.g. occupancy against cap per estate), value at the end."""
    row_h, left, top = 20, 150, 30
    height = top + row_h * len(labels) + 10
    top_value = _nice_max(max(values, default=0))
    plot_w = width - left - 70
    parts = [
        _svg_open(title, width, height),
        f'<text x="4" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * row_h
        w = plot_w * value / top_value
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
