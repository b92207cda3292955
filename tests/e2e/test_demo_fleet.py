"""The demo fleet answers Ansible's own win_ping over WinRM: every host but the one that is down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.invariants import Invariants
from tests.e2e.rollout_runs import recap

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[1] / "winsim" / "fleets" / "demo.yml"


def test_win_ping_on_the_demo_fleet(winsim):
    fleet = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    down = {name for name, host in fleet["hosts"].items() if (host or {}).get("faults", {}).get("down")}
    assert len(fleet["hosts"]) >= 12 and len(down) == 1
    sim = winsim(fleet)
    guard = Invariants(sim)
    results = sim.module("all", "ansible.windows.win_ping")
    guard.check(check_mode=True)  # read-only: nothing changes on any host
    assert set(results) == set(fleet["hosts"])
    for name, result in results.items():
        if name in down:
            assert result.get("unreachable") is True, (name, result)
        else:
            assert result.get("ping") == "pong" and not result.get("failed"), (name, result)


ROOT = Path(__file__).resolve().parents[2]
DEMO_ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"


def test_demo_fleet_with_timelines_check_rollout_rerun(winsim, tmp_path):
    """With Defender's delays on (the demo's ``timeline: true``): ``--check`` changes no state file,
    the rollout converges, the rerun changes nothing (changed=0 on every host) and ``--check``
    after it changes nothing either."""
    from tests.winsim import packages

    fleet = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    assert fleet["defaults"].get("timeline") is True
    sim = winsim(fleet)
    pkgs = packages.write_set(str(tmp_path / "packages"), DEMO_ORG)
    ev = {
        "mde_targets": "windows",
        "mde_report_dir": str(tmp_path / "reports"),
        "mde_rollout_expected_org_id": DEMO_ORG,
        "mde_rollout_onboarding_package": pkgs["onboarding_zip"],
        "mde_rollout_installer": pkgs["installer"],
        "mde_rollout_allow_reboot": True,
        "mde_rollout_settle_interval": 2,
    }
    rollout = ROOT / "playbooks" / "rollout.yml"

    guard = Invariants(sim, expected_org=DEMO_ORG)
    _rc, out, err = sim.playbook(rollout, ev, check=True)
    guard.check(out, err, check_mode=True)

    guard = Invariants(sim, expected_org=DEMO_ORG)
    _rc, out, err = sim.playbook(rollout, ev)
    guard.check(out, err)
    report = {h["name"]: h for h in json.loads((tmp_path / "reports" / "fleet-report.json").read_text())["hosts"]}
    converged = sorted(n for n, h in report.items() if h["outcome"] == "converged")
    assert len(converged) >= 8, report
    assert all(report[n]["mode"] == "passive" for n in converged)

    _rc, out, err = sim.playbook(rollout, ev)
    changed = {host: row for host, row in recap(out).items() if row["changed"]}
    assert not changed, changed
    report = {h["name"]: h for h in json.loads((tmp_path / "reports" / "fleet-report.json").read_text())["hosts"]}
    assert all(report[n]["outcome"] == "compliant" for n in converged), report

    guard = Invariants(sim, expected_org=DEMO_ORG)
    _rc, out, err = sim.playbook(rollout, ev, check=True)
    guard.check(out, err, check_mode=True)
