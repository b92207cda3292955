"""The rollout with step 5: ForceDefenderPassiveMode delivered to servers by Group Policy.

The GPO is created on the domain controller once per wave and linked to the servers' OU; each
server refreshes policy, the value is proven to come from that GPO, and only then is the server
onboarded (Microsoft's order), so it ends passive without any direct registry write by us.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.fleets import CLIENTS_OU, ORG, SERVERS_OU, domain_fleet
from tests.e2e.invariants import Invariants
from tests.winsim import packages

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FLEET = domain_fleet(
    srv1={"os": "server2022"},
    srv2={"os": "server2019"},
    ws1={"os": "windows11_23h2", "ou": CLIENTS_OU, "third_party_av": [{"name": "CrowdStrike Falcon"}]},
)
FLEET["defaults"]["timeline"] = True  # Defender switches some time after onboarding and boot


def test_servers_get_the_value_from_the_gpo_before_onboarding(winsim, tmp_path):
    sim = winsim(FLEET)
    pkgs = packages.write_set(str(tmp_path / "packages"), ORG)
    guard = Invariants(sim, expected_org=ORG)
    ev = {
        "mde_rollout_expected_org_id": ORG,
        "mde_rollout_onboarding_package": pkgs["onboarding_zip"],
        "mde_targets": "srv1:srv2:ws1",
        "mde_report_dir": str(tmp_path / "reports"),
        "mde_waves": ["100%"],
        "mde_rollout_passive_method": "group_policy",
        "mde_rollout_group_policy_enabled": True,
        "mde_rollout_group_policy_host": "dc1",
        "mde_rollout_group_policy_target_ous": [SERVERS_OU],
    }
    rc, out, err = sim.run(
        ["ansible-playbook", "-i", str(sim.inventory), str(ROOT / "playbooks" / "rollout.yml"), "-e", json.dumps(ev)],
        env={"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"},
    )
    guard.check(out, err, report_dir=tmp_path / "reports")
    assert rc == 0, out[-6000:]
    report = {h["name"]: h for h in json.loads((tmp_path / "reports" / "fleet-report.json").read_text())["hosts"]}
    for server in ("srv1", "srv2"):
        assert report[server]["outcome"] == "converged" and report[server]["mode"] == "passive", report[server]
        assert report[server]["steps"]["group_policy"] == "changed" and report[server]["steps"]["registry"] == "skipped"
        # no direct registry write by win_mde_passive_mode: the value came by Group Policy
        assert "mdeops.defender.win_mde_passive_mode" not in sim.counters(server).get("modules", {})
        assert sim.counters(server)["modules"]["mdeops.defender.win_mde_policy_refresh"] == 1
    assert report["ws1"]["steps"]["group_policy"] == "skipped" and report["ws1"]["mode"] == "passive"
    # the GPO task ran once (one wave) on the domain controller: its read and its write
    assert sim.counters("dc1")["modules"].get("mdeops.defender.win_mde_gpo") == 2
