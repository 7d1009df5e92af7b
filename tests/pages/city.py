"""A few rows of a city, written through the real repositories: what the page tests look at."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gridgate.adapters.findings import (
    FindingRepository,
    StatisticRepository,
    VerificationTaskRepository,
)
from gridgate.adapters.repositories import (
    HomeRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.domain.model import (
    Finding,
    Home,
    Person,
    Place,
    PlaceKind,
    Registry,
    Severity,
    Statistic,
    VerificationTask,
)

DISTRICT, STREET, COMMUNITY, GRID, ESTATE = "D-01", "D-01-S1", "D-01-S1-C1", "D-01-S1-C1-G1", "E-0001"
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def places() -> None:
    chain = [
        (DISTRICT, PlaceKind.DISTRICT, "玄武区", None),
        (STREET, PlaceKind.STREET, "新街口街道", DISTRICT),
        (COMMUNITY, PlaceKind.COMMUNITY, "湖南路社区", STREET),
        (GRID, PlaceKind.GRID, "第一网格", COMMUNITY),
        (ESTATE, PlaceKind.ESTATE, "梅园新村", GRID),
    ]
    ancestors: dict = {}
    repo = PlaceRepository()
    for place_id, kind, name, parent in chain:
        repo.add(Place(place_id, kind, name, parent, dict(ancestors)))
        ancestors[kind] = place_id


def home_with_task(protector, home_id: str = "H-0001-0501", building: str = "B-01") -> tuple[str, str]:
    """A home with two registered residents and an open task to verify it; returns (task, person).

    The room is the home id's last part and its floor the room's first two digits (H-0001-0301 is
    room 0301 on floor 3), so the home, the task's walking order and the page all name one door."""
    room = home_id.rsplit("-", 1)[1]
    floor = int(room[:2])
    HomeRepository().add(Home(home_id, ESTATE, building, "1", floor, room, 89.0, GRID))
    people = PersonRepository(protector)
    for n, name in ((1, "王芳"), (2, "李雷")):
        people.add(
            Person(
                f"P-{home_id}-{n}",
                name,
                f"32010219800101{n:03d}X",
                frozenset({Registry.POPULATION}),
                1980,
                "F",
                registered_home_id=home_id,
            ),
            grid_id=GRID,
        )
    task_id = f"T-{home_id}"
    # the finding the task checks, with the evidence its reason is read from
    FindingRepository().sync(
        [
            Finding(
                f"F-{home_id}",
                "resident_not_seen",
                Severity.MEDIUM,
                GRID,
                f"person#P-{home_id}-2",
                {
                    "estate_id": ESTATE,
                    "window_days": 30,
                    "last_seen_at": None,
                    "last_seen_estate": None,
                    "explanation": "Registered resident not seen at the estate for 30 days",
                },
                NOW,
                home_id=home_id,
                person_id=f"P-{home_id}-2",
            )
        ]
    )
    VerificationTaskRepository().add_new(
        [
            VerificationTask(
                task_id,
                GRID,
                f"F-{home_id}",
                1,
                (ESTATE, building, "1", floor, room),
                home_id,
                "Registered resident not seen at the estate for 30 days",
                NOW,
                finding_type="resident_not_seen",
                person_id=f"P-{home_id}-2",
            )
        ]
    )
    return task_id, f"P-{home_id}-2"


def statistics_and_findings() -> None:
    StatisticRepository().put_many(
        [
            Statistic(f"district#{DISTRICT}", DAY, "residents.owners", 120),
            Statistic(f"district#{DISTRICT}", DAY, "residents.tenants", 35),
            Statistic(f"district#{DISTRICT}", DAY, "entries", 480),
            Statistic(f"district#{DISTRICT}", DAY, "grants.active", 41),
            Statistic(f"district#{DISTRICT}", DAY, "grants.cap", 60),
            Statistic(f"street#{STREET}", DAY, "residents.owners", 120),
            Statistic(f"street#{STREET}", DAY, "visitors", 17),
        ]
    )
    FindingRepository().sync(
        [
            Finding(
                "F-alert-1", "living_alone_no_exit", Severity.HIGH, GRID, "person#P-9", {"days_without_exit": 4}, NOW
            ),
            Finding(
                "F-rec-1", "grants_over_cap", Severity.MEDIUM, GRID, "home#H-0001-0502", {"grants": 5, "cap": 3}, NOW
            ),
        ]
    )


def correction_alert(protector) -> str:
    """A person under an approved correction order, registered at a home of the estate, with an
    open unusual-hours alert in the grid; returns the person's id."""
    home_id, person_id = "H-0001-0302", "P-cc-1"
    HomeRepository().add(Home(home_id, ESTATE, "B-01", "2", 3, "0302", 76.0, GRID))
    person = Person(person_id, "周正", "320102198001010010", frozenset({Registry.POPULATION}), 1980, "M", home_id)
    PersonRepository(protector).add(person, grid_id=GRID)
    evidence = {
        "local_date": "2026-11-20",
        "passages_count": 2,
        "passages": ["2026-11-20 23:40 in at gate g-1", "2026-11-21 00:10 out at gate g-1"],
        "unusual_hours": "23:00-05:00",
        "approval_case": ["C-2026-17"],
    }
    FindingRepository().sync(
        [
            Finding(
                f"F-cc-{person_id}",
                "correction_unusual_hours",
                Severity.MEDIUM,
                GRID,
                f"person#{person_id}",
                evidence,
                NOW,
                home_id=home_id,
                person_id=person_id,
            )
        ]
    )
    return person_id
