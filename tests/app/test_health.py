"""`GET /health` (issue 17, item 5): unauthenticated, checks what it says, 200 or 503, no secrets."""

from __future__ import annotations

import json
import os

from gridgate.config import get_settings


def test_health_answers_200_with_each_check_and_nothing_secret(client):
    answer = client.http.get("/health")
    assert answer.status_code == 200, answer.body
    assert answer.headers["Cache-Control"] == "no-store"
    body = json.loads(answer.body)
    assert body["status"] == "ok" and set(body) == {"status", "checks", "at"}
    assert set(body["checks"]) == {"table", "keyring", "clock"}
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
    text = answer.body.decode()
    settings = get_settings()
    for secret_or_map in (
        settings.table_prefix + "-",
        str(settings.keyring_file),
        os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", "-"),
    ):
        assert secret_or_map not in text


def test_an_unloadable_keyring_makes_health_503_and_names_only_that_check(client, monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDGATE_KEYRING_FILE", str(tmp_path / "gone.json"))
    get_settings.cache_clear()
    try:
        answer = client.http.get("/health")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert answer.status_code == 503
    body = json.loads(answer.body)
    assert body["code"] == "unavailable" and answer.headers["Content-Type"].startswith("application/problem+json")
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "table": True,
        "keyring": False,
        "clock": True,
    }
    assert "gone.json" not in answer.body.decode() and "FileNotFoundError" not in answer.body.decode()


def test_an_unreachable_table_makes_health_503(client, monkeypatch):
    from gridgate.adapters.tables import PlaceTable

    def unreachable(*args, **kwargs):
        from pynamodb.exceptions import GetError

        raise GetError("could not connect")

    monkeypatch.setattr(PlaceTable, "get", unreachable)
    answer = client.http.get("/health")
    assert answer.status_code == 503 and json.loads(answer.body)["checks"]["table"]["ok"] is False
