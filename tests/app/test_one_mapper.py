"""One refusal family, one mapper (issue 14): no blueprint or API helper picks an error status itself.

A blueprint (or the request plumbing under it: auth, JSON bodies, paging, idempotency) raises a
kind of the family (`gridgate.refusals`, or a token's, a face's, a sign-in's own refusal);
`chalicelib.refusal_statuses.status_of` is the one table from a kind to its status, and
`errors.ApiError.refused` the one way a handler adds headers to such an answer. `errors.py` itself
(the mapper, which also turns Chalice's own answers and crashes into problems) is the only module
that builds an `ApiError`. These tests read the API's source (an AST scan, so a new route cannot
slip past) and check the table covers every kind of the family.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from chalicelib.refusal_statuses import REFUSAL_TYPES, Refusal, is_refusal, status_of
from gridgate.gate.decision import INPUT_REASONS, Reason
from gridgate.refusals import GateRequestRefused, Invalid, Refused

CHALICELIB = Path(__file__).resolve().parents[2] / "functions" / "chalicelib"
#: Every module of the API but the mapper: the blueprints and the plumbing they call.
API_MODULES = sorted(path for path in CHALICELIB.rglob("*.py") if path != CHALICELIB / "errors.py")


def _hand_built_errors(source: str) -> list[str]:
    """Every place `source` builds an error status by hand: an `ApiError(...)` of its own, or a
    `Response` whose ``status_code`` is a 4xx/5xx literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "ApiError":
            found.append(f"line {node.lineno}: ApiError(...)")
        if name == "Response":
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "status_code"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, int)
                    and value.value >= 400
                ):
                    found.append(f"line {node.lineno}: Response(status_code={value.value})")
    return found


def test_the_scan_finds_a_hand_built_error():
    """The scan itself: each way of building a status by hand is caught, a refusal is not."""
    assert _hand_built_errors('raise ApiError(400, "bad_x", "no")') == ["line 1: ApiError(...)"]
    assert _hand_built_errors('return Response(body="", status_code=403)') == ["line 1: Response(status_code=403)"]
    assert _hand_built_errors('raise Invalid("bad_x", "no")\nreturn Response(body="", status_code=201)') == []
    assert _hand_built_errors("raise ApiError.refused(err, headers=h)") == []


def test_the_scan_covers_every_blueprint():
    assert {"events_out.py", "gate.py", "sign_in.py", "pages.py"} <= {p.name for p in API_MODULES}
    assert len([p for p in API_MODULES if p.parent.name == "blueprints"]) >= 8


@pytest.mark.parametrize("path", API_MODULES, ids=lambda p: str(p.relative_to(CHALICELIB)))
def test_no_api_module_builds_an_error_status_by_hand(path):
    assert _hand_built_errors(path.read_text(encoding="utf-8")) == []


def _instance(kind: type) -> BaseException:
    if kind is GateRequestRefused:
        return kind(Reason.WRONG_DIRECTION.value)
    return kind("some_code")


def test_every_kind_of_the_family_has_a_status():
    """The union, the `isinstance` tuple and the table agree, and each kind maps to an error status."""
    assert set(get_args(Refusal)) == set(REFUSAL_TYPES)
    for kind in REFUSAL_TYPES:
        error = _instance(kind)
        assert is_refusal(error)
        assert 400 <= status_of(error) < 600, kind


def test_every_kind_raised_by_services_is_in_the_family():
    """A new kind of `gridgate.refusals.Refused` without a status would be a 500: it must be listed."""
    kinds = set(Refused.__subclasses__())
    assert kinds <= set(REFUSAL_TYPES), kinds - set(REFUSAL_TYPES)
    assert not is_refusal(ValueError("a bug, not a refusal"))


def test_codes_and_decisions_pick_their_own_status():
    assert status_of(Invalid("bad_json")) == 400
    assert status_of(Invalid("payload_too_large")) == 413
    assert status_of(GateRequestRefused(Reason.WRONG_DIRECTION.value)) == 403
    assert status_of(GateRequestRefused(Reason.IMAGE_TOO_LARGE.value)) == 413
    unusable = INPUT_REASONS - {Reason.IMAGE_TOO_LARGE}
    assert {status_of(GateRequestRefused(reason.value)) for reason in unusable} == {400}
