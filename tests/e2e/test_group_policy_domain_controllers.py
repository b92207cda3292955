"""Step 5 across domain controllers, filtered on the computers that passed the antivirus check.

The fleet's domain has two controllers: the GPO is made on ``dc1`` (the Group Policy host) and reaches
``dc2`` ``replication_delay_s`` later; ``srv-far`` uses ``dc2``, ``srv-near`` uses ``dc1``. The GPO is
filtered on the role's computer group: ``srv-noav`` (same OU, no third-party antivirus: its plan keeps
Defender active) is not in the group, so Group Policy never gives it the passive value - not at a
refresh, not at a boot. Each scenario fails on the code before the change: without the wait the far
server's refresh runs before its controller has the GPO (``policy_not_applied``), and without the
filtering every computer of the OU applies the GPO.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import fleets
from tests.e2e.fleets import ORG, SERVERS_OU, domain_fleet
from tests.e2e.invariants import Invariants
from tests.e2e.rollout_runs import run_rollout
from tests.winsim import packages
from tests.winsim.domain import domain_path

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GROUP = "MDE passive mode computers"
GPO = "MDE - Defender Antivirus passive mode"
#: simulated seconds; at the fleet's time_scale 0.05 that is 15 real seconds
DELAY = 300


def fleet(delay: float = DELAY) -> dict:
    data = domain_fleet(
        dc2={"os": "server2022", "domain_controller": True, "ou": "OU=Domain Controllers,DC=corp,DC=example,DC=com"},
        **{
            "srv-far": {"os": "server2022", "logon_server": "dc2"},
            "srv-near": {"os": "server2019", "logon_server": "dc1"},
            "srv-noav": {"os": "server2022", "third_party_av": []},
        },
    )
    data["domain"] = {"name": "corp.example.com", "replication_delay_s": delay}
    data["defaults"]["timeline"] = True  # Defender switches some time after onboarding and boot
    data["time_scale"] = 0.05
    return data


def rollout(sim, tmp_path: Path, name: str, check: bool = False, **extra) -> tuple[int, str, dict, float]:
    """The rollout of the three member servers, step 5 by Group Policy from dc1."""
    group_policy = {
        "mde_targets": "srv-far:srv-near:srv-noav",
        "mde_rollout_passive_method": "group_policy",
        "mde_rollout_group_policy_enabled": True,
        "mde_rollout_group_policy_host": "dc1",
        "mde_rollout_group_policy_target_ous": [SERVERS_OU],
    }
    return run_rollout(sim, tmp_path, name, {**group_policy, **extra}, check=check)


def force_value(sim, host: str):
    return fleets.force_value(sim.state(host))


def test_the_refresh_waits_for_replication_and_only_the_group_gets_the_value(winsim, tmp_path):
    sim = winsim(fleet())
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report, _took = rollout(sim, tmp_path, "first", mde_rollout_group_policy_replication_timeout=120)
    guard.check(out, "", report_dir=tmp_path / "reports-first")
    assert rc == 0, out[-6000:]
    for host in ("srv-far", "srv-near"):
        assert report[host]["outcome"] == "converged" and report[host]["mode"] == "passive", report[host]
        assert report[host]["steps"]["group_policy"] == "changed", report[host]
        assert force_value(sim, host) == 1
    # the far server read its controller's copy several times before it refreshed; the near one once
    assert sim.counters("srv-far")["modules"]["mdeops.defender.win_mde_policy_refresh"] > 1
    assert sim.counters("srv-near")["modules"]["mdeops.defender.win_mde_policy_refresh"] == 1
    # no third-party antivirus: onboarded, active by design, never in the group, never given the value
    assert report["srv-noav"]["outcome"] == "active_by_design", report["srv-noav"]
    assert report["srv-noav"]["steps"]["group_policy"] in ("skipped", "not_run")
    domain = json.loads(Path(domain_path(str(sim.state_dir), "corp.example.com")).read_text())
    gpo = next(g for g in domain["gpos"].values() if g["name"] == GPO)
    assert gpo["security_filter"] == [GROUP] and gpo["read_only"] == ["Authenticated Users"], gpo
    members = sorted(m["account"] for m in domain["groups"][GROUP]["members"] if m["removed"] is None)
    assert members == ["SRV-FAR$", "SRV-NEAR$"]

    # srv-noav refreshes policy and reboots: the GPO is linked to its OU but filtered out
    results = sim.module("srv-noav", "mdeops.defender.win_mde_policy_refresh", {"expected_value": 1})
    assert results["srv-noav"]["reason"] == "policy_not_applied", results["srv-noav"]
    denied = {g["name"]: g["reason"] for g in results["srv-noav"]["not_applied_gpos"]}
    assert denied.get(GPO) == "denied (security filtering)", denied
    rc, _out, _err = sim.adhoc("srv-noav", "ansible.windows.win_reboot")
    assert rc == 0
    assert force_value(sim, "srv-noav") is None
    assert sim.state("srv-noav")["services"]["WinDefend"]["state"] == "running"

    # rerun: nothing changes, not even on the domain controller
    before = Path(domain_path(str(sim.state_dir), "corp.example.com")).read_bytes()
    rc, out, report, _took = rollout(sim, tmp_path, "rerun", mde_rollout_group_policy_replication_timeout=120)
    assert rc == 0, out[-6000:]
    assert {report[h]["outcome"] for h in ("srv-far", "srv-near")} == {"compliant"}, report
    assert Path(domain_path(str(sim.state_dir), "corp.example.com")).read_bytes() == before


def test_a_gpo_that_does_not_reach_the_members_controller_in_time_fails_after_the_bound(winsim, tmp_path):
    """The bound: replication takes 15 real seconds, the wait allows 5. The far server fails with
    policy_not_applied naming the version it waited for, after the bound; the near one converges."""
    sim = winsim(fleet())
    bound = 5
    rc, out, report, took = rollout(sim, tmp_path, "short", mde_rollout_group_policy_replication_timeout=bound)
    assert rc != 0
    far = report["srv-far"]
    assert far["outcome"] == "failed" and far["reason"] == "policy_not_applied", far
    assert "has not reached the domain controller" in far["msg"], far["msg"]
    assert force_value(sim, "srv-far") is None  # nothing was refreshed before the GPO was there
    assert report["srv-near"]["outcome"] == "converged", report["srv-near"]
    assert took >= bound
    # once replication is done, the rerun converges the far server without changing the GPO
    sim.wait_until(sim.sim_time() + DELAY)
    rc, out, report, _took = rollout(sim, tmp_path, "later", mde_rollout_group_policy_replication_timeout=bound)
    assert rc == 0, out[-6000:]
    assert report["srv-far"]["outcome"] == "converged", report["srv-far"]


def test_check_mode_changes_neither_the_domain_nor_the_hosts(winsim, tmp_path):
    sim = winsim(fleet())
    guard = Invariants(sim, expected_org=ORG)
    before = {h: json.dumps(sim.state(h), sort_keys=True) for h in ("srv-far", "srv-near", "srv-noav", "dc1")}
    domain = Path(domain_path(str(sim.state_dir), "corp.example.com"))
    domain_before = domain.read_bytes()  # the fleet's domain block (the replication delay) was written
    _rc, out, _report, _took = rollout(sim, tmp_path, "check", check=True)
    guard.check(out, "", check_mode=True)
    assert domain.read_bytes() == domain_before
    assert {h: json.dumps(sim.state(h), sort_keys=True) for h in before} == before


def offboard(sim, tmp_path: Path, name: str, host: str, **extra) -> tuple[int, str, dict]:
    pkgs = packages.write_set(str(tmp_path / "packages"), ORG)
    reports = tmp_path / ("reports-" + name)
    ev = {
        "mde_offboard_expected_org_id": ORG,
        "mde_offboard_package": pkgs["offboarding_zip"],
        "mde_offboard_allow_reboot": True,
        "mde_offboard_wait_interval": 1,
        "mde_targets": host,
        "mde_report_dir": str(reports),
        **extra,
    }
    cmd = ["ansible-playbook", "-i", str(sim.inventory), str(ROOT / "playbooks" / "offboard.yml"), "-e", json.dumps(ev)]
    rc, out, err = sim.run(cmd, env={"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"})
    report = {h["name"]: h for h in json.loads((reports / "offboard-report.json").read_text())["hosts"]}
    return rc, out + err, report


def mode(sim, host: str) -> str | None:
    from tests.winsim import rules

    return rules.derive_running_mode(sim.state(host))


@pytest.mark.parametrize("group_policy", [True, False], ids=["out-of-the-group", "control-left-in-the-group"])
def test_offboarding_a_host_that_got_the_value_by_group_policy(winsim, tmp_path, group_policy):
    """Offboarding takes the far server out of the GPO's computer group (waiting for its own controller),
    so Defender returns to active and stays there across a policy refresh and a reboot. The control
    (the Group Policy part off: what offboarding did before) shows Group Policy setting the value again."""
    sim = winsim(fleet())
    rc, out, report, _took = rollout(sim, tmp_path, "rollout", mde_rollout_group_policy_replication_timeout=120)
    assert rc == 0, out[-6000:]
    assert report["srv-far"]["mode"] == "passive"
    guard = Invariants(sim, expected_org=ORG)
    extra = {
        "mde_offboard_group_policy_enabled": group_policy,
        "mde_offboard_group_policy_host": "dc1",
        "mde_offboard_group_policy_replication_timeout": 120,
    }
    rc, out, report = offboard(sim, tmp_path, "offboard", "srv-far", **extra)
    guard.check(out, "", report_dir=tmp_path / "reports-offboard")
    if not group_policy:
        # Group Policy applied the GPO again at the offboarding's reboot: the value is back (an offboarded
        # server runs active because it is not onboarded; the value makes it passive again at the next
        # onboarding, whatever antivirus it has then).
        assert force_value(sim, "srv-far") == 1
        return
    assert rc == 0, out[-6000:]
    assert report["srv-far"]["outcome"] in ("offboarded", "converged"), report["srv-far"]
    assert force_value(sim, "srv-far") == 0 and mode(sim, "srv-far") == "Normal"
    domain = json.loads(Path(domain_path(str(sim.state_dir), "corp.example.com")).read_text())
    members = sorted(m["account"] for m in domain["groups"][GROUP]["members"] if m["removed"] is None)
    assert members == ["SRV-NEAR$"]
    # a policy refresh and a reboot later, Defender is still active and the value still 0
    results = sim.module("srv-far", "mdeops.defender.win_mde_policy_refresh", {"expected_value": 0})
    assert results["srv-far"].get("reason") is None and results["srv-far"]["value"] == 0, results["srv-far"]
    rc, _out, _err = sim.adhoc("srv-far", "ansible.windows.win_reboot")
    assert rc == 0
    sim.wait_until(sim.sim_time() + 120)  # Defender's switch after the boot
    sim.module("srv-far", "mdeops.defender.win_mde_info", {})  # a command lets the host's timers run
    assert force_value(sim, "srv-far") == 0 and mode(sim, "srv-far") == "Normal"
