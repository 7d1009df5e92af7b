"""Registry import: bad rows reported and skipped, malformed files refused with nothing written,
re-imports change nothing, updates touch only what changed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import boto3
import numpy as np
import pytest

from gridgate import i18n
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.repositories import (
    FaceTemplateRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.adapters.tables import HomeTable, PersonTable
from gridgate.config import get_settings
from gridgate.domain.model import Registry
from gridgate.registry.registry_import import (
    COLUMNS,
    ImportRefused,
    import_registry_export,
)
from local_emulator.registry_export import write_sample_export

_WRITTEN_TABLES = ("persons", "homes", "ownerships", "face_templates", "audit_log", "places")


def _state() -> dict[str, list]:
    """Everything an import could write, item by item (places: for the gallery versions)."""
    client = boto3.client("dynamodb")
    state = {}
    for name in _WRITTEN_TABLES:
        items, request = [], {"TableName": get_settings().table_name(name)}
        while True:
            page = client.scan(**request)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        state[name] = sorted(items, key=repr)
    return state


@pytest.fixture(scope="module")
def seeded(moto_server):
    """A small city (the "writes nothing" checks read every item of six tables)."""
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.synthetic_city import build_city

    from .conftest import TODAY, reset_emulator

    reset_emulator(moto_server)
    city = build_city(150, seed=4, history_days=0, today=TODAY)
    return city, load_into_dynamodb(city, get_settings())


@pytest.fixture
def export(seeded, tmp_path):
    city, _ = seeded
    return write_sample_export(city, tmp_path / "export", seed=np.random.default_rng().integers(1 << 30))


def test_good_rows_land_bad_rows_are_reported(seeded, export, protector):
    city, _ = seeded
    report = import_registry_export(export.directory, protector, actor="tester")
    good = export.good_rows
    assert report.created == {
        "home": good["homes.csv"],
        "person": good["persons.csv"] - 1,
        "ownership": good["ownership.csv"],
        "face": good["faces.csv"],
    }
    assert report.updated == {"person": 1}  # the known person with a new phone number
    assert dict(report.rejected) == export.bad_rows
    reasons = [(e.file, e.line, e.reason, e.values) for e in report.errors]
    persons_lines = good["persons.csv"] + 1  # header + good rows
    assert reasons == [
        ("persons.csv", persons_lines + 1, "id_number_check_digit", {"column": "id_number"}),
        ("persons.csv", persons_lines + 2, "duplicate_id_number", {"first_line": 4}),
        ("persons.csv", persons_lines + 3, "bad_date", {"column": "birth_date", "value": "1990-02-30"}),
        ("homes.csv", good["homes.csv"] + 2, "bad_floor_area", {"value": "-12", "low": "5", "high": "2000"}),
        ("homes.csv", good["homes.csv"] + 3, "unknown_estate", {"value": "E99999"}),
        ("ownership.csv", good["ownership.csv"] + 2, "unknown_home", {"column": "home_id", "value": "NO-SUCH-HOME"}),
        ("ownership.csv", good["ownership.csv"] + 3, "until_before_since", {}),
        ("faces.csv", good["faces.csv"] + 2, "encoding_not_base64", {}),
    ]
    # what staff read, from the catalogue: Chinese by default, English on request
    by_reason = {e.reason: e for e in report.errors}
    assert by_reason["unknown_estate"].text() == "未知的小区 “E99999”"
    assert by_reason["unknown_estate"].text("en") == "unknown estate “E99999”"
    assert by_reason["bad_floor_area"].text("en") == "bad floor area “-12” (m², 5 to 2000)"
    # the good rows are there, sealed and linked
    rows = list(csv.DictReader((export.directory / "persons.csv").open(encoding="utf-8")))
    repo = PersonRepository(protector)
    person_id = repo.find_id_by_id_number(rows[0]["id_number"])
    person = repo.get(person_id)
    assert person.name == rows[0]["name"] and person.registered_home_id == rows[0]["registered_home_id"]
    assert PersonTable.get(person_id).registered_grid_id == HomeTable.get(rows[0]["registered_home_id"]).grid_id
    faces = FaceTemplateRepository().for_person(person_id)
    assert [(f.source, len(f.encoding)) for f in faces] == [(Registry.POPULATION, 512)]
    audit = [r.action for r in AuditLog().about(f"person#{person_id}")]
    assert audit == ["registry_import.person.created"]
    assert [r.detail["created"] for r in AuditLog().about(f"import#{report.import_id}")] == [dict(report.created)]
    assert "新居民" not in str([r.detail for r in AuditLog().about(f"person#{person_id}")])


def test_importing_the_same_files_again_changes_nothing(seeded, export, protector):
    first = import_registry_export(export.directory, protector)
    before = _state()
    again = import_registry_export(export.directory, protector)
    after = _state()
    assert again.changed == 0 and again.import_id == first.import_id
    # every valid row is unchanged the second time (rows an earlier test's random export already
    # stored were unchanged the first time too)
    valid_rows = sum(first.created.values()) + sum(first.updated.values()) + sum(first.unchanged.values())
    assert sum(again.unchanged.values()) == valid_rows
    assert again.errors == first.errors
    new_audit = [i for i in after["audit_log"] if i not in before["audit_log"]]
    assert [i["action"]["S"] for i in new_audit] == ["registry_import.run"]  # only the run itself
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}


def test_an_update_touches_only_what_changed(seeded, export, protector):
    city, _ = seeded
    import_registry_export(export.directory, protector)
    rows = list(csv.DictReader((export.directory / "persons.csv").open(encoding="utf-8")))
    known = rows[len(export.good_rows) and export.good_rows["persons.csv"] - 1]
    repo = PersonRepository(protector)
    person_id = repo.find_id_by_id_number(known["id_number"])
    item = PersonTable.get(person_id)
    item.update(actions=[PersonTable.qr_secret_enc.set(b"resident secret")])  # set by the app, not the registry
    version, registries = PersonTable.get(person_id).version, repo.get(person_id).registries
    known["phone"] = "13700000001"
    homes = list(csv.DictReader((export.directory / "homes.csv").open(encoding="utf-8")))
    HomeTable(home_id=homes[0]["home_id"]).update(actions=[HomeTable.granted_count.set(2)])
    homes[0]["floor_area_m2"] = "77.7"
    _rewrite(export.directory / "persons.csv", rows)
    _rewrite(export.directory / "homes.csv", homes)
    report = import_registry_export(export.directory, protector)
    assert report.updated == {"person": 1, "home": 1}
    stored = PersonTable.get(person_id)
    assert stored.version == version + 1 and stored.qr_secret_enc == b"resident secret"
    person = repo.get(person_id)
    assert person.phone == "13700000001" and person.registries == registries | {Registry.POPULATION}
    home = HomeTable.get(homes[0]["home_id"])
    assert home.floor_area_m2 == 77.7 and home.granted_count == 2
    changes = [r for r in AuditLog().about(f"person#{person_id}") if r.action == "registry_import.person.updated"]
    assert changes[-1].detail["fields"] == ["phone"]


def test_faces_and_ownership_refresh_the_estates_galleries(seeded, export, protector):
    homes = list(csv.DictReader((export.directory / "homes.csv").open(encoding="utf-8")))
    estate = homes[0]["estate_id"]
    before = PlaceRepository().gallery_version(estate)
    import_registry_export(export.directory, protector)
    assert PlaceRepository().gallery_version(estate) == before + 1


def _rewrite(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS[path.name])
        writer.writeheader()
        writer.writerows(rows)


def _rename_column(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("home_id", "house_id", 1), encoding="utf-8")


def _drop_column(path: Path) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    path.write_text("\n".join(",".join(r[:-1]) for r in rows) + "\n", encoding="utf-8")


def _extra_column(path: Path) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    path.write_text(
        "\n".join(",".join(r + ["x" if i else "notes"]) for i, r in enumerate(rows)) + "\n", encoding="utf-8"
    )


def _gbk(path: Path) -> None:
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _binary(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))


def _json(path: Path) -> None:
    path.write_text('[{"home_id": "H1", "estate_id": "E1"}]', encoding="utf-8")


def _broken_quote(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + '"E1-B1-U1-101,E1,"unterminated\n', encoding="utf-8")


def _missing(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    "file, damage, reason",
    [
        ("homes.csv", _rename_column, "wrong_header"),
        ("ownership.csv", _drop_column, "wrong_header"),
        ("persons.csv", _extra_column, "wrong_header"),
        ("persons.csv", _gbk, "wrong_encoding"),
        ("ownership.csv", _empty, "empty"),
        ("faces.csv", _binary, "binary"),
        ("homes.csv", _json, "wrong_header"),
        ("homes.csv", _broken_quote, "bad_csv"),
        ("persons.csv", _missing, "missing_file"),
    ],
)
def test_a_malformed_file_refuses_the_import_and_writes_nothing(seeded, export, protector, file, damage, reason):
    damage(export.directory / file)
    before = _state()
    with pytest.raises(ImportRefused) as refused:
        import_registry_export(export.directory, protector)
    assert (refused.value.file, refused.value.reason) == (file, reason)
    if damage is _rename_column:
        assert (refused.value.detail["missing"], refused.value.detail["unexpected"]) == (["home_id"], ["house_id"])
    assert "未导入任何数据" in i18n.refusal_text(refused.value)
    assert "nothing was imported" in i18n.refusal_text(refused.value, "en")
    assert _state() == before


def test_a_directory_that_is_not_one_is_refused(tmp_path, protector, moto_server):
    with pytest.raises(ImportRefused) as refused:
        import_registry_export(tmp_path / "nope", protector)
    assert refused.value.reason == "not_a_directory"
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_face_photos_are_encoded_on_import_by_the_current_encoder_and_not_kept(seeded, export, protector, testdata):
    """The population registry sends photos; the import keeps only the current encoder's vector,
    and the photo replaces a legacy encoding imported before."""
    from gridgate.domain.model import CURRENT_ENCODER_ID, LEGACY_ENCODER_ID

    first = import_registry_export(export.directory, protector)
    rows = list(csv.DictReader((export.directory / "faces.csv").open(encoding="utf-8")))
    known = [r for r in rows if len(r["encoding_base64"]) > 100][:2]
    person_id = PersonRepository(protector).find_id_by_id_number(known[0]["id_number"])
    assert [t.encoder for t in FaceTemplateRepository().for_person(person_id)] == [LEGACY_ENCODER_ID]

    photos = export.directory / "photos"
    photos.mkdir()
    shutil.copy(testdata / "faces/obama/obama.jpg", photos / "a.jpg")
    shutil.copy(testdata / "no_face/skimage_coffee.png", photos / "b.png")
    other = known[1]["id_number"]
    (export.directory / "face_photos.csv").write_text(
        "id_number,photo_file,consent_at\n"
        f"{known[0]['id_number']},a.jpg,2024-05-01T10:00:00+08:00\n"
        f"{other},b.png,2024-05-01T10:00:00+08:00\n"
        f"{other},../persons.csv,2024-05-01T10:00:00+08:00\n",
        encoding="utf-8",
    )
    (export.directory / "faces.csv").write_text("id_number,encoding_base64,consent_at\n", encoding="utf-8")
    report = import_registry_export(export.directory, protector)
    assert report.updated.get("face") == 1 and first.import_id != report.import_id
    reasons = [(e.reason, e.values) for e in report.errors if e.file == "face_photos.csv"]
    assert ("photo_refused", {"value": "b.png", "face": "no_face"}) in reasons, reasons
    assert ("bad_photo_file", {"value": "../persons.csv", "folder": "photos"}) in reasons, reasons
    refused = next(e for e in report.errors if e.reason == "photo_refused")
    assert refused.text() == "照片 “b.png” 不可用：图片中没有找到人脸。"
    (template,) = FaceTemplateRepository().for_person(person_id)
    assert (template.source, template.encoder, len(template.encoding)) == (Registry.POPULATION, CURRENT_ENCODER_ID, 512)
    stored = _state()
    assert not any("obama" in repr(items) for items in stored.values())  # neither the photo nor its name
