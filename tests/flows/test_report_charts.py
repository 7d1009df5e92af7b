"""The statistics report's SVG charts read well: round axis steps, the legend clear of the title,
and the grants-to-cap ratio named for what it is."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from gridgate.data_center.svg_charts import bar_chart, nice_ticks
from gridgate.i18n import translator

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    "top, expected",
    [
        (50, [0, 10, 20, 30, 40, 50]),
        (37, [0, 10, 20, 30, 40]),
        (120, [0, 20, 40, 60, 80, 100, 120]),
        (4, [0, 1, 2, 3, 4]),
    ],
)
def test_value_axis_steps_are_round(top, expected):
    assert nice_ticks(top) == expected


def test_legend_sits_below_the_title():
    svg = ET.fromstring(bar_chart("2026-11-20 每小时进出（北京时间）", ["00", "01"], {"进入": [3, 50], "外出": [2, 1]}))
    title = svg.find(f"{SVG}text")
    title_bottom = float(title.get("y")) + 13 * 0.25  # descenders below the baseline of 13 px text
    legend_top = min(float(rect.get("y")) for rect in svg.findall(f"{SVG}rect") if rect.get("width") == "10")
    assert legend_top > title_bottom
    ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "10", "20", "30", "40", "50"]


def test_the_ratio_is_called_grants_over_cap_not_occupancy():
    for locale, name in (("zh_CN", "授权/上限"), ("en", "grants ÷ cap")):
        text = translator(locale)("metric.occupancy.ratio")
        assert text == name and not re.search("occupancy|入住率", text, re.IGNORECASE)
