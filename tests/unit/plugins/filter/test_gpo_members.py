"""The gpo_members filter: the computer names of the wave's hosts whose plan has the Group Policy step."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.filter.mde import FilterModule


def assess(name, steps):
    return {"__mde_rollout_assess": {"hostname": name, "plan": {"steps": steps}}}


def test_only_hosts_with_the_group_policy_step_by_their_own_name():
    gpo_members = FilterModule().filters()["gpo_members"]
    hostvars = {
        "10.0.0.5": assess("SRV1", ["group_policy", "onboard", "verify_mode"]),
        "srv2.corp": assess("SRV2", ["group_policy", "onboard"]),
        "noav": assess("NOAV", ["onboard", "verify_mode"]),  # no third-party AV: active by design
        "refused": assess("OLD", []),
        "unassessed": {},
    }
    assert gpo_members(list(hostvars), hostvars) == ["SRV1", "SRV2"]
    assert gpo_members([], hostvars) == []
    assert gpo_members(
        ["srv2.corp"], {"srv2.corp": {"x": assess("X", ["group_policy"])["__mde_rollout_assess"]}}, "x"
    ) == ["X"]
