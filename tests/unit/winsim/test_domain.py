"""The simulated domain (tests/winsim/domain.py) and the GroupPolicy cmdlets over it.

Group Policy processing is checked against what Windows documents: LSDOU order, link order,
enforced links, block inheritance, disabled links, security filtering; Registry.pol values
are removed when no GPO sets them any more, preference items are tattooed; members get the
values on refresh and at boot; the RSOP report parses with the collection's own parser.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _gpo_dn, _gpo_rsop, _registry
from tests.unit.conftest import run_ps_module, saved_hosts
from tests.winsim import domain
from tests.winsim.fleet import new_state
from tests.winsim.host import ATP_POLICY_KEY, DEFENDER_POLICY_KEY, SimHost

ROOT = "DC=corp,DC=example,DC=com"
CORP = "OU=Corp," + ROOT
SRV = "OU=Servers," + CORP
WKS = "OU=Workstations," + CORP
LAB = "OU=Lab," + SRV
GPO = "mdeops.defender.win_mde_gpo"
REFRESH = "mdeops.defender.win_mde_policy_refresh"
PASSIVE = {"key": ATP_POLICY_KEY, "value_name": "ForceDefenderPassiveMode"}


def make(state_dir: str, name: str, **settings) -> SimHost:
    settings.setdefault("os", "server2022")
    if not settings.get("domain_controller"):
        settings.setdefault("domain_joined", True)
    return saved_hosts(state_dir, {name: settings})[name]


def pref(value: int = 1) -> dict:
    return dict(PASSIVE, value=value)


def passive(host: SimHost):
    return host.reg_get(ATP_POLICY_KEY, "ForceDefenderPassiveMode")


# ------------------------------------------------------------------------------ the domain state


def test_new_domain_has_builtin_gpos_and_the_hosts_ous(state_dir):
    make(state_dir, "srv", ou=LAB)
    dom = domain.load(state_dir, "corp.example.com")
    assert {g["name"] for g in dom.gpos.values()} == {"Default Domain Policy", "Default Domain Controllers Policy"}
    assert dom.ou_exists(LAB) and dom.ou_exists(SRV) and dom.ou_exists(CORP) and dom.ou_exists(ROOT)
    assert dom.ou_exists("OU=Domain Controllers," + ROOT) and not dom.ou_exists(WKS)
    assert [lk["gpo_id"] for lk in dom.links_on(ROOT)] == [domain.DEFAULT_DOMAIN_POLICY_ID]
    # reading does not create the file; a change does, atomically, and only once
    path = domain.domain_path(state_dir, "corp.example.com")
    assert not dom.save_if_changed() and not os.path.exists(path)
    dom.new_gpo("A")
    assert dom.save_if_changed() and os.path.exists(path)
    text = open(path, "rb").read()
    assert not dom.save_if_changed() and open(path, "rb").read() == text
    assert json.loads(text)["gpos"][dom.gpo_by_name("A")["id"]]["name"] == "A"
    assert [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".tmp-")] == []
    # another process loads what was written
    domain.forget(state_dir)
    assert domain.load(state_dir, "corp.example.com").gpo_by_name("A") is not None


def test_cmdlet_errors(state_dir):
    make(state_dir, "srv", ou=SRV)
    dom = domain.load(state_dir, "corp.example.com")
    dom.new_gpo("A")
    with pytest.raises(domain.DomainError, match="already exists"):
        dom.new_gpo("a")
    with pytest.raises(domain.DomainError, match="does not exist"):
        dom.new_link("A", "OU=Nope," + ROOT)
    dom.new_link("A", SRV)
    with pytest.raises(domain.DomainError, match="already linked"):
        dom.new_link("A", SRV.lower())
    with pytest.raises(domain.DomainError, match="not found"):
        dom.remove_preference("A", ATP_POLICY_KEY, "ForceDefenderPassiveMode")
    # Set-GPPrefRegistryValue appends, Registry.pol replaces
    for _round in range(2):
        dom.add_preference("A", ATP_POLICY_KEY, "ForceDefenderPassiveMode", "DWord", 1)
        dom.set_policy("A", DEFENDER_POLICY_KEY, "DisableAntiSpyware", "DWord", 1)
    assert len(dom.preferences("A", ATP_POLICY_KEY.lower(), "forcedefenderpassivemode")) == 2
    assert len(dom.policies("A", DEFENDER_POLICY_KEY, "DisableAntiSpyware")) == 1
    assert dom.remove_preference("A", ATP_POLICY_KEY, "ForceDefenderPassiveMode") == 2
    dom.remove_gpo("A")
    assert dom.links_on(SRV) == []


def test_fleet_domain_block_validation():
    with pytest.raises(ValueError, match="unknown keys"):
        domain.validate_domain_block({"nmae": "x"})
    with pytest.raises(ValueError, match="status"):
        domain.validate_domain_block({"gpos": [{"name": "A", "status": "Off"}]})
    with pytest.raises(ValueError, match="links: unknown keys"):
        domain.validate_domain_block({"gpos": [{"name": "A", "links": [{"target": ROOT, "order": 1}]}]})


# ------------------------------------------------------------------------------ inheritance and precedence


def _seed(state_dir, *gpos, **extra):
    return domain.seed(state_dir, dict({"name": "corp.example.com", "gpos": list(gpos)}, **extra))


def test_lower_ou_wins_and_link_order_1_wins(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    _seed(
        state_dir,
        {"name": "root", "preferences": [pref(0)], "links": [{"target": ROOT}]},
        {"name": "servers-2", "preferences": [pref(0)], "links": [{"target": SRV}]},
        {"name": "servers-1", "preferences": [pref(1)]},
    )
    dom = domain.load(state_dir, "corp.example.com")
    dom.new_link("servers-1", SRV)  # appended: link order 2
    dom.state["links"][SRV].reverse()  # now servers-1 has link order 1
    record = domain.apply_group_policy(host)
    assert [g["name"] for g in record["applied"]][-2:] == ["servers-2", "servers-1"]
    assert passive(host) == 1
    parsed = _gpo_rsop.parse_gpresult(domain.gpresult_xml(host))
    assert _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM)["gpo"] == "servers-1"


def test_enforced_root_link_beats_the_ou_and_passes_block_inheritance(state_dir):
    host = make(state_dir, "lab", ou=LAB)
    _seed(
        state_dir,
        {"name": "root-enforced", "preferences": [pref(1)], "links": [{"target": ROOT, "enforced": True}]},
        {"name": "corp", "preferences": [pref(0)], "links": [{"target": CORP}]},
        {"name": "lab", "preferences": [pref(0)], "links": [{"target": LAB}]},
        block_inheritance=[LAB],
    )
    dom = domain.load(state_dir, "corp.example.com")
    names = [dom.gpos[e["gpo_id"]]["name"] for e in dom.processing_order(LAB)]
    assert names == ["lab", "root-enforced"]  # "corp" is blocked, Default Domain Policy too
    domain.apply_group_policy(host)
    assert passive(host) == 1
    inherited = dom.inherited_links(LAB)
    assert [i["display_name"] for i in inherited] == ["root-enforced", "lab"]
    assert [i["order"] for i in inherited] == [1, 2]


def test_disabled_link_disabled_gpo_and_security_filtering(state_dir):
    host = make(state_dir, "srv", ou=SRV, groups=["tier1"])
    other = make(state_dir, "srv2", ou=SRV)
    _seed(
        state_dir,
        {"name": "off-link", "preferences": [pref(1)], "links": [{"target": SRV, "enabled": False}]},
        {"name": "off-gpo", "status": "ComputerSettingsDisabled", "preferences": [pref(1)], "links": [{"target": SRV}]},
        {"name": "filtered", "security_filter": ["CORP\\tier1"], "preferences": [pref(1)], "links": [{"target": SRV}]},
    )
    domain.apply_group_policy(other)
    assert passive(other) is None
    parsed = _gpo_rsop.parse_gpresult(domain.gpresult_xml(other))
    reasons = {g["name"]: g["reason"] for g in _gpo_rsop.not_applied_gpos(parsed)}
    assert reasons == {"off-gpo": "GPO disabled", "filtered": "denied (security filtering)"}
    domain.apply_group_policy(host)  # host is in the filtering group
    assert passive(host) == 1


def test_policy_values_are_removed_preferences_are_tattooed(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    _seed(
        state_dir,
        {
            "name": "A",
            "preferences": [pref(1)],
            "policies": [{"key": DEFENDER_POLICY_KEY, "value_name": "DisableAntiSpyware", "value": 1}],
            "links": [{"target": SRV}],
        },
    )
    domain.apply_group_policy(host)
    assert passive(host) == 1 and host.reg_get(DEFENDER_POLICY_KEY, "DisableAntiSpyware") == 1
    domain.load(state_dir, "corp.example.com").remove_link("A", SRV)
    domain.apply_group_policy(host)
    assert host.reg_get(DEFENDER_POLICY_KEY, "DisableAntiSpyware") is None
    assert passive(host) == 1
    assert host.events("System")[-1]["id"] == 1502


def test_delete_action_removes_the_value(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    host.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    _seed(
        state_dir,
        {"name": "A", "preferences": [dict(PASSIVE, value=None, action="delete")], "links": [{"target": SRV}]},
    )
    domain.apply_group_policy(host)
    assert passive(host) is None


def test_workgroup_host_gets_no_domain_policy(state_dir):
    host = SimHost("wg", new_state("wg", {"os": "windows11_23h2"}), state_dir)
    record = domain.apply_group_policy(host)
    assert record["domain"] is None and record["applied"] == []
    parsed = _gpo_rsop.parse_gpresult(domain.gpresult_xml(host))
    assert _gpo_rsop.applied_gpo_names(parsed) == [] and parsed["computer"]["som"] == "Local"


def test_gpresult_before_any_processing_shows_builtin_gpos_only(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    _seed(state_dir, {"name": "A", "preferences": [pref(1)], "links": [{"target": SRV}]})
    parsed = _gpo_rsop.parse_gpresult(domain.gpresult_xml(host))
    assert _gpo_rsop.applied_gpo_names(parsed) == ["Default Domain Policy"]
    assert "group_policy" not in host.state


def test_values_arrive_at_boot(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    _seed(state_dir, {"name": "A", "preferences": [pref(1)], "links": [{"target": SRV}]})
    host.complete_boot()
    assert passive(host) == 1
    # Defender's policy snapshot at boot already sees it (Group Policy runs before Defender reads it)
    assert host.state["defender"]["effective_policy"]["ForceDefenderPassiveMode"] == 1
    saved = json.loads(open(host.state_path, encoding="utf-8").read())
    assert saved["group_policy"]["applied"][-1]["name"] == "A"


def test_boot_hook_leaves_unrelated_in_memory_hosts_alone():
    host = SimHost("x", new_state("x", {"os": "server2022", "domain_joined": True, "ou": SRV}), None)
    domain.forget(None)
    host.complete_boot()
    assert "group_policy" not in host.state


# ------------------------------------------------------------- the modules' PowerShell over the model


def gpo(host: SimHost, args: dict, check_mode: bool = False) -> dict:
    return run_ps_module(host, GPO, args, check_mode=check_mode)


def test_gpo_module_needs_the_group_policy_module(state_dir):
    member = make(state_dir, "srv", ou=SRV)
    result = gpo(member, {"name": "A"})
    assert not result.get("failed") and result["group_policy_module"] is False and result["gpo"] is None
    result = gpo(member, {"name": "A", "_changes": [{"op": "create_gpo"}]})
    assert result["failed"] and "GroupPolicy PowerShell module is not available" in result["msg"]


def test_gpo_module_applies_changes_except_in_check_mode(state_dir):
    dc = make(state_dir, "dc", domain_controller=True, ou="OU=Domain Controllers," + ROOT)
    make(state_dir, "srv", ou=SRV)
    changes = [
        {"op": "create_gpo", "comment": "c"},
        {
            "op": "set_preference",
            "key": ATP_POLICY_KEY,
            "value_name": "ForceDefenderPassiveMode",
            "type": "DWord",
            "value": 1,
        },
        {"op": "new_link", "target": SRV, "enabled": True, "enforced": False},
    ]
    args = {"name": "A", "target_ous": [SRV], "_preference_values": [PASSIVE], "_changes": changes}
    result = gpo(dc, args, check_mode=True)
    assert result["changed"] is True and result["gpo"] is None
    assert not os.path.exists(domain.domain_path(state_dir, "corp.example.com"))
    result = gpo(dc, args)
    assert not result.get("failed"), result
    assert result["gpo"]["display_name"] == "A" and result["gpo"]["description"] == "c"
    [preference] = result["preferences"]
    assert (preference["value_name"], preference["value"], preference["action"]) == (
        "ForceDefenderPassiveMode",
        1,
        "Update",
    )
    assert _gpo_dn.parse_gplink(result["links"][0]["gplink"])[0]["gpo_id"] == result["gpo"]["id"].upper()
    assert result["targets"][0]["links"][0]["display_name"] == "A"
    # a change a GroupPolicy cmdlet refuses fails the module with the cmdlet's message
    result = gpo(dc, {"name": "A", "_changes": [changes[2]]})
    assert result["failed"] and "is already linked" in result["msg"]


def test_refresh_module(state_dir):
    host = make(state_dir, "srv", ou=SRV)
    _seed(state_dir, {"name": "A", "preferences": [pref(1)], "links": [{"target": SRV}]})
    before = host.serialise()
    result = run_ps_module(host, REFRESH, {}, check_mode=True)
    assert result["refreshed"] is False and result["changed"] is False and host.serialise() == before
    result = run_ps_module(host, REFRESH, {})
    assert result["refreshed"] and result["changed"] and result["gpupdate"]["rc"] == 0
    assert result["registry_before"]["force_defender_passive_mode"] is None
    assert result["registry"]["force_defender_passive_mode"] == 1
    parsed = _gpo_rsop.parse_gpresult(result["gpresult_xml"])
    winner = _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM)
    assert (winner["gpo"], winner["kind"], winner["value"], winner["precedence"]) == ("A", "preference", 1, 1)
    assert parsed["computer"]["name"] == "CORP\\SRV$"
