"""win_mde_gpo's security filtering and win_mde_policy_refresh's wait for the member's domain controller,
with the real PowerShell on simulated hosts (two domain controllers, replication delay)."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_mde_gpo import ActionModule as GpoAction
from ansible_collections.mdeops.defender.plugins.action.win_mde_policy_refresh import ActionModule as RefreshAction
from ansible_collections.mdeops.defender.plugins.module_utils._gpo_security import account_name, plan_security
from tests.unit.conftest import run_on_host, saved_hosts
from tests.winsim import domain
from tests.winsim.host import SimHost

GPO = "mdeops.defender.win_mde_gpo"
REFRESH = "mdeops.defender.win_mde_policy_refresh"
ROOT = "DC=corp,DC=example,DC=com"
SRV = "OU=Servers,OU=Corp," + ROOT
NAME = "MDE - Defender passive mode"
GROUP = "MDE passive mode computers"
DELAY = 300.0
AV = [{"name": "CrowdStrike Falcon"}]


@pytest.fixture
def fleet(state_dir):
    """dc-01 (where the GPO is made), dc-02, srv-far (uses dc-02), srv-near (uses dc-01), srv-out (not a member)."""
    hosts = saved_hosts(
        state_dir,
        {
            "dc-01": {"os": "server2022", "domain_controller": True, "ou": "OU=Domain Controllers," + ROOT},
            "dc-02": {"os": "server2022", "domain_controller": True, "ou": "OU=Domain Controllers," + ROOT},
            "srv-far": {
                "os": "server2022",
                "domain_joined": True,
                "ou": SRV,
                "third_party_av": AV,
                "logon_server": "dc-02",
            },
            "srv-near": {"os": "server2022", "domain_joined": True, "ou": SRV, "third_party_av": AV},
            "srv-out": {"os": "server2022", "domain_joined": True, "ou": SRV},
        },
    )
    domain.load(state_dir, "corp.example.com").state["replication_delay_s"] = DELAY
    return hosts


def run(plugin_cls, host: SimHost, args: dict, check_mode: bool = False, diff: bool = False):
    module = GPO if plugin_cls is GpoAction else REFRESH
    return run_on_host(plugin_cls, module, host, args, check_mode=check_mode, diff=diff)


def gpo_args(members, state="present"):
    return {"name": NAME, "target_ous": [SRV], "security_group": GROUP, "members": members, "member_state": state}


def test_plan_security_is_additive_and_check_mode_equals_the_real_run(fleet):
    checked, fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-near"]), check_mode=True, diff=True)
    assert len(fake.calls) == 1 and checked["changed"] is True
    assert [op["op"] for op in checked["operations"]][-4:] == [
        "create_group",
        "add_members",
        "set_permission",
        "set_permission",
    ]
    real, fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-near"]), diff=True)
    assert len(fake.calls) == 2
    assert real["diff"]["after"]["security"] == checked["diff"]["after"]["security"] == real["security"]
    assert real["security"] == {
        "group": GROUP,
        "group_exists": True,
        "members": ["SRV-NEAR$"],
        "group_permission": "GpoApply",
        "authenticated_users_permission": "GpoRead",
    }
    assert real["step"] == "group_policy" and real["reason"] is None and real["gpo"]["version"] >= 1
    # the next wave adds its hosts; the earlier ones stay
    second, _fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-far.corp.example.com"]))
    assert second["operations"] == [{"op": "add_members", "group": GROUP, "members": ["SRV-FAR$"]}]
    assert second["security"]["members"] == ["SRV-FAR$", "SRV-NEAR$"]
    rerun, fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-far", "srv-near"]))
    assert rerun["changed"] is False and len(fake.calls) == 1


def test_member_state_absent_changes_only_the_membership(fleet):
    run(GpoAction, fleet["dc-01"], gpo_args(["srv-near", "srv-far"]))
    version = domain.load(fleet["dc-01"].state_dir, "corp.example.com").gpo_by_name(NAME)["version"]
    result, _fake = run(
        GpoAction,
        fleet["dc-01"],
        {"name": NAME, "security_group": GROUP, "members": ["srv-far"], "member_state": "absent"},
    )
    assert result["operations"] == [{"op": "remove_members", "group": GROUP, "members": ["SRV-FAR$"]}]
    assert result["security"]["members"] == ["SRV-NEAR$"]
    dom = domain.load(fleet["dc-01"].state_dir, "corp.example.com")
    assert dom.gpo_by_name(NAME)["version"] == version  # the GPO itself is untouched


def test_members_without_a_group_are_refused(fleet):
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV], "members": ["srv-near"]})
    assert result["reason"] == "invalid_argument" and fake.calls == []


def test_the_refresh_waits_for_the_far_controller_then_applies(fleet, monkeypatch):
    gpo, _fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-far", "srv-near"]))
    far = fleet["srv-far"]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        far.advance(60)  # each pause lets a simulated minute pass on the member

    monkeypatch.setattr(RefreshAction, "sleep", staticmethod(sleep))
    monkeypatch.setattr(RefreshAction, "clock", staticmethod(lambda: len(slept) * 60.0))
    result, fake = run(RefreshAction, far, {"gpo": gpo, "wait_timeout": 600, "wait_interval": 60})
    assert result.get("reason") is None, result
    assert result["value"] == 1 and result["source_gpo"] == NAME
    # the GPO (and the membership) reached dc-02 after DELAY: 5 or 6 reads, one round trip each
    assert len(fake.calls) == result["polls"] and 5 <= result["polls"] <= 7
    assert result["directory"]["member"] is True
    assert fake.calls[-1][1]["_purge_tickets"] is True


def test_the_refresh_fails_after_the_bound_when_replication_is_slower(fleet, monkeypatch):
    gpo, _fake = run(GpoAction, fleet["dc-01"], gpo_args(["srv-far"]))
    far = fleet["srv-far"]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        far.advance(seconds)

    monkeypatch.setattr(RefreshAction, "sleep", staticmethod(sleep))
    monkeypatch.setattr(RefreshAction, "clock", staticmethod(lambda: float(sum(slept))))
    result, fake = run(RefreshAction, far, {"gpo": gpo, "wait_timeout": 120, "wait_interval": 30})
    assert result["reason"] == "policy_not_applied" and result["failed"]
    assert "has not reached the domain controller" in result["msg"]
    assert all(name == REFRESH for name, _args in fake.calls) and len(fake.calls) >= 2
    assert (
        far.reg_get(r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection", "ForceDefenderPassiveMode")
        is None
    )


def test_a_computer_outside_the_group_does_not_apply_the_gpo(fleet):
    run(GpoAction, fleet["dc-01"], gpo_args(["srv-near"]))
    result, _fake = run(RefreshAction, fleet["srv-out"], {"expected_value": 1})
    assert result["reason"] == "policy_not_applied"
    assert {g["name"]: g["reason"] for g in result["not_applied_gpos"]}[NAME] == "denied (security filtering)"
    fleet["srv-out"].complete_boot()
    assert (
        fleet["srv-out"].reg_get(
            r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection", "ForceDefenderPassiveMode"
        )
        is None
    )


def test_a_new_member_needs_new_tickets(fleet):
    """Without the ticket purge a computer added to the group after its boot does not apply the GPO."""
    run(GpoAction, fleet["dc-01"], gpo_args(["srv-near"]))
    near = fleet["srv-near"]
    dom = domain.view_of(near)
    assert GROUP.lower() not in domain.host_identities(near, dom)  # its ticket is from its boot
    domain.purge_tickets(near)
    assert GROUP.lower() in domain.host_identities(near, domain.view_of(near))


def test_a_failed_gpo_task_fails_the_refresh_with_its_reason(fleet):
    failed = {"failed": False, "reason": "gpo_module_missing", "msg": "no GroupPolicy module"}
    result, fake = run(RefreshAction, fleet["srv-near"], {"gpo": failed})
    assert result["reason"] == "gpo_module_missing" and fake.calls == []


@pytest.mark.parametrize(
    "host, account", [("srv01", "SRV01$"), ("srv01.corp.example.com", "SRV01$"), ("CORP\\srv01$", "SRV01$")]
)
def test_account_names(host, account):
    assert account_name(host) == account


def test_plan_security_removing_from_a_missing_group_does_nothing():
    ops, before, after = plan_security(None, GROUP, ["srv01"], "absent", gpo_present=False)
    assert ops == [] and before == after
