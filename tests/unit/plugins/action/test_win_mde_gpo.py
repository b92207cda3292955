"""Action plugins of win_mde_gpo and win_mde_policy_refresh with ``_execute_module`` answered by the
real PowerShell on simulated hosts (``PsHost``, a domain in a temporary state directory).

It records every module call and lets the tests assert the contract: check mode never
sends a change to the PowerShell side, nothing to change = one round trip, a change = two, the
guide's opt-ins warn, failures carry their reason codes.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_mde_gpo import ActionModule as GpoAction
from ansible_collections.mdeops.defender.plugins.action.win_mde_policy_refresh import ActionModule as RefreshAction
from ansible_collections.mdeops.defender.plugins.module_utils import _gpo_plan, _gpo_refresh
from tests.unit.conftest import PsHost, run_on_host, saved_hosts
from tests.winsim import domain
from tests.winsim.host import ATP_POLICY_KEY, SimHost

GPO = "mdeops.defender.win_mde_gpo"
REFRESH = "mdeops.defender.win_mde_policy_refresh"
ROOT = "DC=corp,DC=example,DC=com"
SRV = "OU=Servers,OU=Corp," + ROOT
WKS = "OU=Workstations,OU=Corp," + ROOT
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
NAME = "MDE - Defender passive mode"


@pytest.fixture
def fleet(state_dir):
    """A DC, a server in OU=Servers (onboarded), a workstation in OU=Workstations; one state directory."""
    return saved_hosts(
        state_dir,
        {
            "dc-01": {"os": "server2022", "domain_controller": True, "ou": "OU=Domain Controllers," + ROOT},
            "srv-01": {
                "os": "server2022",
                "domain_joined": True,
                "ou": SRV,
                "onboarded_org": ORG,
                "third_party_av": [{"name": "CrowdStrike Falcon"}],
            },
            "ws-01": {"os": "windows11_23h2", "domain_joined": True, "ou": WKS},
        },
    )


def run(
    plugin_cls, host: SimHost, args: dict, check_mode: bool = False, diff: bool = False, fail: dict | None = None
) -> tuple[dict, PsHost]:
    module = GPO if plugin_cls is GpoAction else REFRESH
    return run_on_host(plugin_cls, module, host, args, check_mode=check_mode, diff=diff, fail=fail)


def domain_bytes(hosts) -> bytes | None:
    path = domain.domain_path(hosts["dc-01"].state_dir, "corp.example.com")
    return open(path, "rb").read() if os.path.exists(path) else None


def changes_sent(fake: PsHost) -> list[list[dict]]:
    return [args["_changes"] for name, args in fake.calls if name == GPO and args.get("_changes")]


# ------------------------------------------------------------------------------ win_mde_gpo


def test_check_mode_reads_once_and_sends_no_change(fleet):
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert [op["op"] for op in result["operations"]] == ["create_gpo", "set_preference", "new_link"]
    assert len(fake.calls) == 1 and changes_sent(fake) == []
    assert fake.calls[0][1]["_changes"] == []
    assert domain_bytes(fleet) is None  # nothing written, not even the new domain
    assert result["gpo"] == {"id": None, "name": NAME, "comment": "", "exists": True, "version": None}
    assert result["diff"]["before"]["exists"] is False
    assert result["diff"]["after"]["links"] == [{"target": SRV, "enabled": True, "enforced": False, "order": None}]


def test_real_run_then_rerun_is_idempotent(fleet):
    first, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "comment": "managed", "target_ous": [SRV]})
    assert first["changed"] is True and len(fake.calls) == 2
    assert [c["op"] for c in changes_sent(fake)[0]] == ["create_gpo", "set_preference", "new_link"]
    written = domain_bytes(fleet)
    assert written is not None
    dom = domain.load(fleet["dc-01"].state_dir, "corp.example.com")
    gpo = dom.gpo_by_name(NAME)
    assert first["gpo"]["id"] == gpo["id"] and first["gpo"]["comment"] == "managed"
    assert [(p["key"], p["value_name"], p["value"], p["action"]) for p in gpo["preferences"]] == [
        (ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1, "update")
    ]
    assert first["links"] == [{"target": SRV, "enabled": True, "enforced": False, "order": 1}]
    assert first["after"]["settings"] == first["settings"]

    again, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "comment": "managed", "target_ous": [SRV]}, diff=True)
    assert again["changed"] is False and again["operations"] == [] and len(fake.calls) == 1
    assert again["diff"]["before"] == again["diff"]["after"]
    assert domain_bytes(fleet) == written

    reworded, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "comment": "reworded", "target_ous": [SRV]})
    assert not reworded.get("failed"), reworded
    assert [c["op"] for c in changes_sent(fake)[0]] == ["set_comment"]
    assert reworded["gpo"]["comment"] == "reworded"
    assert domain.load(fleet["dc-01"].state_dir, "corp.example.com").gpo_by_name(NAME)["comment"] == "reworded"


def test_check_mode_diff_equals_real_diff(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    args = {"name": NAME, "target_ous": [SRV, WKS], "enforced": True}
    checked, fake = run(GpoAction, fleet["dc-01"], args, check_mode=True, diff=True)
    assert changes_sent(fake) == []
    real, _fake = run(GpoAction, fleet["dc-01"], args, diff=True)
    assert not real.get("failed"), real
    assert [op["op"] for op in real["operations"]] == ["set_link", "new_link"]
    assert checked["operations"] == real["operations"]
    assert checked["diff"]["before"] == real["diff"]["before"]
    # the prediction equals the result except for the link order Windows assigns
    predicted = [dict(link, order=None) for link in checked["diff"]["after"]["links"]]
    assert predicted == [dict(link, order=None) for link in real["diff"]["after"]["links"]]


def test_guide_opt_in_warns_and_writes_disable_antispyware(fleet):
    result, _fake = run(
        GpoAction,
        fleet["dc-01"],
        {"name": NAME, "target_ous": [SRV], "guide_turn_off_defender": True, "guide_value": True},
    )
    assert result["changed"] is True
    assert (
        _gpo_plan.GUIDE_TURN_OFF_WARNING in result["warnings"] and _gpo_plan.GUIDE_VALUE_WARNING in result["warnings"]
    )
    assert any("NOT a passive-mode setting" in w for w in result["warnings"])
    kinds = sorted((i["kind"], i["value_name"], i["value"]) for i in result["settings"])
    assert kinds == [
        ("policy", "DisableAntiSpyware", 1),
        ("preference", "ForceDefenderPassiveMode", 1),
        ("preference", "ForcePassiveMode", 1),
    ]
    # back to the default: the GPO stops turning Defender off and drops the guide's value
    result, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    assert sorted(op["op"] for op in result["operations"]) == ["remove_policy", "remove_preference"]
    assert [i["value_name"] for i in result["settings"]] == ["ForceDefenderPassiveMode"]
    assert "warnings" not in result


def test_default_run_does_not_warn_about_the_guide(fleet):
    result, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    assert "warnings" not in result


def test_both_defender_options_explicit_is_refused_before_any_call(fleet):
    result, fake = run(
        GpoAction,
        fleet["dc-01"],
        {"name": NAME, "guide_turn_off_defender": True, "ensure_defender_not_turned_off": True},
    )
    assert result["failed"] is True and result["reason"] == "invalid_argument"
    assert "mutually exclusive" in result["msg"] and fake.calls == []


def test_not_a_domain_controller_is_gpo_module_missing(fleet):
    result, fake = run(GpoAction, fleet["srv-01"], {"name": NAME, "target_ous": [SRV]})
    assert result["failed"] is True and result["reason"] == "gpo_module_missing"
    assert "domain controller" in result["msg"] and len(fake.calls) == 1 and changes_sent(fake) == []


@pytest.mark.parametrize(
    "target, match",
    [
        ("Servers", "not a distinguished name"),
        ("CN=Computers," + ROOT, "container"),
    ],
)
def test_malformed_ou_is_refused_before_any_call(fleet, target, match):
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [target]})
    assert result["reason"] == "invalid_argument" and match in result["msg"] and fake.calls == []


def test_unknown_ou_or_other_domain_is_refused_after_the_read(fleet):
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": ["OU=Nope," + ROOT]})
    assert result["reason"] == "invalid_argument" and "not found" in result["msg"]
    assert len(fake.calls) == 1 and changes_sent(fake) == []
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": ["OU=X,DC=other,DC=test"]})
    assert result["reason"] == "invalid_argument" and "not in the domain" in result["msg"]


def test_conflicting_gpo_is_reported(fleet):
    state_dir = fleet["dc-01"].state_dir
    domain.seed(
        state_dir,
        {
            "name": "corp.example.com",
            "gpos": [
                {
                    "name": "Legacy AV policy",
                    "policies": [
                        {
                            "key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender",
                            "value_name": "DisableAntiSpyware",
                            "value": 1,
                        }
                    ],
                    "links": [{"target": "OU=Corp," + ROOT}],
                }
            ],
        },
    )
    result, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    assert [c["gpo"] for c in result["conflicts"]] == ["Legacy AV policy"]
    assert result["conflicts"][0]["targets"] == [SRV]
    assert any("Legacy AV policy" in w and "DisableAntiSpyware" in w for w in result["warnings"])


def test_absent_deletes_the_gpo_and_check_mode_does_not(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    before = domain_bytes(fleet)
    checked, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "state": "absent"}, check_mode=True)
    assert checked["changed"] is True and changes_sent(fake) == [] and domain_bytes(fleet) == before
    removed, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "state": "absent"})
    assert removed["changed"] is True and removed["gpo"]["exists"] is False
    dom = domain.load(fleet["dc-01"].state_dir, "corp.example.com")
    assert dom.gpo_by_name(NAME) is None and dom.links_on(SRV) == []
    again, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "state": "absent"})
    assert again["changed"] is False


def test_powershell_failure_becomes_host_error(fleet):
    result, _fake = run(GpoAction, fleet["dc-01"], {"name": NAME}, fail={GPO: {"failed": True, "msg": "access denied"}})
    assert result["failed"] is True and result["reason"] == "host_error" and "access denied" in result["msg"]


# ------------------------------------------------------------------------------ win_mde_policy_refresh


def test_refresh_proves_the_value_and_its_gpo(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    result, fake = run(RefreshAction, fleet["srv-01"], {"expected_gpo": NAME})
    assert [name for name, _args in fake.calls] == [REFRESH]
    assert result.get("failed") is not True, result.get("msg")
    assert result["arrived"] is True and result["value"] == 1 and result["source_gpo"] == NAME
    assert result["reboot_required"] is True and result["changed"] is True
    assert result["applied_gpos"] == ["Default Domain Policy", NAME]
    assert fleet["srv-01"].reg_get(ATP_POLICY_KEY, "ForceDefenderPassiveMode") == 1


def test_refresh_in_an_unlinked_ou_fails_with_policy_not_applied(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    result, _fake = run(RefreshAction, fleet["ws-01"], {})
    assert result["failed"] is True and result["reason"] == "policy_not_applied"
    assert result["arrived"] is False and result["value"] is None
    assert "corp.example.com/Corp/Workstations" in result["msg"] and "gpresult" in result["msg"]


def test_refresh_check_mode_does_not_run_gpupdate(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV]})
    before = fleet["srv-01"].serialise()
    result, _fake = run(RefreshAction, fleet["srv-01"], {}, check_mode=True)
    assert result.get("failed") is not True
    assert result["refreshed"] is False and result["gpupdate"] is None and result["arrived"] is False
    assert result["msg"] == _gpo_refresh.REFRESH_CHECK_MODE_MSG
    assert fleet["srv-01"].serialise() == before


def test_refresh_rejects_a_zero_timeout(fleet):
    result, fake = run(RefreshAction, fleet["srv-01"], {"timeout": 0})
    assert result["reason"] == "invalid_argument" and fake.calls == []


def test_purge_links_removes_the_links_to_other_ous(fleet):
    run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV, WKS]})
    result, fake = run(GpoAction, fleet["dc-01"], {"name": NAME, "target_ous": [SRV], "purge_links": True})
    assert not result.get("failed"), result
    assert changes_sent(fake) == [[{"op": "remove_link", "target": WKS}]]
    assert [link["target"] for link in result["links"]] == [SRV]
    dom = domain.load(fleet["dc-01"].state_dir, "corp.example.com")
    gpo_id = dom.gpo_by_name(NAME)["id"]
    linked = [target for target, links in dom.state["links"].items() if any(k["gpo_id"] == gpo_id for k in links)]
    assert [t.lower() for t in linked] == [SRV.lower()]
