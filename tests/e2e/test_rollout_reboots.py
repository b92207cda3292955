"""Reboots in a rollout: done in step 1's task (win_mde_onboard_reboot), only with consent.

- With consent, a host that only needs a reboot (a server onboarded before ForceDefenderPassiveMode was
  set) reboots *while* an installer host of the same wave installs md4ws.msi and onboards, not after it:
  the simulator's command trace (every WinRM command in the order the hosts received them) shows its
  reboot command before the installer host's next command after its onboarding run. The installer's own
  restart (msiexec 3010) is done in the same task, right after that host's onboarding.
- Without consent nothing reboots: both hosts end ``pending_reboot``, with the value written and the
  onboarding done, and the rest of the wave converges.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.fleets import ORG, REBOOT_HOST, force_value, timed_fleet
from tests.e2e.invariants import Invariants
from tests.e2e.rollout_runs import recap, run_rollout_with_installer
from tests.winsim import payload

pytestmark = pytest.mark.e2e

FLEET = timed_fleet(
    {
        # Server 2016: md4ws.msi, which asks for a restart (exit code 3010)
        "a-dl": {"os": "server2016", "faults": {"installer_reboot_required": True}},
        "b-rb": REBOOT_HOST,
        "c-ws": {"os": "windows11_23h2"},
    }
)


def trace(path) -> list[tuple[str, str, str]]:
    """(host, kind, what) of every command the fleet received, in order: a module's name, or a raw
    command's script."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        inv = payload.decode(record["command_line"], record["stdin"].encode("latin-1"), lambda _p: None)
        out.append((record["host"], inv.kind, inv.module or inv.script))
    return out


def is_reboot(entry: tuple[str, str, str]) -> bool:
    return entry[1] == payload.KIND_RAW and "shutdown" in entry[2].lower() and "/r" in entry[2].lower()


def test_with_consent_the_reboot_runs_while_the_installer_host_onboards(winsim, tmp_path):
    trace_path = tmp_path / "trace.jsonl"
    sim = winsim(FLEET, extra_args=("--trace", str(trace_path)))
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = run_rollout_with_installer(
        sim, tmp_path, "consent", {"mde_rollout_allow_reboot": True, "mde_rollout_reboot_timeout": 120}
    )
    guard.check(out, "", report_dir=tmp_path / "reports-consent")
    assert rc == 0, out[-6000:]
    assert {h: report[h]["outcome"] for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], "converged")
    assert {h: report[h]["reboots"] for h in FLEET["hosts"]} == {"a-dl": 1, "b-rb": 1, "c-ws": 0}
    assert {h: sim.counters(h).get("reboots", 0) for h in FLEET["hosts"]} == {"a-dl": 1, "b-rb": 1, "c-ws": 0}

    commands = trace(trace_path)
    onboarding = [i for i, c in enumerate(commands) if c[0] == "a-dl" and c[2] == "mdeops.defender.win_mde_onboarding"]
    assert len(onboarding) == 1, [(c[1], c[2][:60]) for c in commands if c[0] == "a-dl"]
    after = next(i for i, c in enumerate(commands) if c[0] == "a-dl" and i > onboarding[0])
    b_reboot = next(i for i, c in enumerate(commands) if c[0] == "b-rb" and is_reboot(c))
    # b-rb's reboot was sent while a-dl's md4ws.msi and onboarding ran (its next command comes after)
    assert b_reboot < after, (b_reboot, onboarding[0], after)
    # a-dl's own restart (3010) follows its onboarding, in the same task
    a_reboot = next(i for i, c in enumerate(commands) if c[0] == "a-dl" and is_reboot(c))
    assert a_reboot > onboarding[0]
    assert "TASK [mdeops.defender.mde_rollout : Reboot the host" not in out

    # the rerun: every host compliant, nothing changed, nothing rebooted again
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = run_rollout_with_installer(sim, tmp_path, "rerun", {"mde_rollout_allow_reboot": True})
    guard.check(out, "", report_dir=tmp_path / "reports-rerun")
    assert rc == 0, out[-6000:]
    assert {h: report[h]["outcome"] for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], "compliant")
    assert {h: row["changed"] for h, row in recap(out).items() if h in FLEET["hosts"]} == dict.fromkeys(
        FLEET["hosts"], 0
    )
    assert {h: sim.counters(h).get("reboots", 0) for h in FLEET["hosts"]} == {"a-dl": 1, "b-rb": 1, "c-ws": 0}


def test_check_mode_reboots_nothing_and_says_what_would_change(winsim, tmp_path):
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = run_rollout_with_installer(
        sim, tmp_path, "check", {"mde_rollout_allow_reboot": True}, args=("--check",)
    )
    guard.check(out, "", check_mode=True, report_dir=tmp_path / "reports-check")  # no host's state changed
    assert rc == 0, out[-6000:]
    assert {h: report[h]["outcome"] for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], "would_change")
    assert {h: sim.counters(h).get("reboots", 0) for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], 0)
    # the reboot the plan needs is reported as one that would happen (win_reboot's own check mode)
    assert report["b-rb"]["steps"]["verify_mode"] == "changed" and report["b-rb"]["reboots"] == 1


def test_without_consent_nothing_reboots_and_the_hosts_wait_for_one(winsim, tmp_path):
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = run_rollout_with_installer(sim, tmp_path, "no-consent", {"mde_rollout_allow_reboot": False})
    guard.check(out, "", report_dir=tmp_path / "reports-no-consent")
    outcomes = {h: report[h]["outcome"] for h in FLEET["hosts"]}
    assert outcomes == {"a-dl": "pending_reboot", "b-rb": "pending_reboot", "c-ws": "converged"}, out[-6000:]
    assert report["b-rb"]["steps"]["verify_mode"] == "not_run"
    assert {h: sim.counters(h).get("reboots", 0) for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], 0)
    # what could be done without a reboot was done: the value on both servers, the installer host onboarded
    for host in ("a-dl", "b-rb"):
        assert force_value(sim.state(host)) == 1, host
    assert report["a-dl"]["steps"]["onboard"] == "changed"
    assert rc != 0  # the report's exit status: hosts that need attention
