"""Write the generated deployment files, or check that the checked-in ones are current.

    python -m infra.generate           # rewrite the generated files listed in `rendered()`
    python -m infra.generate --check   # exit 1 and name the stale files (CI, tests/deploy)

Generated from the code: tables from the PynamoDB models, IAM from `infra.policies`, alarms
from `infra.alarms`, API routes from the Chalice app (`infra.routes`), the gate's shard functions
from the shard table (`infra.gate_shards`). The
template is merged into both deployment descriptors: `serverless.yml` includes it with
``${file(...)}``, `chalice package --merge-template` merges it into Chalice's SAM template.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.alarms import alarm_outputs, alarm_resources
from infra.gate_shards import shard_functions
from infra.naming import GATE_FUNCTION
from infra.policies import iam_outputs, iam_resources, policy_document
from infra.resources import CONDITIONS, PARAMETERS, outputs, stateful_resources
from infra.routes import binary_media_types, chalice_app, http_events

REPO = Path(__file__).resolve().parents[1]
RESOURCES_TEMPLATE = REPO / "infra" / "cloudformation" / "gridgate-resources.json"
CHALICE_POLICY = REPO / "functions" / ".chalice" / "policy-api.json"
API_GATEWAY = REPO / "infra" / "serverless" / "api-gateway.json"
GATE_SHARDS = REPO / "infra" / "serverless" / "gate-shards.json"


def resources_template() -> dict:
    return {
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Resources": {**stateful_resources(), **iam_resources(), **alarm_resources()},
        "Outputs": {**outputs(), **iam_outputs(), **alarm_outputs()},
    }


def chalice_policy() -> dict:
    """The API policy for Chalice's own role; its function's log group is named by SAM."""
    return policy_document("api", ["/aws/lambda/${AWS::StackName}-APIHandler-*"])


def api_gateway() -> dict:
    """Routes per function and binary media types, read by `serverless.yml` with ``${file()}``."""
    app = chalice_app()
    return {"binaryMediaTypes": binary_media_types(app), "events": http_events(app)}


def gate_shards() -> dict:
    """The gate's shard functions (`infra.gate_shards`), listed in `serverless.yml`'s ``functions``."""
    return shard_functions(http_events(chalice_app())[GATE_FUNCTION])


def rendered() -> dict[Path, str]:
    documents = {
        RESOURCES_TEMPLATE: resources_template(),
        CHALICE_POLICY: chalice_policy(),
        API_GATEWAY: api_gateway(),
        GATE_SHARDS: gate_shards(),
    }
    return {path: json.dumps(document, indent=2) + "\n" for path, document in documents.items()}


def stale_files() -> list[Path]:
    return [path for path, text in rendered().items() if not path.is_file() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(REPO)} (run: python -m infra.generate)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
