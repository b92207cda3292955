"""End to end: mdeops.defender.win_mde_onboarding with ansible-playbook against the simulated fleet.

Each playbook saves the registered result of every host to ``results/<host>.json`` (a local
``copy`` task, so the saved result is exactly what Ansible got) and the tests read it back,
together with the simulator's state files and request counters.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.invariants import Invariants
from tests.winsim import packages as gen
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY

pytestmark = pytest.mark.e2e

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
SIG = "U0lNVUxBVEVELVNJRw=="  # inside every generated script: must never be printed
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
MSI = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096
ONBOARD = "mdeops.defender.win_mde_onboarding"
INFO = "mdeops.defender.win_mde_info"

# Options come from per-host cases so that one play can try many hosts at once.
OPTIONS = (
    "state",
    "package",
    "remote_package",
    "checksum",
    "expected_org_id",
    "force",
    "timeout",
    "installer",
    "remote_installer",
    "installer_force_passive",
)


def playbook(base: Path, name: str, module: str = ONBOARD) -> Path:
    if module == ONBOARD:
        args = {opt: "{{ cases[inventory_hostname].%s | default(omit) }}" % opt for opt in OPTIONS}
    else:
        args = {"expected_org_id": ORG}
    play = [
        {
            "hosts": "{{ targets }}",
            "gather_facts": False,
            "tasks": [
                {"name": "run the module", module: args, "register": "r", "ignore_errors": True},
                {
                    "name": "save the result",
                    "ansible.builtin.copy": {
                        "content": "{{ r | to_json }}",
                        "dest": "{{ out }}/{{ inventory_hostname }}.json",
                    },
                    "delegate_to": "localhost",
                    "check_mode": False,
                    "diff": False,
                },
            ],
        }
    ]
    path = base / (name + ".yml")
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    return path


class Runner:
    def __init__(self, sim, base: Path) -> None:
        self.sim = sim
        self.base = base
        self.count = 0
        self.onboarding = playbook(base, "onboarding")
        self.info = playbook(base, "info", module=INFO)

    def run(self, targets: str, cases: dict | None = None, check=False, diff=False, extra=(), info=False):
        self.count += 1
        out = self.base / ("results-%d" % self.count)
        out.mkdir()
        _rc, stdout, stderr = self.sim.playbook(
            self.info if info else self.onboarding,
            extra_vars={"targets": targets, "cases": cases or {}, "out": str(out)},
            check=check,
            diff=diff,
            extra_args=list(extra),
        )
        assert "save the result" in stdout, stdout + stderr
        results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
        return results, stdout + stderr


def start(winsim, hosts: dict):
    sim = winsim({"defaults": {"reboot_seconds": 1}, "hosts": hosts})
    files = sim.base / "files"  # the playbooks live in sim.base: relative package names resolve in files/
    paths = gen.write_set(str(files), ORG, other_org=OTHER)
    (files / "md4ws.msi").write_bytes(MSI)
    return sim, Runner(sim, sim.base), paths


def modules(sim, host: str) -> dict:
    return dict(sim.counters(host).get("modules") or {})


def registry_values(state: dict) -> dict:
    return {
        (key.lower(), name.lower()): item for key, values in state["registry"].items() for name, item in values.items()
    }


# ----------------------------------------------------------------------------- the full cycle
def test_onboarding_cycle_on_a_client_with_a_third_party_av(winsim):
    sim, runner, paths = start(winsim, {"ws01": CLIENT})
    case = {
        "ws01": {
            "package": "WindowsDefenderATPOnboardingPackage.zip",
            "expected_org_id": ORG,
            "checksum": "sha256:" + hashlib.sha256(Path(paths["onboarding_zip"]).read_bytes()).hexdigest(),
        }
    }
    state_file = sim.state_dir / "ws01.json"
    pristine = state_file.read_bytes()
    pristine_state = sim.state("ws01")
    guard = Invariants(sim, expected_org=ORG)

    # 1. check mode: a prediction, one read, the state file byte-identical
    check_guard = Invariants(sim, expected_org=ORG)
    results, out = runner.run("ws01", case, check=True, diff=True)
    check_guard.check(check_mode=True)
    r = results["ws01"]
    assert r["changed"] is True and not r.get("failed"), r
    assert r["after"] == {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
    assert r["diff"]["before"]["onboarded"] is False
    assert state_file.read_bytes() == pristine
    assert modules(sim, "ws01") == {INFO: 1}

    # 2. the real run (verbose: the script must not show up)
    results, out = runner.run("ws01", case, diff=True, extra=["-vvv"])
    r = results["ws01"]
    assert r["changed"] is True and not r.get("failed"), r
    assert r["operation"] == "onboard"
    # The script runs in a console of its own: its waits for Sense and OnboardingState work (exit 0).
    assert r["script_result"]["exit_code"] == 0 and r["script_result"]["success"] is True
    assert not r.get("warnings"), r.get("warnings")
    assert [(e["source"], e["id"]) for e in r["events"]] == [("WDATPOnboarding", 20)]
    assert r["diff"] == {
        "before": {"onboarded": False, "org_id": None, "onboarding_state": None, "sense_running": False},
        "after": {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True},
    }
    # the invocation names the package, never its content (ansible-core 2.19 drops "invocation" from
    # registered results; the -vvv output shows it on every version)
    if "invocation" in r:
        assert r["invocation"]["module_args"]["package"] == "WindowsDefenderATPOnboardingPackage.zip"
    assert '"package": "WindowsDefenderATPOnboardingPackage.zip"' in out, out
    assert SIG not in out and SIG not in json.dumps(r)
    assert "--- before" in out and '"onboarded": true' in out  # the diff was shown
    assert modules(sim, "ws01") == {INFO: 2, ONBOARD: 1}

    # 3. read back: the host state ...
    state = sim.state("ws01")
    reg = registry_values(state)
    assert reg[(ATP_STATUS_KEY.lower(), "onboardingstate")]["data"] == 1
    assert reg[(ATP_STATUS_KEY.lower(), "orgid")]["data"] == ORG
    assert state["services"]["Sense"]["state"] == "running"
    # ... with no registry change but what the portal's script writes (the onboarding data, the sensor's
    # WMI autologger permission, DisableEnterpriseAuthProxy, its event source) and Sense's status
    changed = {
        k
        for k in set(reg) | set(registry_values(pristine_state))
        if reg.get(k) != registry_values(pristine_state).get(k)
    }
    source = "hklm\\system\\currentcontrolset\\services\\eventlog\\application\\wdatponboarding"
    assert changed == {
        (ATP_POLICY_KEY.lower(), "onboardinginfo"),
        (ATP_STATUS_KEY.lower(), "onboardingstate"),
        (ATP_STATUS_KEY.lower(), "orgid"),
        ("hklm\\system\\currentcontrolset\\control\\wmi\\security", "5a6d2c3e-0000-4000-8000-53494d554c41"),
        ("hklm\\software\\policies\\microsoft\\windows\\datacollection", "disableenterpriseauthproxy"),
        (source, "eventmessagefile"),
        (source, "typessupported"),
        (source, "customsource"),
    }
    # ... and Defender went passive by itself, as win_mde_info reads it
    results, out = runner.run("ws01", info=True)
    info = results["ws01"]
    assert info["defender"]["mode"] == "passive", info["defender"]
    assert info["onboarding"]["onboarded"] and info["onboarding"]["org_id"] == ORG
    assert info["onboarding"]["sense_running"]
    assert info["policy"]["force_defender_passive_mode"] is None

    # 4. rerun: nothing to do, exactly one module run on the host
    before = modules(sim, "ws01")
    results, out = runner.run("ws01", case, diff=True)
    r = results["ws01"]
    assert r["changed"] is False and r["operation"] == "none" and not r.get("failed"), r
    assert r["diff"]["before"] == r["diff"]["after"]
    after = modules(sim, "ws01")
    assert sum(after.values()) - sum(before.values()) == 1
    assert after[ONBOARD] == before[ONBOARD]

    # 5. offboarding with a valid package, then a rerun that changes nothing
    off = {"ws01": {"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip", "expected_org_id": ORG}}
    results, out = runner.run("ws01", off)
    r = results["ws01"]
    assert r["changed"] is True and not r.get("failed"), r
    assert r["after"] == {"onboarded": False, "org_id": None, "onboarding_state": 0, "sense_running": False}
    # the script waits for Sense to stop (exit 0, its success event)
    assert [(e["source"], e["id"]) for e in r["events"]] == [("WDATPOffboarding", 20)]
    assert r["script_result"]["exit_code"] == 0 and not r.get("warnings")
    state = sim.state("ws01")
    assert state["services"]["Sense"]["state"] == "stopped"
    assert registry_values(state).get((ATP_POLICY_KEY.lower(), "onboardinginfo")) is None
    results, out = runner.run("ws01", off)
    assert results["ws01"]["changed"] is False and results["ws01"]["operation"] == "none"
    guard.check()


# ----------------------------------------------------------------------------- failures
FAILURE_HOSTS = {
    "wrongpkg": CLIENT,
    "otherorg": {**CLIENT, "onboarded_org": OTHER},
    "expired": {**CLIENT, "onboarded_org": ORG},
    "checksum": CLIENT,
    "corrupt": CLIENT,
    "local": CLIENT,
    "exit10": {**CLIENT, "faults": {"onboarding_exit_code": 10}},
    "nosense": {**CLIENT, "faults": {"sense_never_starts": True}},
    "slowsense": {**CLIENT, "faults": {"sense_start_delay_s": 3}},
    "srv2012": {"os": "server2012r2", "third_party_av": [{"name": "Trend Micro Deep Security"}]},
}
FAILURE_CASES = {
    "wrongpkg": {"package": "OtherOrg-WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": ORG},
    "otherorg": {"package": "WindowsDefenderATPOnboardingPackage.zip"},
    "expired": {"state": "absent", "package": "Expired-WindowsDefenderATPOffboardingPackage.zip"},
    "checksum": {"package": "WindowsDefenderATPOnboardingPackage.zip", "checksum": "sha256:" + "0" * 64},
    "corrupt": {"package": "Corrupt-WindowsDefenderATPOnboardingPackage.zip"},
    "local": {"package": "WindowsDefenderATPLocalOnboardingPackage.zip"},
    "exit10": {"package": "WindowsDefenderATPOnboardingPackage.zip"},
    "nosense": {"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 30},
    "slowsense": {"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 30},
    "srv2012": {"package": "WindowsDefenderATPOnboardingPackage.zip"},
}
EXPECTED = {
    # host: (reason, module runs on the host)
    "wrongpkg": ("wrong_org", {}),
    "otherorg": ("wrong_org", {INFO: 1}),
    "expired": ("package_expired", {}),
    "checksum": ("checksum_mismatch", {}),
    "corrupt": ("package_invalid", {}),
    "local": ("interactive_package", {}),
    "exit10": ("onboarding_failed", {INFO: 1, ONBOARD: 1}),
    "nosense": ("sensor_not_running", {INFO: 1, ONBOARD: 1}),
    "slowsense": (None, {INFO: 1, ONBOARD: 1}),
    "srv2012": ("unified_agent_required", {INFO: 1}),
}


def test_failures_are_reported_with_their_reason(winsim):
    sim, runner, _paths = start(winsim, FAILURE_HOSTS)
    pristine = {h: (sim.state_dir / ("%s.json" % h)).read_bytes() for h in FAILURE_HOSTS}
    guard = Invariants(sim, expected_org=ORG)
    results, out = runner.run("all", FAILURE_CASES)
    guard.check()
    assert set(results) == set(FAILURE_HOSTS)
    for host, (reason, runs) in EXPECTED.items():
        r = results[host]
        if reason is None:
            assert not r.get("failed") and r["changed"], (host, r)
        else:
            assert r.get("failed") is True and r["reason"] == reason, (host, r)
            assert r["msg"] and r["remediation"], (host, r)
        assert modules(sim, host) == runs, host
    # refusals changed nothing at all
    for host in ("wrongpkg", "otherorg", "expired", "checksum", "corrupt", "local", "srv2012"):
        assert (sim.state_dir / ("%s.json" % host)).read_bytes() == pristine[host], host
    assert "OnboardingInfo" in results["exit10"]["msg"] and "exited with 10" in results["exit10"]["msg"]
    assert results["exit10"]["script_result"]["exit_code"] == 10
    assert [e["id"] for e in results["exit10"]["events"]] == [10]
    # Sense never runs and the script's own waits (35 s) outlast the module's timeout: it is stopped
    # with its child processes (test_faults.py: with time to spare it exits 15)
    assert "timeout=30 s" in results["nosense"]["msg"] and "stopped" in results["nosense"]["msg"]
    assert results["nosense"]["script_result"]["timed_out"] is True
    assert OTHER in results["otherorg"]["msg"]
    assert results["slowsense"]["after"]["sense_running"] is True
    assert SIG not in out


# ----------------------------------------------------------------------------- Server 2012 R2
def test_server_2012r2_gets_the_unified_agent_then_onboards(winsim):
    sim, runner, _paths = start(
        winsim, {"srv12": {"os": "server2012r2", "third_party_av": [{"name": "Trend Micro Deep Security"}]}}
    )
    case = {"srv12": {"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "md4ws.msi", "timeout": 60}}
    guard = Invariants(sim, expected_org=ORG)
    check_guard = Invariants(sim, expected_org=ORG)
    results, _output = runner.run("srv12", case, check=True)
    check_guard.check(check_mode=True)
    assert results["srv12"]["changed"] is True and results["srv12"]["installer"]["required"] is True
    assert "put_file" not in sim.counters("srv12")

    results, _output = runner.run("srv12", case)
    r = results["srv12"]
    assert not r.get("failed") and r["changed"], r
    assert r["installer"]["installed"] is True and r["installer"]["exit_code"] == 0
    assert r["installer"]["force_passive"] is True
    assert r["after"] == {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
    counters = sim.counters("srv12")
    assert counters["put_file"] == 1 and counters["mkdtemp"] == 1
    state = sim.state("srv12")
    assert state["mde"]["unified_agent"] and state["mde"]["unified_agent_force_passive"]
    assert not any("ansible-tmp" in path for path in state["files"] if path.endswith("md4ws.msi"))

    results, _output = runner.run("srv12", case)
    assert results["srv12"]["changed"] is False and results["srv12"]["installer"] is None
    assert sim.counters("srv12")["put_file"] == 1
    guard.check()
