"""The gate side without the cloud: a signed estate snapshot, a local verifier and an event buffer.

- `snapshot`: the snapshot document, its Ed25519 envelope and its parsing (cloud and gate share it);
- `buffer`: the gate's durable list of events not yet uploaded;
- `verifier`: decides with `gridgate.gate.decision` from a snapshot (no copy of the rules);
- `gate_client`: the gate's connection to the cloud: decide online, fall back, upload afterwards.
"""
