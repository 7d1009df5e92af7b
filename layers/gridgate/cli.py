"""`gridgate`: the data-center staff's command line.

    gridgate import DIR             import a registry export (persons, homes, ownership CSVs)
    gridgate seed --persons N       seed a synthetic city into the configured tables
    gridgate flow list|run|schedule run a flow now, or create its scheduled Prefect deployments
    gridgate stats export OUT       statistics per district/street/community/grid/estate
    gridgate keys init|rotate|list  the stage's keyring and pass-signing keys

Every command works on whatever the environment points at: the local emulator (what
`make demo` starts) or a real stage (``GRIDGATE_STAGE``, AWS credentials, ``PREFECT_API_URL``).
Long work shows a progress bar. Exit codes: 0 done, 1 refused or failed, 2 usage error.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gridgate.config import get_settings

console = Console(stderr=True)
HELP = """gridgate for data-center staff: registries, flows, statistics, keys.

\b
  gridgate import DIR              import a registry export (CSV files)
  gridgate seed --persons N        seed a synthetic city
  gridgate flow list|run|schedule  run a flow now, or schedule its deployments
  gridgate stats export OUT        statistics to CSV or Parquet
  gridgate keys init|rotate|list   keyring and pass-signing keys

Works on what the environment points at: the local emulator or a real stage
(GRIDGATE_STAGE, AWS credentials, PREFECT_API_URL).
"""
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None, add_completion=False)
keys_app = typer.Typer(help="The stage's keyring and pass-signing keys.", no_args_is_help=True)
stats_app = typer.Typer(help="Population statistics the flows computed.", no_args_is_help=True)
flow_app = typer.Typer(help="Run a Prefect flow now, or schedule the deployments.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(stats_app, name="stats")
app.add_typer(flow_app, name="flow")


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


# --- keys -----------------------------------------------------------------------------------------


@keys_app.command("init")
def keys_init() -> None:
    """Create the stage's first keyring (field key, identifier hash key, signing key k1).

    Run once after the first deploy: infra/ creates the secret empty so that no key material
    passes through CloudFormation. Refuses if a keyring exists (it would orphan stored data).
    """
    from gridgate.services.key_rotation import KeyringAlreadyExists, init_keyring

    try:
        keyring, where = init_keyring(get_settings())
    except KeyringAlreadyExists as exc:
        fail(str(exc))
    console.print(f"keyring created in {where}; active signing key {keyring.active_signing_key_id}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new pass-signing key active; the previous keys stay for verification.

    Passes already issued (valid 24 h at most) keep verifying with the key id they carry.
    Functions pick the new key up as warm instances are recycled.
    """
    from gridgate.services.key_rotation import rotate_signing_key

    rotation, where = rotate_signing_key(get_settings())
    console.print(
        f"rotated in {where}: active {rotation.new_key_id} (was {rotation.previous_key_id}); "
        f"verifying with {', '.join(rotation.verifying_key_ids)}"
    )


@keys_app.command("list")
def keys_list() -> None:
    """Signing key ids with their public keys (never the private keys)."""
    import base64

    from gridgate.security.keyring import load_keyring
    from gridgate.security.passes import public_keys

    keyring = load_keyring(get_settings())
    table = Table("key id", "active", "public key (base64)")
    for key_id, public in sorted(public_keys(keyring).items()):
        active = "yes" if key_id == keyring.active_signing_key_id else ""
        table.add_row(key_id, active, base64.b64encode(public).decode())
    Console().print(table)


# --- stats ----------------------------------------------------------------------------------------


@stats_app.command("export")
def stats_export(
    out: Path = typer.Argument(..., help="output file, .csv or .parquet"),
    day: Optional[str] = typer.Option(None, help="only this day (YYYY-MM-DD)"),
    level: Optional[str] = typer.Option(
        None, help="only this level: district, street, community, grid or estate"
    ),
) -> None:
    """Export statistics (one row per place, day and metric) to CSV or Parquet."""
    from gridgate.services.statistics_export import read_statistics, write_statistics

    if out.suffix not in (".csv", ".parquet"):
        fail(f"unsupported output {out.name!r}: use .csv or .parquet")
    try:
        wanted_day = date.fromisoformat(day) if day else None
    except ValueError:
        fail(f"--day {day!r} is not a date (YYYY-MM-DD)")
    if wanted_day is not None:
        from gridgate.clock import city_clock
        from gridgate.config import get_settings
        from gridgate.domain.policy import report_day_problem

        problem = report_day_problem(wanted_day, city_clock().today(), get_settings().event_retention_days)
        if problem:
            fail(problem)
    stats = read_statistics(wanted_day, level)
    with progress() as bar:
        task = bar.add_task(f"writing {out.name}", total=len(stats))
        written = write_statistics(stats, out, on_row=lambda: bar.advance(task))
    console.print(f"{written} statistics rows written to {out}")


# --- import ---------------------------------------------------------------------------------------


@app.command("import")
def import_export(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="the export directory (CSV files)"),
    actor: str = typer.Option("data-center", help="who runs the import, for the audit log"),
    errors_file: Optional[Path] = typer.Option(None, "--errors", help="write every rejected row here"),
    strict: bool = typer.Option(False, help="exit 1 when any row was rejected"),
) -> None:
    """Import a registry export (persons.csv, homes.csv, ownership.csv, optional faces.csv).

    Files are checked first: a malformed file refuses the whole import and nothing is written.
    Good rows land, bad rows are reported with file, line and reason; importing the same files
    again changes nothing. docs/registry-import.md defines the columns.
    """
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring
    from gridgate.services.registry_import import ImportRefused, import_registry_export

    with progress() as bar:
        step = bar.add_task(f"importing {directory.name}: validating, then writing", total=1)
        try:
            report = import_registry_export(directory, IdentifierProtector(get_keyring()), actor=actor)
        except ImportRefused as refused:
            fail(str(refused))
        bar.advance(step)
    table = Table("entity", "created", "updated", "unchanged")
    for entity in sorted(set(report.created) | set(report.updated) | set(report.unchanged)):
        table.add_row(entity, str(report.created[entity]), str(report.updated[entity]), str(report.unchanged[entity]))
    Console().print(table)
    for error in report.errors[:20]:
        console.print(f"rejected {error}")
    if len(report.errors) > 20:
        console.print(f"... and {len(report.errors) - 20} more rejected rows")
    if errors_file is not None:
        errors_file.write_text("".join(f"{error}\n" for error in report.errors), encoding="utf-8")
    console.print(f"import {report.import_id[:12]}: {report.changed} changes, {len(report.errors)} rows rejected")
    if strict and report.errors:
        raise typer.Exit(1)


# --- seed -----------------------------------------------------------------------------------------


@app.command("seed")
def seed(
    persons: int = typer.Option(..., "--persons", min=20, help="people in the synthetic city (20 .. 1,000,000)"),
    seed_value: int = typer.Option(7, "--seed", help="same seed, same city"),
    days: int = typer.Option(3, "--days", min=0, help="days of entry/exit history before today"),
    provision: bool = typer.Option(True, help="create missing tables and the bucket first"),
) -> None:
    """Seed a synthetic city (hierarchy, homes, owners, residents, registries, events) into the
    configured tables: the emulator, or a test stage. Never point this at a real city's stage."""
    from local_emulator.synthetic_city import build_city, load_into_dynamodb

    settings = get_settings()
    with progress() as bar:
        steps = bar.add_task("seeding", total=3 if provision else 2)
        if provision:
            from gridgate.adapters.provisioning import provision as create_resources

            bar.update(steps, description="creating tables and bucket")
            create_resources(settings)
            bar.advance(steps)
        bar.update(steps, description=f"building a city of {persons:,} persons")
        city = build_city(persons, seed=seed_value, history_days=days)
        bar.advance(steps)
        bar.update(steps, description="writing tables and event history")
        report = load_into_dynamodb(city, settings)
        bar.advance(steps)
    table = Table("table", "items written")
    for name, count in report.items.items():
        table.add_row(name, f"{count:,}")
    Console().print(table)
    console.print(f"{report.total_items:,} items and {len(report.event_days_in_s3)} event days in {report.seconds:.1f} s")


# --- flows ----------------------------------------------------------------------------------------


def _scheduled() -> dict[str, object]:
    from flows.deployments import SCHEDULE

    return {item.flow.name: item for item in SCHEDULE}


@flow_app.command("list")
def flow_list() -> None:
    """The flows with their nightly schedule (city time)."""
    table = Table("flow", "deployment", "cron", "what it does")
    for name, item in _scheduled().items():
        table.add_row(name, item.name, item.cron, item.description)
    Console().print(table)


@flow_app.command("run")
def flow_run(
    name: str = typer.Argument(..., help="flow name, see `gridgate flow list`"),
    day: Optional[str] = typer.Option(None, help="the day to run for (YYYY-MM-DD); default yesterday"),
) -> None:
    """Run one flow now, in this process (against PREFECT_API_URL, or a temporary local server)."""
    scheduled = _scheduled()
    if name not in scheduled:
        fail(f"unknown flow {name!r}; flows: {', '.join(scheduled)}")
    from flows.city_data import BadReportDay, check_report_day

    parameters = {}
    if day:
        try:
            parameters["day"] = date.fromisoformat(day)
        except ValueError:
            fail(f"--day {day!r} is not a date (YYYY-MM-DD)")
        try:
            check_report_day(parameters["day"])
        except BadReportDay as refused:
            fail(str(refused))
    with console.status(f"running {name} (progress also in the Prefect UI)"):
        result = scheduled[name].flow(**parameters)
    console.print(f"{name} finished")
    Console().print_json(data=result, default=str)


@flow_app.command("schedule")
def flow_schedule(
    serve: bool = typer.Option(False, "--serve", help="serve the schedules from this process (local) "
                               "instead of creating deployments for a work pool"),
) -> None:
    """Create the scheduled deployments of flows/prefect.yaml on the Prefect server (what a data
    center runs once; needs the work pool `gridgate-flows` and GRIDGATE_FLOWS_IMAGE), or, with
    --serve, run the same schedules from this process (the emulator's way)."""
    if serve:
        from flows.deployments import main as serve_schedules

        serve_schedules([])
        return
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file", "flows/prefect.yaml"]
    raise typer.Exit(subprocess.run(command, cwd=repo).returncode)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
