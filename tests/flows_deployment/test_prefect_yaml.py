"""`flows/prefect.yaml` is a Prefect deployment definition a data center applies as is:
every entrypoint is a real flow, every schedule a valid cron in the city's time zone, and
`prefect deploy --all` against a fresh Prefect server creates exactly these deployments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import Flow, load_flow_from_entrypoint

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "flows" / "prefect.yaml"


def _deployments() -> list[dict]:
    return yaml.safe_load(PREFECT_YAML.read_text())["deployments"]


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["entrypoint"])
def test_entrypoint_is_a_flow_and_parameters_fit_it(deployment, monkeypatch):
    monkeypatch.chdir(REPO)  # entrypoints are relative to the repository root, as in the image
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    flow.validate_parameters(deployment.get("parameters") or {})
    assert deployment["work_pool"]["name"] == "gridgate-flows"
    for schedule in deployment["schedules"]:
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
        assert schedule["timezone"] == "Asia/Shanghai"


def _cron(deployment: dict) -> str | None:
    schedules = deployment.get("schedules") or []
    return schedules[0]["cron"] if schedules else None


def test_the_yaml_schedules_what_flows_deployments_serves_locally(monkeypatch):
    """One schedule: the data center's deployments equal what `make demo` serves."""
    monkeypatch.chdir(REPO)
    from flows.deployments import SCHEDULE

    declared = {(load_flow_from_entrypoint(d["entrypoint"]).name, d["name"], _cron(d)) for d in _deployments()}
    assert declared == {(item.flow.name, item.name, item.cron) for item in SCHEDULE}


def test_only_the_night_is_scheduled_and_it_runs_the_three_step_deployments_in_order(monkeypatch):
    """Independent crons would start statistics after a failed reconciliation: the night alone is
    scheduled, and the deployments it starts, in order, are the file's three other ones."""
    monkeypatch.chdir(REPO)
    from flows.night import ORDER, step_deployment

    scheduled = [d for d in _deployments() if _cron(d)]
    assert [d["entrypoint"] for d in scheduled] == ["flows/night.py:nightly_night"]
    steps = {f"{load_flow_from_entrypoint(d['entrypoint']).name}/{d['name']}" for d in _deployments() if not _cron(d)}
    ordered = [step_deployment(step) for step in ORDER]
    assert set(ordered) == steps and ordered[0].startswith("nightly-reconciliation/")
    assert ordered[-1].startswith("verification-task-generation/")  # it turns the others' findings into lists


def test_prefect_deploy_applies_the_file_as_is(tmp_path):
    """Run the commands docs/deploy.md gives a data center, on a throw-away Prefect home: create
    the work pool, then `gridgate flow schedule` (which runs `prefect deploy --all` on the file)."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": "",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "GRIDGATE_FLOWS_IMAGE": "registry.example/gridgate-flows:test",
        "GRIDGATE_STAGE": "prod",
    }
    env.pop("PREFECT_API_URL")

    def prefect(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    prefect("work-pool", "create", "gridgate-flows", "--type", "docker")
    scheduled = subprocess.run(
        [sys.executable, "-m", "gridgate_cli.commands", "flow", "schedule"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert scheduled.returncode == 0, scheduled.stdout[-3000:] + scheduled.stderr[-3000:]
    reader = (
        "import asyncio, json\n"
        "from prefect.client.orchestration import get_client\n"
        "async def main():\n"
        "    async with get_client() as client:\n"
        "        out = []\n"
        "        for d in await client.read_deployments():\n"
        "            flow = await client.read_flow(d.flow_id)\n"
        "            out.append({'flow': flow.name, 'name': d.name, 'entrypoint': d.entrypoint,\n"
        "                        'pool': d.work_pool_name, 'image': d.job_variables.get('image'),\n"
        "                        'crons': [s.schedule.cron for s in d.schedules],\n"
        "                        'timezones': [s.schedule.timezone for s in d.schedules]})\n"
        "        print(json.dumps(out))\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", reader], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    created = {d["entrypoint"]: d for d in json.loads(result.stdout.strip().splitlines()[-1])}
    assert set(created) == {d["entrypoint"] for d in _deployments()}
    for declared in _deployments():
        applied = created[declared["entrypoint"]]
        assert applied["pool"] == "gridgate-flows"
        assert applied["image"] == "registry.example/gridgate-flows:test"
        assert applied["crons"] == [s["cron"] for s in declared["schedules"]]
        assert set(applied["timezones"]) == {s["timezone"] for s in declared["schedules"]} <= {"Asia/Shanghai"}
