"""Fixtures for the `gridgate` command-line tests: a CliRunner and settings pointed elsewhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


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
