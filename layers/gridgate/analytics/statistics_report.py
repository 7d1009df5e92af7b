"""The statistics report: one self-contained HTML page with inline-SVG charts.

Data-center staff open it from S3 or the demo's output folder; it shows the city's totals,
traffic by hour, visitors by day, the estates closest to or over their grant caps, the
per-district and per-street figures, and the day's key-group alerts with their explanations.

Every heading, column, card and chart label comes from the message catalogue (`gridgate.i18n`,
Simplified Chinese unless `locale` says otherwise); the day is the city's local day and says so;
counts are whole numbers, only the grants-to-cap ratio has decimals.
"""

from __future__ import annotations

import html
import json
from datetime import date

import polars as pl

from gridgate import clock
from gridgate.data_center.finding_explanations import explain
from gridgate.data_center.svg_charts import bar_chart, horizontal_bars
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
th, td { border: 1px solid #cbd5e0; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #edf2f7; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #cbd5e0; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 20px; }
svg { width: 100%; max-width: 760px; height: auto; display: block; }
.table-wrap { overflow-x: auto; }
""".replace("{font_stack}", FONT_STACK)  # not .format: the CSS is full of braces


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


def _table(frame: pl.DataFrame, first_header: str, t: Translator) -> str:
    headers = [first_header, *(t(f"metric.{c}") for c in frame.columns[1:])]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in frame.iter_rows():
        cells = [f"<td>{html.escape(str(row[0]))}</td>"]
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_report(
    day: date,
    stats: pl.DataFrame,
    visitors_daily: pl.DataFrame,
    alerts: pl.DataFrame,
    top_n: int = 15,
    locale: str | None = None,
) -> str:
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
    hours = [f"{h:02}" for h in range(24)]
    traffic = bar_chart(
        t("report.chart.traffic_hour", day=day.isoformat()),
        hours,
        {t("metric.entries"): city_hourly(stats, "entries"), t("metric.exits"): city_hourly(stats, "exits")},
    )
    per_day = visitors_daily.group_by("local_date").agg(pl.col("visitors").sum()).sort("local_date")
    visitors = bar_chart(
        t("report.chart.visitors_day"),
        [d.strftime("%m-%d") for d in per_day["local_date"]],
        {t("metric.visitors"): per_day["visitors"].to_list()},
    )
    estates = wide(stats, "estate").sort("occupancy.ratio", "place_id", descending=[True, False]).head(top_n)
    occupancy = horizontal_bars(
        t("report.chart.grants_cap", top=top_n),
        estates["place_id"].to_list() if estates.height else [],
        estates["occupancy.ratio"].to_list() if estates.height else [],
    )
    made = t.local_time(clock.now())
    return (
        f'<!doctype html><html lang="{t.html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(t('report.doc_title', day=day.isoformat()))}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(t('report.title', day=day.isoformat()))}</h1>"
        f"<p>{html.escape(t('report.local_day', day=day.isoformat(), time=made))}</p>"
        f'<div class="cards">{cards}</div>'
        f"<h2>{html.escape(t('report.traffic'))}</h2>{traffic}<h2>{html.escape(t('report.visitors'))}</h2>{visitors}"
        f"<h2>{html.escape(t('report.grants_cap'))}</h2>{occupancy}"
        f"<h2>{html.escape(t('report.districts'))}</h2>{_table(districts, t('kind.district'), t)}"
        f"<h2>{html.escape(t('report.streets'))}</h2>{_table(wide(stats, 'street'), t('kind.street'), t)}"
        f"<h2>{html.escape(t('report.alerts', count=alerts.height))}</h2>{_alerts_table(alerts, t)}"
        "</body></html>"
    )
