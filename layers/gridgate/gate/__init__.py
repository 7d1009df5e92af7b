"""The gate: who may pass, decided by one set of rules online and offline.

- `decision`            the rules (`GateDecider`), their facts port and the reasons
- `cloud_facts`         the facts from DynamoDB and the warm galleries; the gate's services
- `estate_gallery`      warm per-estate face galleries, rebuilt on a gallery-version bump
- `signed_snapshot`     the offline snapshot's document and Ed25519 envelope (cloud and gate)
- `snapshot_publisher`  builds, signs, stores and hands out an estate's snapshot
- `offline_uploads`     what a gate decided offline, accepted once
- `bootstrap`           the gate function's composition root (`build_gate_services`)
- `device/`             what runs on the gate itself (imports nothing cloud-side)
"""
