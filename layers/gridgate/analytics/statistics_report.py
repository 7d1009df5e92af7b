"""The statistics report: one self-contained HTML page whose charts Apache ECharts draws.

Data-center staff open it from S3 or the demo's output folder in a browser; it shows the city's
totals, traffic by hour, visitors by day, the estates closest to or over their grant caps, the
per-district and per-street figures, and the day's key-group alerts with their explanations.

The charts are the data-center page's: the same ECharts build and the same options function
(`gridgate.data_center.chart_library`), both inlined, so the file opens offline and fetches
nothing; each chart is a spec (title, categories, named series) in a JSON block, drawn as SVG at
the width of its box and redrawn when that changes (a phone or a desktop), value axes at
ECharts' round 1-2-5 steps. Every heading, column, card and chart label comes from the message
catalogue (`gridgate.i18n`, Simplified Chinese unless `locale` says otherwise); places are named
where `names` knows them; the day is the city's local day and says so; counts are whole
numbers, only the grants-to-cap ratio has decimals.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import date

import polars as pl

from gridgate import clock
from gridgate.data_center.chart_library import chart_option_js, echarts_js
from gridgate.data_center.finding_explanations import explain
from gridgate.i18n import FONT_STACK, Translator, translator

#: Columns of the per-place tables (wide form), in display order.
SUMMARY_METRICS = (
    "residents.owners",
    "residents.family",
    "residents.tenants",
    "residents.total",
    "registered",
    "floating",
    "visitors",
    "entries",
    "exits",
    "grants.active",
    "grants.cap",
    "occupancy.ratio",
)

_CSS = """
body { font: 14px/1.4 {font_stack}; margin: 24px; color: #1a202c; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #cbd5e0; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
td.text { white-space: normal; min-width: 7em; }
th { background: #edf2f7; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #cbd5e0; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
.charts { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); }
.chart { width: 100%; height: 320px; min-width: 0; }
.table-wrap { overflow-x: auto; }
@media (max-width: 480px) { body { margin: 12px; } }
""".replace("{font_stack}", FONT_STACK)  # not .format: the CSS is full of braces

#: Draws every ``.chart`` box from its spec (in the JSON block it names), with the shared
#: `chartOption`, and again whenever the box changes width.
_DRAW = """
(() => {
  "use strict";
  const specs = JSON.parse(document.getElementById("chart-specs").textContent);
  const font = getComputedStyle(document.body).fontFamily;
  const locale = document.documentElement.lang.startsWith("zh") ? "ZH" : "EN";
  const charts = [];
  for (const box of document.querySelectorAll(".chart[data-chart]")) {
    const spec = specs[box.dataset.chart];
    const chart = echarts.init(box, null, { renderer: "svg", locale });
    chart.setOption(chartOption(spec, box.clientWidth, font));
    charts.push({ chart, spec });
  }
  new ResizeObserver(() => charts.forEach(({ chart, spec }) => {
    chart.setOption(chartOption(spec, chart.getDom().clientWidth, font));
    chart.resize();
  })).observe(document.body);
})();
"""


def wide(stats: pl.DataFrame, level: str) -> pl.DataFrame:
    """One row per place of `level`, one column per summary metric (missing = 0)."""
    rows = stats.filter((pl.col("level") == level) & pl.col("metric").is_in(list(SUMMARY_METRICS)))
    if rows.is_empty():
        return pl.DataFrame({"place_id": []}, schema={"place_id": pl.String})
    table = rows.pivot(on="metric", index="place_id", values="value", aggregate_function="first")
    missing = [m for m in SUMMARY_METRICS if m not in table.columns]
    table = table.with_columns([pl.lit(0.0).alias(m) for m in missing])
    return table.select("place_id", *SUMMARY_METRICS).fill_null(0).sort("place_id")


def city_hourly(stats: pl.DataFrame, metric: str) -> list[int]:
    """The city's 24-hour profile of `metric`: the district series added up."""
    series = stats.filter((pl.col("level") == "district") & (pl.col("metric") == metric))["series"].to_list()
    return [sum(values) for values in zip(*series)] if series else [0] * 24


def _cell(value) -> str:
    if isinstance(value, float) and value != int(value):
        return f"<td>{value:.2f}</td>"
    return f"<td>{int(value):,}</td>"


def _table(frame: pl.DataFrame, first_header: str, t: Translator, names: Mapping[str, str] | None) -> str:
    headers = [first_header, *(t(f"metric.{c}") for c in frame.columns[1:])]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in frame.iter_rows():
        name = (names or {}).get(str(row[0]))
        place = (
            f"{html.escape(name)}<br><small>{html.escape(str(row[0]))}</small>" if name else html.escape(str(row[0]))
        )
        cells = [f"<td>{place}</td>"]
        cells += [_cell(v) for v in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _reason(row: dict, t: Translator) -> str:
    """The alert's reason in the report's language, from its evidence (`finding_explanations`)."""
    return explain(row["finding_type"], {**json.loads(row["evidence"] or "{}"), "explanation": row["explanation"]}, t)


def _alerts_table(alerts: pl.DataFrame, t: Translator) -> str:
    if alerts.is_empty():
        return f"<p>{html.escape(t('report.no_alerts'))}</p>"
    head = "".join(f"<th>{html.escape(t(f'report.col.{h}'))}</th>" for h in ("alert", "grid", "home", "explanation"))
    body = "".join(
        f'<tr><td class="text">{html.escape(t.get("finding." + r["finding_type"], r["finding_type"]))}'
        f"<br><small>{html.escape(r['finding_type'])}</small></td>"
        f'<td class="text">{html.escape(r["grid_id"])}</td>'
        f'<td class="text">{html.escape(r["home_id"] or "")}</td><td class="text">{html.escape(_reason(r, t))}</td></tr>'
        for r in alerts.sort("finding_type", "grid_id", "home_id").iter_rows(named=True)
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def chart_specs(
    day: date,
    stats: pl.DataFrame,
    visitors_daily: pl.DataFrame,
    t: Translator,
    names: Mapping[str, str] | None = None,
    top_n: int = 15,
) -> dict[str, dict]:
    """The report's charts as the specs `chartOption` draws: {id: {title, categories, series, …}}."""
    names = names or {}
    hours = [f"{h:02}" for h in range(24)]
    per_day = visitors_daily.group_by("local_date").agg(pl.col("visitors").sum()).sort("local_date")
    estates = wide(stats, "estate").sort("occupancy.ratio", "place_id", descending=[True, False]).head(top_n)
    return {
        "traffic": {
            "title": t("report.chart.traffic_hour", day=day.isoformat()),
            "categories": hours,
            "series": [
                {"name": t("metric.entries"), "data": city_hourly(stats, "entries")},
                {"name": t("metric.exits"), "data": city_hourly(stats, "exits")},
            ],
        },
        "visitors": {
            "title": t("report.chart.visitors_day"),
            "categories": [d.strftime("%m-%d") for d in per_day["local_date"]],
            "series": [{"name": t("metric.visitors"), "data": [int(v) for v in per_day["visitors"]]}],
        },
        "grants_cap": {
            "title": t("report.chart.grants_cap", top=top_n),
            "categories": [names.get(place_id) or place_id for place_id in estates["place_id"]],
            "series": [
                {"name": t("metric.occupancy.ratio"), "data": [round(r, 2) for r in estates["occupancy.ratio"]]}
            ],
            "horizontal": True,
            "fraction": True,
        },
    }


def _script(source: str) -> str:
    """`source` inlined in a script element (a ``</script`` inside it would end the element)."""
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def render_report(
    day: date,
    stats: pl.DataFrame,
    visitors_daily: pl.DataFrame,
    alerts: pl.DataFrame,
    top_n: int = 15,
    locale: str | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """The report's HTML; `names` maps place ids to their names (the flow reads them)."""
    t = translator(locale)
    districts = wide(stats, "district")
    totals = {m: float(districts[m].sum()) if m in districts.columns else 0.0 for m in SUMMARY_METRICS}
    cap = totals["grants.cap"]
    totals["occupancy.ratio"] = totals["grants.active"] / cap if cap else 0.0
    cards = "".join(
        f'<div class="card">{html.escape(t(f"metric.{m}"))}<b>{totals[m]:.2f}</b></div>'
        if m == "occupancy.ratio"
        else f'<div class="card">{html.escape(t(f"metric.{m}"))}<b>{int(totals[m]):,}</b></div>'
        for m in SUMMARY_METRICS
        if m != "grants.cap"
    )
    specs = chart_specs(day, stats, visitors_daily, t, names, top_n)
    box = {
        chart_id: f'<div class="chart" data-chart="{chart_id}" role="img" aria-label="{html.escape(spec["title"])}"></div>'
        for chart_id, spec in specs.items()
    }
    made = t.local_time(clock.now())
    return (
        f'<!doctype html><html lang="{t.html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(t('report.doc_title', day=day.isoformat()))}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(t('report.title', day=day.isoformat()))}</h1>"
        f"<p>{html.escape(t('report.local_day', day=day.isoformat(), time=made))}</p>"
        f'<div class="cards">{cards}</div>'
        f'<h2>{html.escape(t("report.traffic"))}</h2><div class="charts">{box["traffic"]}</div>'
        f'<h2>{html.escape(t("report.visitors"))}</h2><div class="charts">{box["visitors"]}</div>'
        f'<h2>{html.escape(t("report.grants_cap"))}</h2><div class="charts">{box["grants_cap"]}</div>'
        f"<h2>{html.escape(t('report.districts'))}</h2>{_table(districts, t('kind.district'), t, names)}"
        f"<h2>{html.escape(t('report.streets'))}</h2>{_table(wide(stats, 'street'), t('kind.street'), t, names)}"
        f"<h2>{html.escape(t('report.alerts', count=alerts.height))}</h2>{_alerts_table(alerts, t)}"
        f'<script type="application/json" id="chart-specs">{_json_in_html(specs)}</script>'
        f"{_script(echarts_js())}{_script(chart_option_js())}{_script(_DRAW)}"
        "</body></html>"
    )


def _json_in_html(value: object) -> str:
    """JSON safe inside a script element: no ``<``, ``>`` or ``&`` for the HTML parser to read."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
