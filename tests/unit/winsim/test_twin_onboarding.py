"""The simulator's twin of win_mde_onboarding.ps1: the portal's scripts and md4ws.msi on a simulated host."""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.winsim import fleet, rules
from tests.winsim import packages as gen
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY, SimHost
from tests.winsim.twins import dispatch, load_all

# Register every twin before importing this one by name: load_all() does nothing once any twin is
# registered, so importing a single twin module first would hide the others from other tests.
load_all()

from tests.winsim.twins import onboarding as twin  # noqa: E402

FQCN = "mdeops.defender.win_mde_onboarding"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
REPO = Path(__file__).resolve().parents[3]
MSI = twin.MSI_SIGNATURE + b"\x00" * 64


def make(**settings) -> SimHost:
    merged = {**CLIENT, **settings}
    return SimHost("h", fleet.new_state("h", merged), None)


def onboard(host, org=ORG, timeout=300, check=False, **extra):
    args = {
        "action": "onboard",
        "script": gen.onboarding_script(org),
        "timeout": timeout,
        "_ansible_check_mode": check,
        **extra,
    }
    rc, result, ctx = dispatch(host, FQCN, args)
    assert rc == 0, result
    return result, ctx


def offboard(host, org=ORG, valid_until=None, timeout=300):
    valid_until = valid_until or datetime.date.today() + datetime.timedelta(days=7)
    args = {
        "action": "offboard",
        "script": gen.offboarding_script(org, valid_until),
        "timeout": timeout,
        "script_name": gen.offboarding_name(valid_until),
    }
    rc, result, ctx = dispatch(host, FQCN, args)
    assert rc == 0, result
    return result, ctx


def sense(host):
    return host.service("Sense")


def app_events(host, source="WDATPOnboarding"):
    return [(e["id"], e["level"]) for e in host.events(log="Application", source=source)]


# ----------------------------------------------------------------------------- independence
def test_the_twin_does_not_import_the_collection():
    code = (
        "import sys; import tests.winsim.twins.onboarding; "
        "bad = [m for m in sys.modules if m.startswith('ansible_collections')]; "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_parses_the_portal_escaping_itself():
    line = (
        'REG add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection" /v OnboardingInfo '
        '/t REG_SZ /f /d "{\\"body\\":\\"{\\\\\\"previousOrgIds\\\\\\":[],\\\\\\"orgId\\\\\\":\\\\\\"%s\\\\\\"}'
        '\\",\\"sig\\":\\"abc==\\"}" > %%TMP%%\\senseTmp.txt 2>&1\r\n' % ORG
    )
    value = twin.reg_add_value("@echo off\r\n" + line, "OnboardingInfo")
    assert json.loads(value)["sig"] == "abc=="
    assert twin.org_of(value) == ORG
    assert twin.reg_add_value(gen.onboarding_script(ORG), twin.OFFBOARDING_VALUE) is None


# ----------------------------------------------------------------------------- read_package
def test_read_package_returns_the_bytes_and_bounds_them():
    host = make()
    data = gen.onboarding_zip(ORG)
    host.write_file(r"C:\Deploy\pkg.zip", data)
    rc, result, _ctx = dispatch(host, FQCN, {"action": "read_package", "path": r"c:\deploy\PKG.zip"})
    assert rc == 0 and result["changed"] is False
    assert base64.b64decode(result["package"]["data"]) == data and result["package"]["size"] == len(data)
    rc, result, _ctx = dispatch(host, FQCN, {"action": "read_package", "path": r"C:\Deploy\pkg.zip", "max_bytes": 10})
    assert result["package"]["too_large"] and result["package"]["data"] is None
    rc, result, _ctx = dispatch(host, FQCN, {"action": "read_package", "path": r"C:\Deploy\missing.zip"})
    assert result["package"]["exists"] is False and "does not exist" in result["package"]["error"]
    rc, result, _ctx = dispatch(host, FQCN, {"action": "read_package", "path": r"C:\Deploy"})
    assert result["package"]["exists"] is False


def test_arguments_are_validated_like_ansible_basic():
    host = make()
    rc, result, _ctx = dispatch(host, FQCN, {"action": "read_package"})
    assert rc == 1 and "missing: path" in result["msg"]
    rc, result, _ctx = dispatch(host, FQCN, {"action": "onboard"})
    assert rc == 1 and "missing: script" in result["msg"]
    rc, result, _ctx = dispatch(host, FQCN, {"action": "explode", "path": "x"})
    assert rc == 1 and "must be one of" in result["msg"]
    rc, result, _ctx = dispatch(host, FQCN, {"action": "onboard", "script": "x", "bogus": 1})
    assert rc == 1 and "Unsupported parameters" in result["msg"]


# ----------------------------------------------------------------------------- onboarding
def test_onboarding_writes_what_the_script_writes_and_completes():
    host = make()
    host.reg_set(ATP_POLICY_KEY, twin.OFFBOARDING_VALUE, "old", "REG_SZ")
    assert rules.derive_running_mode(host.state) == rules.NOT_RUNNING  # third-party AV, not onboarded (§1.1)
    result, ctx = onboard(host)
    assert result["changed"] is True
    assert result["script_run"]["exit_code"] == 0 and not result["script_run"]["wait_timed_out"]
    assert twin.org_of(host.reg_get(ATP_POLICY_KEY, "OnboardingInfo")) == ORG
    assert host.reg_get(ATP_POLICY_KEY, twin.OFFBOARDING_VALUE) is None
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 1
    assert host.reg_get(ATP_STATUS_KEY, "OrgId") == ORG
    assert sense(host)["state"] == "running" and sense(host)["start_mode"] == "auto"
    assert [(e["id"], e["source"]) for e in result["events"]] == [(20, "WDATPOnboarding")]
    assert result["observed"]["org_id"] == ORG and result["observed"]["sense"]["state"] == "Running"
    # rules.on_onboarded ran: the client with a registered third-party AV is passive now.
    assert rules.derive_running_mode(host.state) == rules.PASSIVE
    assert ctx.delay == 0


def test_the_twin_never_touches_defender_mode_settings():
    host = make()
    onboard(host)
    values = {(k, v) for k, vals in host.state["registry"].items() for v in vals}
    assert not any(
        v.lower() in ("forcedefenderpassivemode", "forcepassivemode", "disableantispyware") for _key, v in values
    )


# step semantics: offboarding value removed, OnboardingInfo written, Sense state, OnboardingState
@pytest.mark.parametrize(
    "code, removed, written, sense_state, onboarding_state",
    [
        (65, False, False, "stopped", None),
        (1, False, False, "stopped", None),  # undocumented: fails before any change
        (5, False, False, "stopped", None),
        (10, True, False, "stopped", None),
        (15, True, True, "stopped", None),
        (30, True, True, "start_pending", None),
        (35, True, True, "running", None),
        (40, True, True, "running", 0),
    ],
)
def test_onboarding_exit_code_fault_stops_at_its_step(code, removed, written, sense_state, onboarding_state):
    host = make(faults={"onboarding_exit_code": code})
    host.reg_set(ATP_POLICY_KEY, twin.OFFBOARDING_VALUE, "old", "REG_SZ")
    result, _ctx = onboard(host)
    assert result["script_run"]["exit_code"] == code
    assert (host.reg_get(ATP_POLICY_KEY, twin.OFFBOARDING_VALUE) is None) is removed
    assert (host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is not None) is written
    assert sense(host)["state"] == sense_state
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == onboarding_state
    assert app_events(host) == [(code, "Error")]
    assert [e["id"] for e in result["events"]] == [code]
    assert not rules.is_onboarded(host.state)


def test_sense_never_starts():
    host = make(faults={"sense_never_starts": True})
    result, _ctx = onboard(host)
    assert result["script_run"]["exit_code"] == 15
    assert host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is not None
    assert sense(host)["state"] == "stopped"
    assert app_events(host) == [(15, "Error")]


def test_no_sense_service_is_the_exit_15_path():
    host = make(os="server2016", third_party_av=[])  # 2016 without the unified agent: no Sense
    assert sense(host) is None
    result, _ctx = onboard(host)
    assert result["script_run"]["exit_code"] == 15
    assert result["observed"]["sense"]["exists"] is False


def test_defender_disabled_by_policy_on_an_old_client_breaks_elam():
    host = make(
        defender_platform="4.18.2006.10",
        registry=[
            {"key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender", "name": "DisableAntiSpyware", "data": 1}
        ],
    )
    result, _ctx = onboard(host)
    assert result["script_run"]["exit_code"] == 15


def test_sense_start_delay_within_the_timeout():
    host = make(faults={"sense_start_delay_s": 4})
    result, ctx = onboard(host, timeout=10)
    assert ctx.delay == 4
    assert result["script_run"]["exit_code"] == 0 and result["script_run"]["waited_s"] == 4
    assert not result["script_run"]["wait_timed_out"]
    assert sense(host)["state"] == "running" and rules.is_onboarded(host.state)
    assert "timers" not in host.state


def test_sense_start_delay_beyond_the_timeout_starts_later(monkeypatch):
    host = make(faults={"sense_start_delay_s": 30})
    result, ctx = onboard(host, timeout=5)
    assert ctx.delay == 5
    assert result["script_run"]["wait_timed_out"] is True
    assert result["observed"]["sense"]["state"] == "Start Pending"
    assert result["observed"]["onboarding_state"] is None
    assert not rules.is_onboarded(host.state)
    later = host.now() + 31
    monkeypatch.setattr(host, "now", lambda: later)
    host.tick()
    assert sense(host)["state"] == "running"
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 1 and rules.is_onboarded(host.state)
    assert rules.derive_running_mode(host.state) == rules.PASSIVE


def test_the_interactive_local_script_never_ends_without_a_console():
    host = make()
    before = host.serialise()
    args = {"action": "onboard", "script": gen.onboarding_script(ORG, local=True), "timeout": 7}
    rc, result, ctx = dispatch(host, FQCN, args)
    assert rc == 0
    assert result["script_run"]["timed_out"] is True and result["script_run"]["exit_code"] is None
    assert ctx.delay == 7
    assert host.serialise() == before


def test_check_mode_changes_nothing():
    host = make()
    before = host.serialise()
    result, _ctx = onboard(host, check=True)
    assert result["changed"] is True and result["script_run"] is None
    assert host.serialise() == before


def test_forced_reonboarding_to_another_org():
    host = make(onboarded_org=OTHER)
    result, _ctx = onboard(host)
    assert result["script_run"]["exit_code"] == 0
    assert app_events(host) == [(10, "Information"), (20, "Information")]
    assert host.reg_get(ATP_STATUS_KEY, "OrgId") == ORG


# ----------------------------------------------------------------------------- offboarding
def test_offboarding():
    host = make(onboarded_org=ORG)
    assert rules.derive_running_mode(host.state) == rules.PASSIVE
    result, _ctx = offboard(host)
    assert result["script_run"]["exit_code"] == 0
    assert host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is None
    assert host.reg_get(ATP_POLICY_KEY, twin.OFFBOARDING_VALUE) is not None
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 0
    assert sense(host)["state"] == "stopped"
    assert app_events(host, "WDATPOffboarding") == [(20, "Information")]
    assert [e["source"] for e in result["events"]] == ["WDATPOffboarding"]
    assert not rules.is_onboarded(host.state)
    assert rules.derive_running_mode(host.state) == rules.NOT_RUNNING  # client, third-party AV, not onboarded


def test_offboarding_a_host_of_another_org_exits_70_and_changes_nothing():
    host = make(onboarded_org=OTHER)
    before = dict(host.state["registry"])
    result, _ctx = offboard(host, org=ORG)
    assert result["script_run"]["exit_code"] == 70
    assert host.state["registry"] == before
    assert sense(host)["state"] == "running"
    assert app_events(host, "WDATPOffboarding") == [(70, "Error")]


def test_offboarding_a_host_that_is_not_onboarded_exits_70():
    result, _ctx = offboard(make())
    assert result["script_run"]["exit_code"] == 70


def test_offboarding_exit_code_fault():
    host = make(onboarded_org=ORG, faults={"offboarding_exit_code": 12})
    result, _ctx = offboard(host)
    assert result["script_run"]["exit_code"] == 12
    assert sense(host)["state"] == "running" and rules.is_onboarded(host.state)


def test_an_expired_offboarding_package_is_ignored_by_sense():
    host = make(onboarded_org=ORG)
    result, ctx = offboard(host, valid_until=datetime.date.today() - datetime.timedelta(days=2), timeout=6)
    assert result["script_run"]["exit_code"] == 0 and result["script_run"]["wait_timed_out"]
    assert ctx.delay == 6
    assert sense(host)["state"] == "running"
    assert (29, "Error") in [(e["id"], e["level"]) for e in host.events(log="Microsoft-Windows-SENSE/Operational")]


# ----------------------------------------------------------------------------- md4ws.msi
@pytest.mark.parametrize("os_key", ["server2012r2", "server2016"])
def test_installer_brings_the_unified_agent_then_onboarding_works(os_key):
    host = make(os=os_key, third_party_av=[{"name": "Trend Micro Deep Security"}])
    assert sense(host) is None
    host.write_file(r"C:\Windows\TEMP\ansible-tmp-1\md4ws.msi", MSI)
    result, _ctx = onboard(host, installer=r"C:\Windows\TEMP\ansible-tmp-1\md4ws.msi")
    inst = result["installer"]
    assert inst["ran"] and inst["exit_code"] == 0 and not inst["already_installed"]
    assert host.read_file(inst["log_path"]) is not None
    mde = host.state["mde"]
    assert mde["unified_agent"] and mde["sense_installed"] and mde["unified_agent_force_passive"]
    assert host.state["defender"]["installed"] and host.service("WinDefend")["state"] == "running"
    assert result["observed"]["unified_agent"] is True
    assert result["script_run"]["exit_code"] == 0 and rules.is_onboarded(host.state)
    # installed with FORCEPASSIVEMODE=1 - and onboarded without ForceDefenderPassiveMode: active (§1.2).
    assert rules.derive_running_mode(host.state) == rules.NORMAL


def test_force_passive_install_is_passive_before_onboarding():
    host = make(os="server2012r2", third_party_av=[])
    host.write_file(r"C:\md4ws.msi", MSI)
    rc, result, _ctx = dispatch(
        host, FQCN, {"action": "onboard", "script": "rem not an onboarding script", "installer": r"C:\md4ws.msi"}
    )
    assert rc == 0
    assert result["script_run"]["exit_code"] == 10  # no OnboardingInfo in that script
    assert rules.derive_running_mode(host.state) == rules.PASSIVE


def test_installer_without_force_passive():
    host = make(os="server2016", third_party_av=[])
    host.write_file(r"C:\md4ws.msi", MSI)
    onboard(host, installer=r"C:\md4ws.msi", installer_force_passive=False)
    assert host.state["mde"]["unified_agent_force_passive"] is False


def test_installer_is_skipped_when_the_unified_agent_is_installed():
    host = make(os="server2016", unified_agent=True)
    result, _ctx = onboard(host, installer=r"C:\does-not-matter.msi")
    assert result["installer"]["already_installed"] and not result["installer"]["ran"]
    assert result["script_run"]["exit_code"] == 0


def test_missing_installer_runs_nothing():
    host = make(os="server2012r2")
    before = host.serialise()
    result, _ctx = onboard(host, installer=r"\\share\mde\md4ws.msi")
    assert result["installer"]["exists"] is False and result["script_run"] is None
    assert result["changed"] is False
    assert host.serialise() == before


def test_an_invalid_msi_fails_with_1620_and_the_script_does_not_run():
    host = make(os="server2012r2")
    host.write_file(r"C:\md4ws.msi", b"not an msi")
    result, _ctx = onboard(host, installer=r"C:\md4ws.msi")
    assert result["installer"]["exit_code"] == 1620 and result["script_run"] is None
    assert host.state["mde"]["unified_agent"] is False
