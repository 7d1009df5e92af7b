"""A gate registered for one direction decides nothing in the other (an exit camera opens no entry)."""

from __future__ import annotations

import uuid

import pytest
from gate_helpers import decision_of, events_of, pass_uses


def test_an_exit_only_gate_cannot_open_the_entry_even_with_a_valid_pass(
    one_way_gates, gate_world, pass_issuer, protector
):
    pass_id, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    exit_gate = one_way_gates["exit"]
    event_id = uuid.uuid4().hex[:12]
    response = exit_gate.qr("/gate/entry/qr", text, event_id=event_id)
    assert response.status_code == 403 and response.json_body["code"] == "wrong_direction"
    decision = decision_of(response)
    assert (decision["outcome"], decision["reason"], decision["pass_id"]) == ("deny", "wrong_direction", None)
    assert pass_uses(protector, pass_id) == 0, "the pass was not even looked at"
    assert len(events_of(gate_world.estate_id, f"{exit_gate.gate_id}:{event_id}")) == 1, "the refusal is recorded"
    # the same gate records exits with that pass, and an entry gate opens with it
    assert decision_of(exit_gate.qr("/gate/exit", text))["outcome"] == "recorded"
    assert decision_of(one_way_gates["entry"].qr("/gate/entry/qr", text))["outcome"] == "open"


def test_an_entry_only_gate_records_no_exit(one_way_gates, gate_world, faceless_frame):
    entry_gate = one_way_gates["entry"]
    event_id = uuid.uuid4().hex[:12]
    response = entry_gate.face("/gate/exit", faceless_frame, event_id=event_id)
    assert response.status_code == 403
    assert (decision_of(response)["outcome"], decision_of(response)["reason"]) == ("deny", "wrong_direction")
    assert len(events_of(gate_world.estate_id, f"{entry_gate.gate_id}:{event_id}")) == 1


@pytest.mark.parametrize(
    "registered,passage,serves",
    [
        ("both", "in", True),
        ("both", "out", True),
        ("entry", "in", True),
        ("entry", "out", False),
        ("exit", "in", False),
        ("exit", "out", True),
    ],
)
def test_which_passages_a_gate_serves(registered, passage, serves):
    from gridgate.domain.model import Direction, Gate, GateDirection

    gate = Gate("G", "E", GateDirection(registered), "k")
    assert gate.serves(Direction(passage)) is serves
