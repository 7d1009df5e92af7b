"""What the law asks to be recorded about faces and key-group tracking, as plain records.

- `FaceConsent`: the basis on which a person's face templates are held (PIPL Arts. 28-29; the
  2025 CAC/MPS face measures Arts. 6-8): a separate consent given in the app after seeing a
  notice version, or, for templates imported from the actual-population registry, the statute
  named. It says for which estates' gates and whether matching may run in the cloud or only on
  the gate device, who consented for a minor (a guardian), and when it was withdrawn.
- `FaceOptOut`: a resident's choice not to use face at all (SPC provisions on face recognition
  Art. 10; 2025 measures Art. 10): every template is deleted, the registry import stops bringing
  the population-registry one back, and the person enters by QR; a consent given later ends it.
- `ImpactAssessment`: the personal-information impact assessment done before faces are processed
  (PIPL Arts. 55-56; 2025 measures Art. 9): its date, version and who recorded it; kept, never
  deleted (the law asks for at least three years).
- `CorrectionApproval`: the approval without which no gate-log alert about a person under
  community correction is computed (Community Correction Law Art. 29): who approved, the case,
  and a period of at most three months (renewed by a new approval, never extended in place).

Pure data and predicates: the rules that refuse a bad record live in `gridgate.compliance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class LegalBasis(StrEnum):
    SEPARATE_CONSENT = "separate_consent"
    STATUTE = "statute"


class GuardianRelation(StrEnum):
    """Who may consent for a person under 14 (Civil Code Arts. 27-28: parents, else a guardian)."""

    PARENT = "parent"
    GUARDIAN = "guardian"


class Matching(StrEnum):
    """Where a probe may be compared with the person's templates."""

    CLOUD = "cloud"
    DEVICE_ONLY = "device_only"


#: The statute population-registry faces are held under (named on every such record).
POPULATION_REGISTRY_STATUTE = "中华人民共和国居民身份证法 / 中华人民共和国户口登记条例"
#: Under this age a guardian consents for the person (2025 CAC/MPS face measures Art. 7).
GUARDIAN_AGE = 14
#: An approval of electronic tracking lasts at most this many months (Community Correction Law Art. 29).
CORRECTION_APPROVAL_MONTHS = 3
#: The alerts that are such tracking: their data serves correction work only, so only the
#: ``correction_staff`` role sees them (every view audited), never the data center's or grid
#: workers' lists, and no grid worker is sent to the door for one.
CORRECTION_ALERT_TYPES = frozenset({"correction_unusual_hours", "correction_absent"})


@dataclass(frozen=True)
class FaceConsent:
    person_id: str
    basis: LegalBasis
    estates: frozenset[str]
    matching: Matching
    notice_version: str
    given_at: datetime
    statute: str | None = None
    guardian_person_id: str | None = None
    withdrawn_at: datetime | None = None
    #: how the guardian who consented for a minor is related to them (`GuardianRelation`)
    guardian_relation: str | None = None
    #: when a later record on the same basis replaced this one: its purposes stop holding then (a
    #: new consent narrows or widens the estates; it is not a withdrawal, the face stays)
    superseded_at: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        ended = [t for t in (self.withdrawn_at, self.superseded_at) if t is not None]
        return self.given_at <= at and all(at < t for t in ended)


@dataclass(frozen=True)
class FaceOptOut:
    person_id: str
    at: datetime


def opted_out(opt_outs: list[FaceOptOut], consents: list[FaceConsent]) -> bool:
    """Whether the person's latest opt-out is later than every separate consent they gave."""
    if not opt_outs:
        return False
    last = max(o.at for o in opt_outs)
    return all(c.given_at <= last for c in consents if c.basis == LegalBasis.SEPARATE_CONSENT)


@dataclass(frozen=True)
class ImpactAssessment:
    assessed_on: date
    version: str
    recorded_by: str
    recorded_at: datetime


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has at least 28 days")


@dataclass(frozen=True)
class CorrectionApproval:
    person_id: str
    case_no: str
    approved_by: str
    starts: date
    ends: date  # inclusive
    approved_at: datetime

    def covers(self, day: date) -> bool:
        return self.starts <= day <= self.ends


def approved_on(approvals: list[CorrectionApproval] | tuple[CorrectionApproval, ...], day: date) -> frozenset[str]:
    """The people whose correction tracking is approved on `day` (an ended approval stops by itself)."""
    return frozenset(a.person_id for a in approvals if a.covers(day))
