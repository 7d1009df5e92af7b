from datetime import date

from gridgate.adapters.repositories import OwnershipRepository, PersonRepository
from gridgate.adapters.tables import PersonTable
from gridgate.domain.model import Ownership, Person, Registry


def test_person_round_trip_keeps_identifiers_sealed(moto_server, protector):
    repo = PersonRepository(protector)
    person = Person(
        "P-smoke-1", "张三", "32010219800101123X", frozenset({Registry.APP}), 1980, "M", phone="13800000000"
    )
    repo.add(person)
    stored = PersonTable.get("P-smoke-1")
    assert b"32010219800101123X" not in stored.id_enc and "123X" not in stored.id_hash
    assert repo.get("P-smoke-1") == Person(**{**person.__dict__, "version": 1})
    assert repo.find_id_by_id_number("32010219800101123x") == "P-smoke-1"


def test_ownership_current(moto_server):
    repo = OwnershipRepository()
    repo.add(Ownership("P-own-1", "H-own-1", "E-1", date(2020, 1, 1)))
    assert [o.home_id for o in repo.current_for_person("P-own-1", date(2026, 1, 1))] == ["H-own-1"]
    repo.end("P-own-1", "H-own-1", date(2025, 6, 1))
    assert repo.current_for_person("P-own-1", date(2026, 1, 1)) == []
