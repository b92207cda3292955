"""The fleet report's run block and interrupted runs, through the real callback and ansible-playbook.

- a finished run records the --limit, the organisation id the hosts were checked against (or none),
  the collection and ansible-core versions, and says ``complete``;
- an interrupted run never leaves the previous report looking current: the report is rewritten as
  ``incomplete`` as soon as the run starts; Ctrl-C writes what was gathered, still ``incomplete``;
  a run killed outright leaves the ``incomplete`` report of its start.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.conftest import BIN_DIR
from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
CALLBACK = {"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"}
WS = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}], "onboarded_org": ORG}
FLEET = {"hosts": {"ws1": WS, "ws2": WS, "ws3": WS}}
SLOW = {"latency_ms": 700}


def galaxy_version() -> str:
    return re.search(r"^version:\s*(\S+)", (ROOT / "galaxy.yml").read_text(encoding="utf-8"), re.M).group(1)


def read(reports: Path, name: str = "verify-report") -> dict:
    report = json.loads((reports / (name + ".json")).read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    return report


@pytest.fixture
def stand(winsim, tmp_path):
    sim = winsim(FLEET)
    reports = tmp_path / "reports"

    def cmd(*args: str, **extra_vars) -> list[str]:
        ev = {"mde_report_dir": str(reports), "mde_targets": "all:!localhost", **extra_vars}
        return [
            str(BIN_DIR / "ansible-playbook"),
            "-i",
            str(sim.inventory),
            str(ROOT / "playbooks" / "verify.yml"),
            "-e",
            json.dumps(ev),
            *args,
        ]

    return sim, reports, cmd


def test_finished_run_records_limit_org_and_versions(stand):
    sim, reports, cmd = stand
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.run(cmd("--limit", "ws1,ws2", mde_verify_expected_org_id=ORG), env=CALLBACK)
    assert rc == 0, out[-3000:] + err[-2000:]
    report = read(reports)
    run = report["run"]
    assert run["status"] == "complete" and run["finished"] and run["goal"] == "audit"
    assert run["limit"] == "ws1,ws2" and run["playbook"] == "verify.yml"
    assert run["expected_org_ids"] == [ORG]
    assert run["collection_version"] == galaxy_version()
    from ansible.release import __version__ as core_version

    assert run["ansible_core_version"] == core_version
    assert sorted(h["name"] for h in report["hosts"]) == ["ws1", "ws2"]
    assert all(h["expected_org_id"] == ORG and h["outcome"] == "compliant" for h in report["hosts"])
    page = (reports / "verify-report.html").read_text(encoding="utf-8")
    assert 'data-status="complete"' in page and "banner-incomplete" not in page and "banner-noorg" not in page
    assert "fleet report: " in out

    # an audit without an expected organisation says that none was checked
    rc, out, err = sim.run(cmd(), env=CALLBACK)
    assert rc == 0, out[-3000:] + err[-2000:]
    report = read(reports)
    assert report["run"]["expected_org_ids"] == [] and report["run"]["limit"] is None
    assert all(h["expected_org_id"] is None for h in report["hosts"]) and len(report["hosts"]) == 3
    assert 'id="banner-noorg"' in (reports / "verify-report.html").read_text(encoding="utf-8")
    guard.check(check_mode=True, report_dir=reports)  # an audit changes nothing


def _start_and_wait_for_incomplete(sim, cmd: list[str], reports: Path, previous_start: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, cwd=sim.base, env={**sim.env, **CALLBACK}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted: %s" % (proc.communicate(),)
        try:
            run = read(reports)["run"]
        except (OSError, ValueError):
            run = {}
        if run.get("status") == "incomplete" and run.get("started") != previous_start:
            # The run has started (its first write); stop it once it is under way, in its tasks, not in
            # the middle of its own start-up.
            time.sleep(1.0)
            assert proc.poll() is None, "the run ended before it could be interrupted: %s" % (proc.communicate(),)
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no incomplete report within 60 s of the start")


@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_interrupted_run_never_leaves_the_previous_report_looking_current(stand, how):
    sim, reports, cmd = stand
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.run(cmd(mde_verify_expected_org_id=ORG), env=CALLBACK)
    assert rc == 0, out[-3000:] + err[-2000:]
    previous = read(reports)
    assert previous["run"]["status"] == "complete"
    time.sleep(1.1)  # run start times have a one-second resolution

    for host in FLEET["hosts"]:
        sim.set_faults(host, SLOW)  # every request waits: the run is still going when it is stopped
    proc = _start_and_wait_for_incomplete(sim, cmd(mde_verify_expected_org_id=ORG), reports, previous["run"]["started"])
    proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0

    report = read(reports)
    assert report["run"]["status"] == "incomplete" and report["run"]["finished"] is None, report["run"]
    assert report["run"]["started"] != previous["run"]["started"]
    assert sorted(h["name"] for h in report["hosts"]) == ["ws1", "ws2", "ws3"]
    page = (reports / "verify-report.html").read_text(encoding="utf-8")
    assert 'id="banner-incomplete"' in page and 'data-status="incomplete"' in page
    csv_rows = (reports / "verify-report.csv").read_text(encoding="utf-8").count("\n")
    assert csv_rows == len(report["hosts"]) + 1
    if how == "ctrl-c":
        assert "INCOMPLETE" in out + err, out[-2000:] + err[-2000:]

    # the next complete run writes a complete report again
    sim.clear_faults()
    rc, out, err = sim.run(cmd(mde_verify_expected_org_id=ORG), env=CALLBACK)
    assert rc == 0, out[-3000:] + err[-2000:]
    assert read(reports)["run"]["status"] == "complete"
    guard.check(out, err, report_dir=reports)  # (the faults rewrote the state files: not a check-mode comparison)
