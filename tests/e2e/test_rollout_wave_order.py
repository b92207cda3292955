"""The order of the hosts in the waves (playbooks/rollout.yml, ``order: inventory``).

The pre-flight's fleet check lists the hosts with work in the order the waves run them: the waves are
the ones ``serial`` cuts from the sorted host names (the canary is the same host on every run), and
within a wave the hosts with the longest path start first (md4ws.msi to install, then a reboot, then
ForceDefenderPassiveMode to write, then the rest). With ``--forks 1`` Ansible runs a task on one host
after the other, so the playbook's output shows that order task by task.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.fleets import ORG, REBOOT_HOST, timed_fleet
from tests.e2e.invariants import Invariants
from tests.e2e.rollout_runs import run_rollout_with_installer

pytestmark = pytest.mark.e2e

FLEET = timed_fleet(
    {
        "a-ws": {"os": "windows11_23h2"},
        "b-ws": {"os": "windows10_22h2"},
        "c-rb": REBOOT_HOST,
        "d-srv": {"os": "server2022"},
        "e-dl": {"os": "server2016"},  # Server 2016: md4ws.msi first
    }
)


def hosts_of_task(out: str, task: str) -> list[list[tuple[str, str]]]:
    """For every run of ``task`` in the output (one per wave): its (status, host) lines, in order."""
    runs = []
    for block in re.split(r"^TASK \[", out, flags=re.M)[1:]:
        title = block.split("]", 1)[0]
        if task in title:
            runs.append(re.findall(r"^(ok|changed|skipping|fatal): \[([^\]]+)\]", block, re.M))
    return runs


def test_the_canary_is_the_first_name_and_the_longest_paths_start_first_in_a_wave(winsim, tmp_path):
    sim = winsim(FLEET)
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = run_rollout_with_installer(
        sim,
        tmp_path,
        "order",
        {"mde_waves": [1, "100%"], "mde_rollout_allow_reboot": True, "mde_max_fail_percentage": 0},
        args=("--forks", "1"),
    )
    guard.check(out, "", report_dir=tmp_path / "reports-order")
    assert rc == 0, out[-6000:]
    assert {h: report[h]["outcome"] for h in FLEET["hosts"]} == dict.fromkeys(FLEET["hosts"], "converged")
    # the canary: the first host name, whatever its class
    assert [report[h]["wave"] for h in sorted(FLEET["hosts"])] == [1, 2, 2, 2, 2]
    # wave 2, task by task: md4ws.msi first, then the reboot, then the value, then the client
    wave2 = ["e-dl", "c-rb", "d-srv", "b-ws"]
    step4 = hosts_of_task(out, "Step 4: ForceDefenderPassiveMode")
    assert [h for _s, h in step4[-1]] == wave2, step4
    assert step4[-1] == [("changed", "e-dl"), ("changed", "c-rb"), ("changed", "d-srv"), ("skipping", "b-ws")]
    onboard = hosts_of_task(out, "Step 1: onboard")
    assert onboard[0] == [("changed", "a-ws")]
    # c-rb has nothing to onboard: its reboot is done in the same task (win_mde_onboard_reboot), so that
    # with more forks it runs while e-dl installs md4ws.msi instead of after it
    assert onboard[-1] == [("changed", "e-dl"), ("changed", "c-rb"), ("changed", "d-srv"), ("changed", "b-ws")]
    assert {h: report[h]["reboots"] for h in FLEET["hosts"]} == {"a-ws": 0, "b-ws": 0, "c-rb": 1, "d-srv": 0, "e-dl": 0}
    assert sim.counters("c-rb")["reboots"] == 1
    assert "TASK [mdeops.defender.mde_rollout : Reboot the host" not in out  # the task of the old design
