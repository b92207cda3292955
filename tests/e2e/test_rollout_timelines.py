"""The rollout on Windows' real timelines: Defender switches its mode some time after onboarding.

The simulated hosts carry a ``timeline`` (tests/winsim/rules.py): a client goes passive a while after
the sensor reports, a server with ForceDefenderPassiveMode set before onboarding a while after that.
Step 3 (``win_mde_info`` with ``wait_for``) polls, bounded, until the host got there and only then
judges it. Each scenario also runs with ``mde_rollout_settle_timeout: 0`` (one read, judged at once:
what the rollout did before it waited), which must fail with the reason the issue reported, so the
scenario proves both the delay and the wait.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.fleets import ORG
from tests.e2e.invariants import Invariants
from tests.e2e.rollout_runs import run_rollout

pytestmark = pytest.mark.e2e

FALCON = [{"name": "CrowdStrike Falcon"}]
#: Simulated seconds; the fleet's clock runs 20 times faster than the wall clock (time_scale 0.05).
LATE = {"client_mode_switch_s": 120, "server_mode_switch_s": 120, "boot_mode_switch_s": 60}
FLEET = {
    "time_scale": 0.05,
    "defaults": {"reboot_seconds": 1, "timeline": LATE, "third_party_av": FALCON},
    "hosts": {
        "ws1": {"os": "windows11_23h2"},
        "srv-tp": {"os": "server2022", "tamper_protection": True},
    },
}


def rollout(sim, tmp_path: Path, name: str, **extra) -> tuple[int, str, dict, float]:
    """Run playbooks/rollout.yml; (rc, stdout, {host: report entry}, real seconds it took)."""
    return run_rollout(sim, tmp_path, name, extra)


def test_a_late_switch_converges_after_the_settle_wait(winsim, tmp_path):
    """A client that goes passive 2 min after onboarding, and a server (value set first by step 4,
    tamper protection on) that goes passive 2 min after onboarding, both converge."""
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report, _took = rollout(sim, tmp_path, "wait")
    guard.check(out, "", report_dir=tmp_path / "reports-wait")
    assert rc == 0, out[-6000:]
    for host in ("ws1", "srv-tp"):
        assert report[host]["outcome"] == "converged", report[host]
        assert report[host]["mode"] == "passive", report[host]
    # the value was set before onboarding: tamper protection does not hold the server active
    assert not sim.state("srv-tp")["defender"]["active_latched"]
    # step 3 read the hosts several times (one round trip per poll; the assessment is one more) ...
    for host in ("ws1", "srv-tp"):
        assert sim.counters(host)["modules"]["mdeops.defender.win_mde_info"] >= 3
    # ... and the rerun finds them done without changing anything
    before = {h: sim.state(h) for h in ("ws1", "srv-tp")}
    rc, out, report, _took = rollout(sim, tmp_path, "rerun")
    assert rc == 0, out[-6000:]
    assert {report[h]["outcome"] for h in ("ws1", "srv-tp")} == {"compliant"}, report
    assert "changed=0" in out and "changed=1" not in out
    for host, state in before.items():
        after = sim.state(host)
        assert after["registry"] == state["registry"] and after["services"] == state["services"]


@pytest.mark.parametrize(
    "host, reason",
    [("ws1", "passive_mode_not_reached"), ("srv-tp", "tamper_protection_blocks_passive")],
)
def test_without_the_settle_wait_the_late_switch_is_misjudged(winsim, tmp_path, host, reason):
    """The control: judged at once (what step 3 did before it waited), the same hosts fail with the
    reasons seen on real timelines - the delay is real, and the wait is what handles it."""
    sim = winsim({**FLEET, "hosts": {host: FLEET["hosts"][host]}})
    rc, _out, report, _took = rollout(sim, tmp_path, "nowait", mde_rollout_settle_timeout=0)
    assert rc != 0
    assert report[host]["outcome"] == "failed" and report[host]["reason"] == reason, report[host]
    assert report[host]["failed_step"] == "verify_mode", report[host]


def test_a_switch_later_than_the_bound_fails_after_the_bound(winsim, tmp_path):
    """A client whose switch comes after ``mde_rollout_settle_timeout`` fails with
    passive_mode_not_reached once the bound has passed, not earlier and not much later."""
    never = {**LATE, "client_mode_switch_s": 600}  # 30 real seconds at time_scale 0.05
    sim = winsim({**FLEET, "defaults": {**FLEET["defaults"], "timeline": never}, "hosts": {"ws1": {}}})
    bound = 8
    rc, out, report, took = rollout(sim, tmp_path, "late", mde_rollout_settle_timeout=bound)
    assert rc != 0
    entry = report["ws1"]
    assert entry["outcome"] == "failed" and entry["reason"] == "passive_mode_not_reached", entry
    assert entry["failed_step"] == "verify_mode", entry
    # the verdict names the wait: several reads over about the bound
    assert "read(s) in" in json.dumps(entry), entry
    assert bound <= took < bound + 60, took
    # Windows gets there by itself later; the rerun then only confirms it
    sim.wait_until(sim.sim_time() + 600)
    rc, out, report, _took = rollout(sim, tmp_path, "after")
    assert rc == 0, out[-6000:]
    assert report["ws1"]["outcome"] in ("compliant", "converged"), report["ws1"]
    assert report["ws1"]["mode"] == "passive"
