"""The message catalogues: both languages carry every key, none empty, placeholders agree, and
the pages, sheets and report take their words from them (Chinese by default)."""

from __future__ import annotations

import ast
import re
from datetime import UTC
from pathlib import Path

import pytest

from gridgate import i18n


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_both_catalogues_have_the_same_keys_and_no_empty_text():
    chinese, english = i18n.catalogue("zh_CN"), i18n.catalogue("en")
    assert chinese.keys() == english.keys()
    assert not [key for key, text in {**chinese, **english}.items() if not text.strip()]


@pytest.mark.parametrize("key", sorted(i18n.catalogue("zh_CN")))
def test_placeholders_are_the_same_in_both_languages(key):
    assert _placeholders(i18n.catalogue("zh_CN")[key]) == _placeholders(i18n.catalogue("en")[key])


def test_chinese_is_the_default_and_english_is_chosen_by_request():
    assert i18n.translator().locale == "zh_CN"
    assert i18n.negotiate(None, None) == "zh_CN"
    assert i18n.negotiate(None, "en-GB,en;q=0.9,zh-CN;q=0.8") == "en"
    assert i18n.negotiate(None, "fr-FR, zh-TW;q=0.7, en;q=0.5") == "zh_CN"
    assert i18n.negotiate("en", "zh-CN") == "en"


def test_a_missing_key_fails_loudly():
    with pytest.raises(i18n.MissingMessage):
        i18n.translator("en")("no.such.key")


def test_local_times_are_labelled_as_beijing_time():
    from datetime import datetime

    at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Nanjing
    assert i18n.translator("zh_CN").local_time(at) == "2026-12-01 00:30（北京时间）"
    assert i18n.translator("en").local_time(at) == "2026-12-01 00:30 (Beijing time, UTC+8)"


# --- refusals and bad-row reasons: worded by the catalogue only (issue 16.1) --------------------

REPO = Path(__file__).resolve().parents[2]
#: Where refusals are raised and the CLI speaks: every Python file of the API, the layer, the
#: flows and the CLI.
SOURCES = sorted(
    p for folder in ("layers", "functions", "flows", "gridgate_cli") for p in (REPO / folder).rglob("*.py")
)
#: Constructors whose first argument is a refusal code (the family and the pure computations').
CODED = {
    "Refused", "Invalid", "NotFound", "NotAllowed", "Conflict", "CodedError", "TokenError", "SignInRefused",
    "DeviceAuthError", "ImageRejected", "FaceRejected", "QrNotRead", "UploadRefused",
}  # fmt: skip
#: Subclasses that fix the code and take a reason (worded by ``error.<code>.<reason>``).
REASON_CLASSES = {"InvalidSubmission": ("invalid_submission", 0), "ImportRefused": ("import_refused", 1)}
_SENTENCE = re.compile(r"[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}")


def _called(node: ast.Call) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def _calls() -> list[tuple[Path, ast.Call]]:
    found = []
    for path in SOURCES:
        found += [
            (path, node) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)
        ]
    return found


def _refusals() -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(codes, (code, reason) pairs, bad-row reasons) that the sources raise."""
    codes, reasons, rejects = set(), set(), set()
    for _, call in _calls():
        name, args = _called(call), [_text(a) for a in call.args]
        code = None
        if name in CODED and args and args[0]:
            code = args[0]
        elif name == "ApiError" and len(args) > 1 and args[1]:
            code = args[1]
        elif name == "__init__" and args and args[0] and re.fullmatch(r"[a-z_]+", args[0]):
            code = args[0]  # a subclass fixing its code (HomeNotFound, TaskClosed, …)
        if code:
            codes.add(code)
            reasons |= {(code, kw.value.value) for kw in call.keywords if kw.arg == "reason" and _text(kw.value)}
        if name in REASON_CLASSES and len(args) > REASON_CLASSES[name][1] and args[REASON_CLASSES[name][1]]:
            reasons.add((REASON_CLASSES[name][0], args[REASON_CLASSES[name][1]]))
        if name == "_Reject" and args and args[0]:
            rejects.add(args[0])
        if name == "RowError" and len(args) > 2 and args[2]:
            rejects.add(args[2])
    return codes, reasons, rejects


def _policy_reasons() -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """The reasons the domain's checks return (exercised, not scanned: they are return values)."""
    from datetime import date, datetime, timedelta

    from gridgate.domain.id_numbers import id_number_problem
    from gridgate.domain.policy import grant_dates_problem, pass_window_problem, report_day_problem

    today, now = date(2026, 12, 1), datetime(2026, 12, 1, 8, tzinfo=UTC)
    grants = {grant_dates_problem(s, e, today) for s, e in [(today - timedelta(1), None), (today, today - timedelta(1)), (today + timedelta(400), None)]}  # fmt: skip
    passes = [pass_window_problem(f, h, now) for f, h in [(now, 0), (now, 0.01), (now, 25), (now - timedelta(hours=1), 1), (now + timedelta(days=40), 1)]]  # fmt: skip
    days = [report_day_problem(d, today, 30) for d in (today, today - timedelta(days=60))]
    codes = {code for code, _ in filter(None, passes)}
    pairs = {("bad_dates", str(r)) for r in grants}
    pairs |= {(code, str(values["reason"])) for code, values in filter(None, passes) if "reason" in values}
    pairs |= {("bad_day", str(problem["reason"])) for problem in filter(None, days)}
    id_reasons = {id_number_problem(n) for n in ("1", "32010219800101001Y", "320102198002300011", "320102198001010010")}
    return codes, pairs, {str(r) for r in id_reasons}


def test_the_scan_finds_the_refusals_and_reasons():
    codes, reasons, rejects = _refusals()
    assert {"over_cap", "bad_token", "no_face", "home_not_found", "task_closed", "forbidden", "bad_url"} <= codes
    assert {("invalid_submission", "corrections_mismatch"), ("import_refused", "wrong_header")} <= reasons
    assert {"unknown_estate", "wrong_width", "photo_refused"} <= rejects
    policy_codes, pairs, id_reasons = _policy_reasons()
    assert (len(policy_codes), len(pairs), len(id_reasons)) == (3, 8, 4), (policy_codes, pairs, id_reasons)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_refusal_code_and_reason_has_a_text_in_both_languages(locale):
    from chalicelib.errors import _CHALICE_CODES
    from chalicelib.refusal_statuses import decision_status
    from gridgate.gate.decision import Reason

    texts = i18n.catalogue(locale)
    codes, reasons, rejects = _refusals()
    codes |= set(_CHALICE_CODES.values()) | {r.value for r in Reason if decision_status(r.value)}
    policy_codes, pairs, id_reasons = _policy_reasons()
    codes |= policy_codes
    assert sorted(c for c in codes if f"error.{c}" not in texts) == []
    assert sorted(f"{c}.{r}" for c, r in reasons | pairs if f"error.{c}.{r}" not in texts) == []
    assert sorted(r for r in rejects | id_reasons if f"registry.reject.{r}" not in texts) == []


def test_no_refusal_or_cli_message_is_worded_in_code():
    """A refusal carries a code and members, never a sentence; the CLI prints catalogue texts
    only. This fails on ``Invalid("bad_dates", "the grant cannot start in the past")``, on
    ``ApiError(400, "bad_day", f"day must be …")`` and on ``fail("no such flow")``."""
    said = []
    for path, call in _calls():
        where = str(path.relative_to(REPO))
        name = _called(call)
        code_first = bool(call.args) and re.fullmatch(r"[a-z_]+", _text(call.args[0]) or "") is not None
        speaks = name in CODED | {"ApiError", "_Reject", "RowError", *REASON_CLASSES} or (
            name == "__init__" and code_first
        )
        speaks |= where.startswith("gridgate_cli/") and name in {"fail", "print", "Exit", "Option", "Argument", "Typer"}
        if not speaks:
            continue
        for arg in [*call.args, *(kw.value for kw in call.keywords)]:
            text = _text(arg)
            if text and _SENTENCE.search(text):
                said.append(f"{where}:{call.lineno}: {text!r}")
    assert said == []
