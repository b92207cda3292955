"""Decoding of what Ansible sends (real payloads from 2.21.5 and 2.19.14) and its execution."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from tests.unit.winsim.conftest import CORES, SEPARATOR, encoded_command, make_host, module_stdin, recorded
from tests.winsim import payload
from tests.winsim.payload import PayloadError, decode, decode_command_line, execute


@pytest.fixture(params=CORES)
def core(request) -> dict:
    return recorded(request.param)


# ---------------------------------------------------------------------------- recorded payloads
def test_recorded_module_run(core):
    rec = core["module_win_ping"]
    inv = decode(rec.command_line, rec.stdin)
    assert inv.kind == payload.KIND_MODULE
    assert inv.module == "ansible.windows.win_ping"
    assert inv.module_args["data"] == "fixture"
    assert inv.module_args["_ansible_module_name"] == "ansible.windows.win_ping"
    assert inv.wrappers == []
    assert payload.is_bootstrap_wrapper(inv.script)


def test_recorded_command_line_encoding_differs_by_core():
    new = decode_command_line(recorded("2.21.5")["module_win_ping"].command_line)
    old = decode_command_line(recorded("2.19.14")["module_win_ping"].command_line)
    assert new and old
    assert recorded("2.21.5")["module_win_ping"].command_line.startswith("powershell ")
    assert recorded("2.19.14")["module_win_ping"].command_line.startswith("PowerShell ")
    assert "$inputData" in new.script and "$inputData" not in old.script  # 2.21 reads -InputFile or stdin


@pytest.mark.parametrize(
    "label, kind, param, expected",
    [
        ("mkdtemp_script", payload.KIND_MKDTEMP, "Directory", "%TEMP%"),
        ("put_file_script", payload.KIND_PUT, "Path", "hello.ps1"),
        ("expand_user", payload.KIND_EXPAND_USER, "Path", "~\\AppData\\Local\\Temp"),
        ("fetch_file", payload.KIND_FETCH, "Path", "blob.bin"),
        ("fetch_dir", payload.KIND_FETCH, "Path", "\\."),
    ],
)
def test_recorded_exec_wrapper_actions(core, label, kind, param, expected):
    rec = core[label]
    inv = decode(rec.command_line, rec.stdin)
    assert inv.kind == kind
    assert str(inv.params[param]).endswith(expected)


def test_recorded_script_run(core):
    rec = core["script_run"]
    inv = decode(rec.command_line, rec.stdin)
    assert inv.kind == payload.KIND_SCRIPT
    assert inv.module == "ansible.builtin.script.hello.ps1"
    assert inv.script_body and inv.script_body.rstrip().endswith("exit $LASTEXITCODE")
    assert "hello.ps1 arg1" in inv.script_body


def test_recorded_become_and_async_wrappers(core):
    become = decode(core["module_become"].command_line, core["module_become"].stdin)
    assert become.kind == payload.KIND_MODULE and become.wrappers == ["become_wrapper.ps1"]
    assert not become.is_async
    run_async = decode(core["module_async"].command_line, core["module_async"].stdin)
    assert run_async.wrappers == ["async_wrapper.ps1", "async_watchdog.ps1"] and run_async.is_async


@pytest.mark.parametrize("label", ["raw_hostname", "remove_tmp_script", "boot_time", "reboot", "logon_check"])
def test_recorded_raw_commands(core, label):
    rec = core[label]
    assert rec.stdin == b""
    inv = decode(rec.command_line, rec.stdin)
    assert inv.kind == payload.KIND_RAW


def test_recorded_put_file_then_fetch_roundtrip(core, tmp_path):
    host = make_host()
    put = decode(core["put_file_push"].command_line, core["put_file_push"].stdin)
    original = b"winsim fixture payload\n" * 3
    out = execute(host, put)
    assert out.rc == 0
    assert json.loads(out.stdout) == {"sha1": hashlib.sha1(original).hexdigest()}
    fetched = execute(host, decode(core["fetch_file"].command_line, core["fetch_file"].stdin))
    assert base64.b64decode(fetched.stdout.strip()) == original
    directory = execute(host, decode(core["fetch_dir"].command_line, core["fetch_dir"].stdin))
    assert directory.stdout.strip() == "[DIR]"


def test_recorded_mkdtemp_prints_full_path_last(core):
    host = make_host()
    out = execute(host, decode(core["mkdtemp_script"].command_line, core["mkdtemp_script"].stdin))
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("C:\\Windows\\TEMP\\ansible-tmp-")
    assert host.is_dir(last)


def test_recorded_expand_user(core):
    out = execute(make_host(), decode(core["expand_user"].command_line, core["expand_user"].stdin))
    assert out.stdout.strip() == "C:\\Users\\ansible\\AppData\\Local\\Temp"


def test_recorded_script_runs_the_uploaded_file(core):
    host = make_host()
    put = decode(core["put_file_script"].command_line, core["put_file_script"].stdin)
    assert execute(host, put).rc == 0
    out = execute(host, decode(core["script_run"].command_line, core["script_run"].stdin))
    assert (out.rc, out.stdout) == (0, "hello from script\r\n")


def test_script_whose_file_is_missing_fails(core):
    out = execute(make_host(), decode(core["script_run"].command_line, core["script_run"].stdin))
    assert out.rc == 1 and "is not recognized" in out.stderr


def test_async_is_a_clear_failure(core):
    out = execute(make_host(), decode(core["module_async"].command_line, core["module_async"].stdin))
    result = json.loads(out.stdout)
    assert out.rc == 1 and result["failed"] and "async is not simulated" in result["msg"]


def test_become_runs_the_module(core):
    out = execute(make_host(), decode(core["module_become"].command_line, core["module_become"].stdin))
    assert out.rc == 0 and json.loads(out.stdout)["ping"] == "pong"


# ---------------------------------------------------------------------------- modules
def test_module_run_answers_twin_result():
    line, stdin = module_stdin("ansible.windows.win_ping", {"data": "x"})
    out = execute(make_host(), decode(line, stdin))
    assert (out.rc, json.loads(out.stdout)) == (0, {"changed": False, "ping": "x"})


def test_unknown_module_fails_naming_it():
    line, stdin = module_stdin("demo.win.win_nothing", {})
    out = execute(make_host(), decode(line, stdin))
    result = json.loads(out.stdout)
    assert out.rc == 1 and result["failed"] and "demo.win.win_nothing" in result["msg"]


def test_module_name_falls_back_to_ansible_module_name():
    assert payload.module_name_from_script("weird.ps1", {"_ansible_module_name": "a.b.c"}) == "a.b.c"
    with pytest.raises(PayloadError, match="cannot tell the module"):
        payload.module_name_from_script("weird.ps1", {})


# ---------------------------------------------------------------------------- command lines
def test_nested_encoded_command_is_unwrapped():
    inner = encoded_command("hostname")
    outer = encoded_command(inner)
    call = decode_command_line(outer)
    assert call and call.script == "hostname" and call.layers == 2


def test_encoded_arguments_are_read():
    clixml = (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
        '<TN RefId="0"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST>'
        "<S>C:\\tmp\\in put.json</S><S>a_x000A_b</S></LST></Obj></Objs>"
    )
    args = base64.b64encode(clixml.encode("utf-16-le")).decode()
    call = decode_command_line(encoded_command("param($x)") + " -EncodedArguments " + args)
    assert call and call.arguments == ["C:\\tmp\\in put.json", "a\nb"]


def test_bootstrap_reads_input_file_named_by_encoded_arguments(core):
    rec = core["module_win_ping"]
    clixml = '<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj><LST><S>C:\\t\\in.txt</S></LST></Obj></Objs>'
    line = rec.command_line + " -EncodedArguments " + base64.b64encode(clixml.encode("utf-16-le")).decode()
    inv = decode(line, b"", {"C:\\t\\in.txt": rec.stdin}.get)
    assert inv.kind == payload.KIND_MODULE
    with pytest.raises(PayloadError, match="does not exist"):
        decode(line, b"", lambda _path: None)


def test_plain_cmd_line_is_raw():
    inv = decode("ipconfig /all", b"")
    assert inv.kind == payload.KIND_RAW and inv.script == "ipconfig /all"


def test_bad_base64_names_the_problem():
    with pytest.raises(PayloadError, match="-EncodedCommand is not base64"):
        decode("powershell -EncodedCommand @@@", b"")


def test_manifest_without_separator_is_an_error(core):
    rec = core["module_win_ping"]
    with pytest.raises(PayloadError, match="no exec manifest"):
        decode(rec.command_line, rec.stdin.split(SEPARATOR)[0])


def test_unknown_last_action_is_an_error(core):
    rec = core["mkdtemp_script"]
    boot, manifest = rec.stdin.split(SEPARATOR)
    data = json.loads(manifest)
    data["actions"][-1]["name"] = "psrp_put_file.ps1"
    with pytest.raises(PayloadError, match=r"psrp_put_file\.ps1"):
        decode(rec.command_line, boot + SEPARATOR + json.dumps(data).encode())


# ---------------------------------------------------------------------------- ansible-core <= 2.18
def _legacy_stdin(payload_dict: dict) -> bytes:
    return b"<exec_wrapper.ps1 source>" + b"\0\0\0\0" + json.dumps(payload_dict).encode()


LEGACY_STUB = (
    "&chcp.com 65001 > $null\n$exec_wrapper_str = $input | Out-String\n"
    '$split_parts = $exec_wrapper_str.Split(@("`0`0`0`0"), 2, [StringSplitOptions]::RemoveEmptyEntries)'
)


def test_legacy_module_payload_double_encoded():
    line = encoded_command(encoded_command(LEGACY_STUB))
    stdin = _legacy_stdin(
        {
            "module_entry": "",
            "module_args": {"data": "old", "_ansible_module_name": "ansible.windows.win_ping"},
            "actions": ["exec", "module_powershell_wrapper"],
        }
    )
    inv = decode(line, stdin)
    assert (inv.kind, inv.module, inv.core) == (payload.KIND_MODULE, "ansible.windows.win_ping", "<=2.18")
    assert json.loads(execute(make_host(), inv).stdout)["ping"] == "old"


def test_legacy_script_payload():
    body = base64.b64encode(b"& C:\\t\\x.ps1 ; exit $LASTEXITCODE").decode()
    inv = decode(
        encoded_command(LEGACY_STUB), _legacy_stdin({"module_entry": body, "actions": ["module_script_wrapper"]})
    )
    assert inv.kind == payload.KIND_SCRIPT and inv.script_body.startswith("& C:\\t\\x.ps1")
