"""Action plugin of win_mde_info: the settle wait and the read a change module took (``host_read``).

``PsHost`` (tests/unit/conftest.py) runs win_mde_info.ps1 on a simulated host and records every
module call, so each test counts the round trips: a host that the change's own read shows settled
costs none; one that is not there yet is read again after ``wait_interval``, never at once.
"""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_mde_info import ActionModule
from tests.unit.conftest import PsHost, run_action
from tests.unit.plugins.module_utils.test_api import FakeClock

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
INFO = "mdeops.defender.win_mde_info"
FALCON = [{"name": "CrowdStrike Falcon"}]
ONBOARDED_CLIENT = {"os": "windows11_23h2", "third_party_av": FALCON, "onboarded_org": ORG}
FRESH_CLIENT = {"os": "windows11_23h2", "third_party_av": FALCON}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The plugin's clock and sleep: time moves only when the plugin sleeps."""
    fake = FakeClock()
    monkeypatch.setattr(ActionModule, "clock", staticmethod(fake.clock))
    monkeypatch.setattr(ActionModule, "sleep", staticmethod(fake.sleep))
    return fake


def run(fake: PsHost, args: dict, check_mode: bool = False) -> dict:
    return run_action(ActionModule, fake, INFO, args, check_mode=check_mode, task_vars={"inventory_hostname": "h"})


def read_of(settings: dict) -> dict:
    """What a change module's host_read holds: the host as win_mde_info reads it."""
    result = run(PsHost(settings), {"expected_org_id": ORG})
    assert result.get("failed") is not True, result
    return {k: v for k, v in result.items() if k not in ("changed", "invocation", "polls", "waited_s")}


WAIT = {"expected_org_id": ORG, "wait_for": "passive", "wait_timeout": 60, "wait_interval": 15}


def test_a_settled_host_read_is_judged_without_a_round_trip(clock):
    fake = PsHost(ONBOARDED_CLIENT)
    result = run(fake, {**WAIT, "host_read": read_of(ONBOARDED_CLIENT)})
    assert result.get("failed") is not True, result
    assert fake.modules == []  # no round trip
    assert result["polls"] == 0 and clock.sleeps == []
    assert result["reason"] is None and result["step"] == "verify_mode"
    assert result["diagnosis"]["verdict"] == "compliant"
    assert "judged from the read at the end of the change" in result["detail"]


def test_a_host_read_not_there_yet_waits_one_interval_then_reads(clock):
    fake = PsHost(ONBOARDED_CLIENT)  # the host has settled by the time it is read again
    result = run(fake, {**WAIT, "host_read": read_of(FRESH_CLIENT)})
    assert fake.modules == [INFO]  # one round trip, after the pause (not at once)
    assert clock.sleeps == [15]
    assert result["polls"] == 1 and result["reason"] is None


def test_a_host_that_never_settles_is_judged_from_the_last_read(clock):
    fake = PsHost(FRESH_CLIENT)
    result = run(fake, {**WAIT, "host_read": read_of(FRESH_CLIENT)})
    assert fake.modules == [INFO] * 4  # reads at 15, 30, 45, 60 s
    assert result["polls"] == 4 and result["reason"] == "not_onboarded"
    assert "after 4 read(s)" in result["detail"]


def test_without_host_read_the_first_read_is_at_once(clock):
    fake = PsHost(ONBOARDED_CLIENT)
    result = run(fake, WAIT)
    assert fake.modules == [INFO] and clock.sleeps == []
    assert result["polls"] == 1 and result["reason"] is None


@pytest.mark.parametrize("extra", [{"wait_for": "none"}, {"check_mode": True}])
def test_host_read_is_ignored_without_a_wait_or_in_check_mode(clock, extra):
    fake = PsHost(FRESH_CLIENT)
    args = {**WAIT, "wait_for": extra.get("wait_for", "passive"), "host_read": read_of(ONBOARDED_CLIENT)}
    result = run(fake, args, check_mode=extra.get("check_mode", False))
    assert fake.modules == [INFO]  # the host itself is read, not the given read
    assert result["onboarding"]["onboarded"] is False


def test_a_host_read_that_is_not_a_read_is_refused_before_any_round_trip(clock):
    fake = PsHost(ONBOARDED_CLIENT)
    result = run(fake, {**WAIT, "host_read": {"os": {}}})
    assert result["failed"] is True and result["reason"] == "invalid_argument"
    assert "host_read must be" in result["msg"] and "missing: defender" in result["msg"]
    assert fake.modules == []


def test_invocation_names_a_host_read_instead_of_repeating_it(clock):
    result = run(PsHost(ONBOARDED_CLIENT), {**WAIT, "host_read": read_of(ONBOARDED_CLIENT)})
    echoed = result["invocation"]["module_args"]["host_read"]
    assert echoed.startswith("(a host read: compliant: Defender passive") and len(echoed) < 300, echoed
    assert result["invocation"]["module_args"]["wait_for"] == "passive"


def pending(code: int) -> dict:
    """The pending_onboarding an onboarding whose script exited with a sensor code leaves in its host_read."""
    from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb

    return onb.pending_record(onb.PRESENT, 120, {"ran": True, "exit_code": code, "waited_s": 5.0}, [])


@pytest.mark.parametrize(
    ("code", "reason", "meaning"),
    [(15, "sensor_not_running", "SENSE service did not start"), (35, "onboarding_failed", "OnboardingState")],
)
def test_a_pending_onboarding_that_never_gets_there_gets_the_scripts_verdict(clock, code, reason, meaning):
    fake = PsHost(FRESH_CLIENT)  # never onboards
    result = run(fake, {**WAIT, "host_read": {**read_of(FRESH_CLIENT), "pending_onboarding": pending(code)}})
    assert fake.modules == [INFO] * 4  # the wait is the same bounded wait
    assert result["step"] == "onboard" and result["reason"] == reason, result
    assert "exited with %d" % code in result["detail"] and meaning in result["detail"], result["detail"]
    assert "after the settle wait (4 read(s) in 60" in result["detail"], result["detail"]


def test_a_pending_onboarding_that_gets_there_is_judged_as_any_other_host(clock):
    fake = PsHost(ONBOARDED_CLIENT)  # onboards during the wait
    result = run(fake, {**WAIT, "host_read": {**read_of(FRESH_CLIENT), "pending_onboarding": pending(15)}})
    assert result["polls"] == 1 and result["reason"] is None and result["step"] == "verify_mode", result


def test_a_client_whose_antivirus_went_off_ends_the_passive_wait_active_by_design(clock):
    """Defender stays active when the third-party antivirus is off: no wait changes that."""
    off = {**ONBOARDED_CLIENT, "third_party_av": [{"name": "CrowdStrike Falcon", "real_time": False}]}
    fake = PsHost(off)
    result = run(fake, WAIT)
    assert fake.modules == [INFO] and clock.sleeps == []  # one read, no wait
    assert result["diagnosis"]["verdict"] == "active_by_design" and result["diagnosis"]["protected"] is True, result
    assert result["reason"] is None, result


@pytest.mark.parametrize(
    ("verdict", "force", "wait_for", "ends"),
    [
        ("active_by_design", None, "passive", True),
        ("active_by_design", 0, "passive", True),
        ("active_by_design", 1, "passive", False),  # the value still switches Defender to passive later
        ("unprotected", 1, "passive", True),
        ("non_compliant", None, "passive", False),
        ("unprotected", None, "onboarded", True),
        ("unprotected", None, "offboarded", False),
    ],
)
def test_which_reads_end_the_wait(verdict, force, wait_for, ends):
    from ansible_collections.mdeops.defender.plugins.action.win_mde_info import final

    state = {"diagnosis": {"verdict": verdict}, "policy": {"force_defender_passive_mode": force}}
    assert final(state, wait_for) is ends


# wait_for: protected - the check after a repair (ForceDefenderPassiveMode back to 0)
FORCE = {
    "key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection",
    "name": "ForceDefenderPassiveMode",
}
FALCON_OFF = [{"name": "CrowdStrike Falcon", "real_time": False}]
SERVER = {"os": "server2022", "onboarded_org": ORG}
PROTECT = {"expected_org_id": ORG, "wait_for": "protected", "wait_timeout": 60, "wait_interval": 15}


def test_protected_by_defender_alone_names_why_the_other_antivirus_does_not(clock):
    fake = PsHost({**SERVER, "third_party_av": FALCON_OFF, "registry": [dict(FORCE, data=0)]})
    result = run(fake, PROTECT)
    assert fake.modules == [INFO] and clock.sleeps == [], "protected at the first read: no wait"
    assert result["diagnosis"]["protected"] is True and result["defender"]["mode"] == "active", result
    assert result["reason"] == "third_party_av_inactive" and result["step"] == "verify_mode", result
    assert "Defender alone protects this host (Defender is active, ForceDefenderPassiveMode 0)" in result["detail"]
    assert "CrowdStrike Falcon" in result["detail"] and "back on" in result["detail"], result["detail"]


def test_protected_by_the_third_party_antivirus_has_no_reason(clock):
    fake = PsHost({**SERVER, "third_party_av": FALCON, "registry": [dict(FORCE, data=1)]})
    result = run(fake, PROTECT)
    assert result["diagnosis"]["protected"] is True and result["reason"] is None, result


def test_a_host_still_unprotected_is_waited_for_then_unprotected(clock):
    # passive by the value with the other antivirus off: no wait (no reboot) makes Defender read the value
    fake = PsHost({**SERVER, "third_party_av": FALCON_OFF, "registry": [dict(FORCE, data=1)]})
    result = run(fake, PROTECT)
    assert result["diagnosis"]["protected"] is False, result
    assert result["reason"] == "unprotected" and result["polls"] == 5 and sum(clock.sleeps) == 60, result
    assert result["detail"].startswith("UNPROTECTED"), result["detail"]
