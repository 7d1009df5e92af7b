"""The gate: who may pass, decided by one set of rules online and offline.

- `decision`            the rules (`GateDecider`), their facts port and the reasons
- `cloud_facts`         the facts from DynamoDB and the warm galleries; the gate's services
- `estate_gallery`      warm per-estate face galleries, loaded from their object, kept current by deltas
- `gallery_contents`    what one estate's gallery holds at one version, and a delta
- `gallery_publisher`   builds an estate's gallery object from the tables, off the request path
- `resident_facts`      residents' secrets and rights a warm function remembers, checked by the write
- `affinity`            which gate function shard serves an estate
- `signed_snapshot`     the offline snapshot's document and Ed25519 envelope (cloud and gate)
- `snapshot_publisher`  builds, signs, stores and hands out an estate's snapshot
- `offline_uploads`     what a gate decided offline, accepted once
- `bootstrap`           the gate function's composition root (`build_gate_services`)
- `device/`             what runs on the gate itself (imports nothing cloud-side)
"""
