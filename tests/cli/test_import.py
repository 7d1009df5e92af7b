"""`gridgate import`: a registry export lands, bad rows are reported, re-import changes nothing,
a malformed file is refused whole."""

from __future__ import annotations

from pathlib import Path

from gridgate.adapters.repositories import PlaceRepository
from gridgate.adapters.tables import HomeTable, OwnershipTable, PersonTable
from gridgate.domain.id_numbers import check_character
from gridgate.domain.model import Place, PlaceKind
from gridgate_cli.commands import app


def _id_number(serial: int, sex: str) -> str:
    """A valid ID number born 1980-01-01 (the 17th digit's parity is the sex)."""
    order = f"{serial:02d}{1 if sex == 'M' else 2}"
    first17 = "320102" + "19800101" + order
    return first17 + check_character(first17)


def _export(directory: Path, *, bad_row: bool) -> Path:
    directory.mkdir()
    owner, tenant = _id_number(1, "M"), _id_number(2, "F")
    (directory / "homes.csv").write_text(
        "home_id,estate_id,building_id,unit,floor,room,floor_area_m2\n"
        "H-1,E-1,E-1-B1,1,5,0501,89.5\n" + ("H-2,E-404,E-1-B1,1,6,0601,70\n" if bad_row else ""),
        encoding="utf-8",
    )
    (directory / "persons.csv").write_text(
        "id_number,name,sex,birth_date,registries,registered_home_id,phone,key_groups\n"
        f"{owner},Zhang Wei,M,1980-01-01,app;population,H-1,13800000000,\n"
        f"{tenant},Liu Yang,F,1980-01-01,population,H-1,,\n",
        encoding="utf-8",
    )
    (directory / "ownership.csv").write_text(
        f"owner_id_number,home_id,since,until\n{owner},H-1,2015-06-01,\n", encoding="utf-8"
    )
    return directory


def _places() -> None:
    repo = PlaceRepository()
    repo.add(Place("G-1", PlaceKind.GRID, "Grid 1", None, {}))
    repo.add(Place("E-1", PlaceKind.ESTATE, "Plum Garden", "G-1", {PlaceKind.GRID: "G-1"}))
    repo.add(Place("E-1-B1", PlaceKind.BUILDING, "Building 1", "E-1", {PlaceKind.GRID: "G-1", PlaceKind.ESTATE: "E-1"}))


def test_import_reports_bad_rows_and_reimport_changes_nothing(runner, clean_tables, tmp_path):
    _places()
    export = _export(tmp_path / "export", bad_row=True)
    errors = tmp_path / "rejected"
    first = runner.invoke(app, ["import", str(export), "--errors", str(errors)])
    assert first.exit_code == 0, first.output
    assert "已拒绝 homes.csv 第 3 行：未知的小区 “E-404”" in first.output
    assert (errors / "homes.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("H-2,E-404,")
    assert (PersonTable.count(), HomeTable.count(), OwnershipTable.count()) == (2, 1, 1)

    again = runner.invoke(app, ["import", str(export), "--strict"])
    assert again.exit_code == 1  # --strict: the bad row is still there
    assert "0 处变更" in again.output
    assert (PersonTable.count(), HomeTable.count(), OwnershipTable.count()) == (2, 1, 1)


def test_a_malformed_file_is_refused_and_nothing_is_written(runner, clean_tables, tmp_path):
    _places()
    export = _export(tmp_path / "export", bad_row=False)
    (export / "ownership.csv").write_text("owner,home\nx,y\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(export)])
    assert result.exit_code == 1
    assert "ownership.csv" in result.output and "未导入任何数据" in result.output
    assert PersonTable.count() == 0 and HomeTable.count() == 0


def test_import_needs_an_existing_directory(runner, tmp_path):
    result = runner.invoke(app, ["import", str(tmp_path / "missing")])
    assert result.exit_code == 2


def test_rejected_rows_come_back_as_a_folder_to_correct_and_import_again(runner, clean_tables, tmp_path):
    """--errors writes the bad rows with their columns and a reason; fixed, that folder imports."""
    _places()
    export = _export(tmp_path / "export", bad_row=True)
    rejected = tmp_path / "rejected"
    assert runner.invoke(app, ["import", str(export), "--errors", str(rejected)]).exit_code == 0
    homes = (rejected / "homes.csv").read_bytes()
    assert homes.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows Chinese
    header, row = homes.decode("utf-8-sig").splitlines()
    assert header == "home_id,estate_id,building_id,unit,floor,room,floor_area_m2,rejected_code,rejected_because"
    assert row == "H-2,E-404,E-1-B1,1,6,0601,70,unknown_estate,第 3 行：未知的小区 “E-404”"
    assert (rejected / "persons.csv").exists() and (rejected / "ownership.csv").exists()  # a complete export

    (rejected / "homes.csv").write_text(homes.decode("utf-8-sig").replace("E-404", "E-1"), encoding="utf-8-sig")
    fixed = runner.invoke(app, ["import", str(rejected), "--strict"])
    assert fixed.exit_code == 0, fixed.output
    assert HomeTable.count() == 2


def test_a_gb18030_export_imports_with_encoding(runner, clean_tables, tmp_path):
    _places()
    export = _export(tmp_path / "export", bad_row=False)
    persons = (
        (export / "persons.csv").read_text(encoding="utf-8").replace("Zhang Wei", "张伟").replace("Liu Yang", "刘洋")
    )
    (export / "persons.csv").write_bytes(persons.encode("gb18030"))
    refused = runner.invoke(app, ["import", str(export)])
    assert refused.exit_code == 1 and "gb18030" in refused.output
    done = runner.invoke(app, ["import", str(export), "--encoding", "gb18030"])
    assert done.exit_code == 0, done.output
    assert PersonTable.count() == 2
    unknown = runner.invoke(app, ["import", str(export), "--encoding", "klingon"])
    assert unknown.exit_code == 1 and "klingon" in unknown.output


def test_lang_en_words_the_bad_rows_in_english_and_keeps_their_codes(runner, clean_tables, tmp_path):
    """``--lang en`` (or an English LANG): the report and the bad-rows file in English; the
    reason code column is the same in every language, so either file imports again."""
    _places()
    export = _export(tmp_path / "export", bad_row=True)
    rejected = tmp_path / "rejected"
    result = runner.invoke(app, ["--lang", "en", "import", str(export), "--errors", str(rejected)])
    assert result.exit_code == 0, result.output
    assert "Rejected homes.csv line 3: unknown estate “E-404”" in result.output
    row = (rejected / "homes.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert row == "H-2,E-404,E-1-B1,1,6,0601,70,unknown_estate,line 3: unknown estate “E-404”"


def test_the_language_comes_from_lang_then_the_environment(monkeypatch):
    from gridgate_cli.commands import cli_locale

    assert cli_locale(["--lang", "en", "import"], {}) == "en"
    assert cli_locale(["import", "--lang=zh-CN"], {"LANG": "en_US.UTF-8"}) == "zh-CN"
    assert cli_locale([], {"GRIDGATE_LOCALE": "en", "LANG": "zh_CN.UTF-8"}) == "en"
    assert cli_locale([], {"LANG": "en_GB.UTF-8"}) == "en"
    assert cli_locale([], {"LANG": "C.UTF-8"}) == "zh_CN"  # names no language: Chinese first
    assert cli_locale([], {}) == "zh_CN"
