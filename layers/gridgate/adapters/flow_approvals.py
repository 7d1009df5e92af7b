"""Storage of flow-query approvals, beside the other compliance records (`compliance_records`).

One item per approval, ``pk = flow_query#<approval_id>``, ``sk = approval``; its ``person_id``
is the officer it was granted to. An approval is never changed or deleted: it expires, and a
wider need is a new approval, so the audit trail of what each query rested on stays whole.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from gridgate.adapters.tables import ComplianceRecordTable
from gridgate.domain.flow_query_records import FlowQueryApproval

FLOW_QUERY = "flow_query"
_SK = "approval"


def approval_to_item(approval: FlowQueryApproval) -> ComplianceRecordTable:
    return ComplianceRecordTable(
        pk=f"{FLOW_QUERY}#{approval.approval_id}",
        sk=_SK,
        kind=FLOW_QUERY,
        person_id=approval.granted_to,
        body={
            "approved_by": approval.approved_by,
            "case_ref": approval.case_ref,
            "purpose": approval.purpose,
            "estates": sorted(approval.estates),
            "grids": sorted(approval.grids),
            "persons": sorted(approval.persons),
            "window_from": approval.window_from.isoformat(),
            "window_to": approval.window_to.isoformat(),
            "expires_at": approval.expires_at.isoformat(),
            "export_allowed": approval.export_allowed,
            "approved_at": approval.approved_at.isoformat(),
        },
    )


def approval_from_item(item: ComplianceRecordTable) -> FlowQueryApproval:
    body = item.body
    return FlowQueryApproval(
        approval_id=item.pk.removeprefix(f"{FLOW_QUERY}#"),
        granted_to=item.person_id,
        approved_by=body["approved_by"],
        case_ref=body["case_ref"],
        purpose=body["purpose"],
        estates=frozenset(body["estates"]),
        grids=frozenset(body["grids"]),
        persons=frozenset(body["persons"]),
        window_from=datetime.fromisoformat(body["window_from"]),
        window_to=datetime.fromisoformat(body["window_to"]),
        expires_at=datetime.fromisoformat(body["expires_at"]),
        export_allowed=bool(body["export_allowed"]),
        approved_at=datetime.fromisoformat(body["approved_at"]),
    )


class FlowApprovalRepository:
    def add(self, approval: FlowQueryApproval) -> bool:
        """Store a new approval; False when its id is taken (an approval is never overwritten)."""
        try:
            approval_to_item(approval).save(condition=ComplianceRecordTable.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, approval_id: str) -> FlowQueryApproval | None:
        try:
            item = ComplianceRecordTable.get(f"{FLOW_QUERY}#{approval_id}", _SK, consistent_read=True)
        except ComplianceRecordTable.DoesNotExist:
            return None
        return approval_from_item(item)
