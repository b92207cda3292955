"""End to end: the EXAMPLES of win_mde_info, win_mde_onboarding and win_mde_onboard_reboot run as written.

Each documented example (a top-level task or block of EXAMPLES) runs verbatim in its own play,
against hosts chosen so that it does its job: the only substitutions are the placeholder checksum
(replaced by the real one of the generated package) and nothing else. The packages sit in the
playbook's ``files/`` directory, where relative package names resolve.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from tests.e2e.doc_examples import module_examples, write_playbook
from tests.e2e.invariants import Invariants
from tests.winsim import packages as gen

pytestmark = pytest.mark.e2e

ORG = "0a1b2c3d-1111-2222-3333-444455556666"  # the organisation the examples name
FALCON = [{"name": "CrowdStrike Falcon"}]
MSI = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096
PLACEHOLDER_CHECKSUM = "sha256:9f3c5ad1c8b0f6bbf1e4a8f1e2a7b4d60f5b9a1f0c3e2d4b6a8c0e1f2a3b4c5d"


def onboarded_org(state: dict) -> str | None:
    for key, values in state["registry"].items():
        if key.lower().endswith("windows advanced threat protection\\status"):
            lowered = {k.lower(): v for k, v in values.items()}
            if (lowered.get("onboardingstate") or {}).get("data") == 1:
                return (lowered.get("orgid") or {}).get("data")
    return None


def test_win_mde_info_examples_run(winsim):
    tasks = module_examples("win_mde_info")
    assert len(tasks) == 5, "the examples changed: adapt this test"
    # The settle wait as the example writes it, with a bound short enough for a test: the hosts are
    # not onboarded, so it must poll until the bound and then fail with the reason.
    wait = tasks[2]
    assert wait["mdeops.defender.win_mde_info"]["wait_for"] == "passive"
    wait["mdeops.defender.win_mde_info"].update(wait_timeout=3, wait_interval=1)
    wait["ignore_errors"] = True
    sim = winsim(
        {
            "hosts": {
                "ws01": {"os": "windows11_23h2", "third_party_av": FALCON},
                "srv01": {"os": "server2022", "third_party_av": [{"name": "ContosoAV Server"}]},
            }
        }
    )
    path = write_playbook(sim.base, [{"hosts": "all", "gather_facts": False, "tasks": tasks}])
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path, extra_args=["-v"])
    guard.check(out, err, check_mode=True)  # read-only: nothing changed on any host
    assert rc == 0, out + err
    recap = [line for line in out.splitlines() if " : ok=" in line]
    assert len(recap) == 2 and all("failed=0" in line and "changed=0" in line for line in recap), out
    assert all("ignored=1" in line for line in recap), out[-4000:]
    assert '"polls": 3' in out and '"reason": "not_onboarded"' in out
    # the not-yet-passive hosts were shown with their diagnosis
    assert "not onboarded" in out.lower() or "not_onboarded" in out, out


def test_win_mde_onboarding_examples_run(winsim):
    tasks = module_examples("win_mde_onboarding")
    assert len(tasks) == 6, "the examples changed: adapt this test"
    sim = winsim(
        {
            "defaults": {"reboot_seconds": 1, "third_party_av": FALCON},
            "hosts": {
                "ws01": {"os": "windows11_23h2"},
                "ws02": {"os": "windows10_22h2"},
                "srv2016": {"os": "server2016"},
            },
        }
    )
    files = sim.base / "files"
    paths = gen.write_set(str(files), ORG)
    (files / "md4ws.msi").write_bytes(MSI)
    checksum = "sha256:" + hashlib.sha256(Path(paths["onboarding_zip"]).read_bytes()).hexdigest()
    text = yaml.safe_dump(tasks, sort_keys=False)
    assert PLACEHOLDER_CHECKSUM in text
    tasks = yaml.safe_load(text.replace(PLACEHOLDER_CHECKSUM, checksum))

    # the package the "remote_package" example expects on the host, put there as an operator would
    cmd_on_host = r"C:\Deploy\WindowsDefenderATPOnboardingScript.cmd"
    stage = {
        "name": "Stage the onboarding script on the host",
        # a dest that ends in a backslash is a folder that win_copy creates
        "ansible.windows.win_copy": {"src": paths["onboarding_cmd"], "dest": cmd_on_host.rsplit("\\", 1)[0] + "\\"},
    }
    plays = [
        # example 1 + 2: onboard with checksum and show the script's result
        {"hosts": "ws01", "gather_facts": False, "tasks": tasks[0:2]},
        # example 3: the Server 2016 block (facts gathered: it reads them); a client skips it
        {"hosts": "srv2016:ws02", "gather_facts": True, "tasks": [tasks[2]]},
        # example 4: a package already on the host, run as SYSTEM
        {"hosts": "ws02", "gather_facts": False, "tasks": [stage, tasks[3]]},
        # example 5: offboard
        {"hosts": "ws01", "gather_facts": False, "tasks": [tasks[4]]},
        # example 6: onboard again, branching on the reason code
        {"hosts": "ws01", "gather_facts": False, "tasks": [tasks[5]]},
    ]
    path = write_playbook(sim.base, plays)
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path)
    guard.check(out, err)
    assert rc == 0, out + err
    recap = {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}
    assert set(recap) == {"ws01", "ws02", "srv2016"}, out
    assert all("failed=0" in line and "unreachable=0" in line for line in recap.values()), recap

    states = {h: sim.state(h) for h in ("ws01", "ws02", "srv2016")}
    assert {h: onboarded_org(s) for h, s in states.items()} == dict.fromkeys(states, ORG)
    # the server: md4ws.msi installed (with passive mode forced) and Sense running
    assert states["srv2016"]["services"]["Sense"]["state"] == "running"
    runs = {h: dict(sim.counters(h).get("modules") or {}) for h in states}
    assert runs["srv2016"].get("mdeops.defender.win_mde_passive_mode") == 1, runs
    assert "mdeops.defender.win_mde_passive_mode" not in runs["ws02"], "the server block ran on a client"
    # ws01: onboarded (1), offboarded (5), onboarded again (6)
    assert runs["ws01"]["mdeops.defender.win_mde_onboarding"] == 3, runs["ws01"]
    assert "exited with" not in out and "0: the script finished without error" in out


def test_win_mde_onboard_reboot_examples_run_check_then_apply_then_change_nothing(winsim):
    """The module on its own, as its EXAMPLES write it: --check changes no host, then the hosts are
    onboarded and rebooted where needed, then a second run changes nothing and reboots nothing."""
    tasks = module_examples("win_mde_onboard_reboot")
    assert len(tasks) == 4, "the examples changed: adapt this test"
    sim = winsim(
        {
            "defaults": {"reboot_seconds": 1, "third_party_av": FALCON},
            "hosts": {
                "ws01": {"os": "windows11_23h2"},  # onboarding only
                # the value, md4ws.msi (which asks for a restart: exit code 3010) and onboarding
                "srv2016": {"os": "server2016", "faults": {"installer_reboot_required": True}},
                "srv-rb": {"os": "server2019", "onboarded_org": ORG},  # the value, then a reboot
            },
        }
    )
    files = sim.base / "files"
    gen.write_set(str(files), ORG)
    (files / "md4ws.msi").write_bytes(MSI)
    path = write_playbook(sim.base, [{"hosts": "all", "gather_facts": False, "tasks": tasks}])
    consent = {"reboots_allowed": True}
    hosts = ("ws01", "srv2016", "srv-rb")

    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path, extra_vars=consent, check=True)
    guard.check(out, err, check_mode=True)  # no host's state changed
    assert rc == 0, out + err
    assert {h: sim.counters(h).get("reboots", 0) for h in hosts} == dict.fromkeys(hosts, 0)
    assert "rebooted True" in out, "check mode says which host it would reboot"

    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path, extra_vars=consent)
    guard.check(out, err)
    assert rc == 0, out + err
    assert {h: onboarded_org(sim.state(h)) for h in hosts} == dict.fromkeys(hosts, ORG)
    # srv2016 restarts when md4ws.msi asks for it (3010), srv-rb because its plan says so; ws01 never
    assert {h: sim.counters(h).get("reboots", 0) for h in hosts} == {"ws01": 0, "srv2016": 1, "srv-rb": 1}

    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(path, extra_vars=consent)
    guard.check(out, err)
    assert rc == 0, out + err
    recap = {line.split()[0]: line for line in out.splitlines() if " : ok=" in line}
    assert set(recap) == set(hosts) and all("changed=0" in line for line in recap.values()), recap
    assert {h: sim.counters(h).get("reboots", 0) for h in hosts} == {"ws01": 0, "srv2016": 1, "srv-rb": 1}
