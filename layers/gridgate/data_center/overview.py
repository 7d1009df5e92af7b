"""What the data-center page shows for one place: its children's statistics, charts, and the
latest open findings and key-group alerts under it.

The page drills down the hierarchy (district -> street -> community -> grid -> estate); each
level is one call. Charts are sent as data (title, categories, named series) for the page to
draw with Apache ECharts, which the app serves itself; their titles and legends come from the
message catalogue of the viewer's language (`gridgate.i18n`), as does everything else a person
reads.

Findings and alerts come a page at a time (`shown`, the page asks for more), newest first, with
the totals, so that "25 of 341" is visible; with a chosen `day` only those found up to the end
of the morning run about that day (the local day after it) are listed, so an older day does not
show findings that did not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gridgate.adapters.findings import FindingRepository, StatisticRepository
from gridgate.adapters.overview_queries import districts, latest_statistics_day, places_by_id
from gridgate.adapters.repositories import PlaceRepository
from gridgate.clock import city_clock
from gridgate.data_center.finding_explanations import explain_finding
from gridgate.domain.legal_records import CORRECTION_ALERT_TYPES
from gridgate.domain.model import Finding, Place, PlaceKind, TaskStatus
from gridgate.i18n import Translator, translator
from gridgate.refusals import NotFound

#: Finding types the key-group alert flow writes. Same strings as
#: `gridgate.analytics.key_group_alerts.ALERT_TYPES` (a test keeps them equal); not imported
#: from there because that module needs polars, which the API function does not ship.
ALERT_TYPES = frozenset({"living_alone_no_exit", "correction_unusual_hours", "correction_absent"})

RESIDENT_METRICS = ("residents.owners", "residents.family", "residents.tenants", "floating")
TRAFFIC_METRICS = ("entries", "exits")
FINDINGS_SHOWN = 25

#: Levels the page drills through; buildings are below what statistics are kept for.
_DRILL_LEVELS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.ESTATE)


class UnknownPlace(NotFound):
    def __init__(self, place_id: str) -> None:
        super().__init__("unknown_place", place_id=place_id)


@dataclass(frozen=True)
class PlaceRow:
    place: Place
    metrics: dict[str, float]

    def to_json(self) -> dict:
        return {
            "place_id": self.place.place_id,
            "name": self.place.name,
            "kind": self.place.kind.value,
            "metrics": self.metrics,
        }


def _scope(place: Place) -> str:
    return f"{place.kind.value}#{place.place_id}"


def _finding_json(finding: Finding, t: Translator) -> dict:
    return {
        "explanation": explain_finding(finding, t),
        "finding_id": finding.finding_id,
        "type": finding.finding_type,
        "severity": finding.severity.value,
        "grid_id": finding.grid_id,
        "subject": finding.subject,
        "detected_at": finding.detected_at.isoformat(),
        "evidence": finding.evidence,
        "alert": finding.finding_type in ALERT_TYPES,
    }


class DataCenterOverview:
    def __init__(
        self,
        places: PlaceRepository | None = None,
        findings: FindingRepository | None = None,
        statistics: StatisticRepository | None = None,
    ) -> None:
        self._places = places or PlaceRepository()
        self._findings = findings or FindingRepository()
        self._statistics = statistics or StatisticRepository()

    def _children(self, parent: Place | None) -> list[Place]:
        if parent is None:
            return districts()
        children = [p for p in self._places.children(parent.place_id) if p.kind in _DRILL_LEVELS]
        return sorted(children, key=lambda p: p.place_id)

    def _findings_under(self, parent: Place | None) -> list[Finding]:
        if parent is not None and parent.kind == PlaceKind.GRID:
            found = [f for f in self._findings.in_grid(parent.place_id) if f.status == TaskStatus.OPEN]
        else:
            found = self._findings.open_findings()
            if parent is not None:
                grids = places_by_id({f.grid_id for f in found})
                found = [
                    f for f in found if f.grid_id in grids and grids[f.grid_id].ancestor(parent.kind) == parent.place_id
                ]
        # correction tracking is for correction staff only (`gridgate.compliance.correction_alerts`)
        shown = [f for f in found if f.finding_type not in CORRECTION_ALERT_TYPES]
        return sorted(shown, key=lambda f: (f.detected_at, f.finding_id), reverse=True)

    def _place(self, parent_id: str | None) -> Place | None:
        """The place to look under (None: the whole city); `UnknownPlace` when there is no such place."""
        if not parent_id:
            return None
        parent = self._places.get(parent_id)
        if parent is None:
            raise UnknownPlace(parent_id)
        return parent

    @staticmethod
    def _as_of(findings: list[Finding], day: date | None) -> list[Finding]:
        """With a chosen day, only what existed by the end of the morning run about it."""
        if day is None:
            return findings
        until = city_clock().local_midnight(day + timedelta(days=2))
        return [f for f in findings if f.detected_at < until]

    def findings(
        self, parent_id: str | None, day: date | None, *, alerts: bool, locale: str | None = None
    ) -> list[dict]:
        """Every open finding (or, with `alerts`, every key-group alert) under a place, newest first,
        explained in the reader's language."""
        found = self._as_of(self._findings_under(self._place(parent_id)), day)
        t = translator(locale)
        return [_finding_json(f, t) for f in found if (f.finding_type in ALERT_TYPES) == alerts]

    def overview(
        self,
        parent_id: str | None = None,
        day: date | None = None,
        *,
        locale: str | None = None,
        shown: int = FINDINGS_SHOWN,
    ) -> dict:
        t = translator(locale)
        chosen_day = day
        parent = self._place(parent_id)
        children = self._children(parent)
        day = day or latest_statistics_day(_scope(p) for p in children[:5])
        rows = []
        for place in children:
            stats = self._statistics.for_scope(_scope(place), day) if day else []
            rows.append(PlaceRow(place, {s.metric: s.value for s in stats}))
        findings = self._as_of(self._findings_under(parent), chosen_day)
        plain = [f for f in findings if f.finding_type not in ALERT_TYPES]
        alerts = [f for f in findings if f.finding_type in ALERT_TYPES]
        return {
            "parent": None
            if parent is None
            else {
                "place_id": parent.place_id,
                "name": parent.name,
                "kind": parent.kind.value,
                "parent_id": parent.parent_id,
            },
            "day": day.isoformat() if day else None,
            "places": [row.to_json() for row in rows],
            "charts": self._charts(rows, locale),
            "findings": [_finding_json(f, t) for f in plain[:shown]],
            "alerts": [_finding_json(f, t) for f in alerts[:shown]],
            "findings_total": len(plain),
            "alerts_total": len(alerts),
            "open_findings": len(findings),
        }

    @staticmethod
    def _charts(rows: list[PlaceRow], locale: str | None = None) -> list[dict]:
        """Each chart as {id, title, categories (place names), series [{name, data}], horizontal}."""
        if not rows:
            return []
        t = translator(locale)
        labels = [row.place.name or row.place.place_id for row in rows]

        def series(metrics) -> list[dict]:
            return [{"name": t(f"metric.{m}"), "data": [int(row.metrics.get(m, 0)) for row in rows]} for m in metrics]

        return [
            {
                "id": "residents",
                "title": t("chart.residents"),
                "categories": labels,
                "series": series(RESIDENT_METRICS),
                "horizontal": False,
            },
            {
                "id": "traffic",
                "title": t("chart.traffic_day"),
                "categories": labels,
                "series": series(TRAFFIC_METRICS),
                "horizontal": False,
            },
            {
                "id": "visitors",
                "title": t("chart.visitors_day"),
                "categories": labels,
                "series": series(("visitors",)),
                "horizontal": True,
            },
        ]
