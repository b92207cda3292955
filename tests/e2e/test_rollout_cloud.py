"""The rollout with the cloud steps: Intune (step 6) and EDR confirmed through the Defender API
(step 7), against the fake token endpoint, Defender API and Graph.

Per wave: one Intune policy call sequence, one device lookup, one hunting query — never one call
per host; the client secret never reaches the output or the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.invariants import Invariants
from tests.winsim import packages

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
FLEET = {
    "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "domain_joined": True, "reboot_seconds": 1},
    "hosts": {
        "ws-a": {"os": "windows11_23h2"},
        "ws-b": {"os": "windows10_22h2"},
        "ws-c": {"os": "windows11_24h2"},
        "srv-a": {"os": "server2022"},
    },
    "tenant": {"org_id": ORG},
}


def rollout(stand, extra: dict, *args: str):
    conn = stand.cloud.connection()
    ev = {
        "mde_rollout_expected_org_id": ORG,
        "mde_rollout_onboarding_package": stand.pkgs["onboarding_zip"],
        "mde_report_dir": str(stand.base / "reports"),
        "mde_targets": "windows",
        "mde_waves": [1, "100%"],
        "mde_rollout_api_tenant_id": conn["tenant_id"],
        "mde_rollout_api_client_id": conn["client_id"],
        "mde_rollout_api_client_secret": conn["client_secret"],
        "mde_rollout_api_options": {
            k: conn[k] for k in ("api_base_url", "graph_base_url", "authority_host", "ca_path")
        },
    }
    ev.update(extra)
    vars_file = stand.base / "rollout.vars.json"
    vars_file.write_text(json.dumps(ev), encoding="utf-8")
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(stand.local_inventory),
        "-i",
        str(stand.sim.inventory),
        str(ROOT / "playbooks" / "rollout.yml"),
        "-e",
        "@%s" % vars_file,
        *args,
    ]
    env = {**stand.env, "ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"}
    proc = subprocess.run(cmd, cwd=stand.base, env=env, capture_output=True, timeout=900, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_rollout_confirms_edr_and_manages_intune_per_wave(cloud_stand):
    stand = cloud_stand(FLEET)
    stand.pkgs = packages.write_set(str(stand.base / "packages"), ORG)
    secret = stand.cloud.connection()["client_secret"]
    guard = Invariants(stand.sim, expected_org=ORG, secrets=[secret])
    stand.cloud.reset_counters()
    rc, out, err = rollout(
        stand,
        {
            "mde_rollout_confirm_edr_enabled": True,
            "mde_rollout_intune_enabled": True,
            "mde_rollout_intune_group_ids": ["0b5e7a52-3c61-4d0a-9f2c-5f1d8e3c9a10"],
        },
        "-vvv",
    )
    guard.check(out, err, report_dir=stand.base / "reports")
    assert rc == 0, out[-6000:] + err[-3000:]
    report = json.loads((stand.base / "reports" / "fleet-report.json").read_text())
    for host in report["hosts"]:
        assert host["outcome"] == "converged", host
        assert host["steps"]["confirm_edr"] == "ok" and host["steps"]["intune"] in ("ok", "changed"), host
    waves = len(report["waves"])
    assert waves == 2
    requests = stand.cloud.counters()["requests"]
    # one device lookup (+ one AV-health listing) and one hunting query per wave, never one per host
    assert requests.get("machines", 0) == waves, requests
    assert requests.get("deviceavinfo", 0) <= waves, requests
    assert requests.get("advancedqueries", 0) == waves, requests
    assert not stand.cloud.counters()["throttled"]
    # the Intune policy exists once (created in wave 1, unchanged in wave 2)
    assert json.dumps(stand.cloud.graph_store()).count('"name": "MDE - EDR onboarding"') == 1


def test_edr_not_reporting_fails_the_gate_with_its_reason(cloud_stand):
    fleet = json.loads(json.dumps(FLEET))
    fleet["hosts"] = {"ws-a": {"os": "windows11_23h2"}, "ws-b": {"os": "windows10_22h2"}}
    stand = cloud_stand(fleet)
    stand.pkgs = packages.write_set(str(stand.base / "packages"), ORG)
    # the API answers 403 (missing permission): the wave fails with api_forbidden, hosts stay protected
    stand.cloud.set_faults([{"status": 403, "count": "always", "family": "machines"}])
    guard = Invariants(stand.sim, expected_org=ORG, secrets=[stand.cloud.connection()["client_secret"]])
    rc, out, err = rollout(stand, {"mde_rollout_confirm_edr_enabled": True, "mde_waves": ["100%"]})
    guard.check(out, err, report_dir=stand.base / "reports")
    assert rc != 0, out[-5000:]
    (stand.base / "run.log").write_text(out + err)
    report = json.loads((stand.base / "reports" / "fleet-report.json").read_text())
    for host in report["hosts"]:
        assert host["outcome"] == "failed" and host["reason"] == "api_forbidden", (host, out[-8000:])
        assert host["failed_step"] == "confirm_edr"
        assert "Machine.Read" in host["msg"]


def test_a_host_that_waits_for_a_reboot_skips_the_cloud_steps_and_the_others_are_confirmed(cloud_stand):
    fleet = json.loads(json.dumps(FLEET))
    # onboarded before ForceDefenderPassiveMode was set: the value, then a reboot that is not allowed here
    fleet["hosts"] = {"srv-rb": {"os": "server2019", "onboarded_org": ORG}, "ws-a": {"os": "windows11_23h2"}}
    stand = cloud_stand(fleet)
    stand.pkgs = packages.write_set(str(stand.base / "packages"), ORG)
    guard = Invariants(stand.sim, expected_org=ORG, secrets=[stand.cloud.connection()["client_secret"]])
    rc, out, err = rollout(
        stand, {"mde_rollout_confirm_edr_enabled": True, "mde_waves": ["100%"], "mde_rollout_allow_reboot": False}
    )
    guard.check(out, err, report_dir=stand.base / "reports")
    report = {h["name"]: h for h in json.loads((stand.base / "reports" / "fleet-report.json").read_text())["hosts"]}
    assert report["ws-a"]["outcome"] == "converged" and report["ws-a"]["steps"]["confirm_edr"] == "ok", out[-6000:]
    waiting = report["srv-rb"]
    assert waiting["outcome"] == "pending_reboot", (waiting, out[-6000:])
    # its steps end at the gate: no settle wait, no EDR verdict (neither ok nor a host_error for a missing answer)
    assert waiting["steps"]["verify_mode"] == "not_run" and waiting["steps"].get("confirm_edr") in (None, "not_run")
    assert waiting["reason"] is None and waiting["reboots"] == 0
    assert stand.sim.counters("srv-rb").get("reboots", 0) == 0
    assert rc != 0  # a host that needs attention
