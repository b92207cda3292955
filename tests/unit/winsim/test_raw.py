"""Raw PowerShell scripts: win_reboot's commands, temp-dir removal, ``-m raw`` basics."""

from __future__ import annotations

import json

import pytest

from tests.unit.winsim.conftest import CORES, make_host, recorded
from tests.winsim import payload, raw
from tests.winsim.raw import LOGON_UI_KEY, normalise, run_raw, split_statements

BOOT_TIME = (
    "(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()"
    "; If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE }"
    " Else { exit 1 } }"
)


class FakePower:
    def __init__(self, pending: bool = False, abortable: bool = True) -> None:
        self.pending = pending
        self.abortable = abortable
        self.aborted = False

    def reboot_pending(self) -> bool:
        return self.pending

    def abort_reboot(self) -> bool:
        if self.pending and self.abortable:
            self.aborted = True
            self.pending = False
            return True
        return False


def _raw_script(core: dict, label: str) -> str:
    rec = core[label]
    return payload.decode(rec.command_line, rec.stdin).script


@pytest.fixture(params=CORES)
def core(request) -> dict:
    return recorded(request.param)


# ---------------------------------------------------------------------------- win_reboot
def test_boot_time_is_the_filetime(core):
    host = make_host()
    result = run_raw(host, _raw_script(core, "boot_time"))
    assert (result.rc, result.stdout.strip(), result.kind) == (0, str(host.last_boot_filetime), "boot_time")


def test_reboot_command_requests_a_reboot_and_answers_json(core):
    host = make_host()
    host.reg_ensure_key(LOGON_UI_KEY)
    result = run_raw(host, _raw_script(core, "reboot"), FakePower())
    assert result.rc == 0 and result.kind == "reboot"
    assert json.loads(result.stdout) == {"stdout": "", "stderr": "", "rc": 0}
    assert host.reboot_requested == 2.0  # pre_reboot_delay default
    assert not host.reg_key_exists(LOGON_UI_KEY)  # removed so win_reboot can wait for LogonUI


def test_second_reboot_while_one_is_pending_is_1190(core):
    host = make_host()
    result = run_raw(host, _raw_script(core, "reboot"), FakePower(pending=True))
    assert json.loads(result.stdout)["rc"] == 1190
    assert host.reboot_requested is None


def test_shutdown_abort():
    host = make_host()
    power = FakePower(pending=True)
    assert run_raw(host, r"C:\Windows\System32\shutdown.exe /a", power).rc == 0 and power.aborted
    nothing = run_raw(host, r"C:\Windows\System32\shutdown.exe /a", FakePower())
    assert nothing.rc == 1116 and "no shutdown was in progress" in nothing.stderr


def test_logon_check_echoes_the_token_once_logon_ui_is_up(core):
    host = make_host()
    host.reg_delete_key(
        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"
    )  # logon not done
    script = _raw_script(core, "logon_check")
    missing = run_raw(host, script)
    assert missing.rc == 1 and "Cannot find path" in missing.stderr
    host.complete_boot()  # the boot hook recreates AutoLogonChecked
    ready = run_raw(host, script)
    token = script.split("'")[-2]
    assert ready.rc == 0 and token.startswith("success-") and token in ready.stdout
    assert ready.kind == "logon_check"


def test_plain_shutdown_raw_command():
    host = make_host()
    result = run_raw(host, "shutdown /r /t 5")
    assert (result.rc, result.stdout) == (0, "") and host.reboot_requested == 5.0


# ---------------------------------------------------------------------------- temp dirs
@pytest.mark.parametrize(
    "label, mkdtemp_label", [("remove_tmp_script", "mkdtemp_script"), ("remove_tmp_push", "mkdtemp_push")]
)
def test_temp_dir_removal(core, label, mkdtemp_label):
    host = make_host()
    rec = core[mkdtemp_label]
    # The recorded removal targets the directory the recorded mkdtemp created.
    inv = payload.decode(rec.command_line, rec.stdin)
    if inv.kind == payload.KIND_EXPAND_USER:  # pragma: no cover - labels are fixed
        pytest.fail("fixture order changed")
    created = payload.execute(host, inv).stdout.strip()
    script = _raw_script(core, label)
    result = run_raw(host, script)
    assert (result.rc, result.kind) == (0, "remove"), result.stderr
    assert not host.path_exists(created)
    again = run_raw(host, script)
    assert again.rc == 1 and "does not exist" in again.stderr


def test_recorded_removal_forms_differ_by_core():
    new = _raw_script(recorded("2.21.5"), "remove_tmp_script")
    old = _raw_script(recorded("2.19.14"), "remove_tmp_script")
    assert new.startswith("Remove-Item C:\\")  # 2.21: bare path, no strict mode
    assert old.startswith("Set-StrictMode -Version Latest")  # 2.19: quoted path, strict mode, rc trailer
    assert normalise(old).startswith("Remove-Item '")


# ---------------------------------------------------------------------------- -m raw
def test_hostname_whoami_echo(core):
    host = make_host("web01", hostname="WEB01")
    assert run_raw(host, _raw_script(core, "raw_hostname")).stdout == "WEB01\r\n"
    result = run_raw(host, "HOSTNAME; whoami.exe\necho 'it''s' \"two words\" bare")
    assert result.rc == 0
    assert result.stdout.splitlines() == ["WEB01", "web01\\ansible", "it's", "two words", "bare"]
    assert result.kind == "hostname+whoami+echo"


def test_exit_code_and_test_path():
    host = make_host()
    host.make_dirs("C:\\Data")
    assert run_raw(host, "exit 3").rc == 3
    assert run_raw(host, "Test-Path -LiteralPath 'C:\\Data'").stdout == "True\r\n"
    assert run_raw(host, "exit -not (Test-Path -LiteralPath 'c:\\data')").rc == 0
    assert run_raw(host, "exit -not (Test-Path -LiteralPath 'C:\\Nope')").rc == 1


@pytest.mark.parametrize(
    "script", ["Get-Process", "hostname; Get-Service WinDefend", "echo $env:PATH", "", "Remove-Item C:\\x"]
)
def test_unsupported_raw_commands_fail_and_name_the_command(script):
    host = make_host()
    before = host.serialise()
    result = run_raw(host, script)
    assert result.rc == 1 and result.kind == "unsupported"
    assert result.stderr.startswith("winsim: unsupported raw command: ")
    assert host.serialise() == before  # nothing partially applied


def test_unsupported_message_is_cut_at_200_chars():
    result = run_raw(make_host(), "Get-ChildItem " + "x" * 500)
    assert len(result.stderr.strip()) == len("winsim: unsupported raw command: ") + 200


def test_normalise_and_split():
    script = (
        "Set-StrictMode -Version Latest\nhostname; echo 'a;b' {x; y}\n"
        "If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) { exit $LASTEXITCODE } "
        "Else { exit 1 } }"
    )
    text = normalise(script)
    assert text == "hostname; echo 'a;b' {x; y}"
    assert split_statements(text) == ["hostname", "echo 'a;b' {x; y}"]
    assert raw.unquote("'it''s'") == "it's"
