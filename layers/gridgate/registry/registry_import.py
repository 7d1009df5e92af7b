"""Import a data-center registry export (CSV) into the registries, validated and idempotent.

The export is a directory with ``persons.csv``, ``homes.csv`` and ``ownership.csv`` and,
optionally, ``faces.csv`` (population-registry face templates as dlib encodings, stored as the
LEGACY encoder's) and ``face_photos.csv`` (population-registry face PHOTOS, files under the
export's ``photos/`` folder: each is encoded during validation by the CURRENT encoder, exactly as
an app enrolment is, and only the encoding is kept: the photo is never written anywhere). A photo
replaces the person's legacy encoding from an earlier import, which is how the population
registry migrates to the current encoder (issue 12). docs/registry-import.md defines every column. The import runs in two phases:

1. **Validate everything, write nothing.** Each file must be UTF-8 CSV with exactly the
   documented header; otherwise the whole import is refused (`ImportRefused`) before a single
   write, whatever the other files hold. Then every row is checked (ID-number check digit,
   dates, floor area, references to homes, estates and people, duplicates) and each bad row is
   reported with its file, line and reason.
2. **Upsert the good rows.** People are matched by the keyed hash of their ID number, homes by
   id, ownership by (person, home), faces by (person, source). Each is compared with what is
   stored and written only when something differs, so importing the same files again changes
   nothing. Every write is audited (who, what, which file and line; never the personal data).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import math
import struct
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import TypeVar

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.compliance_records import ConsentRepository, FaceOptOutRepository
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.registry_records import RegistryRecords, Upserted
from gridgate.adapters.repositories import (
    FaceTemplateRepository,
    OwnershipRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.clock import now as city_now
from gridgate.compliance.rules import check_consent
from gridgate.domain.id_numbers import birth_date, id_number_problem, sex_of
from gridgate.domain.legal_records import POPULATION_REGISTRY_STATUTE, FaceConsent, LegalBasis, Matching, opted_out
from gridgate.domain.model import (
    LEGACY_ENCODER_ID,
    FaceTemplate,
    Home,
    KeyGroup,
    Ownership,
    Person,
    PlaceKind,
    Registry,
)
from gridgate.i18n import refusal_text, translator
from gridgate.refusals import CodedError, Invalid
from gridgate.residents.estate_changes import estate_changed
from gridgate.security.identifiers import IdentifierProtector, normalise_id_number

#: The files of an export and their exact columns (any order). faces.csv is optional.
COLUMNS: dict[str, tuple[str, ...]] = {
    "persons.csv": (
        "id_number",
        "name",
        "sex",
        "birth_date",
        "registries",
        "registered_home_id",
        "phone",
        "key_groups",
    ),
    "homes.csv": ("home_id", "estate_id", "building_id", "unit", "floor", "room", "floor_area_m2"),
    "ownership.csv": ("owner_id_number", "home_id", "since", "until"),
    "faces.csv": ("id_number", "encoding_base64", "consent_at"),
    "face_photos.csv": ("id_number", "photo_file", "consent_at"),
}
#: Where face_photos.csv's files are, inside the export directory.
PHOTO_FOLDER = "photos"
REQUIRED_FILES = ("persons.csv", "homes.csv", "ownership.csv")
MIN_FLOOR_AREA_M2, MAX_FLOOR_AREA_M2 = 5.0, 2000.0
ENCODING_BYTES = 128 * 4  # face_recognition: 128 float32, little-endian
_LIST_SEPARATOR = ";"
_Name = TypeVar("_Name", bound=Enum)  # the enum a list column's names come from
_MAX_FILE_BYTES = 512 * 1024 * 1024


class ImportRefused(Invalid):
    """A file of the export is unusable as a whole; nothing was written. `reason` is a code
    (worded by the catalogue's ``error.import_refused.<reason>``)."""

    def __init__(self, file: str, reason: str, **values: object) -> None:
        super().__init__("import_refused", file=file, reason=reason, **values)
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class RowError:
    """A rejected row: where, the machine-readable `reason` and the `values` its words are filled
    with (the catalogue's ``registry.reject.<reason>``, in the reader's language)."""

    file: str
    line: int
    reason: str
    values: dict[str, object] = field(default_factory=dict)

    def text(self, locale: str | None = None) -> str:
        """Why the row was rejected, for a person."""
        t = translator(locale)
        values = {key: ", ".join(map(str, v)) if isinstance(v, list) else v for key, v in self.values.items()}
        if "face" in values:  # a photo the face check refused: that refusal's own words
            values["face"] = refusal_text(CodedError(str(values["face"])), t.locale)
        return t(f"registry.reject.{self.reason}", **values)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text()}"


@dataclass
class ImportReport:
    """What an import did, per entity ("person", "home", "ownership", "face")."""

    import_id: str
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    #: population faces not stored because the person opted out of face (docs/privacy.md)
    opted_out: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)  # per file
    errors: list[RowError] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())

    def summary(self) -> dict:
        return {
            "import_id": self.import_id,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "opted_out": dict(self.opted_out),
            "rejected": dict(self.rejected),
        }


# --- phase 1a: files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


#: The columns `gridgate import --errors` adds to the rejected rows it writes back out: the
#: machine-readable reason codes and the reasons in the staff's words. An import ignores both, so
#: staff correct those files and import them again as they are.
REASON_CODE_COLUMN = "rejected_code"
REASON_COLUMN = "rejected_because"
ADDED_COLUMNS = (REASON_CODE_COLUMN, REASON_COLUMN)


def read_export_file(
    path: Path, columns: tuple[str, ...], encoding: str = "utf-8"
) -> tuple[list[_Row], list[RowError]]:
    """The data rows of one export file (with their physical line numbers) and rows of the wrong
    width. Raises `ImportRefused` when the file as a whole is not the documented CSV.

    `encoding` is the file's: UTF-8 by default (a byte-order mark is skipped); exports from
    older city systems are often GB18030/GBK, which staff name with ``--encoding gb18030``."""
    name = path.name
    raw = path.read_bytes()
    if len(raw) > _MAX_FILE_BYTES:
        raise ImportRefused(name, "too_large", mb=_MAX_FILE_BYTES // 2**20)
    if not raw.strip():
        raise ImportRefused(name, "empty")
    if b"\x00" in raw:
        raise ImportRefused(name, "binary")
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ImportRefused(name, "wrong_encoding", encoding=encoding, offset=exc.start) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [column.strip() for column in next(reader)]
        rows, errors = [], []
        added = sorted((header.index(c) for c in ADDED_COLUMNS if c in header), reverse=True)
        for at in added:
            del header[at]
        _check_header(name, header, columns)
        line = reader.line_num
        for values in reader:
            first_line, line = line + 1, reader.line_num
            if added and len(values) == len(header) + len(added):
                for at in added:
                    del values[at]
            if not any(value.strip() for value in values):
                continue  # blank lines are not rows
            if len(values) != len(header):
                errors.append(
                    RowError(name, first_line, "wrong_width", {"expected": len(header), "found": len(values)})
                )
                continue
            rows.append(_Row(first_line, {h: v.strip() for h, v in zip(header, values)}))
    except csv.Error:
        raise ImportRefused(name, "bad_csv", line=reader.line_num) from None
    return rows, errors


def _check_header(name: str, header: list[str], columns: tuple[str, ...]) -> None:
    duplicated = sorted({c for c in header if header.count(c) > 1})
    missing = [c for c in columns if c not in header]
    unexpected = [c for c in header if c not in columns]
    if duplicated or missing or unexpected:
        raise ImportRefused(
            name,
            "wrong_header",
            missing=missing or "-",
            unexpected=unexpected or "-",
            duplicated=duplicated or "-",
            expected=list(columns),
        )


# --- phase 1b: rows ---------------------------------------------------------------------------------


class _Reject(Exception):
    """A row's reason for rejection: a code and the values its words need."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def _date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Reject("bad_date", column=column, value=text) from None


def _id_number(text: str, column: str) -> str:
    number = normalise_id_number(text)
    problem = id_number_problem(number)
    if problem:
        raise _Reject(problem, column=column)
    return number


def _names(text: str, allowed: type[_Name], column: str) -> frozenset[_Name]:
    values = [v.strip() for v in text.split(_LIST_SEPARATOR) if v.strip()]
    try:
        return frozenset(allowed(v) for v in values)
    except ValueError:
        choices = ", ".join(m.value for m in allowed)
        raise _Reject("bad_choice", column=column, value=text, choices=choices) from None


@dataclass
class _Parsed:
    """Validated rows by key, with the line each came from."""

    homes: dict[str, tuple[int, Home]] = field(default_factory=dict)
    persons: dict[str, tuple[int, Person]] = field(default_factory=dict)  # by ID number
    ownerships: dict[tuple[str, str], tuple[int, str, str, date, date | None]] = field(default_factory=dict)
    # by ID number: (line, encoding, consent, encoder id, file)
    faces: dict[str, tuple[int, bytes, datetime, str, str]] = field(default_factory=dict)


class _Validator:
    """Row checks that need the stored registries: known estates, buildings, homes and people."""

    def __init__(self, persons: PersonRepository, records: RegistryRecords, report: ImportReport) -> None:
        self._persons = persons
        self._records = records
        self._report = report
        self._places = PlaceRepository()
        self._place_cache: dict[str, object] = {}
        self._stored_homes: dict[str, Home | None] = {}
        self._stored_people: dict[str, str | None] = {}

    def reject(self, file: str, line: int, reason: str, values: dict[str, object]) -> None:
        self._report.errors.append(RowError(file, line, reason, values))
        self._report.rejected[file] += 1

    def each(self, file: str, rows: list[_Row], check: Callable[[_Row], None]) -> None:
        for row in rows:
            try:
                check(row)
            except _Reject as exc:
                self.reject(file, row.line, exc.reason, exc.values)

    def place(self, place_id: str):
        if place_id not in self._place_cache:
            self._place_cache[place_id] = self._places.get(place_id)
        return self._place_cache[place_id]

    def stored_home(self, home_id: str) -> Home | None:
        if home_id not in self._stored_homes:
            self._stored_homes[home_id] = self._records.home(home_id)
        return self._stored_homes[home_id]

    def stored_person_id(self, id_number: str) -> str | None:
        if id_number not in self._stored_people:
            self._stored_people[id_number] = self._persons.find_id_by_id_number(id_number)
        return self._stored_people[id_number]


def _validate(files: dict[str, list[_Row]], validator: _Validator, parsed: _Parsed, directory: Path) -> None:
    def home_row(row: _Row) -> None:
        v = row.values
        home_id = v["home_id"]
        if not home_id or len(home_id) > 64 or "#" in home_id:
            raise _Reject("bad_home_id", value=home_id)
        if home_id in parsed.homes:
            raise _Reject("duplicate_home_id", value=home_id, first_line=parsed.homes[home_id][0])
        estate = validator.place(v["estate_id"])
        if estate is None or estate.kind != PlaceKind.ESTATE:
            raise _Reject("unknown_estate", value=v["estate_id"])
        building = validator.place(v["building_id"])
        if building is None or building.kind != PlaceKind.BUILDING:
            raise _Reject("unknown_building", value=v["building_id"])
        if building.parent_id != estate.place_id:
            raise _Reject("building_not_in_estate", building=building.place_id, estate=estate.place_id)
        if not v["unit"] or not v["room"]:
            raise _Reject("unit_room_empty")
        try:
            floor = int(v["floor"])
        except ValueError:
            raise _Reject("bad_floor", value=v["floor"], low=-5, high=200) from None
        if not -5 <= floor <= 200:
            raise _Reject("bad_floor", value=floor, low=-5, high=200)
        try:
            area = float(v["floor_area_m2"])
        except ValueError:
            area = math.nan
        if not MIN_FLOOR_AREA_M2 <= area <= MAX_FLOOR_AREA_M2:
            raise _Reject(
                "bad_floor_area", value=v["floor_area_m2"], low=f"{MIN_FLOOR_AREA_M2:g}", high=f"{MAX_FLOOR_AREA_M2:g}"
            )
        grid_id = estate.ancestor(PlaceKind.GRID)
        home = Home(
            home_id, estate.place_id, building.place_id, v["unit"], floor, v["room"], round(area, 2), grid_id or ""
        )
        parsed.homes[home_id] = (row.line, home)

    def known_home(home_id: str) -> bool:
        return home_id in parsed.homes or validator.stored_home(home_id) is not None

    def person_row(row: _Row) -> None:
        v = row.values
        number = _id_number(v["id_number"], "id_number")
        if number in parsed.persons:
            raise _Reject("duplicate_id_number", first_line=parsed.persons[number][0])
        name = v["name"]
        if not name or len(name) > 50:
            raise _Reject("bad_name", max=50)
        if v["sex"] not in ("M", "F"):
            raise _Reject("bad_sex", value=v["sex"])
        if v["sex"] != sex_of(number):
            raise _Reject("sex_mismatch")
        if _date(v["birth_date"], "birth_date") != birth_date(number):
            raise _Reject("birth_date_mismatch")
        registries = _names(v["registries"], Registry, "registries")
        if not registries:
            raise _Reject("no_registry")
        home_id = v["registered_home_id"] or None
        if home_id and not known_home(home_id):
            raise _Reject("unknown_home", column="registered_home_id", value=home_id)
        phone = v["phone"] or None
        if phone and not (len(phone) == 11 and phone.isascii() and phone.isdigit() and phone[0] == "1"):
            raise _Reject("bad_phone", value=phone)
        key_groups = _names(v["key_groups"], KeyGroup, "key_groups")
        person = Person(
            person_id="",
            name=name,
            id_number=number,
            registries=registries,
            birth_year=birth_date(number).year,
            sex=v["sex"],
            registered_home_id=home_id,
            phone=phone,
            key_groups=key_groups,
        )
        parsed.persons[number] = (row.line, person)

    def known_person(number: str) -> bool:
        return number in parsed.persons or validator.stored_person_id(number) is not None

    def ownership_row(row: _Row) -> None:
        v = row.values
        number = _id_number(v["owner_id_number"], "owner_id_number")
        if not known_person(number):
            raise _Reject("unknown_person", column="owner_id_number")
        home_id = v["home_id"]
        if not known_home(home_id):
            raise _Reject("unknown_home", column="home_id", value=home_id)
        since = _date(v["since"], "since")
        until = _date(v["until"], "until") if v["until"] else None
        if until is not None and until <= since:
            raise _Reject("until_before_since")
        key = (number, home_id)
        if key in parsed.ownerships:
            raise _Reject("duplicate_ownership", value=home_id, first_line=parsed.ownerships[key][0])
        parsed.ownerships[key] = (row.line, number, home_id, since, until)

    def face_person(row: _Row, file: str) -> tuple[str, datetime]:
        v = row.values
        number = _id_number(v["id_number"], "id_number")
        if not known_person(number):
            raise _Reject("unknown_person", column="id_number")
        if number in parsed.faces:
            first_line, *_, first_file = parsed.faces[number]
            raise _Reject("duplicate_face", first_line=first_line, first_file=first_file)
        try:
            consent_at = datetime.fromisoformat(v["consent_at"])
        except ValueError:
            raise _Reject("bad_consent_at", value=v["consent_at"]) from None
        if consent_at.tzinfo is None:
            raise _Reject("bad_consent_at", value=v["consent_at"])
        return number, consent_at.astimezone(UTC)

    def face_row(row: _Row) -> None:
        number, consent_at = face_person(row, "faces.csv")
        try:
            encoding = base64.b64decode(row.values["encoding_base64"], validate=True)
        except ValueError:
            raise _Reject("encoding_not_base64") from None
        if len(encoding) != ENCODING_BYTES or not all(map(math.isfinite, struct.unpack("<128f", encoding))):
            raise _Reject("bad_encoding", bytes=ENCODING_BYTES)
        parsed.faces[number] = (row.line, encoding, consent_at, LEGACY_ENCODER_ID, "faces.csv")

    def face_photo_row(row: _Row) -> None:
        number, consent_at = face_person(row, "face_photos.csv")
        name = row.values["photo_file"]
        folder = (directory / PHOTO_FOLDER).resolve()
        path = (folder / name).resolve()
        if not name or path.parent != folder:
            raise _Reject("bad_photo_file", value=name, folder=PHOTO_FOLDER)
        if not path.is_file():
            raise _Reject("photo_missing", value=name, folder=PHOTO_FOLDER)
        # The face stack loads on first use only: exports without photos need no numpy or models.
        from gridgate.faces.pipeline import probe_face
        from gridgate.faces.rejections import FaceInputRejected
        from gridgate.residents.face_enrolment import ENROLMENT_POLICY

        try:
            probe = probe_face(path.read_bytes(), ENROLMENT_POLICY)
        except FaceInputRejected as rejected:
            raise _Reject("photo_refused", value=name, face=rejected.code) from None
        encoding = probe.encoding.astype("<f4").tobytes()
        parsed.faces[number] = (row.line, encoding, consent_at, probe.encoder_id, "face_photos.csv")

    validator.each("homes.csv", files["homes.csv"], home_row)
    validator.each("persons.csv", files["persons.csv"], person_row)
    validator.each("ownership.csv", files["ownership.csv"], ownership_row)
    validator.each("faces.csv", files.get("faces.csv", []), face_row)
    validator.each("face_photos.csv", files.get("face_photos.csv", []), face_photo_row)


# --- phase 2: writes ------------------------------------------------------------------------------


def _person_id_for(protector: IdentifierProtector, id_number: str) -> str:
    """A new person's id: derived from the keyed hash, so a re-import finds the same id and the id
    reveals nothing about the ID number."""
    return "R" + protector.lookup_hash(id_number)[:15].upper()


class RegistryImport:
    """Runs one import of an export directory on behalf of `actor` (audited)."""

    def __init__(
        self, protector: IdentifierProtector, actor: str = "data-center", audit: AuditLog | None = None
    ) -> None:
        self._protector = protector
        self._actor = actor
        self._audit = audit or AuditLog()
        self._persons = PersonRepository(protector)
        self._records = RegistryRecords(self._persons)
        self._ownerships = OwnershipRepository()
        self._faces = FaceTemplateRepository()
        self._consents = ConsentRepository()
        self._opt_outs = FaceOptOutRepository()
        self._grants = GrantRepository()
        self._places = PlaceRepository()

    def run(self, directory: Path | str, *, request_id: str | None = None, encoding: str = "utf-8") -> ImportReport:
        directory = Path(directory)
        files, row_errors, digest = self._read_files(directory, encoding)
        report = ImportReport(import_id=digest)
        for error in row_errors:
            report.errors.append(error)
            report.rejected[error.file] += 1
        parsed = _Parsed()
        _validate(files, _Validator(self._persons, self._records, report), parsed, directory)
        report.errors.sort(key=lambda e: (list(COLUMNS).index(e.file), e.line))
        self._request_id = request_id
        self._report = report
        touched_estates: dict[str, set[str]] = defaultdict(set)  # estate -> people changed there
        for line, home in parsed.homes.values():
            self._upsert_home(line, home)
        person_ids = {number: self._upsert_person(line, person) for number, (line, person) in parsed.persons.items()}

        def resolve(number: str) -> str:
            """The person a validated row names: imported just now or stored before (validation checked)."""
            person_id = person_ids.get(number) or self._persons.find_id_by_id_number(number)
            if person_id is None:  # the ID number itself stays out of the error (personal information)
                raise LookupError("a validated row names a person who is not stored")
            return person_id

        for line, number, home_id, since, until in parsed.ownerships.values():
            owner_id = resolve(number)
            if self._upsert_ownership(line, owner_id, home_id, since, until):
                touched_estates[self._home_estate(home_id, parsed)].add(owner_id)
        for number, (line, template, consent_at, encoder_id, file) in parsed.faces.items():
            person_id = resolve(number)
            if self._upsert_face(line, person_id, template, consent_at, encoder_id, file):
                for estate_id in self._estates_of(person_id):
                    touched_estates[estate_id].add(person_id)
        for estate_id in sorted(touched_estates):
            estate_changed(estate_id, touched_estates[estate_id], self._places)
        self._audit.record(
            self._actor,
            "registry_import.run",
            f"import#{digest}",
            request_id=request_id,
            detail={**report.summary(), "errors": len(report.errors), "directory": directory.name},
        )
        return report

    # -- files

    @staticmethod
    def _read_files(directory: Path, encoding: str = "utf-8") -> tuple[dict[str, list[_Row]], list[RowError], str]:
        if not directory.is_dir():
            raise ImportRefused(str(directory), "not_a_directory")
        files: dict[str, list[_Row]] = {}
        errors: list[RowError] = []
        digest = hashlib.sha256()
        for name, columns in COLUMNS.items():
            path = directory / name
            if not path.exists():
                if name in REQUIRED_FILES:
                    raise ImportRefused(name, "missing_file")
                continue
            rows, bad = read_export_file(path, columns, encoding)
            files[name] = rows
            errors.extend(bad)
            digest.update(name.encode() + b"\0" + path.read_bytes())
        return files, errors, digest.hexdigest()[:16]

    # -- upserts: compare, then write only what differs

    def _count(
        self, entity: str, outcome: str, subject: str, line: int, file: str, fields: list[str] | None = None
    ) -> None:
        getattr(self._report, outcome)[entity] += 1
        if outcome == "unchanged":
            return
        detail = {"import_id": self._report.import_id, "file": file, "line": line}
        if fields:
            detail["fields"] = fields
        self._audit.record(
            self._actor, f"registry_import.{entity}.{outcome}", subject, request_id=self._request_id, detail=detail
        )

    def _upsert_home(self, line: int, home: Home) -> None:
        self._counted(self._records.upsert_home(home), "home", f"home#{home.home_id}", line, "homes.csv")

    def _upsert_person(self, line: int, person: Person) -> str:
        grid_id = self._registered_grid(person.registered_home_id)
        new_id = _person_id_for(self._protector, person.id_number)
        person_id, done = self._records.upsert_person(person, new_id, grid_id)
        self._counted(done, "person", f"person#{person_id}", line, "persons.csv")
        return person_id

    def _registered_grid(self, home_id: str | None) -> str | None:
        place = self._records.home_place(home_id) if home_id else None
        return place[1] if place else None

    def _upsert_ownership(self, line: int, person_id: str, home_id: str, since: date, until: date | None) -> bool:
        place = self._records.home_place(home_id)
        if place is None:  # validation checked the home; only a concurrent delete gets here
            raise LookupError("a validated ownership row names a home that is not stored")
        done = self._records.upsert_ownership(Ownership(person_id, home_id, place[0], since, until))
        self._counted(done, "ownership", f"ownership#{person_id}#{home_id}", line, "ownership.csv")
        return done.outcome != "unchanged"

    def _counted(self, done: Upserted, entity: str, subject: str, line: int, file: str) -> None:
        self._count(entity, done.outcome, subject, line, file, done.fields or None)

    def _upsert_face(
        self, line: int, person_id: str, encoding: bytes, consent_at: datetime, encoder_id: str, file: str
    ) -> bool:
        subject = f"face#{person_id}"
        if opted_out(self._opt_outs.for_person(person_id), self._consents.for_person(person_id)):
            self._count("face", "opted_out", subject, line, file)
            return False
        template = FaceTemplate(person_id, Registry.POPULATION, 0, encoding, consent_at, encoder=encoder_id)
        stored = [
            t for t in self._faces.for_person(person_id) if t.source == Registry.POPULATION and t.template_no == 0
        ]
        if stored and (stored[0].encoding, stored[0].consent_at, stored[0].encoder) == (
            encoding,
            consent_at,
            encoder_id,
        ):
            self._count("face", "unchanged", subject, line, file)
            return False
        self._faces.add(template)
        self._record_statutory_basis(person_id)
        self._count("face", "updated" if stored else "created", subject, line, file)
        return True

    def _record_statutory_basis(self, person_id: str) -> None:
        """A population-registry face is held by statute, not by consent: its record names the
        statute (PIPL Art. 13 (3)); one record per person while none is in force."""
        now = city_now()
        held = self._consents.for_person(person_id)
        if any(c.basis == LegalBasis.STATUTE and c.in_force(now) for c in held):
            return
        record = FaceConsent(
            person_id=person_id,
            basis=LegalBasis.STATUTE,
            estates=frozenset(self._estates_of(person_id)),
            matching=Matching.CLOUD,
            notice_version="",
            given_at=now,
            statute=POPULATION_REGISTRY_STATUTE,
        )
        check_consent(record, birth_year=0, at=now)
        self._consents.add(record)

    def _home_estate(self, home_id: str, parsed: _Parsed) -> str:
        if home_id in parsed.homes:
            return parsed.homes[home_id][1].estate_id
        place = self._records.home_place(home_id)
        if place is None:
            raise LookupError("a validated row names a home that is not stored")
        return place[0]

    def _estates_of(self, person_id: str) -> set[str]:
        """Estates whose face gallery may hold the person: owned homes and active grants."""
        estates = {o.estate_id for o in self._ownerships.for_person(person_id)}
        return estates | {g.estate_id for g in self._grants.active_for_grantee(person_id)}


def import_registry_export(
    directory: Path | str,
    protector: IdentifierProtector,
    *,
    actor: str = "data-center",
    request_id: str | None = None,
    encoding: str = "utf-8",
) -> ImportReport:
    """Validate and import one export directory. Raises `ImportRefused` (writing nothing) when a
    file is malformed; otherwise returns the report (bad rows are in `report.errors`)."""
    return RegistryImport(protector, actor=actor).run(directory, request_id=request_id, encoding=encoding)


def write_rejected_rows(
    directory: Path | str, errors: list[RowError], out: Path | str, encoding: str = "utf-8", locale: str | None = None
) -> dict[str, int]:
    """Write the rejected rows back out as an export of their own, for staff to correct and
    import again: one file per export file (the same columns, plus `REASON_CODE_COLUMN` and
    `REASON_COLUMN`: the reason codes, and why in `locale`'s words; required files are written
    with their header even when none of their rows was rejected, so the folder is a complete
    export). Files are UTF-8 with a byte-order mark, which Excel needs to show Chinese. Rows of
    the wrong width are written as they were read. Returns rows per file."""
    directory, out = Path(directory), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = translator(locale)
    reasons: dict[str, dict[int, list[RowError]]] = {}
    for error in errors:
        reasons.setdefault(error.file, {}).setdefault(error.line, []).append(error)
    written = {}
    for name, columns in COLUMNS.items():
        wanted = reasons.get(name, {})
        if not wanted and name not in REQUIRED_FILES:
            continue
        raw_lines = {}
        if wanted and (directory / name).exists():
            text = (
                (directory / name)
                .read_bytes()
                .decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
            )
            reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
            header = next(reader, [])
            line = reader.line_num
            for values in reader:
                first_line, line = line + 1, reader.line_num
                if first_line in wanted:
                    by_name = dict(zip([h.strip() for h in header], values))
                    raw_lines[first_line] = (
                        [by_name.get(c, "") for c in columns]
                        if len(values) == len(header)
                        else (values + [""] * len(columns))[: len(columns)]
                    )
        with (out / name).open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow([*columns, *ADDED_COLUMNS])
            for line in sorted(wanted):
                codes = ";".join(error.reason for error in wanted[line])
                why = t(
                    "registry.reject.line",
                    line=line,
                    reasons=t("registry.reject.and").join(e.text(t.locale) for e in wanted[line]),
                )
                writer.writerow([*raw_lines.get(line, [""] * len(columns)), codes, why])
        written[name] = len(wanted)
    return written
