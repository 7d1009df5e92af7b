"""The compliance wing's reads for staff (mounted at /compliance), issue 18 (docs/privacy.md).

- ``GET /compliance/report``  the compliance figures for data-center staff (role ``data_center``):
  faces held and the filing duty, templates by legal basis, consents, opt-outs, retention of events
  and templates against policy, the latest impact assessment; the page ``/pages/compliance`` shows it
- ``GET /compliance/correction-alerts``  community-correction alerts (role ``correction_staff``
  only), in the grids of the caller's token; every alert shown is audited under its person
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.compliance_schemas import ComplianceReportAnswer, CorrectionAlertsAnswer
from chalicelib.openapi import documented
from chalicelib.request_context import current_request, request_id, request_locale
from gridgate import i18n

bp = Blueprint(__name__)
DATA_CENTER = "data_center"
CORRECTION_STAFF = "correction_staff"


@bp.route("/report", methods=["GET"])
@documented(responses={200: ComplianceReportAnswer}, role=DATA_CENTER)
def compliance_report():
    """The compliance figures of faces and movements, counted from the stored data."""
    require(current_request(), DATA_CENTER)
    return api_services().compliance_report.report().as_dict()


@bp.route("/correction-alerts", methods=["GET"])
@documented(responses={200: CorrectionAlertsAnswer}, role=CORRECTION_STAFF)
def correction_alerts():
    """The open community-correction alerts in my grids (each view audited; no other role sees them)."""
    request = current_request()
    staff = require(request, CORRECTION_STAFF)
    t = i18n.translator(request_locale(request))
    alerts = api_services().correction_alerts.read(staff.subject, staff.grids, t, request_id=request_id(request))
    return {"alerts": alerts}
