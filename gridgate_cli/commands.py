"""`gridgate`: the data-center staff's command line.

    gridgate import DIR             import a registry export (persons, homes, ownership CSVs)
    gridgate seed --persons N       seed a synthetic city into the configured tables
    gridgate flow list|run|schedule run a flow now, or create its scheduled Prefect deployments
    gridgate stats export OUT       statistics per district/street/community/grid/estate
    gridgate keys init|rotate|list  the stage's keyring and pass-signing keys

Every command works on whatever the environment points at: the local emulator (what
`make demo` starts) or a real stage (``GRIDGATE_STAGE``, AWS credentials, ``PREFECT_API_URL``).
Long work shows a progress bar. Exit codes: 0 done, 1 refused or failed, 2 usage error.

Staff read Chinese first: every help text and message comes from the message catalogue
(`gridgate.i18n`), in Simplified Chinese unless ``GRIDGATE_LOCALE=en``. The docstrings below are
for developers (why a command behaves as it does); the help people see is the catalogue's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

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

from gridgate import clock
from gridgate.config import get_settings
from gridgate.i18n import refusal_text, translator
from gridgate.refusals import Invalid


def cli_locale(argv: Sequence[str], environ: dict[str, str]) -> str:
    """The staff's language: ``--lang`` on the command line, else ``GRIDGATE_LOCALE``, else the
    shell's ``LANG`` when it names English (``C.UTF-8`` names no language), else Chinese.
    Read before the commands are built, so that their help is in that language too."""
    for at, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if arg == "--lang" and at + 1 < len(argv):
            return argv[at + 1]
    if environ.get("GRIDGATE_LOCALE"):
        return environ["GRIDGATE_LOCALE"]
    return "en" if environ.get("LANG", "").lower().startswith("en") else "zh_CN"


if TYPE_CHECKING:  # the flows are imported by the commands that run them (Prefect is slow to import)
    from flows.deployments import Scheduled

console = Console(stderr=True)
#: The staff's language for this process; `choose_language` (the ``--lang`` option) may replace it.
t = translator(cli_locale(sys.argv[1:], dict(os.environ)))
app = typer.Typer(help=t("cli.help"), no_args_is_help=True, rich_markup_mode=None, add_completion=False)
keys_app = typer.Typer(help=t("cli.keys.help"), no_args_is_help=True)
stats_app = typer.Typer(help=t("cli.stats.help"), no_args_is_help=True)
flow_app = typer.Typer(help=t("cli.flow.help"), no_args_is_help=True)
events_app = typer.Typer(help=t("cli.events.help"), no_args_is_help=True)
gate_app = typer.Typer(help=t("cli.gate.help"), no_args_is_help=True)
compliance_app = typer.Typer(help=t("cli.compliance.help"), no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(stats_app, name="stats")
app.add_typer(flow_app, name="flow")
app.add_typer(events_app, name="events")
app.add_typer(gate_app, name="gate")
app.add_typer(compliance_app, name="compliance")


@app.callback()
def choose_language(
    lang: str | None = typer.Option(None, "--lang", help=t("cli.lang"), metavar="zh-CN|en"),
) -> None:
    """``gridgate --lang en …``: messages, refusals and bad-row reasons in that language (each
    invocation chooses anew: one process may run several, as the tests do)."""
    global t
    t = translator(lang or cli_locale(sys.argv[1:], dict(os.environ)))


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def fail(message: str) -> NoReturn:
    console.print(f"[red]{t('cli.error')}[/red] {message}")
    raise typer.Exit(1)


# --- keys -----------------------------------------------------------------------------------------


@keys_app.command("init", help=t("cli.keys.init.help"))
def keys_init() -> None:
    """Create the stage's first keyring (field key, identifier hash key, signing key k1).

    Run once after the first deploy: infra/ creates the secret empty so that no key material
    passes through CloudFormation. Refuses if a keyring exists (it would orphan stored data).
    """
    from gridgate.operations.key_rotation import KeyringAlreadyExists, init_keyring

    try:
        keyring, where = init_keyring(get_settings())
    except KeyringAlreadyExists:
        fail(t("cli.keys.exists"))
    console.print(t("cli.keys.created", where=where, key=keyring.active_signing_key_id))


@keys_app.command("rotate", help=t("cli.keys.rotate.help"))
def keys_rotate() -> None:
    """Make a new pass-signing key active; the previous keys stay for verification.

    Passes already issued (valid 24 h at most) keep verifying with the key id they carry.
    Functions pick the new key up as warm instances are recycled.
    """
    from gridgate.operations.key_rotation import rotate_signing_key

    rotation, where = rotate_signing_key(get_settings())
    console.print(
        t(
            "cli.keys.rotated",
            where=where,
            new=rotation.new_key_id,
            old=rotation.previous_key_id,
            verifying=", ".join(rotation.verifying_key_ids),
        )
    )


@keys_app.command("list", help=t("cli.keys.list.help"))
def keys_list() -> None:
    """Signing key ids with their public keys (never the private keys)."""
    import base64

    from gridgate.security.keyring import load_keyring
    from gridgate.security.signed_passes import public_keys

    keyring = load_keyring(get_settings())
    table = Table(t("cli.keys.col.id"), t("cli.keys.col.active"), t("cli.keys.col.public"))
    for key_id, public in sorted(public_keys(keyring).items()):
        active = t("cli.yes") if key_id == keyring.active_signing_key_id else ""
        table.add_row(key_id, active, base64.b64encode(public).decode())
    Console().print(table)


# --- compliance (issue 18, docs/privacy.md) -------------------------------------------------------


@compliance_app.command("figures", help=t("cli.compliance.figures.help"))
def compliance_figures() -> None:
    """The compliance report counted from the stored data (the same `ComplianceReport` as the page)."""
    from gridgate.compliance.face_figures import FILING_THRESHOLD_PEOPLE
    from gridgate.compliance.report_sources import stored_compliance_report

    report = stored_compliance_report(get_settings()).report()
    figures = report.figures
    table = Table(t("cli.compliance.col.figure"), t("cli.compliance.col.value"))
    table.add_row(t("cli.compliance.people_with_faces"), str(figures.people_with_faces))
    for basis, count in figures.templates_by_basis.items():
        table.add_row(t("cli.compliance.templates_by_basis", basis=basis), str(count))
    table.add_row(t("cli.compliance.consents_in_force"), str(figures.consents_in_force))
    table.add_row(t("cli.compliance.consents_withdrawn"), str(figures.consents_withdrawn))
    table.add_row(t("cli.compliance.app_without_consent"), str(figures.app_templates_without_consent))
    table.add_row(t("page.cr.people_opted_out"), str(report.people_opted_out))
    for key, held in (("page.cr.events", report.events), ("page.cr.templates", report.templates)):
        oldest = "-" if held.oldest_age_days is None else str(held.oldest_age_days)
        verdict = t("page.cr.within" if held.within_policy else "page.cr.over")
        table.add_row(
            t("cli.compliance.retention", held=t(key), policy=held.policy_days),
            f"{oldest} ({verdict}: {held.over_policy})",
        )
    latest = report.assessment
    table.add_row(
        t("page.cr.assessment"),
        f"{latest.assessed_on} {latest.version} ({latest.recorded_by})"
        if latest
        else t("cli.compliance.assessment.none"),
    )
    Console().print(table)
    if figures.filing_due:
        console.print(f"[red]{t('cli.compliance.filing_due', threshold=FILING_THRESHOLD_PEOPLE)}[/red]")


@compliance_app.command("record-assessment", help=t("cli.compliance.assessment.help"))
def compliance_record_assessment(
    version: str = typer.Option(..., help=t("cli.compliance.assessment.version")),
    assessed_on: str = typer.Option(..., "--date", help=t("cli.compliance.assessment.date")),
    recorded_by: str = typer.Option(..., "--by", help=t("cli.compliance.assessment.by")),
) -> None:
    """Record the personal-information impact assessment done (PIPL Arts. 55-56): stored, never
    overwritten or deleted, shown by the compliance report; audited."""
    from gridgate.adapters.audit import AuditLog
    from gridgate.adapters.compliance_records import ImpactAssessmentRepository
    from gridgate.compliance.rules import check_assessment
    from gridgate.domain.legal_records import ImpactAssessment
    from gridgate.refusals import Refused

    try:
        assessment = ImpactAssessment(date.fromisoformat(assessed_on), version, recorded_by, clock.now())
        check_assessment(assessment, today=clock.today())
    except ValueError:
        fail(t("cli.bad_date", value=repr(assessed_on)))
        return
    except Refused as refused:
        fail(refusal_text(refused, t.locale))
        return
    ImpactAssessmentRepository().add(assessment)
    AuditLog().record(
        recorded_by,
        "compliance.impact_assessment.recorded",
        "impact_assessment",
        detail={"assessed_on": assessed_on, "version": version},
    )
    console.print(t("cli.compliance.assessment.recorded", date=assessed_on, version=version))


@compliance_app.command("approve-correction", help=t("cli.compliance.approve.help"))
def compliance_approve_correction(
    person_id: str = typer.Argument(..., help=t("cli.compliance.approve.person")),
    case_no: str = typer.Option(..., "--case", help=t("cli.compliance.approve.case")),
    approved_by: str = typer.Option(..., "--approved-by", help=t("cli.compliance.approve.by")),
    starts: str = typer.Option(..., help=t("cli.compliance.approve.starts")),
    ends: str = typer.Option(..., help=t("cli.compliance.approve.ends")),
) -> None:
    """Record an approval of correction tracking (at most three months; renew with a new one)."""
    from gridgate.adapters.audit import AuditLog
    from gridgate.adapters.compliance_records import CorrectionApprovalRepository
    from gridgate.compliance.rules import check_approval
    from gridgate.domain.legal_records import CorrectionApproval
    from gridgate.refusals import Refused

    try:
        approval = CorrectionApproval(
            person_id, case_no, approved_by, date.fromisoformat(starts), date.fromisoformat(ends), clock.now()
        )
        check_approval(approval)
    except ValueError:
        fail(t("cli.not_a_date", value=f"{starts!r} / {ends!r}"))
        return
    except Refused as refused:
        fail(refusal_text(refused, t.locale))
        return
    CorrectionApprovalRepository().add(approval)
    AuditLog().record(
        approved_by,
        "correction.tracking.approved",
        f"person#{person_id}",
        detail={"case_no": case_no, "starts": starts, "ends": ends},
    )
    console.print(t("cli.compliance.approved", person=person_id, ends=ends))


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


@compliance_app.command("approve-flow-query", help=t("cli.compliance.flow.help"))
def compliance_approve_flow_query(
    approval_id: str = typer.Argument(..., help=t("cli.compliance.flow.id")),
    officer: str = typer.Option(..., "--officer", help=t("cli.compliance.flow.officer")),
    approved_by: str = typer.Option(..., "--approved-by", help=t("cli.compliance.approve.by")),
    case_ref: str = typer.Option(..., "--case", help=t("cli.compliance.approve.case")),
    purpose: str = typer.Option(..., help=t("cli.compliance.flow.purpose")),
    estates: str = typer.Option("", help=t("cli.compliance.flow.estates")),
    grids: str = typer.Option("", help=t("cli.compliance.flow.grids")),
    persons: str = typer.Option("", help=t("cli.compliance.flow.persons")),
    window_from: str = typer.Option(..., "--from", help=t("cli.compliance.flow.from")),
    window_to: str = typer.Option(..., "--to", help=t("cli.compliance.flow.to")),
    expires: str = typer.Option(..., help=t("cli.compliance.flow.expires")),
    export: bool = typer.Option(False, "--export/--no-export", help=t("cli.compliance.flow.export")),
) -> None:
    """Record the approval an officer's epidemic flow queries rest on (paper §3.3.1; docs/privacy.md).

    Typed from the health authority's written approval; checked (scope, window ≤ 28 days, usable ≤ 30
    days, approver ≠ officer) and audited by `FlowQueries.record_approval`; never overwritten."""
    from datetime import datetime

    from gridgate.adapters.audit import AuditLog
    from gridgate.adapters.flow_approvals import FlowApprovalRepository
    from gridgate.adapters.flow_events import FlowEventReader
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.flow_query_records import FlowQueryApproval
    from gridgate.public_health.flow_queries import FlowQueries
    from gridgate.refusals import Refused

    queries = FlowQueries(FlowApprovalRepository(), FlowEventReader(), PlaceRepository(), AuditLog())
    try:
        approval = queries.record_approval(
            FlowQueryApproval(
                approval_id=approval_id,
                granted_to=officer,
                approved_by=approved_by,
                case_ref=case_ref,
                purpose=purpose,
                estates=_ids(estates),
                grids=_ids(grids),
                persons=_ids(persons),
                window_from=datetime.fromisoformat(window_from),
                window_to=datetime.fromisoformat(window_to),
                expires_at=datetime.fromisoformat(expires),
                export_allowed=export,
                approved_at=clock.now(),
            )
        )
    except ValueError:  # one of the three times is not an ISO time
        fail(t("cli.bad_times", values=", ".join(repr(v) for v in (window_from, window_to, expires))))
        return
    except Refused as refused:
        fail(refusal_text(refused, t.locale))
        return
    console.print(t("cli.compliance.flow.approved", approval=approval.approval_id, officer=officer, expires=expires))


# --- stats ----------------------------------------------------------------------------------------


@stats_app.command("export", help=t("cli.stats.export.help"))
def stats_export(
    out: Path = typer.Argument(..., help=t("cli.stats.out")),
    day: str | None = typer.Option(None, help=t("cli.stats.day")),
    level: str | None = typer.Option(None, help=t("cli.stats.level")),
) -> None:
    """Export statistics (one row per place, day and metric) to CSV or Parquet: place and metric
    names beside the ids, whole-number counts, a BOM so Excel shows the Chinese names."""
    from gridgate.analytics.statistics_export import read_statistics, write_statistics

    if out.suffix not in (".csv", ".parquet"):
        fail(t("cli.stats.unsupported", name=repr(out.name)))
    try:
        wanted_day = date.fromisoformat(day) if day else None
    except ValueError:
        fail(t("cli.not_a_date", value=repr(day)))
    if wanted_day is not None:
        from gridgate.clock import city_clock
        from gridgate.config import get_settings
        from gridgate.domain.policy import report_day_problem

        problem = report_day_problem(wanted_day, city_clock().today(), get_settings().event_retention_days)
        if problem:
            fail(refusal_text(Invalid("bad_day", **problem), t.locale))
    stats = read_statistics(wanted_day, level)
    with progress() as bar:
        task = bar.add_task(t("cli.stats.writing", name=out.name), total=len(stats))
        written = write_statistics(stats, out, on_row=lambda: bar.advance(task), locale=t.locale)
    console.print(t("cli.stats.written", count=written, out=out))


# --- import ---------------------------------------------------------------------------------------


@app.command("import", help=t("cli.import.help"))
def import_export(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help=t("cli.import.dir")),
    actor: str = typer.Option("data-center", help=t("cli.import.actor")),
    errors_dir: Path | None = typer.Option(None, "--errors", file_okay=False, help=t("cli.import.errors")),
    strict: bool = typer.Option(False, help=t("cli.import.strict")),
    encoding: str = typer.Option("utf-8", help=t("cli.import.encoding")),
) -> None:
    """Import a registry export (persons.csv, homes.csv, ownership.csv, optional faces.csv).

    Files are checked first: a malformed file refuses the whole import and nothing is written.
    Good rows land, bad rows are reported with file, line and reason; importing the same files
    again changes nothing. docs/registry-import.md defines the columns. The rejected rows are
    written as an export of their own (`write_rejected_rows`), so correcting them is editing a
    spreadsheet and importing that folder, not retyping rows from a report.
    """
    import codecs

    from gridgate.registry.registry_import import ImportRefused, import_registry_export, write_rejected_rows
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(t("cli.import.bad_encoding", encoding=encoding))
    with progress() as bar:
        step = bar.add_task(t("cli.import.progress", name=directory.name), total=1)
        try:
            report = import_registry_export(
                directory, IdentifierProtector(get_keyring()), actor=actor, encoding=encoding
            )
        except ImportRefused as refused:
            fail(refusal_text(refused, t.locale))
        bar.advance(step)
    table = Table(*(t(f"cli.import.col.{c}") for c in ("entity", "created", "updated", "unchanged")))
    for entity in sorted(set(report.created) | set(report.updated) | set(report.unchanged)):
        table.add_row(entity, str(report.created[entity]), str(report.updated[entity]), str(report.unchanged[entity]))
    Console().print(table)
    for error in report.errors[:20]:
        console.print(t("cli.import.rejected", file=error.file, line=error.line, reason=error.text(t.locale)))
    if len(report.errors) > 20:
        console.print(t("cli.import.more_rejected", count=len(report.errors) - 20))
    if errors_dir is not None and report.errors:
        write_rejected_rows(directory, report.errors, errors_dir, encoding, t.locale)
        console.print(t("cli.import.errors_written", folder=errors_dir))
    console.print(
        t("cli.import.summary", import_id=report.import_id[:12], changes=report.changed, rejected=len(report.errors))
    )
    if strict and report.errors:
        raise typer.Exit(1)


# --- seed -----------------------------------------------------------------------------------------


@app.command("seed", help=t("cli.seed.help"))
def seed(
    persons: int = typer.Option(..., "--persons", min=20, help=t("cli.seed.persons")),
    seed_value: int = typer.Option(7, "--seed", help=t("cli.seed.seed")),
    days: int = typer.Option(3, "--days", min=0, help=t("cli.seed.days")),
    provision: bool = typer.Option(True, help=t("cli.seed.provision")),
    force: bool = typer.Option(False, "--force", help=t("cli.seed.force")),
) -> None:
    """Seed a synthetic city (hierarchy, homes, owners, residents, registries, events) into the
    configured tables: the emulator, or a test stage. Never point this at a real city's stage.

    Seeding over a city replaces its people silently, so it is refused when the tables already
    hold districts, unless --force says that is what is wanted."""
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.synthetic_city import build_city

    settings = get_settings()
    with progress() as bar:
        steps = bar.add_task(t("cli.seed.seeding"), total=3 if provision else 2)
        if provision:
            from gridgate.adapters.provisioning import provision as create_resources

            bar.update(steps, description=t("cli.seed.provisioning"))
            create_resources(settings)
            bar.advance(steps)
        if not force:
            _refuse_to_overwrite_a_city()
        bar.update(steps, description=t("cli.seed.building", persons=f"{persons:,}"))
        city = build_city(persons, seed=seed_value, history_days=days)
        bar.advance(steps)
        bar.update(steps, description=t("cli.seed.writing"))
        report = load_into_dynamodb(city, settings)
        bar.advance(steps)
    table = Table(t("cli.seed.col.table"), t("cli.seed.col.items"))
    for name, count in report.items.items():
        table.add_row(name, f"{count:,}")
    Console().print(table)
    console.print(
        t(
            "cli.seed.done",
            items=f"{report.total_items:,}",
            days=len(report.event_days_in_s3),
            seconds=f"{report.seconds:.1f}",
        )
    )


def _refuse_to_overwrite_a_city() -> None:
    """Exit 1 when the place table already has districts (a city is there)."""
    from gridgate.adapters.overview_queries import districts

    try:
        existing = districts()
    except Exception:  # noqa: BLE001 - no table yet (--no-provision on a fresh stage): nothing to overwrite
        return
    if existing:
        fail(t("cli.seed.exists", count=len(existing), example=existing[0].name or existing[0].place_id))


# --- flows ----------------------------------------------------------------------------------------


def _scheduled() -> dict[str, Scheduled]:
    from flows.deployments import SCHEDULE

    return {item.flow.name: item for item in SCHEDULE}


@flow_app.command("list", help=t("cli.flow.list.help"))
def flow_list() -> None:
    """The flows with their nightly schedule (city time). One block per flow rather than a table:
    a table squeezed into a terminal cuts the names people must type into `flow run`."""
    out = Console(soft_wrap=True)
    for name, item in _scheduled().items():
        out.print(f"[bold]{name}[/bold]", highlight=False)
        out.print(f"  {t('cli.flow.list.deployment')}: {item.name}", highlight=False)
        out.print(f"  {t('cli.flow.list.cron')}: {item.cron or t('cli.flow.list.by_night')}", highlight=False)
        out.print(f"  {t(f'flow.{name}')}", highlight=False)


@flow_app.command("run", help=t("cli.flow.run.help"))
def flow_run(
    name: str = typer.Argument(..., help=t("cli.flow.run.name")),
    day: str | None = typer.Option(None, help=t("cli.flow.run.day")),
) -> None:
    """Run one flow now: as a run of its deployment when a worker serves that deployment on the
    Prefect server of PREFECT_API_URL (what the server shows and the schedule would run), else in
    this process (against that server, or a temporary local one), saying so."""
    scheduled = _scheduled()
    if name not in scheduled:
        fail(t("cli.flow.unknown", name=repr(name), flows=", ".join(scheduled)))
    from flows.city_data import BadReportDay, check_report_day

    parameters = {}
    if day:
        try:
            parameters["day"] = date.fromisoformat(day)
        except ValueError:
            fail(t("cli.not_a_date", value=repr(day)))
        try:
            check_report_day(parameters["day"])
        except BadReportDay as refused:
            fail(refusal_text(refused, t.locale))
    deployment = f"{name}/{scheduled[name].name}"
    pool = _pool_with_worker(deployment)
    result: dict | None  # the run's summary
    with console.status(t("cli.flow.running", name=name)):
        if pool:
            result = _run_deployment(name, deployment, pool, parameters)
        else:
            console.print(t("cli.flow.in_process", name=name, deployment=deployment))
            result = scheduled[name].flow(**parameters)
    console.print(t("cli.flow.finished", name=name))
    Console().print_json(data=result, default=str)


def _pool_with_worker(deployment: str) -> str | None:
    """The work pool of `deployment` if the server has the deployment and a worker is online on
    its pool, its last heartbeat within two of its intervals; None otherwise (a run would wait
    for a worker that is not there; a pool stays READY for a while after its worker stopped)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            stored = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            return None
        if not stored.work_pool_name:
            return None
        workers = client.read_workers_for_work_pool(stored.work_pool_name)
    now = clock.now()
    alive = [
        w
        for w in workers
        if w.status.value == "ONLINE"
        and w.last_heartbeat_time
        and (now - w.last_heartbeat_time).total_seconds() < 2 * (w.heartbeat_interval_seconds or 30)
    ]
    return stored.work_pool_name if alive else None


def _run_deployment(name: str, deployment: str, pool: str, parameters: dict) -> dict:
    from flows.deployments import run_and_wait

    run = run_and_wait(deployment, parameters={k: v.isoformat() for k, v in parameters.items()}, timeout=None)
    console.print(t("cli.flow.via_deployment", name=name, deployment=deployment, run=run.name, pool=pool))
    if not run.completed:
        fail(t("cli.flow.failed", name=name, state=run.state, message=run.message))
    return {"flow_run_id": str(run.id), "flow_run_name": run.name, "deployment": deployment, "state": run.state}


@flow_app.command("schedule", help=t("cli.flow.schedule.help"))
def flow_schedule(
    serve: bool = typer.Option(False, "--serve", help=t("cli.flow.schedule.serve")),
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

    repo = Path(__file__).resolve().parents[1]  # the checkout (flows/ sits beside gridgate_cli/)
    command = [
        sys.executable,
        "-m",
        "prefect",
        "--no-prompt",
        "deploy",
        "--all",
        "--prefect-file",
        "flows/prefect.yaml",
    ]
    raise typer.Exit(subprocess.run(command, cwd=repo).returncode)


# --- gates -----------------------------------------------------------------------------------------


@gate_app.command("face-matching", help=t("cli.gate.face_matching.help"))
def gate_face_matching(
    estate_id: str = typer.Argument(..., help=t("cli.gate.face_matching.estate")),
    mode: str = typer.Argument(..., help=t("cli.gate.face_matching.mode")),
) -> None:
    """Where an estate's gate faces are matched (docs/gate.md, "Edge matching"); gates learn it from
    their next snapshot, the cloud refuses that estate's images within a minute."""
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.model import FaceMatching, PlaceKind

    try:
        chosen = FaceMatching(mode)
    except ValueError:
        fail(t("cli.gate.face_matching.bad_mode", mode=mode))
        return
    places = PlaceRepository()
    place = places.get(estate_id)
    if place is None or place.kind != PlaceKind.ESTATE:
        fail(t("cli.gate.face_matching.no_estate", estate=estate_id))
        return
    places.set_face_matching(estate_id, chosen)
    console.print(t("cli.gate.face_matching.done", estate=estate_id, mode=chosen.value))


@gate_app.command("publish-gallery", help=t("cli.gate.publish_gallery.help"))
def gate_publish_gallery(estate_id: str = typer.Argument(..., help=t("cli.gate.face_matching.estate"))) -> None:
    """The estate's face gallery built from the tables and stored as its object, off every request
    path (docs/gate.md, "Cold start"): before an estate's gates go live, or after a bulk import."""
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.model import PlaceKind
    from gridgate.gate.gallery_publisher import GalleryPublisher

    place = PlaceRepository().get(estate_id)
    if place is None or place.kind != PlaceKind.ESTATE:
        fail(t("cli.gate.face_matching.no_estate", estate=estate_id))
        return
    gallery = GalleryPublisher().publish(estate_id)
    console.print(
        t(
            "cli.gate.publish_gallery.done",
            estate=estate_id,
            version=gallery.version,
            people=gallery.people,
            seconds=f"{gallery.build_seconds:.1f}",
        )
    )


@gate_app.command("shard", help=t("cli.gate.shard.help"))
def gate_shard(estate_id: str = typer.Argument(..., help=t("cli.gate.face_matching.estate"))) -> None:
    """What a gate device of this estate is provisioned with: its shard and that shard's base URL."""
    from gridgate.config import get_settings
    from gridgate.gate.affinity import shard_of, shard_url

    settings = get_settings()
    console.print(
        t(
            "cli.gate.shard.done",
            estate=estate_id,
            shard=shard_of(estate_id, settings),
            shards=settings.gate_shards,
            url=shard_url(estate_id, settings),
        )
    )


# --- events out -----------------------------------------------------------------------------------


@events_app.command("deliver", help=t("cli.events.deliver.help"))
def events_deliver(hours: int = typer.Option(24, min=1, max=24 * 7, help=t("cli.events.deliver.hours"))) -> None:
    """Deployed, the table's stream and the retry schedule do this (chalicelib/event_stream.py)."""
    from datetime import timedelta

    from gridgate.events_out.event_delivery import EventDelivery, deliver_recent
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    now = clock.now()
    counts = deliver_recent(EventDelivery(IdentifierProtector(get_keyring())), now - timedelta(hours=hours), now)
    console.print(t("cli.events.deliver.done", **vars(counts)))


@events_app.command("export", help=t("cli.events.export.help"))
def events_export(
    out: Path = typer.Argument(..., dir_okay=False, writable=True),
    estates: list[str] = typer.Option(..., "--estate", help=t("cli.events.export.estate")),
    start: str = typer.Option(..., "--from", help=t("cli.events.export.range")),
    end: str = typer.Option(..., "--to", help=t("cli.events.export.range")),
    form: str = typer.Option("parquet", "--format", help=t("cli.events.export.format")),
    kind: str = typer.Option("access", "--kind", help=t("cli.events.export.kind")),
) -> None:
    """The data center's own export (city detail, `event_scope.CITY`: access events and findings,
    never alerts); integrators use the API."""
    from datetime import datetime

    from gridgate.analytics.event_parquet import render_parquet
    from gridgate.events_out.event_extract import event_record_columns, render_csv, scoped_finding_rows, scoped_rows
    from gridgate.events_out.event_scope import ACCESS, CITY, KINDS, Scope
    from gridgate.events_out.finding_records import finding_columns
    from gridgate.refusals import NotAllowed
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    def instant(text: str) -> datetime:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            fail(t("cli.events.export.bad_time", value=repr(text)))

    if kind not in KINDS:
        fail(t("cli.events.export.bad_kind", kind=kind))
    scope = Scope(CITY, frozenset(estates), "data-center-cli", frozenset({kind}))
    protector = IdentifierProtector(get_keyring())
    try:
        if kind == ACCESS:
            rows, columns = scoped_rows(scope, instant(start), instant(end), protector), event_record_columns(scope)
        else:
            rows = scoped_finding_rows(scope, kind, instant(start), instant(end), protector)
            columns = finding_columns(scope)
        if form not in ("csv", "parquet"):
            raise Invalid("bad_format", reason="events_export")
        body = render_csv(rows, columns) if form == "csv" else render_parquet(rows, columns)
    except (Invalid, NotAllowed) as refused:
        fail(refusal_text(refused, t.locale))
    out.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    console.print(t("cli.events.export.done", count=len(rows), path=str(out)))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
