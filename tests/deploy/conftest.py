"""Fixtures for the deployment tests: the repository root on the path (for `infra`) and one
offline packaging run shared by every test that inspects its artifacts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


class Packaged:
    """What `make package` produced."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.serverless = json.loads((REPO / ".serverless" / "cloudformation-template-update-stack.json").read_text())
        self.sam = json.loads((REPO / "build" / "chalice" / "sam.json").read_text())
        self.api_zip = REPO / "build" / "chalice" / "deployment.zip"


@pytest.fixture(scope="session")
def packaged() -> Packaged:
    for tool in ("node", "npm", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` not found: Serverless Framework packaging needs Node.js, npm and make")
    result = subprocess.run(["make", "package"], cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make package failed:\n{output[-6000:]}"
    return Packaged(output)
