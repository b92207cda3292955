"""The native programs of the model: output, streams and exit codes as the real ones give them."""

from __future__ import annotations

import pytest

from tests.unit.winsim.native_helpers import CMD, ORG, batch, cmd, err, events, make_host, out, run, start
from tests.winsim import domain, native
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY, DEFENDER_POLICY_KEY
from tests.winsim.native import NativeBlocked, NativeUnsupported, conditions, msiexec

STATUS = r'"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"'
POLICY = r'"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"'


# ----------------------------------------------------------------------------- reg.exe
def test_reg_query_output_format_and_missing_value():
    host = make_host(onboarded_org=ORG)
    proc = cmd(host, "reg query %s /v OnboardingState /reg:64" % STATUS)
    assert proc.exit_code == 0
    assert out(proc) == (
        "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Advanced Threat Protection\\Status\r\n"
        "    OnboardingState    REG_DWORD    0x1\r\n\r\n"
    )
    proc = cmd(host, "reg query %s /v Nope" % STATUS)
    assert proc.exit_code == 1 and out(proc) == ""
    assert err(proc) == "ERROR: The system was unable to find the specified registry key or value.\r\n"


def test_reg_add_types_and_data_quoting():
    host = make_host()
    json_text = '{"body":"{\\"orgId\\":\\"x\\"}"}'
    quoted = native.argv.quote(json_text, force=True)
    proc = cmd(host, "reg add %s /v OnboardingInfo /t REG_SZ /f /d %s" % (POLICY, quoted))
    assert proc.exit_code == 0 and out(proc) == "The operation completed successfully.\r\n"
    assert host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") == json_text
    cmd(host, "reg add HKLM\\SOFTWARE\\T /v D /t REG_DWORD /d 0x10 /f")
    cmd(host, "reg add HKLM\\SOFTWARE\\T /v B /t REG_BINARY /d 0102ff /f")
    cmd(host, "reg add HKLM\\SOFTWARE\\T /v M /t REG_MULTI_SZ /d a\\0b /f")
    assert host.reg_get("HKLM\\SOFTWARE\\T", "D") == 16
    assert host.reg_get("HKLM\\SOFTWARE\\T", "B") == [1, 2, 255]
    assert host.reg_get("HKLM\\SOFTWARE\\T", "M") == ["a", "b"]
    lines = out(cmd(host, "reg query HKLM\\SOFTWARE\\T")).split("\r\n")
    assert "    D    REG_DWORD    0x10" in lines and "    B    REG_BINARY    0102FF" in lines
    assert "    M    REG_MULTI_SZ    a\\0b" in lines


def test_reg_bad_syntax_and_bad_dword():
    host = make_host()
    proc = cmd(host, "reg add HKLM\\SOFTWARE\\T /v D /t REG_DWORD /d nope /f")
    assert proc.exit_code == 1 and err(proc).startswith("ERROR: Invalid syntax.")
    assert cmd(host, "reg add HKLM\\SOFTWARE\\T /v").exit_code == 1
    with pytest.raises(NativeUnsupported, match="reg:32"):
        cmd(host, "reg query HKLM\\SOFTWARE /v x /reg:32")


def test_reg_delete_and_acl_denial():
    host = make_host(onboarded_org=ORG)
    proc = cmd(host, "reg delete %s /v OnboardingInfo /f" % POLICY)
    assert proc.exit_code == 0 and host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is None
    assert cmd(host, "reg delete %s /v OnboardingInfo /f" % POLICY).exit_code == 1
    host.state["registry_deny"] = [{"key": ATP_POLICY_KEY, "value": "OnboardingInfo", "op": "write"}]
    proc = cmd(host, 'reg add %s /v OnboardingInfo /t REG_SZ /d "x" /f' % POLICY)
    assert proc.exit_code == 1 and err(proc) == "ERROR: Access is denied.\r\n"


def test_reg_add_without_f_asks_and_closed_stdin_cancels():
    host = make_host()
    host.reg_set("HKLM\\SOFTWARE\\T", "V", "old", "REG_SZ")
    proc = cmd(host, "reg add HKLM\\SOFTWARE\\T /v V /d new")
    assert "overwrite(Yes/No)?" in out(proc) and host.reg_get("HKLM\\SOFTWARE\\T", "V") == "old"
    cmd(host, "reg add HKLM\\SOFTWARE\\T /v V /d new", stdin=b"yes\r\n")
    assert host.reg_get("HKLM\\SOFTWARE\\T", "V") == "new"


def test_non_elevated_token_cannot_write_hklm():
    host = make_host(faults={"onboarding_exit_code": 65})
    assert not conditions.elevated(host)
    proc = cmd(host, "reg add HKLM\\SOFTWARE\\T /v V /d x /f")
    assert proc.exit_code == 1 and err(proc) == "ERROR: Access is denied.\r\n"


# ----------------------------------------------------------------------------- sc.exe, net.exe
def test_sc_query_format_and_missing_service():
    host = make_host(onboarded_org=ORG)
    text = out(cmd(host, 'sc query "SENSE"'))
    assert "SERVICE_NAME: SENSE" in text
    assert "        STATE              : 4  RUNNING " in text
    assert "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)" in text
    proc = cmd(host, "sc query NoSuchSvc")
    assert proc.exit_code == 1060
    assert out(proc).startswith("[SC] EnumQueryServicesStatus:OpenService FAILED 1060:")


def test_sc_start_puts_sense_in_start_pending():
    host = make_host()
    proc = cmd(host, "sc start Sense")
    assert proc.exit_code == 0 and "STATE              : 2  START_PENDING" in out(proc)
    assert host.service("Sense")["state"] == "start_pending"
    again = cmd(host, "sc start Sense")
    assert again.exit_code == 1056 and "[SC] StartService FAILED 1056:" in out(again)


def test_net_session_elevated_and_not():
    host = make_host()
    proc = cmd(host, "net session")
    assert proc.exit_code == 0 and out(proc) == "There are no entries in the list.\r\n\r\n"
    host = make_host(faults={"onboarding_exit_code": 65})
    proc = cmd(host, "net session")
    assert proc.exit_code == 2 and err(proc) == "System error 5 has occurred.\r\n\r\nAccess is denied.\r\n\r\n"


def _with_onboarding_info(host):
    host.reg_set(ATP_POLICY_KEY, "OnboardingInfo", '{"body":"{\\"orgId\\":\\"%s\\"}"}' % ORG, "REG_SZ")
    return host


def test_net_start_waits_for_the_service():
    host = _with_onboarding_info(make_host(faults={"sense_start_delay_s": 7}))
    t0 = host.now()
    proc = cmd(host, "net start sense")
    assert proc.exit_code == 0
    assert "service was started successfully." in out(proc)
    assert 7 <= host.now() - t0 <= 8.1  # polled each second
    again = cmd(host, "net start sense")
    assert again.exit_code == 2 and "NET HELPMSG 2182" in err(again)


def test_net_start_gives_up_on_a_slow_service_and_reports_failures():
    host = make_host(faults={"sense_start_delay_s": 120})
    proc = cmd(host, "net start sense")
    assert proc.exit_code == 2 and "NET HELPMSG 2186" in err(proc)
    host = make_host(faults={"sense_never_starts": True})
    proc = cmd(host, "net start sense")
    assert proc.exit_code == 2 and "System error 1067 has occurred." in err(proc)
    assert ("Microsoft-Windows-SENSE", 3) in events(host)
    assert cmd(host, "net start nosuch").exit_code == 2


def test_elam_off_on_an_old_client_fails_sense_with_577():
    host = make_host(
        defender_platform="4.18.2006.10",
        registry=[{"key": DEFENDER_POLICY_KEY, "name": "DisableAntiSpyware", "data": 1}],
    )
    proc = cmd(host, "net start sense")
    assert proc.exit_code == 2 and "System error 577 has occurred." in err(proc)
    assert host.service("Sense")["state"] == "stopped"


# ----------------------------------------------------------------------------- find, timeout
def test_find_needs_quotes_and_matches_case_insensitively():
    host = make_host()
    proc = cmd(host, 'find /i "run"', stdin=b"STATE : 4  RUNNING\r\nother\r\n")
    assert proc.exit_code == 0 and out(proc) == "STATE : 4  RUNNING\r\n"
    assert cmd(host, 'find "run"', stdin=b"RUNNING\r\n").exit_code == 1
    proc = cmd(host, "find run", stdin=b"run\r\n")
    assert proc.exit_code == 2 and "FIND: Parameter format not correct" in err(proc)


def test_timeout_with_redirected_input_fails_at_once():
    host = make_host()
    t0 = host.now()
    proc = cmd(host, "timeout 5", stdin=b"")
    assert proc.exit_code == 1
    assert err(proc) == "ERROR: Input redirection is not supported, exiting the process immediately.\r\n"
    assert host.now() - t0 < 0.1


def test_timeout_without_a_console_under_winrm_fails_too():
    host = make_host()
    proc = cmd(host, "timeout /t 5 /nobreak", stdin=None, redirected=False, console=False)
    assert proc.exit_code == 1 and "Input redirection is not supported" in err(proc)


def test_timeout_with_a_console_waits_on_the_simulated_clock():
    host = make_host()
    t0 = host.now()
    proc = cmd(host, "timeout /t 5", stdin=None, redirected=False, console=True)
    assert proc.exit_code == 0 and host.now() - t0 == pytest.approx(5, abs=0.1)
    assert "Waiting for 5 seconds" in out(proc)
    assert cmd(host, "timeout /t 100000", redirected=False, console=True).exit_code == 1


def test_timeout_minus_one_waits_for_a_key_for_ever():
    host = make_host()
    proc = start(host, CMD + " /c timeout -1", stdin=None, redirected=False, console=True)
    with pytest.raises(NativeBlocked):
        proc.run_until(None)


# ----------------------------------------------------------------------------- eventcreate
def test_eventcreate_registers_its_source_and_writes_the_event():
    host = make_host()
    proc = cmd(host, 'eventcreate /l Application /so WDATPOnboarding /t Information /id 20 /d "All good"')
    assert proc.exit_code == 0
    assert out(proc) == (
        "SUCCESS: An event of type 'Information' was created in the 'Application' log with 'WDATPOnboarding' as "
        "the source.\r\n"
    )
    key = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\WDATPOnboarding"
    assert host.reg_get(key, "CustomSource") == 1
    event = host.events(source="WDATPOnboarding")[-1]
    got = (event["log"], event["id"], event["level"], event["message"])
    assert got == ("Application", 20, "Information", "All good")
    assert cmd(host, 'eventcreate /l Application /so WDATPOnboarding /t Error /id 1001 /d "x"').exit_code == 1
    assert cmd(host, 'eventcreate /l System /so WDATPOnboarding /t Error /id 5 /d "x"').exit_code == 1


def test_eventcreate_cannot_register_a_source_without_elevation():
    host = make_host(faults={"onboarding_exit_code": 65})
    proc = cmd(host, 'eventcreate /l Application /so WDATPOnboarding /t Error /id 65 /d "x"')
    assert proc.exit_code == 1 and err(proc) == "ERROR: Access is denied.\r\n"
    assert events(host, "WDATPOnboarding") == []


# ----------------------------------------------------------------------------- powershell.exe, MpCmdRun
DETECTION = (
    "powershell.exe -NoExit -ExecutionPolicy Bypass -WindowStyle Hidden $ErrorActionPreference = 'silentlycontinue';"
    "(New-Object System.Net.WebClient).DownloadFile('http://127.0.0.1/1.exe', 'C:\\\\test-MDATP-test\\\\invoice.exe');"
    "Start-Process 'C:\\\\test-MDATP-test\\\\invoice.exe'"
)


def test_detection_test_runs_until_killed_and_the_sensor_sees_it():
    host = make_host(onboarded_org=ORG)
    proc = start(host, DETECTION, stdin=None, redirected=False, console=True)
    assert not proc.run_until(host.now() + 10)
    assert [p.pid for p in native.processes(host)] == [proc.pid]
    assert len(host.state["mde"]["detection_tests"]) == 1
    proc.kill()
    assert proc.exit_code == -1 and native.processes(host) == []


def test_detection_test_on_a_host_not_onboarded_is_not_seen_and_ends_without_a_console():
    host = make_host()
    proc = run(host, DETECTION, stdin=b"", redirected=True)
    assert proc.exit_code == 0 and "detection_tests" not in host.state["mde"]


@pytest.mark.parametrize("quote", ["'", "\u2018", "\u2019", "\u201a", "\u201b"])
def test_detection_test_paths_are_read_as_powershell_reads_single_quoted_strings(quote):
    """Any of the five single quotes ends the string; doubled (any two of them) it is one literal quote."""
    doubled = DETECTION.replace("test-MDATP-test", "O%s%sBrien" % (quote, quote))
    host = make_host(onboarded_org=ORG)
    run(host, doubled, stdin=b"", redirected=True)
    assert host.state["mde"]["detection_tests"][0]["target"] == "C:\\\\O%sBrien\\\\invoice.exe" % quote
    # one quote ends the string early: not the documented command (Windows: a parse error)
    with pytest.raises(NativeUnsupported, match=r"powershell\.exe"):
        start(make_host(onboarded_org=ORG), DETECTION.replace("test-MDATP-test", "O%sBrien" % quote))


def test_unknown_powershell_command_lines_are_unsupported():
    host = make_host()
    with pytest.raises(NativeUnsupported, match=r"powershell\.exe"):
        start(host, "powershell.exe -Command Get-Date")


def test_mpcmdrun_exists_only_with_defender():
    line = '@echo off\n"%ProgramFiles%\\Windows Defender\\MpCmdRun.exe" -ReloadEngine\necho %ERRORLEVEL%\n'
    assert out(batch(make_host(), line)) == "0\r\n"
    assert out(batch(make_host(os="server2012r2"), line)) == "9009\r\n"


# ----------------------------------------------------------------------------- msiexec
def test_msiexec_installs_md4ws_with_force_passive():
    host = make_host(os="server2016")
    host.write_file("C:\\Temp\\md4ws.msi", msiexec.MSI_SIGNATURE + b"\x00" * 64)
    t0 = host.now()
    proc = run(
        host,
        r'C:\Windows\system32\msiexec.exe /i "C:\Temp\md4ws.msi" /quiet /norestart /l*v "C:\Temp\i.log" '
        "FORCEPASSIVEMODE=1",
    )
    assert proc.exit_code == 0 and host.now() - t0 == pytest.approx(msiexec.INSTALL_S)
    assert msiexec.is_installed(host) and host.state["mde"]["unified_agent_force_passive"]
    assert host.service("Sense")["state"] == "stopped"
    assert host.read_file("C:\\Temp\\i.log").startswith(b"\xff\xfe")
    assert proc.stdout == b"" and proc.stderr == b""


@pytest.mark.parametrize(("data", "code"), [(None, 1619), (b"not an msi", 1620)])
def test_msiexec_bad_packages(data, code):
    host = make_host(os="server2016")
    if data is not None:
        host.write_file("C:\\Temp\\md4ws.msi", data)
    proc = run(host, r'msiexec.exe /i "C:\Temp\md4ws.msi" /quiet /norestart')
    assert proc.exit_code == code and not msiexec.is_installed(host)


def test_msiexec_reports_a_needed_restart():
    host = make_host(os="server2016", faults={"installer_reboot_required": True})
    host.write_file("C:\\Temp\\md4ws.msi", msiexec.MSI_SIGNATURE)
    assert run(host, r'msiexec.exe /i "C:\Temp\md4ws.msi" /quiet /norestart').exit_code == 3010


# ----------------------------------------------------------------------------- gpupdate, gpresult
def test_gpupdate_applies_computer_policy():
    host = make_host()
    proc = run(host, r'C:\Windows\system32\gpupdate.exe /target:computer /force "/wait:30"', stdin=b"N\r\n")
    assert proc.exit_code == 0
    assert out(proc) == "Updating policy...\r\n\r\nComputer Policy update has completed successfully.\r\n\r\n"
    assert proc.stderr == b"" and "group_policy" in host.state


def test_gpupdate_without_a_domain_controller_writes_stderr_and_fails():
    host = make_host(domain_joined=True, faults={"dc_unreachable": True})
    proc = run(host, "gpupdate.exe /target:computer /force /wait:30", stdin=b"N\r\n")
    assert proc.exit_code == 1
    assert out(proc) == "Updating policy...\r\n\r\n"
    assert err(proc).startswith("Computer policy could not be updated successfully.")
    assert ("Microsoft-Windows-GroupPolicy", 1129) in events(host)


def test_gpresult_writes_utf16_xml_and_refuses_a_missing_directory():
    host = make_host()
    proc = run(host, r"gpresult.exe /scope computer /x C:\Windows\Temp\rsop.xml /f")
    assert proc.exit_code == 0 and proc.stdout == b""
    data = host.read_file(r"C:\Windows\Temp\rsop.xml")
    assert data.startswith(b"\xff\xfe") and data[2:].decode("utf-16-le") == domain.gpresult_xml(host)
    assert run(host, r"gpresult.exe /scope computer /x C:\Windows\Temp\rsop.xml").exit_code == 1
    proc = run(host, r"gpresult.exe /scope computer /x C:\nowhere\rsop.xml /f")
    assert proc.exit_code == 1 and err(proc) == "ERROR: The system cannot find the path specified.\r\n"
    with pytest.raises(NativeUnsupported):
        run(host, "gpresult.exe /r")


# ----------------------------------------------------------------------------- processes
def test_process_tree_kill_child_first_then_parent():
    """What Stop-MdeProcessTree does at the module's timeout: the children, then cmd.exe."""
    host = make_host()
    proc = start(host, CMD + " /d /c timeout /t 60 & echo after", stdin=None, redirected=False, console=True)
    assert not proc.run_until(host.now() + 5)
    children = [p for p in native.processes(host) if p.parent_pid == proc.pid]
    assert [c.name for c in children] == ["timeout.exe"]
    children[0].kill()
    assert children[0].exit_code == -1
    proc.kill()
    assert proc.exit_code == -1 and native.processes(host) == []
    assert "after" not in out(proc)


def test_killing_only_the_parent_leaves_the_child_running_until_its_wait_ends():
    host = make_host()
    proc = start(host, CMD + " /d /c timeout /t 60", stdin=None, redirected=False, console=True)
    proc.run_until(host.now() + 5)
    proc.kill()
    orphans = native.processes(host)
    assert [p.name for p in orphans] == ["timeout.exe"] and orphans[0].parent_pid == proc.pid
    host.advance(60)
    assert native.processes(host) == []


def test_killing_a_child_lets_the_parent_go_on():
    host = make_host()
    proc = start(host, CMD + " /d /c timeout /t 60 & echo after", stdin=None, redirected=False, console=True)
    proc.run_until(host.now() + 5)
    native.processes(host)[-1].kill()
    assert proc.run_until(host.now() + 1) and "after" in out(proc)
    assert proc.exit_code == -1  # the ERRORLEVEL of the killed timeout.exe


def test_start_error_for_a_missing_program():
    host = make_host()
    with pytest.raises(native.NativeStartError):
        start(host, "nosuch.exe")


def test_sense_without_onboarding_data_stops():
    host = make_host(faults={"sense_start_delay_s": 3})
    proc = cmd(host, "net start sense")
    assert proc.exit_code == 2 and "NET HELPMSG 3534" in err(proc)
    assert ("Microsoft-Windows-SENSE", 6) in events(host) and host.service("Sense")["state"] == "stopped"


def test_status_values_after_sense_onboards():
    host = _with_onboarding_info(make_host(faults={"sense_start_delay_s": 3}))
    cmd(host, "net start sense")
    host.advance(conditions.SENSE_ONBOARD_S)
    assert host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 1 and host.reg_get(ATP_STATUS_KEY, "OrgId") == ORG


def test_a_model_failure_leaves_no_process_behind():
    host = make_host()
    proc = start(host, CMD + " /d /c timeout /t 5 & ping 127.0.0.1", stdin=None, redirected=False, console=True)
    with pytest.raises(NativeUnsupported, match="ping"):
        proc.run_until(host.now() + 10)
    assert native.processes(host) == [] and proc.exit_code == -1


def test_gpupdate_wait_0_applies_without_waiting():
    host = make_host()
    t0 = host.now()
    proc = run(host, "gpupdate.exe /target:computer /force /wait:0")
    assert proc.exit_code == 0 and out(proc) == "Updating policy...\r\n\r\n" and host.now() - t0 < 0.1
    assert "group_policy" in host.state
    with pytest.raises(NativeUnsupported, match="target:computer"):
        run(host, "gpupdate.exe /force")
