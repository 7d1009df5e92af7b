"""Build every deployable artifact offline and lint the templates: what `make package` runs.

1. the generated deployment files must be current (`python -m infra.generate --check`);
2. `chalice package` builds the API function's zip (the app, the `gridgate` package vendored in
   without the folders the API never runs, dependencies built for Lambda) and a SAM template
   with `infra/` merged in: build/chalice/;
3. `serverless package` builds the whole system's CloudFormation template, using that same zip
   for the API function and a container image for the gate function: .serverless/;
4. the gate device's package (`gate/device` and what it runs, nothing cloud-side): build/device/;
5. `cfn-lint` checks both templates; any error fails the build.

No AWS credentials are needed or used: they are removed from the environment of every step,
so a step that tried to call AWS would fail here rather than in the data center.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.generate import RESOURCES_TEMPLATE, stale_files

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
CHALICE_PROJECT = BUILD / "chalice-project"
CHALICE_OUT = BUILD / "chalice"
SERVERLESS_OUT = REPO / ".serverless"
SERVERLESS_BIN = REPO / "node_modules" / ".bin" / "serverless"
ECHARTS = REPO / "node_modules" / "echarts" / "dist" / "echarts.min.js"

#: Placeholder image for offline packaging. A real deploy passes the digest it pushed.
PLACEHOLDER_GATE_IMAGE = "000000000000.dkr.ecr.us-east-1.amazonaws.com/gridgate-gate@sha256:" + "0" * 64

#: cfn-lint rules ignored, each with the reason; warnings never fail the build, errors do.
IGNORED_LINT_RULES: dict[str, str] = {}

_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


def offline_environment(region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARIABLES}
    env.update(
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        # No credential files either, so nothing can be picked up from ~/.aws.
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_DEPRECATION_DISABLE="*",
    )
    return env


def console_script(name: str) -> list[str]:
    """Run a console script of this environment with this interpreter (whatever its shebang)."""
    return [sys.executable, str(Path(sys.executable).with_name(name))]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, env=env, check=True)


LAYER = REPO / "layers" / "gridgate"
DEVICE_OUT = BUILD / "device"

#: What the API zip leaves out of the layer, by folder (and the three adapters over Parquet and the
#: SQL engines): the nightly computations, the registry import, operations and the gate device's
#: code. The API never imports them (an import-linter contract), so they would only be dead weight.
API_EXCLUDED = (
    "analytics",
    "registry",
    "operations",
    "gate/device",
    "adapters/event_export.py",
    "adapters/event_files.py",
    "adapters/parquet_exports.py",
    "adapters/sql_engines.py",
)
#: All a gate device runs: its own folder, the one decision rule set and the snapshot format, and
#: the pure packages under them (tests/deploy/test_artifact_contents.py checks nothing is missing).
DEVICE_INCLUDED = (
    "__init__.py",
    "clock.py",
    "config.py",
    "refusals.py",  # the pure computations' refusal shape (a code and members)
    "domain",
    "security",
    "faces",
    "qr",
    "gate/__init__.py",
    "gate/decision.py",
    "gate/signed_snapshot.py",
    "gate/device",
)
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "venv")


def copy_layer(destination: Path, *, include: tuple[str, ...] = ("",), exclude: tuple[str, ...] = ()) -> None:
    """The layer's files under `include` (folders or files) and not under `exclude`, to `destination`."""
    for source in sorted(LAYER.rglob("*")):
        relative = source.relative_to(LAYER).as_posix()
        wanted = any(relative == p or relative.startswith(p.rstrip("/") + "/") or not p for p in include)
        unwanted = any(relative == p or relative.startswith(p + "/") for p in exclude)
        if source.is_file() and wanted and not unwanted and "__pycache__" not in source.parts:
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def stage_chalice_project() -> Path:
    """A Chalice project dir: functions/ plus `gridgate` in vendor/ (Chalice zips vendor/ as is).

    The layer goes in without the folders the API never runs (`API_EXCLUDED`). The directory is
    kept between runs so Chalice's cache of built dependencies (.chalice/deployments/) makes a
    repeated package fast.
    """
    functions = REPO / "functions"
    CHALICE_PROJECT.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(functions / name, CHALICE_PROJECT / name)
    for name in ("chalicelib", "vendor"):
        shutil.rmtree(CHALICE_PROJECT / name, ignore_errors=True)
    shutil.copytree(functions / "chalicelib", CHALICE_PROJECT / "chalicelib", ignore=_IGNORED)
    copy_layer(CHALICE_PROJECT / "vendor" / "gridgate", exclude=API_EXCLUDED)
    shutil.copytree(functions / ".chalice", CHALICE_PROJECT / ".chalice", ignore=_IGNORED, dirs_exist_ok=True)
    # the data-center page's chart library, from npm (package-lock.json pins it), served by the app
    vendor = CHALICE_PROJECT / "chalicelib" / "pages" / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ECHARTS, vendor / ECHARTS.name)
    return CHALICE_PROJECT


def device_package(out: Path = DEVICE_OUT) -> Path:
    """The gate device's package: `gridgate-device.zip` holding only `DEVICE_INCLUDED`."""
    staging = out / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    copy_layer(staging / "gridgate", include=DEVICE_INCLUDED)
    archive = shutil.make_archive(str(out / "gridgate-device"), "zip", root_dir=staging)
    shutil.rmtree(staging)
    return Path(archive)


def chalice_package(stage: str, env: dict[str, str]) -> Path:
    project = stage_chalice_project()
    shutil.rmtree(CHALICE_OUT, ignore_errors=True)
    _run(
        [
            *console_script("chalice"),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(RESOURCES_TEMPLATE),
            str(CHALICE_OUT),
        ],
        cwd=project,
        env=env,
    )
    return CHALICE_OUT / "sam.json"


def serverless_package(stage: str, gate_image: str, env: dict[str, str]) -> Path:
    if not SERVERLESS_BIN.exists():
        raise SystemExit("node_modules/.bin/serverless missing: run `npm ci` (make package does)")
    shutil.rmtree(SERVERLESS_OUT, ignore_errors=True)
    _run(
        [str(SERVERLESS_BIN), "package", "--stage", stage, f"--param=gateImage={gate_image}"],
        cwd=REPO,
        env=env,
    )
    return SERVERLESS_OUT / "cloudformation-template-update-stack.json"


def cfn_lint(templates: list[Path], env: dict[str, str]) -> None:
    """Errors fail; warnings (exit bit 4) and informational findings (bit 8) are printed only."""
    command = console_script("cfn-lint")
    for rule in IGNORED_LINT_RULES:
        command += ["--ignore-checks", rule]
    command += [str(t) for t in templates]
    print("$", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=REPO, env=env)
    if result.returncode & 2 or result.returncode & 1:
        raise SystemExit(f"cfn-lint found errors (exit {result.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument(
        "--gate-image",
        default=os.environ.get("GATE_IMAGE", PLACEHOLDER_GATE_IMAGE),
        help="gate image URI with @sha256 digest (default: an offline placeholder)",
    )
    parser.add_argument("--skip-lint", action="store_true")
    args = parser.parse_args(argv)

    stale = stale_files()
    if stale:
        names = ", ".join(str(p.relative_to(REPO)) for p in stale)
        raise SystemExit(f"generated deployment files are stale: {names}; run `python -m infra.generate`")
    env = offline_environment(args.region)
    templates = [chalice_package(args.stage, env), serverless_package(args.stage, args.gate_image, env)]
    print(f"packaged: {device_package().relative_to(REPO)}")
    if not args.skip_lint:
        cfn_lint(templates, env)
    for template in templates:
        print(f"packaged: {template.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
