"""End to end: mdeops.defender.win_mde_passive_mode against the simulated fleet with the real Ansible CLI.

Round trips are measured with the simulator's request counters: one WinRM ``Command`` per
module run. A change costs two (read + change), nothing to change or check mode one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.doc_examples import module_examples, write_playbook
from tests.e2e.invariants import Invariants
from tests.winsim import rules
from tests.winsim.fleet import onboarding_info_json
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY, DEFENDER_POLICY_KEY

pytestmark = pytest.mark.e2e

MODULE = "mdeops.defender.win_mde_passive_mode"
INFO = "mdeops.defender.win_mde_info"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
FALCON = [{"name": "CrowdStrike Falcon"}]
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


def run_task(sim, host: str, module: str, args: dict | None = None, check: bool = False, diff: bool = False) -> dict:
    """Run one task on one host with ansible-playbook; return its result."""
    play = [
        {
            "hosts": host,
            "gather_facts": False,
            "tasks": [{"name": "under test", module: dict(args or {}), "ignore_errors": True}],
        }
    ]
    path = sim.base / ("play-%s-%d.yml" % (host, len(list(sim.base.glob("play-*.yml")))))
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    rc, out, err = sim.playbook(path, check=check, diff=diff, env=JSON_CALLBACK)
    assert rc == 0, out + err
    return json.loads(out)["plays"][0]["tasks"][0]["hosts"][host]


def reboot(sim, host: str) -> None:
    result = run_task(sim, host, "ansible.windows.win_reboot", {"reboot_timeout": 120, "pre_reboot_delay": 0})
    assert result.get("rebooted") is True, result


def state_bytes(sim, host: str) -> bytes:
    return (sim.state_dir / f"{host}.json").read_bytes()


def reg_item(sim, host: str, key: str, name: str) -> dict | None:
    registry = sim.state(host)["registry"]
    for k, values in registry.items():
        if k.lower() == key.lower():
            return values.get(name)
    return None


def module_runs(sim, host: str) -> dict:
    return dict(sim.counters(host).get("modules") or {})


def commands(sim, host: str) -> int:
    return int((sim.counters(host).get("requests") or {}).get("Command", 0))


def onboard_for_test(sim, host: str) -> None:
    """TEST-ONLY stand-in for the onboarding step (not the collection's onboarding module).

    Stops the simulator and writes what a successful onboarding leaves behind (OnboardingInfo,
    OnboardingState = 1, Sense running), then lets the simulator's rules react as they do when
    Sense onboards (Defender reads its policy, docs/sources.md §1.2 / §8), and starts it again.
    """
    sim.stop()
    path = sim.state_dir / f"{host}.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    registry = state["registry"]
    registry.setdefault(ATP_POLICY_KEY, {})["OnboardingInfo"] = {"type": "REG_SZ", "data": onboarding_info_json(ORG)}
    registry.setdefault(ATP_STATUS_KEY, {})["OnboardingState"] = {"type": "REG_DWORD", "data": 1}
    state["services"]["Sense"].update(state="running", start_mode="auto")
    rules.on_onboarded(state)
    path.write_text(json.dumps(state, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    sim.start(reset=False)


def test_server_before_onboarding_check_real_rerun_diff_then_onboard(winsim):
    """Microsoft's server order: third-party AV, ForceDefenderPassiveMode = 1, then onboard -> passive."""
    sim = winsim({"hosts": {"srv01": {"os": "server2022", "third_party_av": FALCON, "reboot_seconds": 1}}})
    host = "srv01"
    pristine = state_bytes(sim, host)
    guard = Invariants(sim, expected_org=ORG)

    # 1. check mode: predicted change, host untouched, the mutating module never runs
    check_guard = Invariants(sim, expected_org=ORG)
    checked = run_task(sim, host, MODULE, check=True, diff=True)
    check_guard.check(check_mode=True)
    assert checked["changed"] is True, checked
    assert checked["before"] == {"force_defender_passive_mode": None, "guide_force_passive_mode": None}
    assert checked["after"] == {"force_defender_passive_mode": 1, "guide_force_passive_mode": None}
    assert state_bytes(sim, host) == pristine
    assert module_runs(sim, host) == {INFO: 1}
    assert commands(sim, host) == 1

    # 2. real run: two round trips, the value read back from the host
    real = run_task(sim, host, MODULE, diff=True)
    assert real["changed"] is True and real["after"]["force_defender_passive_mode"] == 1
    assert reg_item(sim, host, ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 1}
    assert reg_item(sim, host, DEFENDER_POLICY_KEY, "ForcePassiveMode") is None
    assert module_runs(sim, host) == {INFO: 2, MODULE: 1}
    assert commands(sim, host) == 1 + 2
    assert real["reboot_required"] is False  # before onboarding: Sense reads the value when it onboards
    assert real["onboarded"] is False and real["defender_mode"] == "active"
    assert "warnings" not in real
    # diff: registry style, and the check-mode run predicted exactly the real one
    assert real["diff"] == checked["diff"]
    assert real["diff"]["before"].splitlines() == [
        r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection]",
        '; "ForceDefenderPassiveMode" is not set',
    ]
    assert '"ForceDefenderPassiveMode"=dword:00000001' in real["diff"]["after"]

    # 3. rerun: not changed, one module run (the read), the state file untouched
    written = state_bytes(sim, host)
    again = run_task(sim, host, MODULE, diff=True)
    assert again["changed"] is False
    assert again["before"] == again["after"] == real["after"]
    assert again["diff"]["before"] == again["diff"]["after"]
    assert module_runs(sim, host) == {INFO: 3, MODULE: 1}
    assert commands(sim, host) == 1 + 2 + 1
    assert state_bytes(sim, host) == written

    # 4. onboard (test-only helper) -> Defender is passive, no reboot needed
    info = run_task(sim, host, INFO)
    assert info["defender"]["mode"] == "active"
    onboard_for_test(sim, host)
    info = run_task(sim, host, INFO)
    assert info["onboarding"]["onboarded"] is True
    assert info["defender"]["mode"] == "passive", info["defender"]
    assert info["diagnosis"]["compliant"] is True, info["diagnosis"]
    after_onboarding = run_task(sim, host, MODULE)
    assert after_onboarding["changed"] is False and after_onboarding["reboot_required"] is False
    assert after_onboarding["defender_mode"] == "passive"
    guard.check()


def test_server_without_third_party_av_is_refused(winsim):
    sim = winsim({"hosts": {"srv02": {"os": "server2022"}}})
    pristine = state_bytes(sim, "srv02")
    guard = Invariants(sim, expected_org=ORG)
    for check in (True, False):
        result = run_task(sim, "srv02", MODULE, check=check)
        assert result["failed"] is True
        assert result["reason"] == "no_third_party_av", result
        assert result["changed"] is False
        assert state_bytes(sim, "srv02") == pristine
    assert module_runs(sim, "srv02") == {INFO: 2}  # read only, never the mutating module
    guard.check(check_mode=True)  # --check and a refused run


def test_tamper_protected_onboarded_active_server(winsim):
    sim = winsim(
        {
            "hosts": {
                "srv03": {
                    "os": "server2022",
                    "third_party_av": FALCON,
                    "onboarded_org": ORG,
                    "tamper_protection": True,
                    "reboot_seconds": 1,
                }
            }
        }
    )
    host = "srv03"
    guard = Invariants(sim, expected_org=ORG)
    result = run_task(sim, host, MODULE)
    assert result["changed"] is True  # set anyway: harmless
    assert reg_item(sim, host, ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 1}
    assert result["tamper_protection_blocks_passive"] is True
    assert "troubleshooting mode" in result["remediation"]
    assert any("Tamper protection" in w for w in result["warnings"]), result
    assert result["onboarded"] is True and result["defender_mode"] == "active"
    # Microsoft documents that tamper protection keeps it active: a reboot alone does not help
    reboot(sim, host)
    info = run_task(sim, host, INFO)
    assert info["defender"]["mode"] == "active"
    assert "tamper_protection_blocks_passive" in info["diagnosis"]["reasons"]
    guard.check()


def test_absent_sets_zero_and_requires_a_reboot(winsim):
    force = [{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}]
    sim = winsim(
        {
            "hosts": {
                "srv04": {
                    "os": "server2022",
                    "third_party_av": FALCON,
                    "onboarded_org": ORG,
                    "registry": force,
                    "reboot_seconds": 1,
                }
            }
        }
    )
    host = "srv04"
    guard = Invariants(sim, expected_org=ORG)
    assert run_task(sim, host, INFO)["defender"]["mode"] == "passive"
    pristine = state_bytes(sim, host)
    check_guard = Invariants(sim, expected_org=ORG)
    checked = run_task(sim, host, MODULE, {"state": "absent"}, check=True, diff=True)
    check_guard.check(check_mode=True)
    assert checked["changed"] is True and checked["reboot_required"] is True
    assert state_bytes(sim, host) == pristine
    result = run_task(sim, host, MODULE, {"state": "absent"}, diff=True)
    assert result["changed"] is True
    assert result["before"]["force_defender_passive_mode"] == 1
    assert result["after"]["force_defender_passive_mode"] == 0
    assert result["diff"] == checked["diff"]
    # 0, Microsoft's way back to active - not a delete
    assert reg_item(sim, host, ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 0}
    assert result["reboot_required"] is True
    # the module never reboots; Defender changes mode at the reboot
    assert run_task(sim, host, INFO)["defender"]["mode"] == "passive"
    reboot(sim, host)
    assert run_task(sim, host, INFO)["defender"]["mode"] == "active"
    again = run_task(sim, host, MODULE, {"state": "absent"})
    assert again["changed"] is False and again["reboot_required"] is False
    guard.check()


def test_guide_value_is_written_and_does_not_change_defenders_mode(winsim):
    sim = winsim(
        {"hosts": {"srv05": {"os": "server2022", "third_party_av": FALCON, "onboarded_org": ORG, "reboot_seconds": 1}}}
    )
    host = "srv05"
    guard = Invariants(sim, expected_org=ORG)
    result = run_task(sim, host, MODULE, {"guide_value": True}, diff=True)
    assert result["changed"] is True
    assert result["after"] == {"force_defender_passive_mode": 1, "guide_force_passive_mode": 1}
    assert reg_item(sim, host, DEFENDER_POLICY_KEY, "ForcePassiveMode") == {"type": "REG_DWORD", "data": 1}
    assert r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows Defender]" in result["diff"]["after"]
    assert '"ForcePassiveMode"=dword:00000001' in result["diff"]["after"]
    assert result["reboot_required"] is True  # onboarded and still active: for the documented value
    # Keep only the guide's value (documented value back to 0, guide's value left alone) and reboot:
    # Windows ignores the guide's value, Defender stays active.
    back = run_task(sim, host, MODULE, {"state": "absent"})
    assert back["after"] == {"force_defender_passive_mode": 0, "guide_force_passive_mode": 1}
    reboot(sim, host)
    info = run_task(sim, host, INFO)
    assert info["policy"]["guide_force_passive_mode"] == 1
    assert info["defender"]["mode"] == "active"
    assert "guide_registry_value_ignored" in info["diagnosis"]["reasons"]
    # and the documented value alone does what the guide's could not
    assert run_task(sim, host, MODULE, {"state": "absent", "guide_value": True})["after"] == {
        "force_defender_passive_mode": 0,
        "guide_force_passive_mode": None,
    }
    assert run_task(sim, host, MODULE)["reboot_required"] is True
    reboot(sim, host)
    assert run_task(sim, host, INFO)["defender"]["mode"] == "passive"
    guard.check()


def test_client_is_allowed_with_a_warning(winsim, tmp_path: Path):
    sim = winsim({"hosts": {"ws01": {"os": "windows11_23h2", "third_party_av": FALCON}}})
    guard = Invariants(sim, expected_org=ORG)
    result = run_task(sim, "ws01", MODULE)
    guard.check()
    assert result["changed"] is True and result["os_kind"] == "workstation"
    assert any("Windows Server only" in w for w in result["warnings"])


def test_documented_examples_run(winsim):
    """The EXAMPLES of the module's documentation stub, as a play against a server and a client."""
    sim = winsim({"hosts": {"srv06": {"os": "server2022", "third_party_av": FALCON, "reboot_seconds": 1}}})
    tasks = module_examples("win_mde_passive_mode")
    path = write_playbook(sim.base, [{"hosts": "all", "gather_facts": False, "tasks": tasks}])
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path)
    guard.check(out, err)
    assert rc == 0, out + err
    assert "failed=0" in out
