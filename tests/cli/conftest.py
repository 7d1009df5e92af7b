"""Fixtures for the `gridgate` command-line tests: a CliRunner (settings_env is the root conftest's)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
