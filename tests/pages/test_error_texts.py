"""Every refusal the pages can receive has a text in both catalogues (``error.<code>``): the
pages show that text, never the English ``message`` of the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridgate.i18n import LOCALES, catalogue

REPO = Path(__file__).resolve().parents[2]
#: What the two pages call: their endpoints, the request plumbing under them, and the services
#: whose refusals those endpoints pass on.
PAGE_SOURCES = [
    "functions/chalicelib/auth.py",
    "functions/chalicelib/json_body.py",
    "functions/chalicelib/idempotency.py",
    "functions/chalicelib/blueprints/grid_workers.py",
    "functions/chalicelib/blueprints/pages.py",
    "functions/chalicelib/blueprints/sign_in.py",
    "layers/gridgate/grid_work/task_feedback.py",
    "layers/gridgate/grid_work/home_roster.py",
    "layers/gridgate/sign_in/people_sign_in.py",
    "layers/gridgate/security/oidc.py",
    "layers/gridgate/security/tokens.py",
]
#: A code where a refusal is raised: a kind of the family, a token's or sign-in's own, or a subclass's.
_CODE = re.compile(
    r"""(?:ApiError\(\d{3}, |(?:Invalid|NotAllowed|NotFound|Conflict|Unavailable|TokenError|SignInRefused)\(|\bcode = )"""
    r"""["']([a-z_]+)["']"""
)


def _codes() -> set[str]:
    found = set()
    for source in PAGE_SOURCES:
        found |= set(_CODE.findall((REPO / source).read_text(encoding="utf-8")))
    return found


def test_the_scan_finds_the_refusals():
    assert {"token_expired", "session_ended", "bad_state", "out_of_scope", "not_from_page"} <= _codes()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_refusal_a_page_can_get_has_a_text(locale):
    missing = sorted(code for code in _codes() if f"error.{code}" not in catalogue(locale))
    assert missing == []
