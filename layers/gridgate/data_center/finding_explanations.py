"""A finding's reason in the reader's language, rendered from its type and evidence at read time.

The flows store each finding's type and its evidence (the numbers and places that made it a
finding); the sentence a person reads is the catalogue's ``explain.<type>`` filled from that
evidence when the page, sheet or report is made, so the same finding reads in Chinese on the
data-center page and in English for an English reader, and a translator can improve the text
without a re-run. Evidence values are made readable on the way: instants become the city's
wall-clock time (labelled), key groups and relations become words, counts become whole numbers.
The English sentence the flow also stores (``evidence.explanation``) is the fallback for a
finding whose evidence lacks what the catalogue's text needs (stored by an older flow).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from gridgate.domain.model import Finding, VerificationTask
from gridgate.i18n import Translator

#: Types whose text has a second form (``explain.<type>.never``) for when this evidence is empty
#: (never seen at any gate, no recorded exit, no passage at all).
_NEVER_WHEN_MISSING = {
    "resident_not_seen": "last_seen_estate",
    "living_alone_no_exit": "last_exit_at",
    "correction_absent": "last_passage_at",
}
_INSTANTS = ("last_seen_at", "last_exit_at", "last_passage_at", "valid_until")
_SEPARATOR = {"zh_CN": "、", "en": ", "}


def _instant(value: str, t: Translator) -> str:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return t.local_time(at if at.tzinfo else at.replace(tzinfo=UTC))


def _words(values, prefix: str, t: Translator) -> str:
    items = values.split(",") if isinstance(values, str) else list(values or [])
    return _SEPARATOR.get(t.locale, ", ").join(t.get(f"{prefix}{item}", str(item)) for item in items if item)


def _number(value) -> object:
    return int(round(value)) if isinstance(value, float) else value


def _values(evidence: dict, t: Translator) -> dict:
    values = {key: _number(value) for key, value in evidence.items()}
    for key in _INSTANTS:
        if evidence.get(key):
            values[key] = _instant(evidence[key], t)
    if "key_groups" in evidence:
        values["key_groups"] = _words(evidence["key_groups"], "group.", t)
    if "relation" in evidence:
        values["relation"] = t.get(f"role.{evidence['relation']}", str(evidence["relation"]))
    if "registries" in evidence:
        values["registries"] = _words(evidence["registries"], "registry.", t)
    passages = evidence.get("passages") or []
    values["first"] = str(passages[0])[:16] if passages else ""  # "YYYY-MM-DD HH:MM …", local time
    return values


def explain(finding_type: str, evidence: dict, t: Translator) -> str:
    """The reason for a finding, in `t`'s language (the stored English sentence if it cannot be)."""
    key = f"explain.{finding_type}"
    missing = _NEVER_WHEN_MISSING.get(finding_type)
    if missing and not evidence.get(missing):
        key += ".never"
    stored = str(evidence.get("explanation", ""))
    if key not in t.messages:
        return stored
    try:
        return t(key, **_values(evidence, t))
    except (KeyError, IndexError, ValueError):
        return stored


def explain_finding(finding: Finding, t: Translator) -> str:
    return explain(finding.finding_type, finding.evidence, t)


def explain_tasks(tasks: Iterable[VerificationTask], findings: Iterable[Finding], t: Translator) -> dict[str, str]:
    """task id -> the reason of the finding it checks (the task's stored summary if that finding
    is gone)."""
    by_id = {finding.finding_id: finding for finding in findings}
    return {
        task.task_id: explain_finding(by_id[task.finding_id], t) if task.finding_id in by_id else task.summary
        for task in tasks
    }
