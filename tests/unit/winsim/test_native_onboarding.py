"""The portal-like onboarding/offboarding scripts run by the native model, on hosts in each condition.

``Invoke-MdeOnboardingScript`` runs ``cmd.exe /d /c ""<script>""`` with standard input redirected
and closed ("pipe" below); a console is what a scheduled task or an interactive admin gives it.
"""

from __future__ import annotations

import datetime

import pytest

from tests.unit.winsim.native_helpers import ORG, OTHER_ORG, SERVER, batch, events, make_host, out
from tests.winsim import native, rules
from tests.winsim import packages as gen
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY
from tests.winsim.native import conditions, svc

ON = "WindowsDefenderATPOnboardingScript.cmd"
PIPE = {"stdin": b"", "redirected": True, "console": False}
CONSOLE = {"stdin": None, "redirected": False, "console": True}
TIMEOUT = 300


def onboard(host, mode, org=ORG, local=False, timeout=TIMEOUT):
    return batch(host, gen.onboarding_script(org, local=local), name=ON, timeout=timeout, **mode)


def offboard(host, mode, org=ORG, days=7, timeout=TIMEOUT):
    valid_until = datetime.date.fromtimestamp(host.now()) + datetime.timedelta(days=days)
    script = gen.offboarding_script(org, valid_until)
    return batch(host, script, name=gen.offboarding_name(valid_until), timeout=timeout, **mode)


def onboarded(host) -> bool:
    return rules.is_onboarded(host.state)


# ----------------------------------------------------------------------------- the timeline
def test_with_a_console_the_script_waits_and_onboards():
    host = make_host()
    t0 = host.now()
    proc = onboard(host, CONSOLE)
    assert proc.exit_code == 0, out(proc)
    assert onboarded(host) and host.reg_get(ATP_STATUS_KEY, "OrgId") == ORG
    assert host.service("Sense")["start_mode"] == "auto"
    assert ("WDATPOnboarding", 20) in events(host) and ("Microsoft-Windows-SENSE", 11) in events(host)
    # net start waited for Sense (15 s, polling each second), then one poll of OnboardingState waited 5 s
    assert host.now() - t0 == pytest.approx(conditions.DEFAULT_SENSE_START_S + 5, abs=1.5)


def test_with_redirected_stdin_the_waits_collapse_and_the_host_onboards_seconds_later():
    """Defect 1 of the collection's onboarding: the script exits 35 in a second while Sense is onboarding."""
    host = make_host()
    t0 = host.now()
    proc = onboard(host, PIPE)
    assert proc.exit_code == 35
    assert host.now() - t0 < conditions.DEFAULT_SENSE_START_S + 2  # net start's wait, then polls without waits
    assert ("WDATPOnboarding", 35) in events(host) and not onboarded(host)
    host.advance(conditions.SENSE_ONBOARD_S)
    assert onboarded(host)


def test_a_slow_sensor_with_redirected_stdin_exits_30_then_comes_up():
    host = make_host(faults={"sense_start_delay_s": 45})
    proc = onboard(host, PIPE)
    assert proc.exit_code == 30 and "NET HELPMSG 2186" not in out(proc)
    assert host.service("Sense")["state"] == "start_pending"
    host.advance(45)
    assert onboarded(host)


def test_sense_already_running_writes_event_10():
    host = make_host(onboarded_org=ORG)
    proc = onboard(host, PIPE)
    assert proc.exit_code == 0
    assert ("WDATPOnboarding", 10) in events(host) and ("WDATPOnboarding", 20) in events(host)


def test_a_server_without_sense_exits_15():
    """Server 2016 without the unified agent: no Sense service."""
    host = make_host(os="server2016")
    assert host.service("Sense") is None
    proc = onboard(host, CONSOLE)
    assert proc.exit_code == 15 and ("WDATPOnboarding", 15) in events(host)


def test_elam_off_exits_15():
    host = make_host(
        defender_platform="4.18.2006.10",
        registry=[
            {"key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender", "name": "DisableAntiSpyware", "data": 1}
        ],
    )
    assert onboard(host, CONSOLE).exit_code == 15


# ----------------------------------------------------------------------------- each failure condition
@pytest.mark.parametrize(
    ("fault", "mode", "code"),
    [
        ({"onboarding_exit_code": 65}, CONSOLE, 65),
        ({"onboarding_exit_code": 10}, CONSOLE, 10),
        ({"onboarding_exit_code": 15}, CONSOLE, 15),
        ({"sense_never_starts": True}, PIPE, 15),
        ({"onboarding_exit_code": 30}, CONSOLE, 30),
        ({"onboarding_exit_code": 30}, PIPE, 30),
        ({"onboarding_exit_code": 35}, CONSOLE, 35),
        ({"onboarding_exit_code": 40}, CONSOLE, 40),
    ],
)
def test_each_condition_gives_its_exit_code(fault, mode, code):
    host = make_host(faults=fault)
    proc = onboard(host, mode)
    assert proc.exit_code == code, out(proc)
    assert not onboarded(host)
    if code != 65:  # not elevated: eventcreate cannot register its source
        assert ("WDATPOnboarding", code) in events(host)
        event = host.events(source="WDATPOnboarding")[-1]
        assert event["level"] == "Error" and event["message"].startswith("[Error Id: %d, Error Level: " % code)
    else:
        assert events(host, "WDATPOnboarding") == []
        assert "[Error Id: 65, Error Level: 2]" in out(proc)


def test_the_leftover_offboarding_value_that_cannot_be_deleted_goes_unnoticed():
    """The portal script's delete check is inside the block of the query's check: both see %ERRORLEVEL% 0.

    So the script never exits 5 and goes on; Sense onboards (the leftover is not this org's).
    """
    host = make_host(faults={"onboarding_exit_code": 5})
    proc = onboard(host, CONSOLE)
    assert proc.exit_code == 0 and onboarded(host)
    assert host.reg_get(ATP_POLICY_KEY, conditions.OFFBOARDING_VALUE) is not None


def test_a_script_that_checks_at_run_time_exits_5_on_that_host():
    host = make_host(faults={"onboarding_exit_code": 5})
    script = gen.onboarding_script(ORG).replace(
        '    if %ERRORLEVEL% NEQ 0 (\r\n        set "errorDescription=The previous',
        '    if errorlevel 1 (\r\n        set "errorDescription=The previous',
    )
    proc = batch(host, script, name=ON, timeout=TIMEOUT, **CONSOLE)
    assert proc.exit_code == 5 and ("WDATPOnboarding", 5) in events(host)


def test_the_local_script_with_closed_stdin_asks_for_ever():
    host = make_host()
    proc = onboard(host, PIPE, local=True, timeout=60)
    assert proc.exit_code is None and "Press (Y) to confirm" in out(proc)
    assert host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is None
    proc.kill()


def test_the_local_script_with_a_console_waits_for_the_consent():
    host = make_host()
    proc = onboard(host, CONSOLE, local=True, timeout=60)
    assert proc.exit_code is None and [p.pid for p in native.processes(host)] == [proc.pid]
    proc.kill()


def test_the_local_script_answered_y_onboards_then_pause_returns_at_end_of_input():
    host = make_host()
    proc = batch(host, gen.onboarding_script(ORG, local=True), name=ON, stdin=b"Y\r\n", timeout=TIMEOUT)
    # The waits collapse (the input is redirected) and pause reads end of input.
    assert proc.exit_code == 35 and out(proc).endswith("Press any key to continue . . . \r\n")


# ----------------------------------------------------------------------------- offboarding
def test_offboarding_with_a_console_waits_for_sense_to_stop():
    host = make_host(onboarded_org=ORG)
    proc = offboard(host, CONSOLE)
    assert proc.exit_code == 0
    assert not onboarded(host) and host.service("Sense")["state"] == "stopped"
    assert ("WDATPOffboarding", 20) in events(host) and ("Microsoft-Windows-SENSE", 44) in events(host)
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 0 and host.reg_get(ATP_STATUS_KEY, "OrgId") is None


def test_offboarding_with_redirected_stdin_exits_15_and_sense_stops_later():
    host = make_host(onboarded_org=ORG)
    proc = offboard(host, PIPE)
    assert proc.exit_code == 15 and onboarded(host)
    host.advance(conditions.SENSE_OFFBOARD_S)
    assert not onboarded(host)


def test_offboarding_for_another_org_exits_70():
    host = make_host(onboarded_org=OTHER_ORG)
    proc = offboard(host, PIPE)
    assert proc.exit_code == 70 and onboarded(host)
    assert host.reg_get(ATP_POLICY_KEY, conditions.OFFBOARDING_VALUE) is None


def test_an_expired_offboarding_package_is_refused_by_sense():
    host = make_host(onboarded_org=ORG)
    proc = offboard(host, CONSOLE, days=-3, timeout=TIMEOUT)
    assert proc.exit_code == 15  # after 5 polls 10 s apart
    assert ("Microsoft-Windows-SENSE", 29) in events(host) and onboarded(host)
    assert ("WDATPOffboarding", 15) in events(host)


@pytest.mark.parametrize(("fault", "code"), [(65, 65), (10, 10), (15, 15)])
def test_offboarding_conditions(fault, code):
    host = make_host(onboarded_org=ORG, faults={"offboarding_exit_code": fault})
    proc = offboard(host, CONSOLE)
    assert proc.exit_code == code and onboarded(host)
    assert "[Error Id: %d," % code in out(proc)


def test_unsupported_fault_values_are_loud():
    host = make_host(faults={"onboarding_exit_code": 12})
    with pytest.raises(native.NativeUnsupported, match="onboarding_exit_code: 12"):
        onboard(host, PIPE)


# ----------------------------------------------------------------------------- sc query while onboarding
def test_sc_query_shows_start_pending_then_running():
    host = make_host(faults={"sense_start_delay_s": 20})
    host.reg_set(ATP_POLICY_KEY, "OnboardingInfo", '{"body":"{\\"orgId\\":\\"%s\\"}"}' % ORG, "REG_SZ")
    native.services.start_service(host, "Sense")
    assert "2  START_PENDING" in svc.status_block("Sense", host.service("Sense"))
    host.advance(19.9)
    assert "2  START_PENDING" in svc.status_block("Sense", host.service("Sense"))
    host.advance(0.2)
    assert "4  RUNNING" in svc.status_block("Sense", host.service("Sense"))


def test_md4ws_then_onboarding_on_server_2016():
    host = make_host(**{**SERVER, "os": "server2016"})
    host.write_file(r"C:\Temp\md4ws.msi", native.msiexec.MSI_SIGNATURE)
    proc = batch(
        host, '@echo off\nmsiexec /i "C:\\Temp\\md4ws.msi" /quiet /norestart FORCEPASSIVEMODE=1\n', timeout=120
    )
    assert proc.exit_code == 0 and host.service("Sense") is not None
    assert rules.derive_running_mode(host.state) == rules.PASSIVE
    assert onboard(host, CONSOLE).exit_code == 0 and onboarded(host)
