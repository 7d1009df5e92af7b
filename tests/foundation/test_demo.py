"""The README's main command, end to end: `python -m local_emulator.demo` (what `make demo` runs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridgate import clock

PROJECT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


#: The machine's own time, and (through Debian's faketime, the whole process tree on one faked
#: clock) 00:01 on New Year's Day in Nanjing, which is still 12-31 in UTC.
HOURS = [None, datetime(2026, 12, 31, 16, 1, tzinfo=UTC)]


@pytest.mark.parametrize("fake_time", HOURS, ids=["now", "local-0001-new-year"])
def test_demo_runs_end_to_end_and_stops_the_emulator(tmp_path, fake_time):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(GRIDGATE_KEYRING_FILE=str(tmp_path / "keyring.json"), GRIDGATE_STAGE="demotest")
    command = [sys.executable, "-m", "local_emulator.demo", "--persons", "300", "--history-days", "1"]
    if fake_time:
        if not shutil.which("faketime"):
            pytest.skip("Debian's faketime is not installed (make test installs it where it can)")
        # an offset, not "@instant": every process of the tree (moto, Prefect) then shares one
        # clock, however late it starts
        offset = int((fake_time - clock.now()).total_seconds())
        command = ["faketime", "-f", f"{offset:+d}", *command]
        env["TZ"] = "UTC"
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=400)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # every walkthrough step answers as meant, and nothing reads as an error
    assert re.search(r"grant a tenant on \S+: HTTP 201 ", out), out
    # whole words: Prefect names runs adjective-animal, and "exceptional-nautilus" is no exception
    assert not re.search(r"\w*(?:error|exception)s?\b|traceback|HTTP [45]\d\d", out, re.IGNORECASE), out
    listening = re.search(r"listening on (http://127\.0\.0\.1:\d+) \(pid (\d+)\)", out)
    assert listening, out
    url, pid = listening.group(1), int(listening.group(2))
    assert "created 20 tables (gridgate-demotest-*) and bucket s3://gridgate-demotest-data" in out
    assert "synthetic city (seed 7): 300 persons" in out
    # the bad rows' reasons come from the catalogue, in the staff's language (Chinese by default)
    assert re.search(r"rejected 8 rows:\n\s+persons\.csv:\d+: id_number：身份证号码校验位错误", out), out
    assert "the same files again: 0 changes" in out
    counts = dict(re.findall(r"gridgate-demotest-(\w+)\s+([\d,]+)", out))
    assert int(counts["persons"].replace(",", "")) == 300 + 12  # the city and the export's new people
    assert int(counts["gates"]) > 0 and int(counts["access_events"].replace(",", "")) > 0
    # the functions, through the real app: a pass opens once, then is used up; tampering is caught
    assert re.search(r"visitor shows the pass\s+-> OPEN\s+visitor_pass", out), out
    assert re.search(r"the same pass again \(use limit 1\)\s+-> DENY\s+pass_used_up", out), out
    assert re.search(r"a tampered pass\s+-> DENY\s+bad_signature", out), out
    assert re.search(r"rotating resident QR\s+-> OPEN\s+resident_right", out), out
    # the night: deployments registered on the local Prefect server, the three flows ran
    prefect_api = re.search(r"Prefect server: \S+ \(API (http://127\.0\.0\.1:\d+/api)\)", out)
    assert prefect_api, out
    for flow_name in ("nightly-reconciliation", "population-statistics", "verification-task-generation"):
        assert f"deployment {flow_name}/nightly" in out
    worker = re.search(r"work pool gridgate-local \(process\), worker pid (\d+)", out)
    assert worker, out
    assert int(counts["findings"].replace(",", "")) > 0 and int(counts["verification_tasks"].replace(",", "")) > 0
    assert int(counts["statistics"].replace(",", "")) > 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{prefect_api.group(1)}/health", timeout=2)
    # the way in: both pages answer, each with its sign-in address (checked to lead to the emulated
    # city IdP's login) and an account of its directory; the Prefect UI calls its own API
    for page in ("grid-worker", "data-center"):
        assert re.search(
            rf"page \(HTTP 200, [^)]*\):\n\s+http://127\.0\.0\.1:\d+/auth/login\?page={page}\n"
            r"\s+leads to the city sign-in; staff number \S+, password \S+",
            out,
        ), out
    # findings and alerts out: each subscriber got the night's events, every one signed with its secret
    for subscriber in ("city platform", "civil-affairs office"):
        got = re.search(rf"{subscriber} received (\d+) deliver(?:y|ies) \((\d+) with a valid signature\)", out)
        assert got and int(got.group(1)) == int(got.group(2)) > 0, out
    assert "a property company asking for alerts: kind_not_allowed (" in out, out
    assert re.search(r"grid worker page \(HTTP 200, grid \S+, [1-9]\d* open tasks\)", out), out
    assert f"Prefect UI: {prefect_api.group(1).removesuffix('/api')} (its API: {prefect_api.group(1)})" in out, out
    assert f"stopped the emulator (pid {pid})" in out
    assert not _alive(pid) and not _alive(int(worker.group(1)))
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
    assert (tmp_path / "keyring.json").exists()
