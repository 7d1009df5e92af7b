"""People-facing pages (mounted at /pages): the grid worker's phone page and the data center's.

The pages are Jinja2 templates rendered once per language (Simplified Chinese by default,
English with ``?lang=en`` or a browser that asks for English first): every text comes from the
message catalogues in ``gridgate.i18n``, and the page script gets its part of the catalogue as a
JSON block. The result is a static document (HTML with its CSS and script inline, nothing
fetched from elsewhere); they sign in with the person's bearer token and call the JSON endpoints, the grid
workers' (`/grid/...`) and the overview below. A strict Content-Security-Policy allows exactly
the inline script and style of each page (by hash) and connections to this origin only.

- ``GET /pages/grid-worker``             mobile page: sign in, tasks, roster, submit a result
- ``GET /pages/grid-worker-sw.js``       its service worker (the page opens without signal)
- ``GET /pages/data-center``             statistics with charts, findings, alerts, Prefect links
- ``GET /pages/public-health``           epidemic flows per day under an approval, table and chart
  (role ``public_health``; the data: ``/public-health/approvals/{id}/flows``)
- ``GET /pages/compliance``               the compliance report for data-center staff (its data:
  ``/compliance/report``)
- ``GET /pages/vendor/echarts.min.js``    Apache ECharts (npm ``echarts``), which draws its charts
- ``GET /pages/data-center/overview``    JSON for it (role ``data_center``): ``?parent=&day=&shown=&lang=``
- ``GET /pages/data-center/findings``    the findings or alerts under a place, paged: ``?parent=&day=&kind=&limit=&cursor=``
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

from chalice import Blueprint, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from chalicelib.api_schemas import FindingsPage, OverviewAnswer
from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.openapi import LANG, Param, documented
from chalicelib.paging import list_scope, page_request, paged, seal_cursor
from chalicelib.request_context import current_request, query_params, request_locale
from gridgate import i18n
from gridgate.clock import city_clock
from gridgate.config import get_settings
from gridgate.data_center.chart_library import ChartsUnavailable, chart_option_js, echarts_js
from gridgate.data_center.overview import FINDINGS_SHOWN
from gridgate.domain.policy import report_day_problem
from gridgate.refusals import Invalid, Unavailable

bp = Blueprint(__name__)
DATA_CENTER = "data_center"

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
#: Apache ECharts, served by the app itself (the pages fetch nothing from elsewhere): in the
#: deployed zip under pages/vendor/ (`infra.package` copies it there), in the repository from npm
#: (`gridgate.data_center.chart_library`).
ECHARTS_IN_ZIP = PAGES_DIR / "vendor" / "echarts.min.js"
_PLACE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PLACE_PARAMS = (
    Param("parent", "query", {"type": "string"}, "the place to look under (a place id; the whole city when absent)"),
    Param(
        "day",
        "query",
        {"type": "string", "format": "date"},
        "report day, within the retention period (default: the latest)",
    ),
)


def _inline_hashes(page: str, tag: str) -> str:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'" for block in blocks
    )


_TEMPLATES = Environment(
    loader=FileSystemLoader(PAGES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _locale() -> str:
    return request_locale(current_request())


@cache
def _page(name: str, locale: str) -> Response:
    """The page in one language, with a CSP that allows exactly its inline script and style."""
    t = i18n.translator(locale)
    page = _TEMPLATES.get_template(f"{name}.html").render(
        t=t,
        messages=t.subset(i18n.PAGE_MESSAGE_PREFIXES),
        font_stack=Markup(i18n.FONT_STACK),  # a constant; escaped quotes would void the CSS rule
        chart_option_js=Markup(chart_option_js()),  # the project's own script, shared with the report
    )
    policy = (
        "default-src 'none'; "
        f"script-src 'self' {_inline_hashes(page, 'script')}; style-src {_inline_hashes(page, 'style')}; "
        "connect-src 'self'; worker-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return Response(
        body=page,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Content-Language": t.html_lang,
            "Vary": "Accept-Language",
        },
    )


def render_message_page(
    status: int, locale: str, title: str, message: str, link: str, link_text: str, code: str
) -> Response:
    """A short page telling a person what went wrong and where to go (e.g. a refused sign-in)."""
    t = i18n.translator(locale)
    page = _TEMPLATES.get_template("message.html").render(
        t=t, title=title, message=message, link=link, link_text=link_text, code=code, font_stack=Markup(i18n.FONT_STACK)
    )
    return Response(
        body=page,
        status_code=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": f"default-src 'none'; style-src {_inline_hashes(page, 'style')}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Content-Language": t.html_lang,
        },
    )


@bp.route("/grid-worker", methods=["GET"])
@documented(responses={200: "text/html"}, params=(LANG,))
def grid_worker_page():
    """The grid worker's phone page (sign in with the bearer token; works without signal)."""
    return _page("grid_worker", _locale())


@bp.route("/grid-worker-sw.js", methods=["GET"])
@documented(responses={200: "text/javascript"})
def grid_worker_service_worker():
    """The grid worker page's service worker (keeps the page for use without signal)."""
    return Response(
        body=(PAGES_DIR / "grid_worker_sw.js").read_text(encoding="utf-8"),
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _echarts() -> str:
    try:
        return echarts_js(ECHARTS_IN_ZIP)
    except ChartsUnavailable:
        raise Unavailable("charts_unavailable") from None


@bp.route("/vendor/echarts.min.js", methods=["GET"])
@documented(responses={200: "text/javascript"}, errors=(503,))
def echarts_library():
    """Apache ECharts, the data-center page's chart library (npm ``echarts``, Apache-2.0)."""
    return Response(
        body=_echarts(),
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=86400",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.route("/data-center", methods=["GET"])
@documented(responses={200: "text/html"}, params=(LANG,))
def data_center_page():
    """The data center's page: statistics with charts, findings and alerts, links to the flows' runs."""
    return _page("data_center", _locale())


@bp.route("/public-health", methods=["GET"])
@documented(responses={200: "text/html"}, params=(LANG,))
def public_health_page():
    """The public-health officer's page: flows between estates and grids per day, under an approval."""
    return _page("public_health", _locale())


@bp.route("/compliance", methods=["GET"])
@documented(responses={200: "text/html"}, params=(LANG,))
def compliance_page():
    """The data center's compliance report: faces held, legal bases, retention against policy, impact assessment."""
    return _page("compliance", _locale())


@bp.route("/correction", methods=["GET"])
@documented(responses={200: "text/html"}, params=(LANG,))
def correction_page():
    """The correction officer's page: community-correction alerts in their grids, each view audited."""
    return _page("correction", _locale())


def _place_and_day(params: Mapping[str, str]) -> tuple[str | None, date | None]:
    """The ``parent`` place id and the report ``day`` of a data-center query, checked."""
    parent = params.get("parent") or None
    if parent is not None and not _PLACE_ID.match(parent):
        raise Invalid("bad_place")
    try:
        day = date.fromisoformat(params["day"]) if params.get("day") else None
    except ValueError:
        raise Invalid("bad_day") from None
    problem = day and report_day_problem(day, city_clock().today(), get_settings().event_retention_days)
    if problem:
        raise Invalid("bad_day", **problem)
    return parent, day


def _finding_key(finding: dict) -> list:
    return [finding["detected_at"], finding["finding_id"]]


def _findings_scope(caller: str, parent: str | None, day: date | None, kind: str) -> str:
    return list_scope("GET", "/pages/data-center/findings", {}, caller, {"parent": parent, "day": day, "kind": kind})


@bp.route("/data-center/overview", methods=["GET"])
@documented(
    responses={200: OverviewAnswer},
    errors=(400, 404),
    role=DATA_CENTER,
    params=(
        *_PLACE_PARAMS,
        Param("shown", "query", {"type": "integer"}, f"findings and alerts included (1-500, default {FINDINGS_SHOWN})"),
        LANG,
    ),
)
def data_center_overview():
    """One place's children with their statistics and charts, and the newest ``shown`` findings and alerts under it.

    ``findings_next_cursor`` / ``alerts_next_cursor`` continue those lists on
    ``/pages/data-center/findings`` (with the same ``parent`` and ``day``, ``kind=finding|alert``).
    """
    caller = require(current_request(), DATA_CENTER).subject
    params = query_params(current_request())
    parent, day = _place_and_day(params)
    try:
        shown = int(params.get("shown") or FINDINGS_SHOWN)
    except ValueError:
        raise Invalid("bad_shown") from None
    shown = max(1, min(shown, 500))
    result = api_services().overview.overview(parent, day, locale=_locale(), shown=shown)
    for kind, listed, total in (("finding", "findings", "findings_total"), ("alert", "alerts", "alerts_total")):
        more = result[total] > len(result[listed])
        position = _finding_key(result[listed][-1]) if more else None
        result[f"{listed}_next_cursor"] = position and seal_cursor(_findings_scope(caller, parent, day, kind), position)
    result["prefect_ui_url"] = get_settings().prefect_ui_url
    return result


@bp.route("/data-center/findings", methods=["GET"])
@documented(
    responses={200: FindingsPage},
    errors=(400, 404),
    role=DATA_CENTER,
    paged=True,
    params=(
        *_PLACE_PARAMS,
        Param("kind", "query", {"type": "string", "enum": ["finding", "alert"], "default": "finding"}),
        LANG,
    ),
)
def data_center_findings():
    """The open findings (``kind=finding``) or key-group alerts (``kind=alert``) under a place, newest first, a page at a time."""
    request = current_request()
    caller = require(request, DATA_CENTER).subject
    params = query_params(request)
    parent, day = _place_and_day(params)
    kind = params.get("kind", "finding")
    if kind not in ("finding", "alert"):
        raise Invalid("bad_kind")
    page = page_request(request, caller, parent=parent, day=day, kind=kind)
    listed = api_services().overview.findings(parent, day, alerts=kind == "alert", locale=_locale())
    shown, position = page.keyset(listed, _finding_key, descending=True)
    return paged(request, page, {"findings": shown, "total": len(listed)}, position)
