"""The error contract every test checks the same way: an RFC 9457 problem with gridgate's members."""

from __future__ import annotations

import json

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code", "request_id"}


def is_problem(response) -> bool:
    """A `chalice.test` response that is ``application/problem+json`` with every member, consistent."""
    if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return False
    document = json.loads(response.body)
    return (
        PROBLEM_MEMBERS <= document.keys()
        and document["status"] == response.status_code
        and document["type"] == f"urn:gridgate:problem:{document['code']}"
        and document["request_id"] == response.headers.get("X-Request-Id")
    )


def problem(response, status: int, code: str) -> dict:
    """Assert `response` is the problem `status`/`code`; returns the document for further checks."""
    assert is_problem(response), (response.status_code, response.headers, response.body[:300])
    document = json.loads(response.body)
    assert (response.status_code, document["code"]) == (status, code), document
    return document
