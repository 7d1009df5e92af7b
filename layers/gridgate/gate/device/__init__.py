"""What runs on the gate itself: a local verifier over the signed snapshot and an event buffer.

It imports nothing cloud-side (an import-linter contract): besides this folder, the device package
holds `gridgate.gate.decision`, `gridgate.gate.signed_snapshot` and the pure packages.

- `gridgate.gate.signed_snapshot`: the snapshot document and its Ed25519 envelope (cloud and gate share it);
- `event_buffer`: the gate's durable list of events not yet uploaded;
- `offline_verifier`: decides with `gridgate.gate.decision` from a snapshot (no copy of the rules);
- `gate_client`: the gate's connection to the cloud: decide online, fall back, upload afterwards.
"""
