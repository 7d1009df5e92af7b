"""Grant and pass validity at the edges of a local day, through the real app, at pinned instants.

Grant dates are Nanjing dates: at 00:01 local (16:01 UTC the day before) "today" is already the
new date, and a grant ending on a day lasts until that day's local midnight, not 08:00 Beijing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from app_helpers import call, grant_body

from gridgate import clock
from gridgate.residents.entry_rights import effective_right

#: UTC instants either side of local midnight, at a month end and at the year end.
INSTANTS = [
    datetime(2026, 11, 30, 15, 59, tzinfo=UTC),
    datetime(2026, 11, 30, 16, 1, tzinfo=UTC),
    datetime(2026, 12, 31, 15, 59, tzinfo=UTC),
    datetime(2026, 12, 31, 16, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda at: at.strftime("%m%d-%H%MZ"))
def test_a_grant_starts_today_in_the_city_and_ends_at_local_midnight(client, city, instant):
    with clock.pinned(clock.running_from(instant)):
        today = clock.today()
        estate = city.estate(homes=1)
        home, owner = estate.homes[0], estate.owners[estate.homes[0]]
        tenant, id_number = city.person()
        utc_date = clock.now().date()
        if utc_date != today:  # 16:00-24:00 UTC: the UTC date is the city's yesterday
            status, refused = call(
                client, "POST", f"/homes/{home}/grants", owner, grant_body(id_number, "tenant", starts_on=utc_date)
            )
            assert (status, refused["code"]) == (400, "bad_dates")
        status, grant = call(
            client,
            "POST",
            f"/homes/{home}/grants",
            owner,
            grant_body(id_number, "tenant", starts_on=today, ends_on=today),
        )
        assert status == 201, grant
        end_of_day = clock.city_clock().local_midnight(today + timedelta(days=1))
        assert (
            effective_right(tenant, estate.estate_id, end_of_day - timedelta(seconds=1)).grant_id == grant["grant_id"]
        )
        assert effective_right(tenant, estate.estate_id, end_of_day) is None


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda at: at.strftime("%m%d-%H%MZ"))
def test_a_pass_issued_near_local_midnight_lasts_24_hours(client, city, instant):
    from gridgate.security.keyring import get_keyring
    from gridgate.security.signed_passes import PassRejected, public_keys, verify_pass_text

    with clock.pinned(clock.running_from(instant)):
        estate = city.estate(homes=1)
        home, owner = estate.homes[0], estate.owners[estate.homes[0]]
        status, issued = call(
            client,
            "POST",
            f"/homes/{home}/passes",
            owner,
            {"visitor_name": "访客", "duration_hours": 24, "max_uses": 1},
        )
        assert status == 201, issued
        valid_until = datetime.fromisoformat(issued["valid_until"])
        assert timedelta(hours=23, minutes=59) <= valid_until - clock.now() <= timedelta(hours=24)
        keys = public_keys(get_keyring())
        assert verify_pass_text(issued["qr_text"], keys, estate.estate_id, valid_until - timedelta(seconds=1))
        with pytest.raises(PassRejected):
            verify_pass_text(issued["qr_text"], keys, estate.estate_id, valid_until + timedelta(seconds=1))
