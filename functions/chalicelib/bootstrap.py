"""The API's composition root: every repository and service the blueprints use, built once.

A warm function builds them on its first request (`api_services()`, `gate_services()`), so the
settings and keyring of that moment apply and a cold start that never needs a service does not
pay for it. The services receive their repositories here and nowhere else, so a test can build
them from fakes instead (tests/fast). The gate's own root is `gridgate.gate.wiring`; the face
stack is imported only when face enrolment is first used, because the API zip ships no numpy/dlib.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.compliance_records import ConsentRepository, FaceOptOutRepository
from gridgate.adapters.findings import FindingRepository, StatisticRepository, VerificationTaskRepository
from gridgate.adapters.flow_approvals import FlowApprovalRepository
from gridgate.adapters.flow_events import FlowEventReader
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.repositories import (
    FaceTemplateRepository,
    HomeRepository,
    OwnershipRepository,
    PersonRepository,
    PlaceRepository,
)
from gridgate.adapters.resident_secrets import ResidentSecretStore
from gridgate.adapters.verification_results import VerificationResultStore
from gridgate.compliance.compliance_report import ComplianceReporter
from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.compliance.correction_alerts import CorrectionAlerts
from gridgate.compliance.report_sources import stored_compliance_report
from gridgate.config import Settings, get_settings
from gridgate.data_center.finding_explanations import explain_finding
from gridgate.data_center.overview import DataCenterOverview
from gridgate.events_out.event_subscriptions import EventSubscriptions
from gridgate.grid_work.home_roster import HomeRoster
from gridgate.grid_work.task_feedback import TaskFeedback
from gridgate.grid_work.task_list_details import TaskListDetailsReader
from gridgate.public_health.flow_queries import FlowQueries
from gridgate.residents.estate_changes import estate_changed, person_changed_everywhere
from gridgate.residents.face_opt_out import FaceOptOutService
from gridgate.residents.grants import GrantService
from gridgate.residents.guardian_consent import GuardianConsent
from gridgate.residents.ownership import OwnerScope
from gridgate.residents.resident_codes import ResidentCodes
from gridgate.residents.visitor_passes import PassService
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import Keyring, get_keyring

if TYPE_CHECKING:
    from gridgate.gate.wiring import GateServices
    from gridgate.residents.face_enrolment import FaceEnrolment


@dataclass(frozen=True)
class ApiServices:
    """What the app's, the grid workers' and the data center's endpoints call."""

    settings: Settings
    protector: IdentifierProtector
    owner_scope: OwnerScope
    grants: GrantService
    passes: PassService
    resident_codes: ResidentCodes
    task_feedback: TaskFeedback
    home_roster: HomeRoster
    task_list_details: TaskListDetailsReader
    overview: DataCenterOverview
    event_subscriptions: EventSubscriptions
    flow_queries: FlowQueries
    face_opt_out: FaceOptOutService
    compliance_report: ComplianceReporter
    correction_alerts: CorrectionAlerts
    guardian_consent: GuardianConsent
    face_enrolment: Callable[[], FaceEnrolment]


def build_api_services(settings: Settings, keyring: Keyring) -> ApiServices:
    protector = IdentifierProtector(keyring)
    homes, ownerships, grants = HomeRepository(), OwnershipRepository(), GrantRepository()
    people, audit, places = PersonRepository(protector), AuditLog(), PlaceRepository()
    scope = OwnerScope(homes, ownerships)

    consents = ConsentLedger(ConsentRepository(), people, audit)

    def face_enrolment() -> FaceEnrolment:
        from gridgate.residents.face_enrolment import FaceEnrolment

        return FaceEnrolment(consents=consents, places=places, ownerships=ownerships, grants=grants, audit=audit)

    return ApiServices(
        settings=settings,
        protector=protector,
        owner_scope=scope,
        grants=GrantService(
            people=people,
            grants=grants,
            scope=scope,
            audit=audit,
            estate_changed=lambda estate_id, people: estate_changed(estate_id, people, places, settings),
            settings=settings,
        ),
        passes=PassService(
            keyring, passes=PassRepository(protector), scope=scope, audit=audit, city_timezone=settings.city_timezone
        ),
        resident_codes=ResidentCodes(secrets=ResidentSecretStore(protector), audit=audit),
        task_feedback=TaskFeedback(VerificationTaskRepository(), VerificationResultStore(), homes, audit),
        home_roster=HomeRoster(people, homes, ownerships, grants, audit),
        task_list_details=TaskListDetailsReader(people, FindingRepository(), audit),
        overview=DataCenterOverview(places, FindingRepository(), StatisticRepository()),
        event_subscriptions=EventSubscriptions(protector),
        flow_queries=FlowQueries(FlowApprovalRepository(), FlowEventReader(settings), places, audit),
        face_opt_out=FaceOptOutService(
            consents=consents,
            templates=FaceTemplateRepository(),
            opt_outs=FaceOptOutRepository(),
            ownerships=ownerships,
            grants=grants,
            audit=audit,
            changed=lambda person_id, owned, granted: person_changed_everywhere(person_id, owned, granted, places),
        ),
        compliance_report=stored_compliance_report(settings),
        correction_alerts=CorrectionAlerts(FindingRepository(), people, homes, places, audit, explain_finding),
        guardian_consent=GuardianConsent(
            consents,
            ownerships,
            grants,
            changed=lambda person_id: person_changed_everywhere(person_id, ownerships, grants, places),
        ),
        face_enrolment=_once(face_enrolment),
    )


T = TypeVar("T")


def _once(build: Callable[[], T]) -> Callable[[], T]:
    """`build()` on the first call only, even when concurrent requests ask at once."""
    lock, built = threading.Lock(), list[T]()

    def get() -> T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get


def _of_current_settings(build: Callable[[Settings, Keyring], T]) -> Callable[[], T]:
    """`build(settings, keyring)` once for the settings and keyring in force: a warm function
    builds once; a test that changes the settings (which clears their cache) gets services that
    read the new ones, never services wired to the old ones."""
    lock = threading.Lock()
    built: list[tuple[Settings, Keyring, T]] = []

    def current(settings: Settings, keyring: Keyring) -> T | None:
        if built and built[0][0] is settings and built[0][1] is keyring:
            return built[0][2]
        return None

    def get() -> T:
        settings, keyring = get_settings(), get_keyring()
        services = current(settings, keyring)
        if services is None:
            with lock:
                services = current(settings, keyring)
                if services is None:
                    services = build(settings, keyring)
                    built[:] = [(settings, keyring, services)]
        return services

    return get


def _build_gate(settings: Settings, keyring: Keyring) -> GateServices:
    from gridgate.gate.wiring import build_gate_services

    return build_gate_services(settings, keyring)


#: The warm function's services, each built on first use.
api_services: Callable[[], ApiServices] = _of_current_settings(build_api_services)
gate_services: Callable[[], GateServices] = _of_current_settings(_build_gate)
