"""The main job, end to end on the local emulator: ``make demo`` = ``python -m local_emulator.demo``.

It starts moto's server on loopback (DynamoDB and S3), creates every table and the bucket, seeds a
synthetic city, imports a small data-center export through the registry import (with the bad-row
report), and prints where the emulator listens, what was created and the item count of every
table. Then it stops what it started, unless ``--keep-running``.

The job is a list of steps (`STEPS`), each a function of the shared `Demo` state, run in order
and timed; later parts of the system add their own steps (flows, gate decisions) to the list.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by the steps that need them, once the environment is set
    from gridgate.config import Settings
    from local_emulator.prefect_server import PrefectServer
    from local_emulator.server import MotoServer
    from local_emulator.synthetic_city import City

PROJECT_DIR = Path(__file__).resolve().parents[1]
#: Where the emulator keeps its local secrets (git-ignored).
LOCAL_STATE_DIR = PROJECT_DIR / ".gridgate"


@dataclass
class Demo:
    """State shared by the steps."""

    args: argparse.Namespace
    server: MotoServer | None = None  # until the emulator starts
    prefect: PrefectServer | None = None  # until the night starts Prefect's server
    # set by their steps (provisioning, seeding) before any later step reads them
    settings: Settings = field(init=False)
    city: City = field(init=False)
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gridgate-demo-")))
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text, flush=True)


Step = Callable[[Demo], None]


def prepare_environment(demo: Demo) -> None:
    """Local, credential-free settings, fixed before any gridgate or boto3 module reads them."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "GRIDGATE_STAGE": os.environ.get("GRIDGATE_STAGE", "dev"),
        "POWERTOOLS_LOG_LEVEL": "ERROR",  # the functions' structured logs would drown the demo's story
        "POWERTOOLS_METRICS_DISABLED": "true",  # and so would their EMF metric lines (CloudWatch reads those)
    }.items():
        os.environ.setdefault(name, value)
    keyring_file = Path(os.environ.setdefault("GRIDGATE_KEYRING_FILE", str(LOCAL_STATE_DIR / "keyring.json")))
    if not keyring_file.exists():
        from gridgate.security.keyring import Keyring

        keyring_file.parent.mkdir(parents=True, exist_ok=True)
        keyring_file.write_text(Keyring.generate().to_json())
        keyring_file.chmod(0o600)
    demo.say(f"keyring (local secrets): {keyring_file}")


def start_emulator(demo: Demo) -> None:
    from local_emulator.server import start_moto_server

    demo.server = server = start_moto_server(port=demo.args.port)
    demo.cleanups.append(server.stop)
    os.environ.update(server.environment())
    demo.say(f"emulator: moto server (DynamoDB, S3) listening on {server.url} (pid {server.process.pid})")


def provision_tables(demo: Demo) -> None:
    from gridgate.adapters.provisioning import provision
    from gridgate.config import get_settings

    demo.settings = get_settings()
    created = provision(demo.settings)
    demo.say(
        f"created {len(created['tables'])} tables ({demo.settings.table_prefix}-{demo.settings.stage}-*) and bucket s3://{created['bucket']}"
    )


def seed_city(demo: Demo) -> None:
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.synthetic_city import build_city

    started = time.perf_counter()
    demo.city = build_city(demo.args.persons, seed=demo.args.seed, history_days=demo.args.history_days)
    built = time.perf_counter() - started
    report = load_into_dynamodb(demo.city, demo.settings)
    counts = demo.city.counts()
    demo.say(
        f"synthetic city (seed {demo.args.seed}): {counts['persons']:,} persons in {counts['homes']:,} homes, "
        f"{counts['buildings']:,} buildings, {counts['estates']} estates, {counts['grids']} grids, "
        f"{counts['communities']} communities, {counts['streets']} streets, {counts['districts']} districts; "
        f"{counts['gates']} gates"
    )
    demo.say(
        f"  built in {built:.1f} s, {report.total_items:,} items loaded in {report.seconds:.1f} s "
        f"({report.total_items / max(report.seconds, 1e-9):,.0f} items/s; import: {', '.join(report.imported) or 'none'})"
    )
    days = ", ".join(d.isoformat() for d in report.event_days_in_s3)
    demo.say(f"  access-event history in S3 (Parquet), one partition per UTC day: {days or 'none'}")
    truth = {name: len(values) for name, values in demo.city.truth.items()}
    demo.say(f"  planted for the flows to find: {truth}")


def import_registry(demo: Demo) -> None:
    from gridgate.registry.registry_import import import_registry_export
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring
    from local_emulator.registry_export import write_sample_export

    export = write_sample_export(demo.city, demo.work_dir / "registry-export")
    protector = IdentifierProtector(get_keyring())
    report = import_registry_export(export.directory, protector, actor="demo")
    demo.say(f"registry import of {export.directory}:")
    demo.say(f"  created {dict(report.created)}, updated {dict(report.updated)}, unchanged {dict(report.unchanged)}")
    demo.say(f"  rejected {sum(report.rejected.values())} rows:")
    for error in report.errors:
        demo.say(f"    {error}")
    again = import_registry_export(export.directory, protector, actor="demo")
    demo.say(f"  the same files again: {again.changed} changes, unchanged {dict(again.unchanged)}")


def show_counts(demo: Demo) -> None:
    import boto3

    from gridgate.adapters.tables import ALL_TABLES

    dynamodb = boto3.client("dynamodb")
    demo.say("items per table:")
    for table in ALL_TABLES:
        name = table.Meta.table_name
        count, request = 0, {"TableName": name, "Select": "COUNT"}
        while True:
            page = dynamodb.scan(**request)
            count += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        demo.say(f"  {name:<40} {count:>9,}")
    s3 = boto3.client("s3")
    objects = [
        o
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=demo.settings.bucket)
        for o in page.get("Contents", [])
    ]
    size = sum(o["Size"] for o in objects)
    demo.say(f"  s3://{demo.settings.bucket}: {len(objects)} objects, {size / 1e6:.1f} MB")


def app_and_gate(demo: Demo) -> None:
    from local_emulator.walkthrough import app_and_gate_walkthrough

    app_and_gate_walkthrough(demo)


def nightly_flows(demo: Demo) -> None:
    from local_emulator.nightly import run_night

    run_night(demo)


def open_pages(demo: Demo) -> None:
    """Demo step: play the city identity provider, serve the app signing people in through it, and
    print each page's way in (its sign-in address and a synthetic staff account of the emulated
    IdP's directory; nobody pastes a token), checked to lead to the login; and the Prefect UI,
    checked to point at the API it was started with."""
    import contextlib
    import json
    import secrets
    import urllib.request
    from collections import Counter

    from gridgate.adapters.findings import VerificationTaskRepository
    from local_emulator.app_server import running_app_server
    from local_emulator.identity_provider import EmulatedIdentityProvider, StaffAccount
    from local_emulator.server import free_port

    grids = Counter(task.grid_id for task in VerificationTaskRepository().open_tasks())
    grid = grids.most_common(1)[0][0] if grids else ""
    worker = StaffAccount("GW-0001", secrets.token_urlsafe(6), "王网格", ("grid-worker",), (grid,) if grid else ())
    staff = StaffAccount("DC-0001", secrets.token_urlsafe(6), "李数据", ("data-center-staff",))
    prefect_ui = demo.prefect.ui_url if demo.prefect is not None else ""
    stack = contextlib.ExitStack()
    demo.cleanups.append(stack.close)
    idp = stack.enter_context(EmulatedIdentityProvider([worker, staff]).running())
    url = stack.enter_context(
        running_app_server(free_port(), {"GRIDGATE_PREFECT_UI_URL": prefect_ui, "GRIDGATE_OIDC_ISSUER": idp.issuer})
    )
    pages = [
        ("grid worker", "grid-worker", worker, f"grid {grid}, {grids.get(grid, 0)} open tasks"),
        ("data center", "data-center", staff, "role data_center"),
    ]
    demo.say(f"app: {url}; city sign-in (emulated IdP): {idp.issuer} (add &lang=en for English)")
    for name, page, account, who in pages:
        with urllib.request.urlopen(f"{url}/pages/{page}", timeout=10) as response:
            status = response.status
        with urllib.request.urlopen(f"{url}/auth/login?page={page}", timeout=10) as response:
            login = (
                "the city sign-in" if response.url.startswith(idp.issuer) and response.status == 200 else response.url
            )
        demo.say(
            f"  {name} page (HTTP {status}, {who}):\n    {url}/auth/login?page={page}\n"
            f"    leads to {login}; staff number {account.staff_number}, password {account.password}"
        )
    if demo.prefect is not None:
        with urllib.request.urlopen(f"{prefect_ui}/ui-settings", timeout=10) as response:
            api_url = json.loads(response.read()).get("api_url")
        demo.say(f"  Prefect UI: {prefect_ui} (its API: {api_url})")


#: The job, in order.
STEPS: list[Step] = [
    prepare_environment,
    start_emulator,
    provision_tables,
    seed_city,
    import_registry,
    app_and_gate,
    nightly_flows,
    show_counts,
    open_pages,
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_emulator.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000, help="size of the synthetic city (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same city (default 7)")
    parser.add_argument(
        "--history-days", type=int, default=8, help="days of entry/exit history (default 8: the flows look back 7 days)"
    )
    parser.add_argument("--port", type=int, default=None, help="emulator port (default: a free one)")
    parser.add_argument("--keep-running", action="store_true", help="leave the emulator up until Ctrl-C")
    return parser.parse_args(argv)


def run(steps: list[Step], argv: list[str], *, keep_running: bool | None = None) -> int:
    demo = Demo(parse_args(argv))
    keep = demo.args.keep_running if keep_running is None else keep_running
    # a plain `kill` must stop what was started too: turn SIGTERM into a normal exit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    try:
        for step in steps:
            demo.say(f"\n== {step.__name__.replace('_', ' ')}")
            step_started = time.perf_counter()
            step(demo)
            demo.say(f"   ({time.perf_counter() - step_started:.1f} s)")
        demo.say(f"\ndone in {time.perf_counter() - started:.1f} s")
        if keep and demo.server is not None:
            demo.say(f"emulator keeps running on {demo.server.url}; environment for clients:")
            for name, value in sorted(demo.server.environment().items()):
                demo.say(f"  export {name}={value}")
            for name in ("GRIDGATE_STAGE", "GRIDGATE_KEYRING_FILE"):
                demo.say(f"  export {name}={os.environ[name]}")
            demo.say("press Ctrl-C to stop")
            while demo.server.process.poll() is None:
                time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        for cleanup in reversed(demo.cleanups):
            cleanup()
        if demo.server is not None:
            demo.say(f"stopped the emulator (pid {demo.server.process.pid})")


def main(argv: list[str] | None = None) -> int:
    return run(STEPS, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
