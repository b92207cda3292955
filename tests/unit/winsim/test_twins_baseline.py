"""The twins of the generic ansible.windows / community.windows modules the benchmark's baseline runs."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import zipfile

from tests.unit.winsim.conftest import module_stdin
from tests.winsim import fleet, native, rules
from tests.winsim import packages as gen
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY, SimHost
from tests.winsim.payload import decode, execute
from tests.winsim.ps import win_defender
from tests.winsim.twins import dispatch, load_all

# Register every twin before importing one by name: load_all() does nothing once any twin is
# registered, so importing a single twin module first would hide the others from other tests.
load_all()

from tests.winsim.twins import baseline as tw  # noqa: E402

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
SERVER = {"os": "server2022", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
WORK = "C:\\Temp\\MDE"
SCRIPT = "WindowsDefenderATPOnboardingScript.cmd"
POLICY_PS = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"


def make(name: str = "h", **settings) -> SimHost:
    return SimHost(name, fleet.new_state(name, {**CLIENT, **settings}), None)


def run(host, module, args, check=False, diff=False):
    return dispatch(host, module, {**args, "_ansible_check_mode": check, "_ansible_diff": diff})


def ok(host, module, args, **kw):
    rc, result, _ctx = run(host, module, args, **kw)
    assert rc == 0, result
    return result


def fail(host, module, args, **kw):
    rc, result, _ctx = run(host, module, args, **kw)
    assert rc == 1 and result["failed"], result
    return result


def with_script(host, org=ORG, path=WORK + "\\" + SCRIPT, **kw):
    host.write_file(path, gen.onboarding_script(org, **kw).encode())
    return path


# ----------------------------------------------------------------------------- registration
def test_twins_are_registered_and_answer_through_the_real_framing():
    host = make()
    host.write_file(WORK + "\\pkg.zip", gen.onboarding_zip(ORG))
    line, stdin = module_stdin(tw.WIN_UNZIP, {"src": WORK + "\\pkg.zip", "dest": WORK})
    out = execute(host, decode(line, stdin))
    assert out.rc == 0, out.stdout
    assert json.loads(out.stdout)["changed"] is True
    assert host.read_file(WORK + "\\" + SCRIPT) == gen.onboarding_script(ORG).encode()


# ----------------------------------------------------------------------------- win_copy
def test_win_copy_query_lists_what_must_be_sent():
    host = make()
    data = b"package"
    files = [
        {"src": "/ctl/files/a.zip", "dest": "a.zip", "checksum": hashlib.sha1(data).hexdigest()},
        {"src": "/ctl/files/b.zip", "dest": "b.zip", "checksum": "0" * 40},
        {"src": "/ctl/files/c.zip", "dest": "c.zip", "checksum": "1" * 40},
    ]
    host.write_file(WORK + "\\a.zip", data)  # same checksum: not sent
    host.write_file(WORK + "\\b.zip", b"other")  # different: sent
    args = {"_copy_mode": "query", "dest": WORK + "\\", "files": files, "directories": [], "symlinks": []}
    result = ok(host, tw.WIN_COPY, args)
    assert [f["dest"] for f in result["files"]] == ["b.zip", "c.zip"]
    assert result["changed"] is False and result["symlinks"] == []
    # force: false never replaces an existing file
    result = ok(host, tw.WIN_COPY, {**args, "force": False})
    assert [f["dest"] for f in result["files"]] == ["c.zip"]
    # a directory where the file should go
    host.make_dirs(WORK + "\\d.zip")
    bad = {**args, "files": [{"src": "/x/d.zip", "dest": "d.zip", "checksum": "2" * 40}]}
    assert ok(host, tw.WIN_COPY, bad)["files"] == bad["files"]  # d.zip\d.zip does not exist yet


def test_win_copy_single_copies_the_transferred_file():
    host = make()
    host.write_file("C:\\Windows\\TEMP\\ansible-tmp-1\\source", b"zip bytes")
    args = {
        "_copy_mode": "single",
        "src": "C:\\Windows\\TEMP\\ansible-tmp-1\\source",
        "dest": WORK + "\\",
        "_original_basename": "pkg.zip",
    }
    result = ok(host, tw.WIN_COPY, args)
    assert result["changed"] is True
    assert host.read_file(WORK + "\\pkg.zip") == b"zip bytes"  # parent created (dest ends with \)
    # a file path whose directory does not exist fails like the module
    msg = fail(host, tw.WIN_COPY, {**args, "dest": "C:\\Nowhere\\pkg.zip"})["msg"]
    assert msg == "Destination directory 'C:\\Nowhere' does not exist"
    msg = fail(host, tw.WIN_COPY, {**args, "src": "C:\\missing"})["msg"]
    assert "Cannot copy src file" in msg
    # backup keeps the old file
    host.write_file("C:\\Windows\\TEMP\\ansible-tmp-1\\source", b"new bytes")
    result = ok(host, tw.WIN_COPY, {**args, "backup": True})
    assert host.read_file(result["backup_file"]) == b"zip bytes"
    assert host.read_file(WORK + "\\pkg.zip") == b"new bytes"


def test_win_copy_explode_and_remote():
    host = make()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(base64.b64encode(b"sub").decode() + "/", "")
        zf.writestr(base64.b64encode(b"sub/one.txt").decode(), "1")
        zf.writestr(base64.b64encode(b"two.txt").decode(), "2")
    host.write_file("C:\\Windows\\TEMP\\t\\source.zip", buf.getvalue())
    result = ok(host, tw.WIN_COPY, {"_copy_mode": "explode", "src": "C:\\Windows\\TEMP\\t\\source.zip", "dest": WORK})
    assert result["changed"] is True
    assert host.read_file(WORK + "\\sub\\one.txt") == b"1" and host.read_file(WORK + "\\two.txt") == b"2"
    # remote_src: file into a directory, then idempotent
    args = {"_copy_mode": "remote", "src": WORK + "\\two.txt", "dest": "C:\\Copy\\"}
    result = ok(host, tw.WIN_COPY, args)
    assert result["changed"] is True and result["dest"] == "C:\\Copy\\two.txt" and result["size"] == 1
    assert result["checksum"] == hashlib.sha1(b"2").hexdigest()
    assert ok(host, tw.WIN_COPY, args)["changed"] is False
    # remote folder copy
    result = ok(host, tw.WIN_COPY, {"_copy_mode": "remote", "src": WORK + "\\sub", "dest": "C:\\Copy"})
    assert result["operation"] == "folder_copy" and host.read_file("C:\\Copy\\sub\\one.txt") == b"1"
    msg = fail(host, tw.WIN_COPY, {"_copy_mode": "bogus", "dest": "x"})["msg"]
    assert "_copy_mode needs to be one of" in msg


# ----------------------------------------------------------------------------- win_unzip
def test_win_unzip_extracts_the_package():
    host = make()
    host.write_file(WORK + "\\pkg.zip", gen.onboarding_zip(ORG))
    args = {"src": WORK + "\\pkg.zip", "dest": WORK, "delete_archive": True}
    result = ok(host, tw.WIN_UNZIP, args, check=True)
    assert result["changed"] is True and host.read_file(WORK + "\\" + SCRIPT) is None  # check mode
    result = ok(host, tw.WIN_UNZIP, args)
    assert result == {"changed": True, "dest": WORK, "removed": True, "src": WORK + "\\pkg.zip"}
    assert host.read_file(WORK + "\\" + SCRIPT) == gen.onboarding_script(ORG).encode()
    assert host.read_file(WORK + "\\OptionalParamsPolicy\\AtpConfiguration.admx") is not None
    assert not host.path_exists(WORK + "\\pkg.zip")
    assert "does not exist" in fail(host, tw.WIN_UNZIP, args)["msg"]
    host.write_file(WORK + "\\bad.zip", b"PK\x03\x04this is not a zip")
    msg = fail(host, tw.WIN_UNZIP, {"src": WORK + "\\bad.zip", "dest": WORK})["msg"]
    assert msg.startswith("Error unzipping 'C:\\Temp\\MDE\\bad.zip' to 'C:\\Temp\\MDE'!. Method: System.IO.Compression")
    result = ok(host, tw.WIN_UNZIP, {"src": WORK + "\\bad.zip", "dest": WORK, "creates": WORK + "\\" + SCRIPT})
    assert result["skipped"] is True and result["changed"] is False
    assert "PSCX" in fail(host, tw.WIN_UNZIP, {"src": WORK + "\\bad.zip", "dest": WORK, "recurse": True})["msg"]


def test_win_unzip_refuses_members_outside_dest():
    host = make()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.cmd", "x")
    host.write_file(WORK + "\\evil.zip", buf.getvalue())
    msg = fail(host, tw.WIN_UNZIP, {"src": WORK + "\\evil.zip", "dest": WORK})["msg"]
    assert "outside the destination" in msg and not host.path_exists("C:\\Temp\\evil.cmd")


# ----------------------------------------------------------------------------- win_command
def _comparable(state: dict) -> dict:
    out = {k: v for k, v in state.items() if k not in ("files", "events", "name", "hostname", "boot")}
    out["events"] = [(e["log"], e["source"], e["id"], e["level"], e["message"]) for e in state.get("events", [])]
    return out


def test_win_command_runs_the_onboarding_script_with_redirected_stdin():
    """Start-AnsibleWindowsProcess gives the script a stdin pipe: its 'timeout 5' waits fail at once.

    net start waits for Sense; the poll for OnboardingState then collapses and the script exits 35
    while Sense writes it two seconds later (what the naive baseline meets on Windows).
    """
    host = make()
    with_script(host)
    result = fail(host, tw.WIN_COMMAND, {"cmd": "cmd.exe /c " + SCRIPT, "chdir": WORK})
    assert result["rc"] == 35 and result["msg"] == "non-zero return code" and result["changed"] is True
    assert "Starting the sensor service" in result["stdout"]
    assert not rules.is_onboarded(host.state)
    host.advance(native.conditions.SENSE_ONBOARD_S)
    assert rules.is_onboarded(host.state) and host.reg_get(ATP_STATUS_KEY, "OrgId") == ORG


def test_win_command_onboarding_of_a_running_sensor_succeeds():
    host = make(onboarded_org=ORG)
    with_script(host)
    result = ok(host, tw.WIN_COMMAND, {"cmd": "cmd.exe /c " + SCRIPT, "chdir": WORK})
    assert result["rc"] == 0 and "runs already" in result["stdout"]


def test_win_command_onboarding_where_sense_cannot_start():
    host = make(faults={"onboarding_exit_code": 15})
    with_script(host)
    assert fail(host, tw.WIN_COMMAND, {"cmd": "cmd.exe /c " + SCRIPT, "chdir": WORK})["rc"] == 15


def test_win_command_forms_and_failures():
    host = make()
    path = WORK + "\\hello.cmd"
    host.write_file(path, b"@echo off\r\necho hello\r\n")
    # absolute path, no cmd.exe: CreateProcess runs a batch file with cmd.exe
    assert ok(host, tw.WIN_COMMAND, {"_raw_params": '"%s"' % path})["stdout"] == "hello\r\n"
    # cmd.exe /c with a script that is not there: cmd's message, rc 1
    result = fail(host, tw.WIN_COMMAND, {"_raw_params": "cmd.exe /c missing.cmd", "chdir": WORK})
    assert result["rc"] == 1 and "is not recognized as an internal or external command" in result["stderr"]
    # the same without cmd.exe: the process cannot start
    result = fail(host, tw.WIN_COMMAND, {"_raw_params": "C:\\missing.cmd"})
    assert result["rc"] == 2 and "cannot find the file" in result["msg"]
    # anything else is named, never a silent success
    msg = fail(host, tw.WIN_COMMAND, {"_raw_params": "whoami.exe /all"})["msg"]
    assert "winsim" in msg and "whoami.exe /all" in msg
    # the local script asks again and again with stdin at its end: refused rather than hanging
    local = with_script(host, path=WORK + "\\Local.cmd", local=True)
    assert "never ends" in fail(host, tw.WIN_COMMAND, {"_raw_params": local})["msg"]
    # the stdin option feeds the program
    assert ok(host, tw.WIN_COMMAND, {"_raw_params": 'find "b"', "stdin": "a\nb\n"})["stdout"] == "b\r\n"
    # check mode: Ansible.Basic skips a module without check-mode support
    result = ok(host, tw.WIN_COMMAND, {"_raw_params": path}, check=True)
    assert result["skipped"] is True and "does not support check mode" in result["msg"]
    assert "mutually exclusive" in fail(host, tw.WIN_COMMAND, {"_raw_params": "a", "cmd": "b"})["msg"]
    assert "Unsupported parameters" in fail(host, tw.WIN_COMMAND, {"_raw_params": "a", "bogus": 1})["msg"]
    assert ok(host, tw.WIN_COMMAND, {"_raw_params": "whoami", "creates": path})["skipped"] is True


def test_win_command_offboarding_and_msiexec():
    host = make(onboarded_org=ORG)
    assert rules.is_onboarded(host.state)
    off = WORK + "\\" + gen.offboarding_name(datetime.date.today() + datetime.timedelta(days=7))
    host.write_file(off, gen.offboarding_script(ORG, datetime.date.today() + datetime.timedelta(days=7)).encode())
    # the poll for STOPPED collapses too: exit 15, Sense stops a few seconds later
    assert fail(host, tw.WIN_COMMAND, {"cmd": 'cmd /c "%s"' % off})["rc"] == 15
    assert host.reg_get(ATP_POLICY_KEY, "OnboardingInfo") is None
    host.advance(native.conditions.SENSE_OFFBOARD_S)
    assert not rules.is_onboarded(host.state)
    server = make("s", os="server2016", third_party_av=[{"name": "Trellix Endpoint Security"}])
    server.write_file("C:\\Temp\\md4ws.msi", gen.fake_installer())
    ok(server, tw.WIN_COMMAND, {"_raw_params": "msiexec.exe /i C:\\Temp\\md4ws.msi /quiet FORCEPASSIVEMODE=1"})
    assert server.state["mde"]["unified_agent"] and server.state["mde"]["unified_agent_force_passive"]
    result = fail(server, tw.WIN_COMMAND, {"_raw_params": "msiexec /i C:\\Temp\\missing.msi /quiet"})
    assert result["rc"] == 1619


# ----------------------------------------------------------------------------- win_shell / win_powershell
def test_win_shell_get_mp_computer_status():
    host = make()
    result = ok(host, tw.WIN_SHELL, {"_raw_params": "Get-MpComputerStatus | ConvertTo-Json"})
    status = json.loads(result["stdout"])
    assert status["AMRunningMode"] == rules.derive_running_mode(host.state) == rules.NOT_RUNNING
    assert set(status) == set(win_defender.FIELDS) and result["rc"] == 0 and result["changed"] is True
    cmd = (
        "Get-MpComputerStatus |\n  Select-Object AMRunningMode, RealTimeProtectionEnabled |\n  ConvertTo-Json -Compress"
    )
    result = ok(host, tw.WIN_SHELL, {"_raw_params": cmd})
    assert json.loads(result["stdout"]) == {"AMRunningMode": "Not running", "RealTimeProtectionEnabled": False}
    result = ok(host, tw.WIN_SHELL, {"cmd": "Get-MpComputerStatus | Select-Object -ExpandProperty AMRunningMode"})
    assert result["stdout"].strip() == "Not running"
    text = ok(host, tw.WIN_SHELL, {"cmd": "Get-MpComputerStatus | Format-List"})["stdout"]
    assert "AMRunningMode" in text and ": Not running" in text
    # Defender not installed: the cmdlet fails, rc 1
    bare = make("b", os="windows7_sp1")
    result = fail(bare, tw.WIN_SHELL, {"cmd": "Get-MpComputerStatus | ConvertTo-Json"})
    assert result["rc"] == 1 and result["stderr"].startswith("Get-MpComputerStatus : ")


def test_win_shell_get_win_event():
    host = make()
    cmd = (
        "Get-WinEvent -FilterHashtable @{LogName='Application'; ProviderName='WDATPOnboarding'; Id=20} -MaxEvents 1"
        " | Select-Object TimeCreated, Id, Message | ConvertTo-Json"
    )
    result = fail(host, tw.WIN_SHELL, {"cmd": cmd})
    assert result["rc"] == 1 and tw.NO_EVENTS in result["stderr"] and result["msg"] == "non-zero return code"
    quiet = "Get-WinEvent -FilterHashtable @{LogName='Application'; Id=20} -ErrorAction SilentlyContinue"
    assert ok(host, tw.WIN_SHELL, {"cmd": quiet})["stdout"] == ""
    with_script(host)
    host.set_service("Sense", state="running")  # running already: the script succeeds with collapsed polls
    host.reg_set(ATP_STATUS_KEY, "OnboardingState", 1, "REG_DWORD")
    ok(host, tw.WIN_COMMAND, {"cmd": "cmd.exe /c " + SCRIPT, "chdir": WORK})
    event = json.loads(ok(host, tw.WIN_SHELL, {"cmd": cmd})["stdout"])
    assert event["Id"] == 20 and "Successfully onboarded" in event["Message"]
    assert event["TimeCreated"].startswith("/Date(")
    events = json.loads(ok(host, tw.WIN_SHELL, {"cmd": "Get-WinEvent -LogName Application | ConvertTo-Json"})["stdout"])
    assert sorted(e["Id"] for e in events) == [10, 20]  # "runs already", then success (newest first)


def test_win_shell_names_what_it_does_not_understand():
    host = make()
    msg = fail(host, tw.WIN_SHELL, {"cmd": "Get-Process | ConvertTo-Json"})["msg"]
    assert "Get-Process" in msg and "It understands" in msg
    msg = fail(host, tw.WIN_SHELL, {"cmd": "Get-MpComputerStatus | Sort-Object"})["msg"]
    assert "Sort-Object" in msg
    assert "executable" in fail(host, tw.WIN_SHELL, {"cmd": "x", "executable": "bash"})["msg"]
    result = ok(host, tw.WIN_SHELL, {"cmd": "Get-MpComputerStatus"}, check=True)
    assert result["skipped"] is True and result["changed"] is False


def test_win_powershell_objects_expand_archive_and_flags():
    host = make()
    result = ok(host, tw.WIN_POWERSHELL, {"script": "Get-MpComputerStatus | Select-Object AMRunningMode"})
    assert result["output"] == [{"AMRunningMode": "Not running"}] and result["changed"] is True
    script = "$Ansible.Changed = $false\nGet-MpComputerStatus | Select-Object -ExpandProperty IsTamperProtected"
    result = ok(host, tw.WIN_POWERSHELL, {"script": script})
    assert result["output"] == [False] and result["changed"] is False
    host.write_file(WORK + "\\pkg.zip", gen.onboarding_zip(ORG))
    expand = "Expand-Archive -Path '%s\\pkg.zip' -DestinationPath '%s' -Force" % (WORK, WORK)
    ok(host, tw.WIN_POWERSHELL, {"script": expand})
    assert host.read_file(WORK + "\\" + SCRIPT) is not None
    result = ok(host, tw.WIN_POWERSHELL, {"script": expand.replace(" -Force", "")})
    assert result["error"] and "already exists" in result["error"][0]["output"]
    assert fail(host, tw.WIN_POWERSHELL, {"script": expand.replace(" -Force", ""), "error_action": "stop"})
    result = ok(host, tw.WIN_POWERSHELL, {"script": expand}, check=True)
    assert result["msg"] == "skipped, running in check mode"
    assert "Invoke-WebRequest" in fail(host, tw.WIN_POWERSHELL, {"script": "Invoke-WebRequest http://x"})["msg"]


# ----------------------------------------------------------------------------- win_regedit
def test_win_regedit_sets_a_dword_with_check_mode_and_diff():
    host = make(os="server2022")
    args = {"path": POLICY_PS, "name": "ForceDefenderPassiveMode", "data": 1, "type": "dword"}
    result = ok(host, tw.WIN_REGEDIT, args, check=True, diff=True)
    assert result["changed"] is True and host.reg_get(ATP_POLICY_KEY, "ForceDefenderPassiveMode") is None
    assert result["diff"] == {"before": {}, "after": {POLICY_PS: {}}}  # key missing: check mode stops there
    result = ok(host, tw.WIN_REGEDIT, args, diff=True)
    assert result["changed"] is True and result["data_changed"] is False
    after = {"type": "DWord", "value": "0x00000001"}
    assert result["diff"] == {"before": {}, "after": {POLICY_PS: {"ForceDefenderPassiveMode": after}}}
    assert host.reg_get_item(ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_DWORD", "data": 1}
    result = ok(host, tw.WIN_REGEDIT, args, diff=True)
    assert result["changed"] is False and "diff" in result
    assert result["diff"]["before"] == result["diff"]["after"]
    # a change of data, then of type
    result = ok(host, tw.WIN_REGEDIT, {**args, "data": "0x0"}, diff=True)
    assert (
        result["changed"]
        and result["data_changed"]
        and result["diff"]["after"][POLICY_PS][args["name"]]
        == {
            "type": "DWord",
            "value": "0x00000000",
        }
    )
    result = ok(host, tw.WIN_REGEDIT, {**args, "data": "0", "type": "string"})
    assert result["data_type_changed"] is True
    assert host.reg_get_item(ATP_POLICY_KEY, "ForceDefenderPassiveMode") == {"type": "REG_SZ", "data": "0"}
    # the registry change alone does not move Defender's mode (it is read at boot / onboarding)
    assert rules.derive_running_mode(host.state) == rules.NORMAL


def test_win_regedit_absent_and_errors():
    host = make()
    host.reg_set(ATP_POLICY_KEY, "Extra", 5, "REG_DWORD")
    result = ok(host, tw.WIN_REGEDIT, {"path": POLICY_PS, "name": "Extra", "state": "absent"}, diff=True)
    assert result["changed"] and result["diff"]["before"] == {
        POLICY_PS: {"Extra": {"type": "DWord", "value": "0x00000005"}}
    }
    assert ok(host, tw.WIN_REGEDIT, {"path": POLICY_PS, "name": "Extra", "state": "absent"})["changed"] is False
    ok(host, tw.WIN_REGEDIT, {"path": POLICY_PS, "state": "absent"})
    assert not host.reg_key_exists(ATP_POLICY_KEY)
    assert "not a valid powershell path" in fail(host, tw.WIN_REGEDIT, {"path": "HKLM\\SOFTWARE\\X"})["msg"]
    assert (
        "larger than 0xffffffff"
        in fail(host, tw.WIN_REGEDIT, {"path": POLICY_PS, "name": "V", "data": 2**32, "type": "dword"})["msg"]
    )
    assert "must be one of" in fail(host, tw.WIN_REGEDIT, {"path": POLICY_PS, "type": "word"})["msg"]
    # a named string value without data is written as ""
    ok(host, tw.WIN_REGEDIT, {"key": POLICY_PS, "value": "Empty"})
    assert host.reg_get_item(ATP_POLICY_KEY, "Empty") == {"type": "REG_SZ", "data": ""}


# ----------------------------------------------------------------------------- win_service_info
def test_win_service_info():
    host = make()
    result = ok(host, tw.WIN_SERVICE_INFO, {"name": "sense"})
    assert result["exists"] is True and len(result["services"]) == 1
    sense = result["services"][0]
    assert (sense["name"], sense["state"], sense["start_mode"]) == ("Sense", "stopped", "manual")
    host.set_service("Sense", state="running", start_mode="auto")
    assert ok(host, tw.WIN_SERVICE_INFO, {"name": "Sense"})["services"][0]["state"] == "started"
    assert ok(host, tw.WIN_SERVICE_INFO, {"name": "NoSuchService"}) == {
        "changed": False,
        "exists": False,
        "services": [],
    }
    everything = ok(host, tw.WIN_SERVICE_INFO, {})["services"]
    assert {s["name"] for s in everything} == set(host.state["services"])
    assert set(sense) >= {"display_name", "path", "process_id", "service_type", "username", "win32_exit_code"}
