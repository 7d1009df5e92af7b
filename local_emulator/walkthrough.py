"""The demo's walk through the functions: an owner grants, issues a pass, and gates decide.

Everything goes through the real Chalice app (`chalice.test.Client`, in process) against the
emulator, with the same bearer tokens and signed device requests the city app and the gate
devices send; nothing here calls a service function directly.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridgate import clock

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"


@dataclass(frozen=True)
class DemoGate:
    gate_id: str
    estate_id: str
    private_key: bytes


#: Refusals that only mean "pick someone else": the person already has a grant here, or owns the home.
_NOT_A_NEW_GRANTEE = ("already_granted", "grantee_is_owner")


class Walkthrough:
    """One owner, one home, a gate at its estate and a gate elsewhere, from the seeded city."""

    def __init__(self, city, say) -> None:
        if str(FUNCTIONS_DIR) not in sys.path:
            sys.path.insert(0, str(FUNCTIONS_DIR))
        from app import app
        from chalice.test import Client

        self.city = city
        self.say = say
        self.client = Client(app)
        self.owner, self.home_id, estate_id = self._an_owned_home()
        gate = self._gate_at(estate_id, same=True)
        if gate is None:  # the synthetic city gives every estate its entry gates
            raise RuntimeError(f"estate {estate_id} has no entry gate")
        self.gate = gate
        self.foreign_gate = self._gate_at(estate_id, same=False)

    def _an_owned_home(self) -> tuple[str, str, str]:
        from gridgate.adapters.tables import OwnershipTable

        ownership = next(o for o in OwnershipTable.scan() if o.until is None)
        return ownership.person_id, ownership.home_id, ownership.estate_id

    def _gate_at(self, estate_id: str, *, same: bool) -> DemoGate | None:
        """An entry gate at the estate (`same`) or at any other estate; None where there is none."""
        from gridgate.adapters.tables import GateTable
        from local_emulator.synthetic_city import emulator_device_private_key

        gates = (g for g in GateTable.scan() if (g.estate_id == estate_id) == same and g.direction in ("entry", "both"))
        gate = next(gates, None)
        if gate is None:
            return None
        return DemoGate(gate.gate_id, gate.estate_id, emulator_device_private_key(self.city.seed, gate.gate_id))

    # --- calls, as the app and the devices make them ------------------------------------------------

    def _app(self, method: str, path: str, body: dict | None = None, *, idempotency_key: str | None = None):
        from gridgate.security.tokens import issue_token

        headers = {"Authorization": f"Bearer {issue_token(self.owner, ['resident'])}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        payload = json.dumps(body).encode() if body is not None else b""
        return self.client.http.request(method, path, headers=headers, body=payload)

    def _gate_qr(self, gate: DemoGate, text: str) -> dict:
        from gridgate.security.device_auth import sign_request

        body = json.dumps({"text": text}).encode()
        device = {"X-Device-Event-Id": uuid.uuid4().hex[:16], "X-Captured-At": clock.now().isoformat()}
        headers = sign_request(gate.private_key, gate.gate_id, "POST", "/gate/entry/qr", body, device)
        headers["Content-Type"] = "application/json"
        return self.client.http.request("POST", "/gate/entry/qr", headers=headers, body=body).json_body["decision"]

    def _show(self, what: str, decision: dict) -> None:
        detail = ", ".join(
            f"{k}={decision[k]}" for k in ("person_id", "pass_id", "right", "registry") if decision.get(k)
        )
        self.say(f"  {what:<52} -> {decision['outcome'].upper():<5} {decision['reason']}  {detail}")

    # --- the story ---------------------------------------------------------------------------------

    def run(self) -> None:
        say = self.say
        homes = self._app("GET", "/me/homes").json_body
        say(f"owner {self.owner} signs in to the app; homes: {[h['home_id'] for h in homes['homes']]}")

        grant = None
        for row in range(int(self.owner[1:]) + 1, self.city.n_persons):  # someone not yet granted here
            grantee_id_number = self.city.id_numbers(np.array([row]))[0].decode()
            grant = self._app(
                "POST",
                f"/homes/{self.home_id}/grants",
                {"grantee_id_number": grantee_id_number, "relation": "tenant", "starts_on": clock.today().isoformat()},
                idempotency_key=uuid.uuid4().hex,
            )
            if grant.json_body.get("code") not in _NOT_A_NEW_GRANTEE:
                break
        if grant is None:
            raise RuntimeError(f"nobody in the city after {self.owner} to grant a right to")
        say(
            f"  grant a tenant on {self.home_id}: HTTP {grant.status_code} "
            f"{grant.json_body.get('grant_id') or grant.json_body.get('code')}"
        )

        issued = self._app(
            "POST",
            f"/homes/{self.home_id}/passes",
            {"visitor_name": "访客", "duration_hours": 24, "max_uses": 1},
            idempotency_key=uuid.uuid4().hex,
        ).json_body
        say(
            f"  visitor pass {issued['pass_id']}: {len(issued['qr_text'])} characters, QR version {issued['qr_version']}, "
            f"valid until {issued['valid_until']}"
        )

        say(f"gate {self.gate.gate_id} at estate {self.gate.estate_id} (signed device requests):")
        self._show("visitor shows the pass", self._gate_qr(self.gate, issued["qr_text"]))
        self._show("the same pass again (use limit 1)", self._gate_qr(self.gate, issued["qr_text"]))
        tampered = issued["qr_text"][:-3] + ("AAA" if not issued["qr_text"].endswith("AAA") else "BBB")
        self._show("a tampered pass", self._gate_qr(self.gate, tampered))
        resident_code = self._app("GET", "/me/resident-qr").json_body["code"]
        self._show("the owner shows their rotating resident QR", self._gate_qr(self.gate, resident_code))
        if self.foreign_gate is None:
            say("  (a city this small has one estate: no foreign gate to try)")
            return
        say(f"gate {self.foreign_gate.gate_id} at another estate, {self.foreign_gate.estate_id}:")
        self._show("the visitor's pass", self._gate_qr(self.foreign_gate, issued["qr_text"]))
        self._show("the owner's resident QR", self._gate_qr(self.foreign_gate, resident_code))


def app_and_gate_walkthrough(demo) -> None:
    """Demo step: the app functions and the gate functions, end to end on the emulator."""
    Walkthrough(demo.city, demo.say).run()
