"""End to end: step 5 (Group Policy) against the simulated fleet with the real Ansible CLI.

A domain controller and members in OUs. ``win_mde_gpo`` runs delegated to the DC (check mode ->
domain state byte-identical -> real run -> domain state read back -> rerun not changed -> diff),
``win_mde_policy_refresh`` on members in a linked and an unlinked OU, the guide's opt-in warns,
a member without the GroupPolicy module fails with ``gpo_module_missing``, and a member that
reboots gets the value at boot without a refresh.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.mdeops.defender.plugins.module_utils import _gpo_refresh
from tests.e2e.doc_examples import module_examples, write_playbook
from tests.e2e.invariants import Invariants
from tests.winsim.domain import domain_path
from tests.winsim.host import ATP_POLICY_KEY, DEFENDER_POLICY_KEY

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]

GPO = "mdeops.defender.win_mde_gpo"
REFRESH = "mdeops.defender.win_mde_policy_refresh"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
FALCON = [{"name": "CrowdStrike Falcon"}]
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
ROOT = "DC=corp,DC=example,DC=com"
SRV = "OU=Servers,OU=Corp," + ROOT
WKS = "OU=Workstations,OU=Corp," + ROOT
NAME = "MDE - Defender passive mode"
GPO_ARGS = {"name": NAME, "comment": "ForceDefenderPassiveMode = 1. Managed by Ansible.", "target_ous": [SRV]}

FLEET = {
    "defaults": {"reboot_seconds": 1, "domain_joined": True, "third_party_av": FALCON},
    "hosts": {
        "dc-01": {"os": "server2022", "domain_controller": True, "ou": "OU=Domain Controllers," + ROOT},
        "srv-01": {"os": "server2022", "ou": SRV, "onboarded_org": ORG},
        "srv-02": {"os": "server2019", "ou": SRV},
        "ws-01": {"os": "windows11_23h2", "ou": WKS},
    },
}


def run_task(
    sim, host: str, module: str, args: dict | None = None, check: bool = False, diff: bool = False, **task_keys
) -> dict:
    """Run one task with ansible-playbook; return its result (``task_keys``: delegate_to, run_once, ...)."""
    task = {"name": "under test", module: dict(args or {}), "ignore_errors": True, **task_keys}
    play = [{"hosts": host, "gather_facts": False, "tasks": [task]}]
    path = sim.base / ("play-%d.yml" % len(list(sim.base.glob("play-*.yml"))))
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    rc, out, err = sim.playbook(path, check=check, diff=diff, env=JSON_CALLBACK)
    assert rc == 0, out + err
    return json.loads(out)["plays"][0]["tasks"][0]["hosts"][host]


def on_dc(sim, args: dict, **kw) -> dict:
    """win_mde_gpo from a play on a member, delegated to the domain controller (the usual way)."""
    return run_task(sim, "srv-01", GPO, args, delegate_to="dc-01", run_once=True, **kw)


def domain_file(sim):
    return domain_path(str(sim.state_dir), "corp.example.com")


def domain_bytes(sim) -> bytes | None:
    path = domain_file(sim)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def module_runs(sim, host: str) -> dict:
    return dict(sim.counters(host).get("modules") or {})


def passive_value(sim, host: str):
    for key, values in sim.state(host)["registry"].items():
        if key.lower() == ATP_POLICY_KEY.lower():
            item = values.get("ForceDefenderPassiveMode")
            return item and item["data"]
    return None


def test_gpo_on_the_dc_check_real_rerun_diff(winsim):
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    dc_state = (sim.state_dir / "dc-01.json").read_bytes()

    # 1. check mode: the change is predicted, nothing is written (the domain file does not even appear)
    check_guard = Invariants(sim, expected_org=ORG)
    checked = on_dc(sim, GPO_ARGS, check=True, diff=True)
    check_guard.check(check_mode=True)
    assert checked.get("failed") is not True, checked
    assert checked["changed"] is True
    assert [op["op"] for op in checked["operations"]] == ["create_gpo", "set_preference", "new_link"]
    assert domain_bytes(sim) is None
    assert (sim.state_dir / "dc-01.json").read_bytes() == dc_state
    assert module_runs(sim, "dc-01") == {GPO: 1} and module_runs(sim, "srv-01") == {}

    # 2. real run: two round trips on the DC; the domain state holds the GPO, its item and its link
    real = on_dc(sim, GPO_ARGS, diff=True)
    assert real["changed"] is True and module_runs(sim, "dc-01") == {GPO: 3}
    state = json.loads(domain_bytes(sim))
    gpo = next(g for g in state["gpos"].values() if g["name"] == NAME)
    assert gpo["comment"] == GPO_ARGS["comment"] and real["gpo"]["id"] == gpo["id"]
    assert [(p["key"], p["value_name"], p["type"], p["value"], p["action"]) for p in gpo["preferences"]] == [
        (ATP_POLICY_KEY, "ForceDefenderPassiveMode", "REG_DWORD", 1, "update")
    ]
    assert gpo["policies"] == []
    assert state["links"][SRV] == [{"gpo_id": gpo["id"], "enabled": True, "enforced": False}]
    # diff: before = nothing, after = the item and the link; check mode predicted the same
    assert real["diff"]["before"]["exists"] is False and real["diff"]["before"]["settings"] == []
    assert real["diff"]["after"]["settings"] == [
        {
            "kind": "preference",
            "key": ATP_POLICY_KEY,
            "value_name": "ForceDefenderPassiveMode",
            "type": "REG_DWORD",
            "value": 1,
            "action": "update",
            "disabled": False,
        }
    ]
    assert real["diff"]["after"]["links"] == [{"target": SRV, "enabled": True, "enforced": False, "order": 1}]
    assert checked["diff"]["after"]["settings"] == real["diff"]["after"]["settings"]
    assert "warnings" not in real

    # 3. rerun: not changed, one round trip, the domain state byte-identical
    written = domain_bytes(sim)
    again = on_dc(sim, GPO_ARGS, diff=True)
    assert again["changed"] is False and again["operations"] == []
    assert again["diff"]["before"] == again["diff"]["after"] == real["diff"]["after"]
    assert domain_bytes(sim) == written and module_runs(sim, "dc-01") == {GPO: 4}

    # 4. a check-mode change of an existing GPO leaves the domain byte-identical as well
    check_guard = Invariants(sim, expected_org=ORG)
    enforced = on_dc(sim, dict(GPO_ARGS, enforced=True), check=True, diff=True)
    check_guard.check(check_mode=True)
    assert enforced["changed"] is True
    assert enforced["operations"] == [{"op": "set_link", "target": SRV, "enabled": True, "enforced": True}]
    assert domain_bytes(sim) == written
    guard.check()


def test_refresh_linked_unlinked_reboot_guide_and_non_dc(winsim):
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    assert on_dc(sim, GPO_ARGS)["changed"] is True

    # a member server in the linked OU: the value arrives, from our GPO; onboarded -> reboot needed
    refreshed = run_task(sim, "srv-01", REFRESH, {"expected_gpo": NAME})
    assert refreshed.get("failed") is not True, refreshed
    assert refreshed["arrived"] is True and refreshed["value"] == 1 and refreshed["value_before"] is None
    assert refreshed["source_gpo"] == NAME and refreshed["source"]["kind"] == "preference"
    assert refreshed["applied_gpos"] == ["Default Domain Policy", NAME]
    assert refreshed["som"] == "corp.example.com/Corp/Servers"
    assert refreshed["reboot_required"] is True and refreshed["changed"] is True
    assert passive_value(sim, "srv-01") == 1

    # a member in an unlinked OU: policy_not_applied, naming where the computer is
    missing = run_task(sim, "ws-01", REFRESH, {"expected_gpo": NAME})
    assert missing["failed"] is True and missing["reason"] == "policy_not_applied", missing
    assert missing["arrived"] is False and missing["value"] is None
    assert "corp.example.com/Corp/Workstations" in missing["msg"]
    assert passive_value(sim, "ws-01") is None

    # a member that reboots gets the value at boot, without gpupdate
    assert passive_value(sim, "srv-02") is None
    rebooted = run_task(sim, "srv-02", "ansible.windows.win_reboot", {"reboot_timeout": 120, "pre_reboot_delay": 0})
    assert rebooted.get("rebooted") is True, rebooted
    assert passive_value(sim, "srv-02") == 1
    check_guard = Invariants(sim, expected_org=ORG)
    seen = run_task(sim, "srv-02", REFRESH, {"expected_gpo": NAME}, check=True)
    check_guard.check(check_mode=True)
    assert seen.get("failed") is not True, seen
    assert (
        seen["refreshed"] is False and seen["gpupdate"] is None and seen["msg"] == _gpo_refresh.REFRESH_CHECK_MODE_MSG
    )
    assert seen["arrived"] is True and seen["source_gpo"] == NAME
    assert sim.state("srv-02")["defender"]["effective_policy"]["ForceDefenderPassiveMode"] == 1

    # the guide's "Turn off Microsoft Defender Antivirus" only as a warned opt-in
    guide = on_dc(sim, dict(GPO_ARGS, guide_turn_off_defender=True))
    assert guide["changed"] is True
    assert any("NOT a passive-mode setting" in w for w in guide["warnings"]), guide.get("warnings")
    assert ("policy", DEFENDER_POLICY_KEY, "DisableAntiSpyware", 1) in [
        (i["kind"], i["key"], i["value_name"], i["value"]) for i in guide["settings"]
    ]
    back = on_dc(sim, GPO_ARGS)
    assert [op["op"] for op in back["operations"]] == ["remove_policy"] and "warnings" not in back

    # a member server has no GroupPolicy module
    member = run_task(sim, "srv-01", GPO, GPO_ARGS)
    assert member["failed"] is True and member["reason"] == "gpo_module_missing", member
    assert module_runs(sim, "srv-01").get(GPO) == 1
    guard.check()


def test_the_documented_examples_run(winsim):
    """EXAMPLES of both stubs, verbatim, in the order an operator would run them."""
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    gpo_examples = module_examples("win_mde_gpo")
    refresh_examples = module_examples("win_mde_policy_refresh")
    # create + show, refresh + reboot, then back to active and delete
    tasks = gpo_examples[:2] + refresh_examples + gpo_examples[2:]
    path = write_playbook(sim.base, [{"hosts": "srv-01", "gather_facts": False, "tasks": tasks}])
    rc, out, err = sim.playbook(path, env=JSON_CALLBACK)
    assert rc == 0, out + err
    results = [t["hosts"]["srv-01"] for t in json.loads(out)["plays"][0]["tasks"]]
    assert [r.get("failed", False) for r in results] == [False] * len(tasks)
    assert results[0]["changed"] is True and results[2]["source_gpo"] == "MDE - Defender passive mode"
    assert results[3].get("rebooted") is True
    assert results[-1]["changed"] is True and results[-1]["gpo"]["exists"] is False
    state = json.loads(domain_bytes(sim))
    assert all(g["name"] != "MDE - Defender passive mode" for g in state["gpos"].values())
    guard.check()
