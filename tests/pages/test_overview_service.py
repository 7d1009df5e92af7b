"""The data-center overview service, without a browser: drill-down, filtering, alert split."""

from __future__ import annotations

from datetime import UTC

import pytest

from gridgate.analytics.key_group_alerts import ALERT_TYPES
from gridgate.data_center import overview as data_center_overview
from gridgate.data_center.overview import DataCenterOverview, UnknownPlace

from . import city


def test_alert_types_mirror_the_alert_flow():
    assert data_center_overview.ALERT_TYPES == frozenset(ALERT_TYPES)


def test_overview_of_the_city_then_of_a_grid(clean_tables):
    city.places()
    city.statistics_and_findings()
    overview = DataCenterOverview()

    top = overview.overview()
    assert top["day"] == city.DAY.isoformat()
    assert [p["place_id"] for p in top["places"]] == [city.DISTRICT]
    assert top["places"][0]["metrics"]["residents.owners"] == 120
    assert [a["type"] for a in top["alerts"]] == ["living_alone_no_exit"]
    assert [f["type"] for f in top["findings"]] == ["grants_over_cap"]
    assert [chart["id"] for chart in top["charts"]] == ["residents", "traffic", "visitors"]
    residents = top["charts"][0]
    assert residents["title"] == "居民构成" and residents["categories"] == ["玄武区"]
    assert [(s["name"], s["data"]) for s in residents["series"]][0] == ("业主", [120])

    in_grid = overview.overview(city.GRID)
    assert [p["place_id"] for p in in_grid["places"]] == [city.ESTATE]
    assert in_grid["open_findings"] == 2

    elsewhere = overview.overview(city.STREET)
    assert elsewhere["open_findings"] == 2  # the grid is under this street
    with pytest.raises(UnknownPlace):
        overview.overview("NOWHERE")


def test_findings_of_other_districts_are_not_shown_under_this_one(clean_tables):
    from datetime import datetime

    from gridgate.adapters.findings import FindingRepository
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.model import Finding, Place, PlaceKind, Severity

    city.places()
    PlaceRepository().add(Place("D-02", PlaceKind.DISTRICT, "Qinhuai", None, {}))
    PlaceRepository().add(Place("D-02-G", PlaceKind.GRID, "Far grid", "D-02", {PlaceKind.DISTRICT: "D-02"}))
    FindingRepository().sync(
        [
            Finding(
                "F-far",
                "resident_not_seen",
                Severity.LOW,
                "D-02-G",
                "person#P-1",
                {},
                datetime(2026, 11, 21, tzinfo=UTC),
            )
        ]
    )
    assert DataCenterOverview().overview(city.DISTRICT)["open_findings"] == 0
    assert DataCenterOverview().overview("D-02")["open_findings"] == 1
