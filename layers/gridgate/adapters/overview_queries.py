"""Reads the data-center page needs and no other code does: the top of the place hierarchy,
places by id, and the newest day a place has statistics for.

Kept apart from the flows' repositories because these serve a person looking at one screen:
small, bounded reads (one scan of the district rows, one query per place).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from gridgate.adapters.findings import parallel_scan
from gridgate.adapters.repositories import place_from_item
from gridgate.adapters.tables import PlaceTable, StatisticTable
from gridgate.domain.model import Place, PlaceKind


def districts() -> list[Place]:
    """The roots of the hierarchy (districts have no parent, so no index lists them)."""
    items = parallel_scan(PlaceTable, PlaceTable.kind == PlaceKind.DISTRICT.value, segments=2)
    return sorted((place_from_item(i) for i in items), key=lambda p: p.place_id)


def places_by_id(place_ids: Iterable[str]) -> dict[str, Place]:
    ids = list(dict.fromkeys(place_ids))
    return {item.place_id: place_from_item(item) for item in PlaceTable.batch_get(ids)} if ids else {}


def latest_statistics_day(scopes: Iterable[str]) -> date | None:
    """The newest day any of `scopes` has a statistic for (one one-item query per scope)."""
    newest = None
    for scope in scopes:
        for item in StatisticTable.query(scope, scan_index_forward=False, limit=1):
            day = date.fromisoformat(item.sk.split("#", 1)[0])
            newest = day if newest is None or day > newest else newest
    return newest
