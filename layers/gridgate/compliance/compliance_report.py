"""The compliance report of faces and movements, for the data center (page and CLI), all from data.

Why one report and not figures typed in: the filing duty (100,000 people, 2025 CAC/MPS face
measures Art. 15), the shortest retention (Art. 8; PIPL Art. 19) and the prior impact
assessment (PIPL Arts. 55-56; Art. 9) are facts about what is stored, so the report counts the
stored templates, consents and opt-outs, measures the oldest event copy and the oldest template
against the configured retention, and shows the latest recorded impact assessment. The page
(`/pages/compliance`) and ``gridgate compliance figures`` show the same `ComplianceReport`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Protocol

from gridgate.clock import now as city_now
from gridgate.compliance.face_figures import FILING_THRESHOLD_PEOPLE, FaceFigures, face_figures
from gridgate.compliance.template_retention import age_days, past_retention
from gridgate.domain.legal_records import FaceConsent, FaceOptOut, ImpactAssessment, opted_out
from gridgate.domain.model import FaceTemplate


class Templates(Protocol):
    def everyone(self) -> list[FaceTemplate]: ...


class Consents(Protocol):
    def everyone(self) -> list[FaceConsent]: ...


class OptOuts(Protocol):
    def everyone(self) -> list[FaceOptOut]: ...


class Assessments(Protocol):
    def all(self) -> list[ImpactAssessment]: ...


class EventCopies(Protocol):
    def oldest_day(self) -> date | None: ...


@dataclass(frozen=True)
class Retention:
    """The oldest item held against the policy: within it, or how many are over it."""

    policy_days: int
    oldest_age_days: int | None
    over_policy: int

    @property
    def within_policy(self) -> bool:
        return self.over_policy == 0


@dataclass(frozen=True)
class ComplianceReport:
    figures: FaceFigures
    people_opted_out: int
    events: Retention
    templates: Retention
    assessment: ImpactAssessment | None

    def as_dict(self) -> dict:
        latest = self.assessment
        return {
            **asdict(self.figures),
            "filing_due": self.figures.filing_due,
            "filing_threshold_people": FILING_THRESHOLD_PEOPLE,
            "people_opted_out": self.people_opted_out,
            "event_retention": {**asdict(self.events), "within_policy": self.events.within_policy},
            "template_retention": {**asdict(self.templates), "within_policy": self.templates.within_policy},
            "impact_assessment": None
            if latest is None
            else {
                "assessed_on": latest.assessed_on.isoformat(),
                "version": latest.version,
                "recorded_by": latest.recorded_by,
                "recorded_at": latest.recorded_at.isoformat(),
            },
        }


def compliance_report(
    templates: list[FaceTemplate],
    consents: list[FaceConsent],
    opt_outs: list[FaceOptOut],
    assessments: list[ImpactAssessment],
    oldest_event_day: date | None,
    *,
    at: datetime,
    today: date,
    event_retention_days: int,
    template_retention_days: int,
) -> ComplianceReport:
    ages = [age_days(t, at) for t in templates]
    event_age = (today - oldest_event_day).days if oldest_event_day else None
    people = {o.person_id for o in opt_outs}
    by_person = {p: [c for c in consents if c.person_id == p] for p in people}
    return ComplianceReport(
        figures=face_figures(templates, consents, at),
        people_opted_out=sum(1 for p in people if opted_out([o for o in opt_outs if o.person_id == p], by_person[p])),
        events=Retention(
            event_retention_days,
            event_age,
            # days held beyond the policy (each day is one partition of the copy)
            max(0, event_age - event_retention_days) if event_age is not None else 0,
        ),
        templates=Retention(
            template_retention_days,
            max(ages, default=None),
            len(past_retention(templates, at, template_retention_days)),
        ),
        assessment=max(assessments, key=lambda a: (a.assessed_on, a.recorded_at), default=None),
    )


class ComplianceReporter:
    """Reads what the report counts and builds it (the page's and the CLI's one source)."""

    def __init__(
        self,
        templates: Templates,
        consents: Consents,
        opt_outs: OptOuts,
        assessments: Assessments,
        events: EventCopies,
        *,
        event_retention_days: int,
        template_retention_days: int,
        clock: Callable[[], datetime] = city_now,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._sources = (templates, consents, opt_outs, assessments, events)
        self._event_days, self._template_days = event_retention_days, template_retention_days
        self._clock = clock
        self._today = today or (lambda: self._clock().date())

    def report(self) -> ComplianceReport:
        templates, consents, opt_outs, assessments, events = self._sources
        return compliance_report(
            templates.everyone(),
            consents.everyone(),
            opt_outs.everyone(),
            assessments.all(),
            events.oldest_day(),
            at=self._clock(),
            today=self._today(),
            event_retention_days=self._event_days,
            template_retention_days=self._template_days,
        )
