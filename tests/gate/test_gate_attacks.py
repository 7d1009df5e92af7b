"""Attacks on the gate endpoints and the offline mode (issue 11), through the real Chalice app and moto."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date, timedelta

import pytest
from gate_helpers import decision_of, events_of, pass_uses
from PIL import Image

from gridgate import clock


def _event(gate_world, **fields) -> dict:
    """One offline event of the test gate, as a device's buffer uploads it."""
    return {
        "event_id": f"{gate_world.gate_id}:{uuid.uuid4().hex[:10]}",
        "gate_id": gate_world.gate_id,
        "estate_id": gate_world.estate_id,
        "direction": "in",
        "occurred_at": clock.now().isoformat(),
        "method": "face",
        "outcome": "open",
        "reason": "resident_right",
        "person_id": gate_world.residents["owner"].person_id,
        **fields,
    }


def _upload(gate, events: list, raw: str | None = None):
    body = raw.encode("utf-8", "surrogatepass") if raw is not None else json.dumps({"events": events}).encode()
    return gate.send("/gate/events", body, "application/json")


def test_an_upload_cannot_use_up_another_estates_pass(gate, gate_world, pass_issuer, protector):
    pass_id, text = pass_issuer(gate_world.other_estate_id, gate_world.other_home_id, max_uses=1)
    forged = _event(
        gate_world,
        method="visitor_pass",
        reason="visitor_pass",
        person_id=None,
        pass_id=pass_id,
        home_id=gate_world.other_home_id,
        right="visitor",
    )
    answer = _upload(gate, [forged]).json_body
    assert (answer["stored"], answer["refused_events"]) == (
        0,
        [{"event_id": forged["event_id"], "code": "pass_of_other_estate"}],
    )
    assert pass_uses(protector, pass_id) == 0
    assert events_of(gate_world.estate_id, forged["event_id"]) == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("score", "NaN"),
        ("score", "Infinity"),
        ("score", "-Infinity"),
        ("score", "1" + "0" * 400),
        ("score", "1e400"),
        ("occurred_at", '"9999-12-31T23:59:59+00:00"'),
        ("occurred_at", '"0001-01-01T00:00:00+00:00"'),
        ("event_id", None),
        ("person_id", '"\\ud800"'),
        ("home_id", '"' + "H" * 3000 + '"'),
    ],
)
def test_one_unstorable_event_is_refused_alone_and_the_rest_are_stored(gate, gate_world, field, value):
    good = _event(gate_world)
    bad = _event(gate_world)
    if field == "event_id":
        value = json.dumps(f"{gate_world.gate_id}:" + "x" * 3000)
    raw_bad = (
        json.dumps(bad).replace(f'"{field}": {json.dumps(bad[field])}', f'"{field}": {value}')
        if field in bad
        else (json.dumps(bad)[:-1] + f', "{field}": {value}}}')
    )
    response = _upload(gate, [], raw=f'{{"events": [{json.dumps(good)}, {raw_bad}]}}')
    assert response.status_code == 200, response.body
    answer = response.json_body
    assert (answer["stored"], answer["refused"]) == (1, 1)
    assert answer["refused_events"][0]["code"] in {"malformed_event", "bad_occurred_at"}
    assert len(events_of(gate_world.estate_id, good["event_id"])) == 1


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(640, 1), (1, 640), (1, 1), (4000, 20)])
@pytest.mark.parametrize(
    "path, kind", [("/gate/entry/qr", None), ("/gate/exit", "qr"), ("/gate/entry/face", None), ("/gate/exit", "face")]
)
def test_a_sliver_of_an_image_is_refused_400_and_recorded(gate, gate_world, size, path, kind):
    event_id = uuid.uuid4().hex[:12]
    response = gate.send(path, _png(*size), "image/png", event_id=event_id, kind=kind)
    assert response.status_code == 400, response.body
    assert decision_of(response)["reason"] == "image_too_small"
    assert len(events_of(gate_world.estate_id, f"{gate_world.gate_id}:{event_id}")) == 1


@pytest.mark.parametrize("path", ["/gate/entry/qr", "/gate/exit", "/gate/events"])
def test_deeply_nested_json_to_a_gate_is_a_400(gate, path):
    response = gate.send(path, b"[" * 3000 + b"]" * 3000, "application/json", kind="qr")
    assert response.status_code == 400 and response.json_body["code"] == "bad_json"


@pytest.fixture
def sold_home(gate_world, protector):
    """A second home at the test estate, its owner, and a tenant granted with no end date.

    Afterwards the home is sold (ownership ends today), so the session's estate is left with the
    people it had: other tests compare a snapshot's people with the world's residents."""
    from gridgate.adapters.grant_repository import GrantRepository
    from gridgate.adapters.repositories import (
        HomeRepository,
        OwnershipRepository,
        PersonRepository,
    )
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.domain.model import (
        Grant,
        GrantStatus,
        Home,
        Ownership,
        Person,
        Registry,
        Relation,
    )
    from gridgate.security.resident_qr import new_secret

    tag = uuid.uuid4().hex[:6]
    home_id = f"H-{gate_world.estate_id}-sold-{tag}"
    HomeRepository().add(Home(home_id, gate_world.estate_id, "B-sold", "1", 3, "301", 90.0, "G-gt"))
    owner, tenant = f"P-seller-{tag}", f"P-tenant-{tag}"
    for n, person_id in enumerate((owner, tenant)):
        PersonRepository(protector).add(
            Person(person_id, "resident", f"3201021985{tag[:4]}{n:04d}"[:18], frozenset({Registry.APP}), 1985, "F")
        )
    ResidentSecretStore(protector).put_if_absent(tenant, new_secret())
    OwnershipRepository().add(Ownership(owner, home_id, gate_world.estate_id, date(2020, 1, 1)))
    grant = Grant(
        grant_id=f"GR-sold-{tag}",
        home_id=home_id,
        estate_id=gate_world.estate_id,
        grantee_id=tenant,
        relation=Relation.TENANT,
        starts_on=date(2020, 1, 1),
        ends_on=None,
        granted_by=owner,
        status=GrantStatus.ACTIVE,
        created_at=clock.now(),
    )
    GrantRepository().create(grant, cap=5)
    yield owner, tenant, home_id
    OwnershipRepository().end(owner, home_id, _today())


def _today():
    from gridgate.config import get_settings
    from gridgate.domain.policy import local_date

    return local_date(clock.now(), get_settings().city_timezone)


def test_an_ex_owners_tenant_is_refused_at_the_next_decision(gate, gate_world, sold_home, protector):
    from gridgate.adapters.repositories import OwnershipRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.security.resident_qr import current_code

    owner, tenant, home_id = sold_home
    secret = ResidentSecretStore(protector).get(tenant)
    before = decision_of(gate.qr("/gate/entry/qr", current_code(tenant, secret, clock.now())))
    assert (before["outcome"], before["right"]) == ("open", "tenant")
    OwnershipRepository().end(owner, home_id, _today())  # sold today; the grant itself is untouched
    after = decision_of(gate.qr("/gate/entry/qr", current_code(tenant, secret, clock.now() + timedelta(seconds=30))))
    assert (after["outcome"], after["reason"], after["person_id"]) == ("deny", "no_right", tenant)


def test_the_offline_snapshot_drops_a_tenant_from_the_day_the_grantor_stops_owning(
    gate_world, sold_home, keyring, protector
):
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.adapters.repositories import OwnershipRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.config import get_settings
    from gridgate.gate.snapshot_publisher import GateSnapshotService

    owner, tenant, home_id = sold_home
    settings = get_settings().model_copy(update={"gate_snapshot_validity_minutes": 3 * 24 * 60})  # three days
    service = GateSnapshotService(settings, keyring, PassRepository(protector), ResidentSecretStore(protector).get)
    today = _today()
    OwnershipRepository().end(owner, home_id, today + timedelta(days=1))  # the sale completes tomorrow
    rights = service.build(gate_world.estate_id, clock.now())["people"][tenant]["rights"]
    assert today.isoformat() in rights
    assert not any(date.fromisoformat(day) > today for day in rights)


def _snapshots(keyring, protector):
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.config import get_settings
    from gridgate.gate.snapshot_publisher import GateSnapshotService

    return GateSnapshotService(get_settings(), keyring, PassRepository(protector), ResidentSecretStore(protector).get)


def _sealed(service, keyring, estate_id: str, at):
    from gridgate.gate.signed_snapshot import seal

    key_id = keyring.active_signing_key_id
    return seal(service.build(estate_id, at), key_id, keyring.signing_keys[key_id])


def test_an_offline_gate_refuses_to_roll_back_to_an_older_snapshot(
    gate_world, sold_home, keyring, protector, pass_issuer, tmp_path
):
    from chalicelib.bootstrap import build_api_services
    from gridgate.adapters.pass_repository import PassRepository
    from gridgate.adapters.repositories import GateRepository
    from gridgate.adapters.resident_secrets import ResidentSecretStore
    from gridgate.config import get_settings
    from gridgate.domain.model import Direction
    from gridgate.gate.device.event_buffer import EventBuffer
    from gridgate.gate.device.offline_verifier import OfflineVerifier
    from gridgate.gate.signed_snapshot import SnapshotRejected
    from gridgate.security.resident_qr import current_code
    from gridgate.security.signed_passes import public_keys

    owner, tenant, home_id = sold_home
    pass_id, pass_text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    service = _snapshots(keyring, protector)
    now = clock.now()
    older = _sealed(service, keyring, gate_world.estate_id, now - timedelta(seconds=5))
    PassRepository(protector).revoke(pass_id, now)
    grants = build_api_services(get_settings(), keyring).grants
    (grant,) = [g.grant_id for g in grants.of_home(owner, home_id).grants]
    grants.revoke(owner, home_id, grant, None)
    newer = _sealed(service, keyring, gate_world.estate_id, now)

    verifier = OfflineVerifier(
        GateRepository().get(gate_world.gate_id), public_keys(keyring), EventBuffer(tmp_path / "g.sqlite")
    )
    verifier.load_snapshot(newer)
    with pytest.raises(SnapshotRejected) as refused:
        verifier.load_snapshot(older)
    assert refused.value.code == "rolled_back"
    code = current_code(tenant, ResidentSecretStore(protector).get(tenant), clock.now())
    assert verifier.qr_text(uuid.uuid4().hex, clock.now(), Direction.IN, code).outcome.value == "deny"
    assert verifier.qr_text(uuid.uuid4().hex, clock.now(), Direction.IN, pass_text).reason == "pass_revoked"
    verifier.load_snapshot(newer)  # the same snapshot again is no rollback


def _stored(estate_id: str) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    from gridgate.config import get_settings
    from gridgate.residents.estate_changes import snapshot_key

    try:
        boto3.client("s3").head_object(Bucket=get_settings().bucket, Key=snapshot_key(estate_id))
    except ClientError:
        return False
    return True


def test_a_face_withdrawal_and_a_revocation_reach_the_stored_snapshot_at_once(
    api, gate_world, sold_home, keyring, protector
):
    from chalicelib.bootstrap import build_api_services
    from gridgate.adapters.repositories import FaceTemplateRepository
    from gridgate.config import get_settings
    from gridgate.domain.model import FaceTemplate, Registry
    from gridgate.security.tokens import issue_token

    owner, tenant, home_id = sold_home
    FaceTemplateRepository().add(FaceTemplate(tenant, Registry.APP, 1, bytes(128 * 4), clock.now() - timedelta(days=1)))
    service = _snapshots(keyring, protector)
    service.publish(gate_world.estate_id, clock.now())
    assert _stored(gate_world.estate_id)

    withdrawn = api.http.delete("/faces/me", headers={"Authorization": f"Bearer {issue_token(tenant, ['resident'])}"})
    assert withdrawn.status_code == 200, withdrawn.body
    assert not _stored(gate_world.estate_id)  # no copy of the template is left in S3
    rebuilt = service.build(gate_world.estate_id, clock.now())
    assert rebuilt["people"][tenant]["templates"] == {}

    service.publish(gate_world.estate_id, clock.now())
    grants = build_api_services(get_settings(), keyring).grants
    (grant,) = [g.grant_id for g in grants.of_home(owner, home_id).grants]
    grants.revoke(owner, home_id, grant, None)
    assert not _stored(gate_world.estate_id)
    assert tenant not in service.build(gate_world.estate_id, clock.now())["people"]


def test_a_snapshot_is_valid_for_minutes_not_a_day(gate_world, keyring, protector):
    from datetime import datetime

    document = _snapshots(keyring, protector).build(gate_world.estate_id, clock.now())
    validity = datetime.fromisoformat(document["valid_until"]) - datetime.fromisoformat(document["generated_at"])
    assert validity <= timedelta(minutes=30)
