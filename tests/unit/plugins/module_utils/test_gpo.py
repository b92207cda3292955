"""The Group Policy logic: OU names (_gpo_dn), the desired GPO and the plan (_gpo_plan, check mode / diff /
idempotence), gpresult parsing (_gpo_rsop) and the refresh verdict (_gpo_refresh).

The gpresult fixtures are written by hand after the shape of ``gpresult /scope computer /x`` output
(namespaces ``.../GroupPolicy/Rsop``, ``.../Settings/Base`` for the per-setting GPO reference and
precedence, ``.../Settings/Windows/Registry`` for Group Policy Preferences registry items,
``.../Settings/Registry`` for Administrative Templates), independently of the simulator's renderer
(which tests/unit/winsim/test_domain.py checks against the same parser).
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import (
    _gpo_dn,
    _gpo_plan,
    _gpo_refresh,
    _gpo_rsop,
    _registry,
)
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError

SRV = "OU=Servers,OU=Corp,DC=corp,DC=example,DC=com"
WKS = "OU=Workstations,OU=Corp,DC=corp,DC=example,DC=com"
OUR_ID = "5D3C0E4A-9B1F-4C2D-8E7F-1A2B3C4D5E6F"
BASELINE_ID = "0C1D2E3F-4A5B-4C6D-8E9F-A0B1C2D3E4F5"
LEGACY_ID = "77777777-AAAA-4BBB-8CCC-DDDDDDDDDDDD"
DDP_ID = "31B2F340-016D-11D2-945F-00C04FB984F9"

# ----------------------------------------------------------------------------- gpresult fixtures

_HEAD = """<?xml version="1.0" encoding="utf-16"?>
<Rsop xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xmlns="http://www.microsoft.com/GroupPolicy/Rsop">
  <ReadTime>2026-11-29T10:02:11.4410000Z</ReadTime>
  <DataType>LoggedData</DataType>
  <ComputerResults>
    <Version>2031616</Version>
    <Name>CORP\\SRV-2019-01$</Name>
    <Domain>corp.example.com</Domain>
    <SOM>corp.example.com/Corp/Servers</SOM>
    <Site>Default-First-Site-Name</Site>
    <SlowLink>false</SlowLink>
    <GPO>
      <Name>Local Group Policy</Name>
      <Path>
        <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">LocalGPO</Identifier>
      </Path>
      <Enabled>true</Enabled>
      <IsValid>true</IsValid>
      <Link><SOMPath>Local</SOMPath><SOMOrder>1</SOMOrder><AppliedOrder>0</AppliedOrder><LinkOrder>1</LinkOrder>\
<Enabled>true</Enabled><NoOverride>false</NoOverride></Link>
    </GPO>
    <GPO>
      <Name>Default Domain Policy</Name>
      <Path>
        <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{31B2F340-016D-11D2-945F-00C04FB984F9}</Identifier>
        <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
      </Path>
      <VersionDirectory>3</VersionDirectory>
      <VersionSysvol>3</VersionSysvol>
      <Enabled>true</Enabled>
      <IsValid>true</IsValid>
      <FilterAllowed>true</FilterAllowed>
      <AccessDenied>false</AccessDenied>
      <Link><SOMPath>corp.example.com</SOMPath><SOMOrder>2</SOMOrder><AppliedOrder>1</AppliedOrder>\
<LinkOrder>1</LinkOrder><Enabled>true</Enabled><NoOverride>false</NoOverride></Link>
      <SecurityFilter>NT AUTHORITY\\Authenticated Users</SecurityFilter>
      <ExtensionName>Security</ExtensionName>
    </GPO>
"""


def _gpo_el(
    name: str,
    ident: str,
    applied_order: int,
    som: str = "corp.example.com/Corp/Servers",
    denied: bool = False,
    link_enabled: bool = True,
    extensions: tuple[str, ...] = ("Group Policy Registry",),
) -> str:
    return """    <GPO>
      <Name>%s</Name>
      <Path>
        <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{%s}</Identifier>
        <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
      </Path>
      <VersionDirectory>2</VersionDirectory>
      <VersionSysvol>2</VersionSysvol>
      <Enabled>true</Enabled>
      <IsValid>true</IsValid>
      <FilterAllowed>true</FilterAllowed>
      <AccessDenied>%s</AccessDenied>
      <Link>
        <SOMPath>%s</SOMPath>
        <SOMOrder>4</SOMOrder>
        <AppliedOrder>%d</AppliedOrder>
        <LinkOrder>1</LinkOrder>
        <Enabled>%s</Enabled>
        <NoOverride>false</NoOverride>
      </Link>
      <SecurityFilter>CORP\\Tier1 Servers</SecurityFilter>
%s    </GPO>
""" % (
        name,
        ident,
        "true" if denied else "false",
        som,
        applied_order,
        "true" if link_enabled else "false",
        "".join("      <ExtensionName>%s</ExtensionName>\n" % e for e in extensions),
    )


def _pref(
    ident: str,
    precedence: int,
    value: str,
    key: str = "SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection",
    name: str = "ForceDefenderPassiveMode",
    action: str = "U",
) -> str:
    return """          <q2:Registry clsid="{9CD4B2F4-923D-47f5-A062-E897DD1DAD50}" name="%s" status="%s" image="12" \
changed="2026-11-29 09:58:40" uid="{2B6F2C11-5D0A-4C7E-9A57-4F1E33C0D001}">
            <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">
              <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{%s}</Identifier>
              <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
            </GPO>
            <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">%d</Precedence>
            <q2:GPOSettingOrder>1</q2:GPOSettingOrder>
            <q2:Properties action="%s" displayDecimal="1" default="0" hive="HKEY_LOCAL_MACHINE" key="%s" name="%s" \
type="REG_DWORD" value="%s" />
            <q2:Filters />
          </q2:Registry>
""" % (name, name, ident, precedence, action, key, name, value)


def _gpp_extension(*items: str) -> str:
    return """    <ExtensionData>
      <Extension xmlns:q2="http://www.microsoft.com/GroupPolicy/Settings/Windows/Registry" \
xsi:type="q2:RegistrySettings" xmlns="http://www.microsoft.com/GroupPolicy/Settings">
        <q2:RegistrySettings clsid="{A3CCFC41-DFDB-43a5-8D26-0FE8B954DA51}">
%s        </q2:RegistrySettings>
      </Extension>
      <Name>Group Policy Registry</Name>
    </ExtensionData>
""" % "".join(items)


_SECURITY_EXTENSION = """    <ExtensionData>
      <Extension xmlns:q1="http://www.microsoft.com/GroupPolicy/Settings/Security" xsi:type="q1:SecuritySettings" \
xmlns="http://www.microsoft.com/GroupPolicy/Settings">
        <q1:Account>
          <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">
            <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{31B2F340-016D-11D2-945F-00C04FB984F9}</Identifier>
            <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
          </GPO>
          <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">1</Precedence>
          <q1:Name>MaximumPasswordAge</q1:Name>
          <q1:SettingNumber>42</q1:SettingNumber>
          <q1:Type>Password</q1:Type>
        </q1:Account>
      </Extension>
      <Name>Security</Name>
    </ExtensionData>
"""

_TAIL = "  </ComputerResults>\n</Rsop>\n"

#: Our GPO applied and it set the value.
OURS = (
    _HEAD
    + _gpo_el("MDE - Defender passive mode", OUR_ID, 2)
    + _SECURITY_EXTENSION
    + _gpp_extension(_pref(OUR_ID, 1, "00000001"))
    + _TAIL
)

#: Two GPOs set the value; "Server baseline" (linked lower, applied later) wins with 0. A legacy GPO enables
#: "Turn off Microsoft Defender Antivirus" (Administrative Templates, named by its ADMX).
OTHER = (
    _HEAD
    + _gpo_el("MDE - Defender passive mode", OUR_ID, 2, som="corp.example.com/Corp")
    + _gpo_el("Server baseline", BASELINE_ID, 4)
    + _gpo_el("Legacy AV policy", LEGACY_ID, 3, extensions=("Registry",))
    + _gpp_extension(_pref(BASELINE_ID, 1, "00000000"), _pref(OUR_ID, 2, "00000001"))
    + """    <ExtensionData>
      <Extension xmlns:q3="http://www.microsoft.com/GroupPolicy/Settings/Registry" xsi:type="q3:RegistrySettings" \
xmlns="http://www.microsoft.com/GroupPolicy/Settings">
        <q3:Policy>
          <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">
            <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{%s}</Identifier>
            <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
          </GPO>
          <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">1</Precedence>
          <q3:Name>Turn off Microsoft Defender Antivirus</q3:Name>
          <q3:State>Enabled</q3:State>
          <q3:Explain>This policy setting turns off Microsoft Defender Antivirus.</q3:Explain>
          <q3:Supported>At least Windows Server 2008 R2</q3:Supported>
          <q3:Category>Windows Components/Microsoft Defender Antivirus</q3:Category>
        </q3:Policy>
      </Extension>
      <Name>Registry</Name>
    </ExtensionData>
"""
    % LEGACY_ID
    + _TAIL
)

#: Our GPO is linked but denied by security filtering; nothing sets the value.
ABSENT = _HEAD + _gpo_el("MDE - Defender passive mode", OUR_ID, 0, denied=True) + _SECURITY_EXTENSION + _TAIL

#: The value comes from Registry.pol (Set-GPRegistryValue), shown without an ADMX description.
POLICY_FORM = (
    _HEAD
    + _gpo_el("Servers - registry policy", BASELINE_ID, 2, extensions=("Registry",))
    + """    <ExtensionData>
      <Extension xmlns:q4="http://www.microsoft.com/GroupPolicy/Settings/Registry" xsi:type="q4:RegistrySettings" \
xmlns="http://www.microsoft.com/GroupPolicy/Settings">
        <q4:RegistrySetting>
          <GPO xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">
            <Identifier xmlns="http://www.microsoft.com/GroupPolicy/Types">{%s}</Identifier>
            <Domain xmlns="http://www.microsoft.com/GroupPolicy/Types">corp.example.com</Domain>
          </GPO>
          <Precedence xmlns="http://www.microsoft.com/GroupPolicy/Settings/Base">1</Precedence>
          <q4:KeyPath>Software\\Policies\\Microsoft\\Windows Advanced Threat Protection</q4:KeyPath>
          <q4:AdmSetting>false</q4:AdmSetting>
          <q4:Value>
            <q4:Name>ForceDefenderPassiveMode</q4:Name>
            <q4:Number>1</q4:Number>
          </q4:Value>
        </q4:RegistrySetting>
      </Extension>
      <Name>Registry</Name>
    </ExtensionData>
"""
    % BASELINE_ID
    + _TAIL
)


# ----------------------------------------------------------------------------- gpresult parsing


def test_value_from_our_gpo():
    parsed = _gpo_rsop.parse_gpresult(OURS)
    win = _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM)
    assert win["gpo"] == "MDE - Defender passive mode"
    assert win["gpo_id"] == OUR_ID
    assert (win["kind"], win["value"], win["action"], win["precedence"]) == ("preference", 1, "update", 1)
    assert win["key"] == _registry.ATP_POLICY_KEY
    assert _gpo_rsop.applied_gpo_names(parsed) == ["Default Domain Policy", "MDE - Defender passive mode"]
    assert parsed["computer"] == {
        "name": "CORP\\SRV-2019-01$",
        "domain": "corp.example.com",
        "som": "corp.example.com/Corp/Servers",
        "site": "Default-First-Site-Name",
    }
    assert _gpo_rsop.not_applied_gpos(parsed) == []
    assert _gpo_rsop.defender_turned_off_by(parsed) == []


def test_value_from_another_gpo_with_higher_precedence():
    parsed = _gpo_rsop.parse_gpresult(OTHER)
    win = _gpo_rsop.winning_setting(parsed, _registry.ATP_POLICY_KEY.lower(), "forcedefenderpassivemode")
    assert win["gpo"] == "Server baseline" and win["value"] == 0 and win["precedence"] == 1
    assert _gpo_rsop.applied_gpo_names(parsed) == [
        "Default Domain Policy",
        "MDE - Defender passive mode",
        "Legacy AV policy",
        "Server baseline",
    ]
    assert _gpo_rsop.defender_turned_off_by(parsed) == ["Legacy AV policy"]


def test_value_absent_and_our_gpo_denied_by_security_filtering():
    parsed = _gpo_rsop.parse_gpresult(ABSENT)
    assert _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM) is None
    assert _gpo_rsop.applied_gpo_names(parsed) == ["Default Domain Policy"]
    assert _gpo_rsop.not_applied_gpos(parsed) == [
        {"name": "MDE - Defender passive mode", "id": OUR_ID, "reason": "denied (security filtering)"}
    ]


def test_value_from_registry_pol_form():
    parsed = _gpo_rsop.parse_gpresult(POLICY_FORM)
    win = _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM)
    assert (win["kind"], win["gpo"], win["value"]) == ("policy", "Servers - registry policy", 1)


def test_preferences_beat_registry_pol_across_extensions():
    parsed = {
        "settings": [
            {
                "kind": "policy",
                "key": _registry.ATP_POLICY_KEY,
                "value_name": "ForceDefenderPassiveMode",
                "value": 0,
                "precedence": 1,
                "gpo": "A",
            },
            {
                "kind": "preference",
                "key": _registry.ATP_POLICY_KEY,
                "value_name": "ForceDefenderPassiveMode",
                "value": 1,
                "precedence": 1,
                "gpo": "B",
            },
        ]
    }
    assert _gpo_rsop.winning_setting(parsed, *_registry.PASSIVE_ITEM)["gpo"] == "B"


def test_utf16_file_content_with_bom_parses():
    raw = ("\ufeff" + OURS).encode("utf-16-le")
    assert _gpo_rsop.parse_gpresult(raw.decode("utf-16-le"))["computer"]["name"] == "CORP\\SRV-2019-01$"


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("<Rsop", "well-formed"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Rsop/>', "DTD"),
        ("<GPO xmlns='http://www.microsoft.com/GroupPolicy/Settings'/>", "not a gpresult"),
    ],
)
def test_not_a_report(text, match):
    with pytest.raises(_gpo_rsop.GpresultError, match=match):
        _gpo_rsop.parse_gpresult(text)


def test_report_without_computer_section():
    parsed = _gpo_rsop.parse_gpresult('<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop"><UserResults/></Rsop>')
    assert parsed["computer"] is None and parsed["gpos"] == [] and parsed["settings"] == []


def test_disabled_link_reason():
    parsed = _gpo_rsop.parse_gpresult(_HEAD + _gpo_el("X", OUR_ID, 0, link_enabled=False) + _TAIL)
    assert _gpo_rsop.not_applied_gpos(parsed)[0]["reason"] == "link disabled"


# ----------------------------------------------------------------------------- distinguished names


@pytest.mark.parametrize(
    "given, expected",
    [
        (SRV, SRV),
        ("ou=Servers, ou=Corp , dc=corp,dc=example,dc=com", SRV),
        ("DC=corp,DC=example,DC=com", "DC=corp,DC=example,DC=com"),
        (r"OU=Paris\, France,DC=corp,DC=example,DC=com", r"OU=Paris\, France,DC=corp,DC=example,DC=com"),
    ],
)
def test_normalize_dn(given, expected):
    assert _gpo_dn.normalize_dn(given) == expected


@pytest.mark.parametrize(
    "given, match",
    [
        ("", "empty"),
        ("Servers", "not a distinguished name"),
        ("OU=Servers", "no DC= components"),
        ("CN=Computers,DC=corp,DC=example,DC=com", "container"),
        ("DC=com,OU=Servers", "must come last"),
        ("L=Paris,DC=corp,DC=com", "OU= or DC="),
        ("OU=,DC=corp,DC=com", "not a distinguished name"),
    ],
)
def test_normalize_dn_rejects(given, match):
    with pytest.raises(MdeError, match=match) as info:
        _gpo_dn.normalize_dn(given)
    assert info.value.reason == "invalid_argument"


def test_targets_deduplicated_and_one_domain():
    assert _gpo_dn.normalize_targets([SRV, SRV.lower(), WKS]) == [SRV, WKS]
    with pytest.raises(MdeError, match="different domains"):
        _gpo_dn.normalize_targets([SRV, "OU=X,DC=other,DC=test"])
    assert _gpo_dn.dn_domain(SRV) == "corp.example.com"


def test_parse_gplink_flags():
    text = (
        "[LDAP://cn={%s},cn=policies,cn=system,DC=corp,DC=example,DC=com;0]"
        "[LDAP://cn={%s},cn=policies,cn=system,DC=corp,DC=example,DC=com;3]" % (OUR_ID.lower(), BASELINE_ID)
    )
    assert _gpo_dn.parse_gplink(text) == [
        {"gpo_id": OUR_ID, "enabled": True, "enforced": False},
        {"gpo_id": BASELINE_ID, "enabled": False, "enforced": True},
    ]
    assert _gpo_dn.parse_gplink(None) == []


# ----------------------------------------------------------------------------- desired state and plan


def _raw_gpo(prefs=(), policies=(), links=(), targets=None, exists=True, comment="c"):
    """What win_mde_gpo.ps1 returns (its shape on a real domain controller)."""
    raw = {
        "group_policy_module": True,
        "domain": "corp.example.com",
        "gpo": None,
        "preferences": [],
        "policies": [],
        "links": [],
        "targets": targets or [],
        "conflicts": [],
        "applied": [],
    }
    if exists:
        raw["gpo"] = {
            "id": OUR_ID.lower(),
            "display_name": "MDE",
            "description": comment,
            "gpo_status": "AllSettingsEnabled",
            "domain_name": "corp.example.com",
            "computer_version": 3,
        }
    for key, name, value in prefs:
        raw["preferences"].append(
            {
                "hive": "LocalMachine",
                "key": key.split("\\", 1)[1],
                "value_name": name,
                "type": "DWord",
                "value": value,
                "action": "Update",
                "order": 1,
                "disabled": False,
            }
        )
    for key, name, value in policies:
        raw["policies"].append(
            {
                "hive": "LocalMachine",
                "key": key.split("\\", 1)[1],
                "value_name": name,
                "type": "DWord",
                "value": value,
                "state": "Set",
            }
        )
    for target, flags in links:
        raw["links"].append(
            {
                "target": target,
                "gplink": "[LDAP://cn={%s},cn=policies,cn=system,DC=corp,DC=example,"
                "DC=com;%d]" % (OUR_ID.lower(), flags),
            }
        )
    return raw


PASSIVE = (_registry.ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)


def _ops(p):
    return [op["op"] for op in p.operations]


def test_plan_creates_everything_for_a_new_gpo():
    d = _gpo_plan.Desired(name="MDE", comment="hello", targets=[SRV])
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(_raw_gpo(exists=False)), d)
    assert _ops(p) == ["create_gpo", "set_preference", "new_link"]
    assert p.operations[0] == {"op": "create_gpo", "comment": "hello"}
    assert p.operations[1] == {
        "op": "set_preference",
        "key": _registry.ATP_POLICY_KEY,
        "value_name": "ForceDefenderPassiveMode",
        "type": "DWord",
        "value": 1,
    }
    assert p.before["exists"] is False and p.before["settings"] == []
    assert p.after["exists"] is True and p.after["id"] is None
    assert p.after["links"] == [{"target": SRV, "enabled": True, "enforced": False, "order": None}]
    assert [i["value_name"] for i in p.after["settings"]] == ["ForceDefenderPassiveMode"]


def test_plan_is_empty_when_the_gpo_is_as_asked():
    raw = _raw_gpo(prefs=[PASSIVE], links=[(SRV, 0)])
    p = _gpo_plan.plan(
        _gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE", targets=[SRV.upper().replace("OU=", "ou=")])
    )
    assert p.operations == [] and not p.changed
    assert p.before == p.after


@pytest.mark.parametrize(
    "prefs, expected",
    [
        ([(_registry.ATP_POLICY_KEY, "ForceDefenderPassiveMode", 0)], "value"),
        ([PASSIVE, PASSIVE], "duplicate items"),
    ],
)
def test_plan_rewrites_a_wrong_or_duplicated_item(prefs, expected):
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(_raw_gpo(prefs=prefs)), _gpo_plan.Desired(name="MDE"))
    assert _ops(p) == ["set_preference"], expected
    assert [i["value"] for i in p.after["settings"]] == [1]


def test_plan_link_settings_and_purge():
    raw = _raw_gpo(prefs=[PASSIVE], links=[(SRV, 0), (WKS, 0)])
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE", targets=[SRV], enforced=True))
    assert p.operations == [{"op": "set_link", "target": SRV, "enabled": True, "enforced": True}]
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE", targets=[SRV], purge_links=True))
    assert p.operations == [{"op": "remove_link", "target": WKS}]
    assert [link["target"] for link in p.after["links"]] == [SRV]


def test_plan_comment_only_when_given():
    raw = _raw_gpo(prefs=[PASSIVE], comment="old")
    assert _gpo_plan.plan(_gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE")).operations == []
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE", comment="new"))
    assert p.operations == [{"op": "set_comment", "comment": "new"}]
    assert (p.before["comment"], p.after["comment"]) == ("old", "new")


def test_guide_opt_ins_add_their_items():
    d = _gpo_plan.Desired(
        name="MDE", guide_value=True, guide_turn_off_defender=True, ensure_defender_not_turned_off=False
    )
    wanted, _unwanted = _gpo_plan.desired_items(d)
    assert [(i["kind"], i["value_name"], i["value"]) for i in wanted] == [
        ("preference", "ForceDefenderPassiveMode", 1),
        ("preference", "ForcePassiveMode", 1),
        ("policy", "DisableAntiSpyware", 1),
    ]
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(_raw_gpo(prefs=[PASSIVE])), d)
    assert _ops(p) == ["set_preference", "set_policy"]
    assert p.operations[1]["key"] == _registry.DEFENDER_POLICY_KEY


def test_defaults_remove_the_guide_items_but_keep_disable_antispyware_zero():
    raw = _raw_gpo(
        prefs=[PASSIVE, (_registry.DEFENDER_POLICY_KEY, "ForcePassiveMode", 1)],
        policies=[(_registry.DEFENDER_POLICY_KEY, "DisableAntiSpyware", 1)],
    )
    p = _gpo_plan.plan(_gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE"))
    assert sorted(_ops(p)) == ["remove_policy", "remove_preference"]
    assert [i["value_name"] for i in p.after["settings"]] == ["ForceDefenderPassiveMode"]
    zero = _raw_gpo(prefs=[PASSIVE], policies=[(_registry.DEFENDER_POLICY_KEY, "DisableAntiSpyware", 0)])
    assert _gpo_plan.plan(_gpo_plan.current_from_raw(zero), _gpo_plan.Desired(name="MDE")).operations == []
    # ensure_defender_not_turned_off: false leaves a foreign DisableAntiSpyware = 1 alone
    p = _gpo_plan.plan(
        _gpo_plan.current_from_raw(raw), _gpo_plan.Desired(name="MDE", ensure_defender_not_turned_off=False)
    )
    assert _ops(p) == ["remove_preference"]


def test_absent():
    p = _gpo_plan.plan(
        _gpo_plan.current_from_raw(_raw_gpo(prefs=[PASSIVE], links=[(SRV, 0)])),
        _gpo_plan.Desired(name="MDE", state="absent"),
    )
    assert p.operations == [{"op": "remove_gpo"}]
    assert p.after["exists"] is False and p.after["links"] == []
    p = _gpo_plan.plan(
        _gpo_plan.current_from_raw(_raw_gpo(exists=False)), _gpo_plan.Desired(name="MDE", state="absent")
    )
    assert p.operations == [] and p.before == p.after


def test_plan_does_not_mutate_its_input():
    cur = _gpo_plan.current_from_raw(_raw_gpo(prefs=[PASSIVE, PASSIVE], links=[(SRV, 0)]))
    saved = copy.deepcopy(cur)
    _gpo_plan.plan(cur, _gpo_plan.Desired(name="MDE", targets=[WKS], purge_links=True))
    assert cur == saved


def test_current_from_raw_link_order_from_targets():
    raw = _raw_gpo(
        prefs=[PASSIVE],
        links=[(SRV, 2)],
        targets=[
            {
                "target": SRV,
                "exists": True,
                "error": None,
                "inherited": [],
                "links": [
                    {"gpo_id": OUR_ID.lower(), "display_name": "MDE", "enabled": True, "enforced": True, "order": 2}
                ],
            }
        ],
    )
    cur = _gpo_plan.current_from_raw(raw)
    assert cur.links[SRV.lower()] == {"target": SRV, "enabled": True, "enforced": True, "order": 2}
    assert cur.id == OUR_ID and cur.items[0]["key"] == _registry.ATP_POLICY_KEY


def test_conflicts_ignore_our_gpo_and_zero_values():
    raw = {
        "conflicts": [
            {
                "gpo_id": OUR_ID.lower(),
                "display_name": "MDE",
                "kind": "policy",
                "key": _registry.DEFENDER_POLICY_KEY,
                "value_name": "DisableAntiSpyware",
                "value": 1,
                "targets": [SRV],
            },
            {
                "gpo_id": BASELINE_ID.lower(),
                "display_name": "Baseline",
                "kind": "policy",
                "key": _registry.DEFENDER_POLICY_KEY,
                "value_name": "DisableAntiSpyware",
                "value": 0,
                "targets": [SRV],
            },
            {
                "gpo_id": LEGACY_ID.lower(),
                "display_name": "Legacy",
                "kind": "policy",
                "key": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender",
                "value_name": "DisableAntiSpyware",
                "value": 1,
                "targets": [SRV],
            },
        ]
    }
    found = _gpo_plan.conflicts_from_raw(raw, OUR_ID)
    assert [c["gpo"] for c in found] == ["Legacy"]
    assert "Legacy" in _gpo_plan.conflict_warning(found[0]) and SRV in _gpo_plan.conflict_warning(found[0])


# ----------------------------------------------------------------------------- refresh verdict


def _refresh_raw(xml: str | None, before=None, after=1, onboarded=True, error=None):
    return {
        "changed": before != after,
        "refreshed": True,
        "gpupdate": {"rc": 0, "stdout": "ok"},
        "registry_before": {"force_defender_passive_mode": before, "onboarding_state": 1 if onboarded else None},
        "registry": {"force_defender_passive_mode": after, "onboarding_state": 1 if onboarded else None},
        "computer": {},
        "gpresult_xml": xml,
        "gpresult_error": error,
    }


def test_verdict_arrived_from_our_gpo_needs_reboot_when_onboarded():
    result, failure, warnings = _gpo_refresh.refresh_verdict(
        _refresh_raw(OURS), 1, "mde - defender passive mode", False
    )
    assert failure is None and warnings == []
    assert result["arrived"] and result["source_gpo"] == "MDE - Defender passive mode"
    assert result["reboot_required"] is True and result["changed"] is True
    result, _failure, _warnings = _gpo_refresh.refresh_verdict(_refresh_raw(OURS, before=1), 1, None, False)
    assert result["reboot_required"] is False and result["changed"] is False
    result, _failure, _warnings = _gpo_refresh.refresh_verdict(_refresh_raw(OURS, onboarded=False), 1, None, False)
    assert result["reboot_required"] is False


def test_verdict_not_arrived_names_the_denied_gpo():
    result, failure, _warnings = _gpo_refresh.refresh_verdict(
        _refresh_raw(ABSENT, after=None), 1, None, False, host="srv1"
    )
    assert result["arrived"] is False and result["value"] is None
    assert "not set on srv1" in failure and "denied (security filtering)" in failure
    assert "security filtering includes the computer" in failure


def test_verdict_value_from_another_gpo_fails_when_expected_gpo_given():
    result, failure, warnings = _gpo_refresh.refresh_verdict(
        _refresh_raw(OTHER, after=0), 0, "MDE - Defender passive mode", False
    )
    assert result["arrived"] is True and result["source_gpo"] == "Server baseline"
    assert "from GPO 'Server baseline', not from GPO 'MDE - Defender passive mode'" in failure
    assert any("Legacy AV policy" in w for w in warnings)
    assert result["defender_turned_off_by"] == ["Legacy AV policy"]


def test_verdict_check_mode_never_fails():
    result, failure, _warnings = _gpo_refresh.refresh_verdict(_refresh_raw(ABSENT, after=None), 1, None, True)
    assert failure is None and result["msg"] == _gpo_refresh.REFRESH_CHECK_MODE_MSG and result["changed"] is False


def test_verdict_without_rsop_warns():
    result, failure, warnings = _gpo_refresh.refresh_verdict(
        _refresh_raw(None, error="gpresult exited with 1"), 1, "MDE", False
    )
    assert failure is None and result["source_gpo"] is None and result["rsop_error"] == "gpresult exited with 1"
    assert any("cannot be shown" in w for w in warnings) and any("could not be read" in w for w in warnings)
