"""A small data-center export (CSV, docs/registry-import.md) made from a synthetic city.

The demo imports it to show the registry import at work: newly registered people moving into new
homes of existing buildings, corrections to people already known (a new phone number), their
population-registry faces, and a handful of rows a real export gets wrong, each of which the
import must reject with its file, line and reason.
"""

from __future__ import annotations

import base64
import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from gridgate.domain.id_numbers import check_character
from gridgate.registry.registry_import import COLUMNS
from local_emulator.synthetic_city import KEY_GROUP_NAMES, City


@dataclass(frozen=True)
class SampleExport:
    directory: Path
    good_rows: dict[str, int]
    bad_rows: dict[str, int]


def _write(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _id_number(area: str, born: date, sequence: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def write_sample_export(city: City, directory: Path | str, new_people: int = 12, seed: int = 11) -> SampleExport:
    """Write persons.csv, homes.csv, ownership.csv and faces.csv for `city` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([city.seed, seed])
    places = city.places
    building = int(rng.integers(0, len(places.building_ids)))
    estate = places.estate_ids[places.building_estate[building]]
    building_id = places.building_ids[building]

    homes = [
        {
            "home_id": f"{building_id}-U9-{2101 + n}",
            "estate_id": estate,
            "building_id": building_id,
            "unit": "9",
            "floor": "21",
            "room": str(2101 + n),
            "floor_area_m2": f"{rng.uniform(55, 140):.1f}",
        }
        for n in range(max(1, new_people // 3))
    ]
    people, owners, faces = [], [], []
    for n in range(new_people):
        born = date(1960, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 40)))
        male = n % 2 == 0
        number = _id_number("320106", born, 900 + 2 * (n % 50) + (1 if male else 0))
        home = homes[n % len(homes)]["home_id"]
        people.append(
            {
                "id_number": number,
                "name": f"新居民{n + 1}",
                "sex": "M" if male else "F",
                "birth_date": born.isoformat(),
                "registries": "population",
                "registered_home_id": home,
                "phone": "",
                "key_groups": "",
            }
        )
        if n < len(homes):
            owners.append({"owner_id_number": number, "home_id": home, "since": "2025-03-01", "until": ""})
        vector = rng.standard_normal(128).astype("<f4")
        vector /= np.linalg.norm(vector)
        consent = datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=8))) + timedelta(days=n)
        faces.append(
            {
                "id_number": number,
                "encoding_base64": base64.b64encode(vector.tobytes()).decode(),
                "consent_at": consent.isoformat(),
            }
        )

    # a correction to someone already registered: same ID number, new phone number
    known = int(rng.integers(0, city.n_persons))
    known_number = city.id_numbers(np.array([known]))[0].decode()
    known_home = city.person_registered_home[known]
    people.append(
        {
            "id_number": known_number,
            "name": city.names(np.array([known]))[0],
            "sex": "M" if city.person_male[known] else "F",
            "birth_date": date.fromordinal(int(city.person_birth[known])).isoformat(),
            "registries": "population",
            "registered_home_id": city.home_ids[int(known_home)].as_py() if known_home >= 0 else "",
            "phone": "13912345678",
            "key_groups": ";".join(name for bit, name in KEY_GROUP_NAMES if city.person_key_groups[known] & bit),
        }
    )
    good = {"persons.csv": len(people), "homes.csv": len(homes), "ownership.csv": len(owners), "faces.csv": len(faces)}

    # rows a real export gets wrong
    bad_number = people[0]["id_number"][:17] + ("0" if people[0]["id_number"][17] != "0" else "1")
    people += [
        {**people[1], "id_number": bad_number, "name": "校验位错误"},  # wrong check digit
        {**people[2]},  # the same person twice
        {**people[3], "id_number": _id_number("320102", date(1990, 2, 3), 124), "birth_date": "1990-02-30"},
    ]
    homes += [
        {**homes[0], "home_id": f"{building_id}-U9-9901", "room": "9901", "floor_area_m2": "-12"},  # bad floor area
        {**homes[0], "home_id": "E99999-B01-U1-0101", "estate_id": "E99999", "building_id": "E99999-B01"},
    ]
    owners += [
        {"owner_id_number": people[0]["id_number"], "home_id": "NO-SUCH-HOME", "since": "2025-03-01", "until": ""},
        {
            "owner_id_number": people[1]["id_number"],
            "home_id": homes[0]["home_id"],
            "since": "2025-03-01",
            "until": "2024-01-01",
        },
    ]
    faces.append({**faces[0], "id_number": known_number, "encoding_base64": "not base64!"})
    bad = {"persons.csv": 3, "homes.csv": 2, "ownership.csv": 2, "faces.csv": 1}

    for name, rows in (("persons.csv", people), ("homes.csv", homes), ("ownership.csv", owners), ("faces.csv", faces)):
        _write(directory / name, COLUMNS[name], rows)
    return SampleExport(directory, good, bad)
