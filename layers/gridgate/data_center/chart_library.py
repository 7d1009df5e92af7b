"""Where the charts' code comes from: Apache ECharts (npm ``echarts``, pinned in
``package-lock.json``) and the one options function every chart of the project is drawn with.

Why one place: the data-center page (served by the API) and the nightly statistics report (a
file written by the flows) draw the same kind of bar chart; both take `chart_option_js` so their
axes, legends and text sizes cannot drift apart, and both find ECharts here. The library is read
from the first of: the caller's own copy (the API zip's ``pages/vendor/``), then the checkout's
``node_modules`` (``npm ci``; the flows image copies that one file to the same place).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: The checkout's copy (layers/gridgate/data_center/ -> the repository root).
NODE_MODULES_ECHARTS = Path(__file__).resolve().parents[3] / "node_modules" / "echarts" / "dist" / "echarts.min.js"
CHART_OPTION_JS = Path(__file__).resolve().parent / "chart_option.js"


class ChartsUnavailable(RuntimeError):
    """ECharts is not installed (``npm ci``): nothing can be drawn."""


def echarts_js(*first: Path) -> str:
    """The ECharts library's source, from the first of `first` that exists, else node_modules."""
    for path in (*first, NODE_MODULES_ECHARTS):
        if path.is_file():
            return _read(path)
    raise ChartsUnavailable(f"echarts.min.js not found (npm ci): {[str(p) for p in (*first, NODE_MODULES_ECHARTS)]}")


def chart_option_js() -> str:
    """The script defining ``chartOption(spec, width, fontFamily)`` and ``CHART_PALETTE``."""
    return _read(CHART_OPTION_JS)


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
