"""Shared test fixtures: one moto server on loopback per session, a throw-away keyring, testdata.

The environment is fixed before any gridgate or boto3 import so nothing can reach real AWS.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_KEYRING_DIR = Path(tempfile.mkdtemp(prefix="gridgate-test-keys-"))
os.environ.setdefault("GRIDGATE_STAGE", "test")
os.environ.setdefault("GRIDGATE_KEYRING_FILE", str(_KEYRING_DIR / "keyring.json"))
for _var, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(_var, _value)

from gridgate.security.keyring import Keyring  # noqa: E402

Path(os.environ["GRIDGATE_KEYRING_FILE"]).write_text(Keyring.generate().to_json())

# Every test client's local gateway answers unknown paths as the deployed gateway is configured to.
from local_emulator.gateway_responses import install as _install_gateway_responses  # noqa: E402

_install_gateway_responses()

#: External test data (real faces, QR photos); never copied into the repository.
TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


@pytest.fixture(scope="session")
def moto_server():
    """moto's server on loopback with every gridgate table and the bucket created."""
    from local_emulator.server import running_moto_server

    with running_moto_server() as server:
        from gridgate.adapters.provisioning import provision
        from gridgate.config import get_settings

        provision(get_settings())
        yield server


@pytest.fixture
def clean_tables(moto_server):
    """Empty tables for tests that count items: moto is reset and the tables re-created."""
    import urllib.request

    from gridgate.adapters.provisioning import provision
    from gridgate.config import get_settings

    urllib.request.urlopen(urllib.request.Request(f"{moto_server.url}/moto-api/reset", method="POST")).close()
    provision(get_settings())
    yield moto_server


@pytest.fixture(scope="session")
def chalice_app(moto_server):
    """The real Chalice app (functions/app.py), served in process by `chalice.test.Client`."""
    from app import app

    return app


@pytest.fixture
def client(chalice_app):
    from chalice.test import Client

    with Client(chalice_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API (SQLite) for every flow run of the session, whichever area runs it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def settings_env(monkeypatch):
    """Set GRIDGATE_* variables for one test; the cached settings are re-read before and after."""
    from gridgate.config import get_settings

    def apply(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def keyring():
    from gridgate.security.keyring import get_keyring

    return get_keyring()


@pytest.fixture(scope="session")
def protector(keyring):
    from gridgate.security.identifiers import IdentifierProtector

    return IdentifierProtector(keyring)


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.skip(f"external test data not found at {TESTDATA} (see shared/testdata/SOURCES.md)")
    return TESTDATA
