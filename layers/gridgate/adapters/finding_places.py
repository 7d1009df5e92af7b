"""Where a finding is, in the places a subscription can name: its grid, its home's estate, the
grid's district, and the grids under a set of places.

A finding carries its grid and (most of them) a home, never its estate or district; events out
scope by estate (a property company), grid (a street office) or district (a district office), so
deliveries and exports look those up here: in batches (one BatchGetItem per 100 homes or grids),
never one read per finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridgate.adapters.tables import HomeTable, PlaceTable
from gridgate.domain.model import PlaceKind


def estates_of_homes(home_ids: Iterable[str]) -> dict[str, str]:
    """home id -> estate id, for the homes that exist."""
    keys = sorted(set(home_ids))
    return {
        item.home_id: item.estate_id for item in HomeTable.batch_get(keys, attributes_to_get=["home_id", "estate_id"])
    }


def _ancestors(item: PlaceTable) -> dict[str, str]:
    ancestors = item.ancestors
    return ancestors.as_dict() if hasattr(ancestors, "as_dict") else dict(ancestors or {})


def districts_of_grids(grid_ids: Iterable[str]) -> dict[str, str]:
    """grid id -> district id, for the grids that exist and have one."""
    keys = sorted(set(grid_ids))
    items = PlaceTable.batch_get(keys, attributes_to_get=["place_id", "ancestors"])
    return {item.place_id: district for item in items if (district := _ancestors(item).get(PlaceKind.DISTRICT.value))}


def grids_under(place_ids: Iterable[str]) -> set[str]:
    """The grids a set of places covers: a grid itself, an estate's grid (its parent), and every
    grid below a district, street or community (walked down the `by_parent` index)."""
    grids: set[str] = set()
    frontier = sorted(set(place_ids))
    while frontier:
        below: list[str] = []
        for item in PlaceTable.batch_get(frontier, attributes_to_get=["place_id", "kind", "ancestors"]):
            if item.kind == PlaceKind.GRID.value:
                grids.add(item.place_id)
            elif item.kind in (PlaceKind.ESTATE.value, PlaceKind.BUILDING.value):
                if grid := _ancestors(item).get(PlaceKind.GRID.value):
                    grids.add(grid)
            else:
                below += [child.place_id for child in PlaceTable.by_parent.query(item.place_id)]
        frontier = sorted(set(below))
    return grids
