"""Action plugin of win_mde_passive_mode with ``_execute_module`` answered by the real PowerShell.

``PsHost`` (tests/unit/conftest.py) runs win_mde_info.ps1 / win_mde_passive_mode.ps1 on a
simulated host and records every module call, so the tests assert the contract: the guard
refuses before any mutating call, check mode never calls the mutating module, nothing to change
= one round trip, a change = two.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_mde_passive_mode import ActionModule
from tests.unit.conftest import PsHost, run_action
from tests.winsim.faults import set_real_time
from tests.winsim.host import ATP_POLICY_KEY, DEFENDER_POLICY_KEY

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
INFO = "mdeops.defender.win_mde_info"
CHANGE = "mdeops.defender.win_mde_passive_mode"
FALCON = [{"name": "CrowdStrike Falcon"}]
FORCE = (ATP_POLICY_KEY, "ForceDefenderPassiveMode")


def run(fake: PsHost, args: dict | None = None, check_mode: bool = False, diff: bool = False) -> dict:
    return run_action(
        ActionModule, fake, CHANGE, args, check_mode=check_mode, diff=diff, task_vars={"inventory_hostname": "h"}
    )


def server(**extra) -> dict:
    return {"os": "server2022", "third_party_av": FALCON, **extra}


# ---------------------------------------------------------------- the guard


def test_guard_refuses_without_third_party_av_before_any_change():
    fake = PsHost({"os": "server2022"})
    before = copy.deepcopy(fake.host.state)
    result = run(fake)
    assert result["failed"] is True
    assert result["reason"] == "no_third_party_av"
    assert result["family"] == "av_conflict"
    assert "ForceDefenderPassiveMode" in result["msg"] and "require_third_party_av" in result["msg"]
    assert fake.modules == [INFO]  # read only: the mutating module was never called
    assert fake.host.state == before
    assert result["changed"] is False
    # the failed result keeps the documented shape
    assert (
        result["before"] == result["after"] == {"force_defender_passive_mode": None, "guide_force_passive_mode": None}
    )
    assert result["reboot_required"] is False and result["tamper_protection_blocks_passive"] is False
    assert result["remediation"]


def test_guard_refuses_in_check_mode_too():
    fake = PsHost({"os": "server2022"})
    result = run(fake, check_mode=True)
    assert result["reason"] == "no_third_party_av"
    assert fake.modules == [INFO]


def test_guard_names_an_inactive_third_party_av():
    fake = PsHost({"os": "server2022", "third_party_av": [{"name": "CrowdStrike Falcon", "real_time": False}]})
    result = run(fake)
    assert result["reason"] == "third_party_av_inactive"
    assert "CrowdStrike" in result["msg"]
    assert fake.modules == [INFO]
    assert fake.value(*FORCE) is None


def test_av_name_patterns_reach_detection():
    settings = {"os": "server2022", "third_party_av": [{"name": "Contoso Shield", "service": "ContosoShieldSvc"}]}
    assert run(PsHost(settings))["reason"] == "no_third_party_av"
    fake = PsHost(settings)
    result = run(fake, {"av_name_patterns": ["Contoso*"]})
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert "Contoso*" in fake.calls[0][1]["_service_patterns"]
    assert result["third_party_av"]["protecting"] is True


def test_guard_off_warns_loudly_and_sets_the_value():
    fake = PsHost({"os": "server2022"})
    result = run(fake, {"require_third_party_av": False})
    assert result["changed"] is True
    assert fake.value(*FORCE) == 1
    assert any(w.startswith("DANGER") and "NO real-time antivirus protection" in w for w in result["warnings"])


def test_guard_off_warns_even_when_an_av_protects():
    result = run(PsHost(server()), {"require_third_party_av": False})
    assert result["changed"] is True
    assert any("require_third_party_av is false" in w and "OFF" in w for w in result["warnings"])


def test_absent_needs_no_third_party_av():
    fake = PsHost(
        {"os": "server2022", "registry": [{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}]}
    )
    result = run(fake, {"state": "absent"})
    assert result["changed"] is True
    assert fake.value(*FORCE) == 0


# ---------------------------------------------------------------- check mode, change, idempotence


def test_check_mode_never_calls_the_mutating_module():
    fake = PsHost(server())
    before = copy.deepcopy(fake.host.state)
    result = run(fake, check_mode=True, diff=True)
    assert fake.modules == [INFO]
    assert fake.host.state == before
    assert result["changed"] is True
    assert result["after"] == {"force_defender_passive_mode": 1, "guide_force_passive_mode": None}
    assert result["before"]["force_defender_passive_mode"] is None
    assert '"ForceDefenderPassiveMode"=dword:00000001' in result["diff"]["after"]


def test_real_run_is_two_round_trips_and_reads_back():
    fake = PsHost(server())
    result = run(fake)
    assert fake.modules == [INFO, CHANGE]
    sent = fake.calls[1][1]
    assert {k: sent[k] for k in ("_value", "_guide_state", "_recheck_protection")} == {
        "_value": 1,
        "_guide_state": "unmanaged",
        "_recheck_protection": True,
    }
    assert "CSFalconService" in sent["_service_patterns"]
    assert result["changed"] is True
    assert result["after"] == {"force_defender_passive_mode": 1, "guide_force_passive_mode": None}
    assert fake.host.reg_get_item(ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 1}
    assert result["reboot_required"] is False  # not onboarded yet: Sense reads the value at onboarding
    assert "diff" not in result
    assert "warnings" not in result


def test_rerun_is_one_round_trip_and_not_changed():
    fake = PsHost(server())
    run(fake)
    fake.calls.clear()
    result = run(fake, diff=True)
    assert fake.modules == [INFO]
    assert result["changed"] is False
    assert result["before"] == result["after"]
    assert result["diff"]["before"] == result["diff"]["after"]


def test_check_mode_and_real_run_agree():
    checked = run(PsHost(server()), check_mode=True, diff=True)
    real = run(PsHost(server()), diff=True)
    for key in ("changed", "before", "after", "diff", "reboot_required"):
        assert checked[key] == real[key], key


def test_a_wrong_type_is_rewritten_by_the_change_call():
    fake = PsHost(
        server(registry=[{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 0, "type": "REG_SZ"}])
    )
    result = run(fake)
    assert result["changed"] is True
    assert fake.host.reg_get_item(ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 1}


# ---------------------------------------------------------------- reboot, tamper protection, clients


def test_onboarded_active_server_needs_a_reboot():
    fake = PsHost(server(onboarded_org=ORG))
    result = run(fake)
    assert result["onboarded"] is True and result["defender_mode"] == "active"
    assert result["changed"] is True
    assert result["reboot_required"] is True
    assert result["tamper_protection_blocks_passive"] is False
    # still pending on a rerun that changes nothing, until the host was rebooted
    again = run(fake)
    assert again["changed"] is False and again["reboot_required"] is True


def test_onboarded_passive_server_is_left_alone():
    fake = PsHost(
        server(onboarded_org=ORG, registry=[{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}])
    )
    result = run(fake)
    assert result["defender_mode"] == "passive"
    assert result["changed"] is False and result["reboot_required"] is False
    assert fake.modules == [INFO]


def test_tamper_protection_on_an_onboarded_active_server_warns():
    fake = PsHost(server(onboarded_org=ORG, tamper_protection=True))
    result = run(fake)
    assert result["changed"] is True and fake.value(*FORCE) == 1  # set anyway: harmless
    assert result["tamper_protection_blocks_passive"] is True
    assert "troubleshooting mode" in result["remediation"]
    assert any("Tamper protection" in w and "before onboarding" in w for w in result["warnings"])


def test_tamper_protection_before_the_platform_lock_does_not_block():
    result = run(PsHost(server(onboarded_org=ORG, tamper_protection=True, defender_platform="4.18.2205.7")))
    assert result["tamper_protection_blocks_passive"] is False
    assert result["reboot_required"] is True


def test_tamper_protection_before_onboarding_does_not_block():
    result = run(PsHost(server(tamper_protection=True)))
    assert result["tamper_protection_blocks_passive"] is False
    assert "warnings" not in result


def test_client_is_allowed_with_a_warning():
    fake = PsHost({"os": "windows11_23h2", "third_party_av": FALCON})
    result = run(fake)
    assert result["changed"] is True and result["os_kind"] == "workstation"
    assert any("Windows Server only" in w for w in result["warnings"])


# ---------------------------------------------------------------- absent and the guide's value


def test_absent_from_one_requires_a_reboot():
    fake = PsHost(
        server(onboarded_org=ORG, registry=[{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}])
    )
    result = run(fake, {"state": "absent"}, diff=True)
    assert result["changed"] is True
    assert result["before"]["force_defender_passive_mode"] == 1
    assert result["after"]["force_defender_passive_mode"] == 0
    assert fake.value(*FORCE) == 0  # 0, not deleted
    assert result["reboot_required"] is True
    assert '"ForceDefenderPassiveMode"=dword:00000000' in result["diff"]["after"]


def test_absent_from_nothing_writes_zero_without_reboot():
    fake = PsHost(server())
    result = run(fake, {"state": "absent"})
    assert result["changed"] is True and fake.value(*FORCE) == 0
    assert result["reboot_required"] is False


def test_guide_value_is_written_and_removed():
    fake = PsHost(server())
    result = run(fake, {"guide_value": True}, diff=True)
    assert fake.calls[1][1]["_value"] == 1 and fake.calls[1][1]["_guide_state"] == "present"
    assert result["after"] == {"force_defender_passive_mode": 1, "guide_force_passive_mode": 1}
    assert fake.value(DEFENDER_POLICY_KEY, "ForcePassiveMode") == 1
    assert "Windows Defender]" in result["diff"]["after"]
    result = run(fake, {"state": "absent", "guide_value": True})
    assert result["after"] == {"force_defender_passive_mode": 0, "guide_force_passive_mode": None}
    assert fake.value(DEFENDER_POLICY_KEY, "ForcePassiveMode") is None


def test_guide_value_false_leaves_the_guide_value_alone():
    fake = PsHost(server(registry=[{"key": DEFENDER_POLICY_KEY, "name": "ForcePassiveMode", "data": 1}]))
    result = run(fake, {"state": "absent"})
    assert fake.calls[1][1]["_guide_state"] == "unmanaged"
    assert result["after"]["guide_force_passive_mode"] == 1


def test_only_the_guide_value_differs_still_one_change_call():
    fake = PsHost(server(registry=[{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}]))
    result = run(fake, {"guide_value": True})
    assert fake.modules == [INFO, CHANGE]
    assert result["changed"] is True and result["reboot_required"] is False


# ---------------------------------------------------------------- failures


def test_invalid_argument_is_refused_before_the_host_is_touched():
    fake = PsHost(server())
    result = run(fake, {"state": "passive"})
    assert result["failed"] is True and result["reason"] == "invalid_argument"
    assert "state" in result["msg"]
    assert fake.calls == []


def test_powershell_failure_becomes_host_error():
    fake = PsHost(server(), fail={CHANGE: {"failed": True, "msg": "Access is denied"}})
    result = run(fake)
    assert result["failed"] is True and result["reason"] == "host_error"
    assert "Access is denied" in result["msg"]


@pytest.mark.parametrize("state", ["present", "absent"])
def test_result_shape_is_stable(state):
    keys = {
        "changed",
        "before",
        "after",
        "reboot_required",
        "tamper_protection_blocks_passive",
        "remediation",
        "defender_mode",
        "onboarded",
        "os_kind",
        "third_party_av",
    }
    ok = run(PsHost(server()), {"state": state})
    assert keys <= set(ok)
    failed = run(PsHost({"os": "server2022"}), {"state": "present"})
    assert keys <= set(failed)


def test_read_failure_keeps_the_result_shape():
    fake = PsHost(server(), fail={INFO: {"failed": True, "msg": "WinRM said no"}})
    result = run(fake)
    assert result["failed"] is True and result["reason"] == "host_error"
    assert fake.modules == [INFO]
    assert (
        result["before"] == result["after"] == {"force_defender_passive_mode": None, "guide_force_passive_mode": None}
    )
    assert result["reboot_required"] is False and result["remediation"]


def test_a_value_that_does_not_read_back_is_policy_not_applied():
    from ansible_collections.mdeops.defender.plugins.action.win_mde_passive_mode import with_verdict

    # written, but Windows reads back something else (a policy that wins over the write)
    res = with_verdict({"changed": True, "after": {"force_defender_passive_mode": 0}}, "present")
    assert res["failed"] and res["reason"] == "policy_not_applied" and "reads back as 0" in res["detail"]
    res = with_verdict({"changed": True, "after": {"force_defender_passive_mode": 1}}, "present")
    assert res["reason"] is None and not res.get("failed")
    # check mode: nothing was written, so nothing can be judged from the prediction
    res = with_verdict({"changed": True, "after": {"force_defender_passive_mode": None}}, "present", check_mode=True)
    assert res["reason"] is None


# ---------------------------------------------------------------- the re-check in the run that writes
class RtpOffBeforeTheWrite(PsHost):
    """The third-party antivirus's real-time protection goes off after the read, before the write."""

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kw):
        if module_name == CHANGE:
            set_real_time(self.host, False)
        return super().__call__(module_name, module_args, task_vars, **kw)


def test_real_time_protection_gone_since_the_read_refuses_the_write():
    fake = RtpOffBeforeTheWrite(server())
    result = run(fake)
    assert fake.modules == [INFO, CHANGE]
    assert result["failed"] is True and result["reason"] == "third_party_av_inactive", result
    assert "checked again just before the write" in result["msg"]
    assert result["protection"]["protecting"] is False
    assert fake.value(*FORCE) is None  # nothing written


def test_the_re_check_passes_while_protection_runs():
    fake = PsHost(server())
    result = run(fake)
    assert result["changed"] is True and fake.value(*FORCE) == 1
    assert result.get("failed") is not True


def test_no_re_check_when_the_value_goes_back_to_zero():
    fake = RtpOffBeforeTheWrite(
        server(registry=[{"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}])
    )
    result = run(fake, {"state": "absent"})
    assert result.get("failed") is not True, result
    assert fake.value(*FORCE) == 0
