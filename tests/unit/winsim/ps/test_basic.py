"""The Ansible.Basic model and module_wrapper.ps1's handling of a module's output and errors.

Expected messages are Ansible.Basic.cs's (ansible-core) and module_wrapper.ps1's own.
"""

from __future__ import annotations

import json

import pytest

from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost
from tests.winsim.ps.wrapper import run_module

SPEC = """
$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true; aliases = 'n' }
        count = @{ type = 'int'; default = 2 }
        flag = @{ type = 'bool' }
        mode = @{ type = 'str'; choices = 'a', 'b' }
        items = @{ type = 'list'; elements = 'int' }
        secret = @{ type = 'str'; no_log = $true }
        sub = @{ type = 'dict'; options = @{ x = @{ type = 'str'; required = $true } } }
    }
    mutually_exclusive = @(, @('flag', 'mode'))
    required_if = @(, @('mode', 'b', @('items')))
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
"""


def run(
    body: str, args: dict, *, csharp: tuple[str, ...] = ("Ansible.Basic",), check: bool = False
) -> tuple[int, str, dict | None]:
    host = SimHost("h", new_state("h", {"os": "server2022"}), None)
    complex_args = dict(args, _ansible_module_name="test.mod", _ansible_check_mode=check)
    run = run_module(
        host, "mod.ps1", body, [], list(csharp), [{"Name": "complex_args", "Value": complex_args, "Scope": "Global"}]
    )
    return run.rc, run.stdout, run.result


def test_params_are_validated_converted_and_defaulted():
    body = (
        SPEC
        + "$module.Result.p = $module.Params; $module.Result.t = $module.Params.count.GetType().Name\n"
        + "$module.ExitJson()"
    )
    rc, _out, result = run(body, {"n": "x", "count": "5", "flag": "yes", "items": "1, 2", "sub": {"x": 1}})
    assert rc == 0
    p = result["p"]
    assert (
        p["name"] == "x" and p["count"] == 5 and p["flag"] is True and p["items"] == [1, 2] and p["sub"] == {"x": "1"}
    )
    assert p["mode"] is None and p["secret"] is None and result["t"] == "Int32"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: name"),
        (
            {"name": "x", "bogus": 1},
            "Unsupported parameters for (test.mod) module: bogus. Supported parameters include:",
        ),
        (
            {"name": "x", "count": "two"},
            "argument for count is of type System.String and we were unable to convert to int: "
            "Input string was not in a correct format.",
        ),
        (
            {"name": "x", "flag": "maybe"},
            "argument for flag is of type System.String and we were unable to convert to bool: "
            "The value 'maybe' is not a valid boolean.",
        ),
        ({"name": "x", "mode": "c"}, "value of mode must be one of: a, b. Got no match for: c"),
        ({"name": "x", "flag": True, "mode": "a"}, "parameters are mutually exclusive: flag, mode"),
        ({"name": "x", "mode": "b"}, "mode is b but all of the following are missing: items"),
        ({"name": "x", "sub": {}}, "missing required arguments: x found in sub"),
        (
            {"name": "x", "items": ["a"]},
            "argument for list entry items is of type System.String and we were unable to convert to int",
        ),
    ],
)
def test_invalid_arguments_fail_with_ansible_basic_messages(args, message):
    rc, _out, result = run(SPEC + "$module.ExitJson()", args)
    assert rc == 1 and result["failed"] is True
    assert message in result["msg"], result["msg"]


def test_no_log_values_are_masked_in_messages_and_invocation():
    body = SPEC + '$module.FailJson("bad $($module.Params.secret)!")'
    rc, _out, result = run(body, {"name": "x", "secret": "hunter2", "_ansible_inject_invocation": True})
    assert rc == 1 and result["msg"] == "bad ********!"
    assert result["invocation"]["module_args"]["secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_warnings_check_mode_tmpdir_and_exit():
    body = (
        SPEC
        + """
    $module.Warn('careful')
    $module.Result.check = $module.CheckMode
    $module.Result.tmp = $module.Tmpdir
    $module.Result.exists = Test-Path -LiteralPath $module.Tmpdir
    $module.ExitJson()
    'never'
    """
    )
    rc, out, result = run(body, {"name": "x"}, check=True)
    assert rc == 0 and result["warnings"] == ["careful"] and result["check"] is True and result["exists"] is True
    assert "never" not in out


def test_check_mode_without_support_skips():
    body = "$module = [Ansible.Basic.AnsibleModule]::Create($args, @{ options = @{} }); 'x'"
    rc, _out, result = run(body, {}, check=True)
    assert (
        rc == 0
        and result["skipped"] is True
        and result["msg"] == "remote module (test.mod) does not support check mode"
    )


def test_bad_argument_spec_is_an_internal_error():
    rc, _out, result = run(
        "$m = [Ansible.Basic.AnsibleModule]::Create($args, @{ options = @{ a = @{ typ = 'str' } } })", {}
    )
    assert rc == 1 and result["msg"].startswith("internal error: argument spec entry contains an invalid key 'typ'")


def test_ansible_basic_needs_its_csharp_util():
    rc, _out, result = run(SPEC, {"name": "x"}, csharp=())
    assert rc == 1 and "Unable to find type [Ansible.Basic.AnsibleModule]" in result["msg"]


def test_module_wrapper_reports_unhandled_errors_and_output_after_the_json():
    rc, out, result = run(SPEC + "$x = [int]'nope'", {"name": "x"})
    assert rc == 1 and result["msg"].startswith("Unhandled exception while executing module: Cannot convert value")
    assert "FullyQualifiedErrorId" in result["exception"]
    rc, out, result = run(SPEC + "'stray output'\n$module.ExitJson()", {"name": "x"})
    assert rc == 0 and out.splitlines()[-1] == "stray output"
    assert json.loads(out.splitlines()[0])["changed"] is False


def test_an_error_left_in_the_error_stream_fails_the_run():
    body = SPEC + "$ErrorActionPreference = 'Continue'\nGet-Item -LiteralPath 'C:\\nope'\n$module.ExitJson()"
    rc, out, _result = run(body, {"name": "x"})
    lines = out.splitlines()
    assert json.loads(lines[0])["changed"] is False
    assert (
        json.loads(lines[1])["msg"]
        == "Unhandled exception while executing module: Cannot find path 'C:\\nope' because it does not exist."
    )
    assert rc == 0  # ExitJson set $LASTEXITCODE first, as in module_wrapper.ps1
