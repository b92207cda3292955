"""The directory and cloud steps on their own: playbooks/group_policy.yml, intune.yml, confirm_edr.yml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.fleets import ORG, SERVERS_OU, domain_fleet
from tests.e2e.invariants import Invariants

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def api_vars(stand) -> dict:
    conn = stand.cloud.connection()
    return {
        "mde_rollout_api_tenant_id": conn["tenant_id"],
        "mde_rollout_api_client_id": conn["client_id"],
        "mde_rollout_api_client_secret": conn["client_secret"],
        "mde_rollout_api_options": {
            k: conn[k] for k in ("api_base_url", "graph_base_url", "authority_host", "ca_path")
        },
    }


def playbook(stand, name: str, extra: dict, *args: str):
    vars_file = stand.base / ("%s.vars.json" % name)
    vars_file.write_text(json.dumps(extra), encoding="utf-8")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(stand.local_inventory)]
    if stand.sim is not None:
        cmd += ["-i", str(stand.sim.inventory)]
    cmd += [str(ROOT / "playbooks" / name), "-e", "@%s" % vars_file, *args]
    proc = subprocess.run(cmd, cwd=stand.base, env=stand.env, capture_output=True, timeout=600, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_confirm_edr_and_intune_playbooks(cloud_stand):
    fleet = {
        "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "domain_joined": True, "onboarded_org": ORG},
        "hosts": {
            "ws-1": {"os": "windows11_23h2"},
            "ws-2": {"os": "windows10_22h2"},
            "ws-3": {"os": "windows10_22h2", "sense_running": False},
        },
        "tenant": {"org_id": ORG},
    }
    stand = cloud_stand(fleet, with_winsim=True)
    secret = stand.cloud.connection()["client_secret"]
    guard = Invariants(stand.sim, expected_org=ORG, secrets=[secret])
    # inventory names are short host names; the lookup matches them to the portal's FQDNs
    rc, out, err = playbook(stand, "confirm_edr.yml", {**api_vars(stand), "mde_targets": "windows"})
    guard.check(out, err, check_mode=True)
    # ws-3's sensor is stopped: the API reports NoSensorData and the playbook fails, naming it
    assert rc != 0 and "sensor_not_running" in out and "ws-3" in out.lower(), out[-4000:]
    assert stand.cloud.counters()["requests"].get("machines") == 1

    rc, out, err = playbook(
        stand,
        "intune.yml",
        {**api_vars(stand), "mde_rollout_intune_group_ids": ["0b5e7a52-3c61-4d0a-9f2c-5f1d8e3c9a10"]},
    )
    guard.check(out, err)
    assert rc == 0, out[-4000:]
    rc, out, err = playbook(
        stand,
        "intune.yml",
        {**api_vars(stand), "mde_rollout_intune_group_ids": ["0b5e7a52-3c61-4d0a-9f2c-5f1d8e3c9a10"]},
    )
    assert rc == 0 and "changed=0" in out, out[-4000:]


def test_group_policy_playbook(winsim):
    # srv2 has no third-party antivirus: in the same OU, it must never get the value (security filtering)
    fleet = domain_fleet(srv1={"os": "server2022"}, srv2={"os": "server2022", "third_party_av": []})
    sim = winsim(fleet)
    guard = Invariants(sim)
    rc, out, err = sim.run(
        [
            "ansible-playbook",
            "-i",
            str(sim.inventory),
            str(ROOT / "playbooks" / "group_policy.yml"),
            "-e",
            json.dumps({"mde_gpo_host": "dc1", "mde_gpo_target_ous": [SERVERS_OU]}),
        ]
    )
    guard.check(out, err)
    assert rc == 0, out[-4000:]
    values = [
        v
        for k, v in sim.state("srv1")["registry"].items()
        if k.lower().endswith("policies\\microsoft\\windows advanced threat protection")
    ]
    assert values and values[0]["ForceDefenderPassiveMode"]["data"] == 1
    others = [
        v
        for k, v in sim.state("srv2")["registry"].items()
        if k.lower().endswith("policies\\microsoft\\windows advanced threat protection")
    ]
    assert not any("ForceDefenderPassiveMode" in v for v in others), "a host without antivirus got the value"
    summary = out.split("TASK [Summary - the value arrived")[1]
    assert '"srv2": "left out: ' in summary and '"srv1": ' in summary, summary[:2000]
    rc, out, err = sim.run(
        [
            "ansible-playbook",
            "-i",
            str(sim.inventory),
            str(ROOT / "playbooks" / "group_policy.yml"),
            "-e",
            json.dumps({"mde_gpo_host": "dc1", "mde_gpo_target_ous": [SERVERS_OU]}),
        ]
    )
    assert rc == 0 and "changed=0" in out.split("PLAY RECAP")[-1].split("dc1")[1].split("\n")[0], out[-3000:]
