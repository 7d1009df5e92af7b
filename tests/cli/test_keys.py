"""`gridgate keys`: first keyring, rotation that keeps old passes verifiable, listing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import boto3

from gridgate import clock
from gridgate.config import get_settings
from gridgate.security.keyring import Keyring, load_keyring
from gridgate.security.signed_passes import (
    PassClaims,
    new_pass_id,
    public_keys,
    sign_pass,
    verify_pass_text,
)
from gridgate_cli.commands import app


def _claims(keyring: Keyring, now: datetime) -> PassClaims:
    return PassClaims(new_pass_id(), "E-0001", "H-1", now, now + timedelta(hours=24), keyring.active_signing_key_id)


def test_init_then_rotate_keeps_passes_of_the_old_key_verifying(runner, settings_env, tmp_path):
    settings_env(GRIDGATE_KEYRING_FILE=str(tmp_path / "keyring.json"))
    first = runner.invoke(app, ["keys", "init"])
    assert first.exit_code == 0, first.output
    before = load_keyring(get_settings())
    assert before.active_signing_key_id == "k1"
    assert (tmp_path / "keyring.json").stat().st_mode & 0o777 == 0o600

    now = clock.now().replace(microsecond=0)
    old_pass = sign_pass(_claims(before, now), before)

    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    after = load_keyring(get_settings())
    assert after.active_signing_key_id == "k2"
    assert after.signing_keys["k1"] == before.signing_keys["k1"]
    assert (after.field_key, after.id_hash_key) == (before.field_key, before.id_hash_key)
    # A pass signed before the rotation still verifies; a new one carries the new key id.
    assert verify_pass_text(old_pass, public_keys(after), "E-0001", now).key_id == "k1"
    new_pass = sign_pass(_claims(after, now), after)
    assert verify_pass_text(new_pass, public_keys(after), "E-0001", now).key_id == "k2"

    listing = runner.invoke(app, ["keys", "list"])
    assert listing.exit_code == 0 and "k1" in listing.output and "k2" in listing.output


def test_init_refuses_to_overwrite_a_keyring(runner, settings_env, tmp_path):
    path = tmp_path / "keyring.json"
    original = Keyring.generate().to_json()
    path.write_text(original)
    settings_env(GRIDGATE_KEYRING_FILE=str(path))
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 1
    assert "已存在密钥环" in result.output and "gridgate keys rotate" in result.output
    english = runner.invoke(app, ["--lang", "en", "keys", "init"])
    assert english.exit_code == 1 and "A keyring is already stored" in english.output
    assert path.read_text() == original


def test_keyring_in_secrets_manager_created_empty_as_infra_does(runner, settings_env, moto_server):
    secret_id = f"gridgate/clitest-{uuid.uuid4().hex[:6]}/keyring"
    # botocore's variable for this service is AWS_ENDPOINT_URL_SECRETS_MANAGER (service id "Secrets Manager").
    settings_env(GRIDGATE_KEYRING_SECRET_ID=secret_id, AWS_ENDPOINT_URL_SECRETS_MANAGER=moto_server.url)
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=secret_id)  # no value yet
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 0
    stored = load_keyring(get_settings())
    assert stored.active_signing_key_id == "k2" and set(stored.signing_keys) == {"k1", "k2"}
    assert runner.invoke(app, ["keys", "init"]).exit_code == 1


def test_every_command_has_help(runner):
    for command in (
        ["--help"],
        ["keys", "--help"],
        ["keys", "rotate", "--help"],
        ["keys", "init", "--help"],
        ["stats", "export", "--help"],
        ["flow", "--help"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output
