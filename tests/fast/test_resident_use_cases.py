"""Grants and visitor passes through their rules, with fake repositories and the clock pinned.

Cap, duplicates, ownership, dates and validity, revocation, and what a change must set off (the
estate's gallery bump, the audit). Run against DynamoDB, the same rules are in tests/app; only
those tests can show the cap holding under concurrent requests (one transaction per grant).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gridgate.config import get_settings
from gridgate.domain.model import Home, Ownership, PassStatus, Relation
from gridgate.gate.decision import verified_pass
from gridgate.refusals import Conflict, Invalid, NotAllowed, NotFound
from gridgate.residents.grants import GrantService
from gridgate.residents.ownership import OwnerScope
from gridgate.residents.visitor_passes import PassService
from gridgate.security.keyring import Keyring
from gridgate.security.signed_passes import public_keys

from .fakes import FakeAudit, FakeGrants, FakeHomes, FakeOwnerships, FakePasses, FakePeople

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)  # 09:30 on the 14th in the city
TODAY = date(2026, 3, 14)
OWNER, CO_OWNER = "P-owner", "P-co-owner"
SMALL = Home("H-small", "E-01", "B1", "1", 3, "301", 25.0, "GR-1")  # 25 m²: a cap of 2
FLAT = Home("H-flat", "E-01", "B1", "1", 4, "401", 80.0, "GR-1")
PEOPLE = {f"3201{n:014d}": f"P-{n}" for n in range(5)}
IDS = list(PEOPLE)


class Residents:
    """The two services over one set of fakes, as the composition root would wire them."""

    def __init__(self) -> None:
        self.homes = FakeHomes(SMALL, FLAT)
        self.ownerships = FakeOwnerships(
            Ownership(OWNER, SMALL.home_id, "E-01", date(2020, 1, 1)),
            Ownership(OWNER, FLAT.home_id, "E-01", date(2020, 1, 1)),
            Ownership(CO_OWNER, FLAT.home_id, "E-01", date(2021, 1, 1)),
        )
        self.grant_store, self.pass_store, self.audit = FakeGrants(), FakePasses(), FakeAudit()
        self.changed: list[tuple[str, list[str]]] = []  # (estate, the people the change names)
        self.keyring = Keyring.generate()
        self.now = NOW
        scope = OwnerScope(self.homes, self.ownerships)
        self.grants = GrantService(
            people=FakePeople({**PEOPLE, "3201-co-owner": CO_OWNER}),
            grants=self.grant_store,
            scope=scope,
            audit=self.audit,
            estate_changed=lambda estate_id, people: self.changed.append((estate_id, list(people))),
            settings=get_settings(),
            clock=lambda: self.now,
        )
        self.passes = PassService(
            self.keyring,
            passes=self.pass_store,
            scope=scope,
            audit=self.audit,
            city_timezone="Asia/Shanghai",
            clock=lambda: self.now,
        )

    def grant(self, id_number: str, home: Home = SMALL, owner: str = OWNER, **dates):
        starts_on, ends_on = dates.get("starts_on", TODAY), dates.get("ends_on")
        return self.grants.grant(owner, home.home_id, id_number, Relation.TENANT, starts_on, ends_on, "req")


@pytest.fixture
def residents() -> Residents:
    return Residents()


def _refused(kind, code: str, call):
    with pytest.raises(kind) as refused:
        call()
    assert refused.value.code == code
    return refused.value


# --- grants -------------------------------------------------------------------------------------


def test_a_home_grants_up_to_its_cap_from_floor_area_and_no_further(residents):
    residents.grant(IDS[0])
    residents.grant(IDS[1])
    over = _refused(Conflict, "over_cap", lambda: residents.grant(IDS[2]))
    assert (over.detail["cap"], over.detail["floor_area_m2"]) == (2, 25)
    listing = residents.grants.of_home(OWNER, SMALL.home_id)
    assert (listing.cap, listing.slots_used) == (2, 2)


def test_revoking_a_grant_frees_its_slot(residents):
    first = residents.grant(IDS[0])
    residents.grant(IDS[1])
    residents.grants.revoke(OWNER, SMALL.home_id, first.grant_id, "req")
    assert residents.grant(IDS[2]).grantee_id == "P-2"


def test_a_person_is_granted_a_home_once_while_the_grant_is_active(residents):
    residents.grant(IDS[0], FLAT)
    _refused(Conflict, "already_granted", lambda: residents.grant(IDS[0], FLAT))
    assert len(residents.grant_store.of_home(FLAT.home_id)) == 1


def test_only_an_owner_grants_and_only_their_homes(residents):
    _refused(NotAllowed, "not_owner", lambda: residents.grant(IDS[0], owner="P-3"))
    _refused(
        NotFound,
        "unknown_home",
        lambda: residents.grants.grant(OWNER, "H-none", IDS[0], Relation.FAMILY, TODAY, None, None),
    )
    assert residents.grant_store.grants == {} and residents.changed == []


def test_an_owner_of_the_home_needs_no_grant_and_an_unknown_id_number_gets_none(residents):
    _refused(Invalid, "grantee_is_owner", lambda: residents.grant("3201-co-owner", FLAT))
    _refused(NotFound, "unknown_grantee", lambda: residents.grant("3201-nobody"))


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [(TODAY - timedelta(days=1), None), (TODAY, TODAY - timedelta(days=1)), (TODAY + timedelta(days=400), None)],
    ids=["starts_in_the_past", "ends_before_it_starts", "starts_over_a_year_ahead"],
)
def test_grant_dates_are_checked_in_the_citys_days(residents, starts_on, ends_on):
    _refused(Invalid, "bad_dates", lambda: residents.grant(IDS[0], starts_on=starts_on, ends_on=ends_on))


def test_a_grant_past_its_last_day_no_longer_takes_a_slot(residents):
    residents.grant(IDS[0], ends_on=TODAY)
    residents.grant(IDS[1])
    residents.now = NOW + timedelta(days=1)  # the next day in the city
    assert residents.grant(IDS[2], starts_on=TODAY + timedelta(days=1)).grantee_id == "P-2"


def test_a_revoked_grant_cannot_be_revoked_again_and_an_unknown_one_is_not_found(residents):
    grant = residents.grant(IDS[0])
    residents.grants.revoke(OWNER, SMALL.home_id, grant.grant_id, "req")
    _refused(Conflict, "grant_not_active", lambda: residents.grants.revoke(OWNER, SMALL.home_id, grant.grant_id, None))
    _refused(NotFound, "unknown_grant", lambda: residents.grants.revoke(OWNER, SMALL.home_id, "G-none", None))


def test_every_grant_change_bumps_the_estate_and_is_audited(residents):
    grant = residents.grant(IDS[0])
    residents.grants.revoke(OWNER, SMALL.home_id, grant.grant_id, "req")
    assert residents.changed == [("E-01", [grant.grantee_id]), ("E-01", [grant.grantee_id])]
    assert [action for _, action, _ in residents.audit.records] == ["grant.create", "grant.revoke"]


# --- visitor passes -----------------------------------------------------------------------------


def _issue(residents, hours: float = 4, start: datetime | None = None, home: Home = FLAT, owner: str = OWNER):
    return residents.passes.issue(owner, home.home_id, "王访客", start, hours, 2, "req")


def test_an_issued_pass_verifies_for_its_estate_and_window_and_redraws_the_same_text(residents):
    visitor_pass, text = _issue(residents)
    claims = verified_pass(text, public_keys(residents.keyring), "E-01", NOW + timedelta(hours=1))
    assert (claims.pass_id, claims.home_id, claims.max_uses) == (visitor_pass.pass_id, FLAT.home_id, 2)
    assert visitor_pass.valid_until - visitor_pass.valid_from == timedelta(hours=4)
    assert residents.passes.qr_text(OWNER, visitor_pass.pass_id) == text


@pytest.mark.parametrize(
    ("hours", "start", "code"),
    [
        (0, None, "bad_dates"),
        (0.1, None, "validity_too_short"),
        (25, None, "validity_too_long"),
        (4, NOW - timedelta(hours=1), "bad_dates"),
        (4, NOW + timedelta(days=31), "bad_dates"),
    ],
    ids=["no_time", "too_short", "too_long", "starts_in_the_past", "too_far_ahead"],
)
def test_a_pass_window_is_checked(residents, hours, start, code):
    _refused(Invalid, code, lambda: _issue(residents, hours, start))
    assert residents.pass_store.passes == {}


def test_only_an_owner_issues_sees_and_revokes_a_homes_passes(residents):
    visitor_pass, _ = _issue(residents)
    _refused(NotAllowed, "not_owner", lambda: _issue(residents, owner="P-3"))
    _refused(NotAllowed, "not_owner", lambda: residents.passes.revoke("P-3", visitor_pass.pass_id, None))
    _refused(NotFound, "unknown_pass", lambda: residents.passes.revoke(OWNER, "0" * 32, None))
    assert residents.passes.of_home(CO_OWNER, FLAT.home_id, None, limit=10) == ([visitor_pass], None)  # a co-owner


def test_a_revoked_pass_stays_revoked(residents):
    visitor_pass, _ = _issue(residents)
    assert residents.passes.revoke(OWNER, visitor_pass.pass_id, "req").status == PassStatus.REVOKED
    _refused(Conflict, "pass_not_active", lambda: residents.passes.revoke(OWNER, visitor_pass.pass_id, None))


def test_an_owners_passes_are_listed_newest_first_and_the_listing_is_audited(residents):
    early, _ = _issue(residents, start=NOW + timedelta(hours=1))
    late, _ = _issue(residents, start=NOW + timedelta(hours=5), home=SMALL)
    assert residents.passes.of_owner(OWNER, "req") == [late, early]
    assert ("P-owner", "pass.read", "person#P-owner") in residents.audit.records
