"""ansible-core's module_wrapper.ps1, modelled in Python around the interpreter.

What the wrapper does (ansible/executor/powershell/module_wrapper.ps1, 2.19+), in order: a new
runspace with ``$ErrorActionPreference = 'Stop'`` for modules; ``Set-Variable`` of each
``Variables`` entry (``complex_args`` as hashtables and arrays, like the exec wrapper's
Convert-JsonObject); the environment; ``Write-Host`` redefined to write output; each PowerShell
module util loaded as a module and imported globally; the C# utils; the module script run as the
function ``<AnsibleModule>``. Afterwards: stdout is what was written to the console (ExitJson /
FailJson) followed by the pipeline output joined with CRLF; the exit code is ``$LASTEXITCODE``;
an unhandled terminating error, or an error left in the error stream, is reported as
``Unhandled exception while executing module: …``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import convert as C
from . import coverage, engine
from .errors import BreakSignal, ContinueSignal, ErrorRecord, ExitSignal, PSRuntimeError, ReturnSignal
from .values import Hashtable

#: ansible-core's module utils that only serve the wrapper (Add-CSharpType compiles the C# utils).
ANSIBLE_UTILS = {"Ansible.ModuleUtils.AddType.psm1"}


@dataclass
class ModuleRun:
    rc: int
    stdout: str
    stderr: str = ""
    result: dict | None = None
    info: dict[str, Any] = field(default_factory=dict)


def ps_value(value: Any) -> Any:
    """JSON data as the exec wrapper's Convert-JsonObject gives it: hashtables and Object[]."""
    if isinstance(value, dict):
        return Hashtable((k, ps_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return [ps_value(v) for v in value]
    return value


def error_detail(record: ErrorRecord) -> str:
    """Write-AnsibleErrorDetail's text of an error record."""
    lines = [record.ps_to_string()]
    if record.error_id not in ("NativeCommandError", "NativeCommandErrorMessage"):
        lines += [
            record.invocation.p_positionmessage(),
            "+ CategoryInfo          : %s" % record.p_categoryinfo().ps_to_string(),
            "+ FullyQualifiedErrorId : %s" % record.error_id,
            "",
            "ScriptStackTrace:",
            record.stack,
        ]
    return "\r\n".join(lines)


def _failure(record: ErrorRecord) -> str:
    return json.dumps(
        {
            "failed": True,
            "msg": "Unhandled exception while executing module: %s" % record.ps_to_string(),
            "exception": error_detail(record),
        },
        separators=(",", ":"),
    )


def run_module(
    host: Any,
    script_name: str,
    script: str,
    utils: list[tuple[str, str]],
    csharp: list[str],
    variables: list[dict],
    environment: dict[str, str] | None = None,
) -> ModuleRun:
    """Run one module as module_wrapper.ps1 does (raises PSUnsupported for what is not modelled)."""
    from ..native.process import default_environment

    env = default_environment(host)
    env.update(environment or {})
    rs = engine.new_runspace(host, env)
    rs.global_scope.vars["erroractionpreference"] = "Stop"
    for variable in variables:
        scope = str(variable.get("Scope") or "global").lower()
        if scope != "global":
            from .errors import PSUnsupported

            raise PSUnsupported(script_name, 0, "a module_wrapper variable in scope %s" % scope)
        rs.global_scope.vars[str(variable["Name"]).lower()] = ps_value(variable.get("Value"))
    rs.csharp_utils.update(name.lower() for name in csharp)
    out: list = []
    failure: str | None = None
    try:
        try:
            for name, text in utils:
                if name in ANSIBLE_UTILS:
                    continue  # ansible-core's own helper for compiling C# utils, modelled by csharp_utils
                if name.startswith("Ansible.ModuleUtils."):
                    from .errors import PSUnsupported

                    raise PSUnsupported(name, 0, "ansible-core's PowerShell module util %s" % name)
                engine.load_util(rs, name, text)
            engine.run_as_function(rs, script_name, script, out)
        except (ReturnSignal, BreakSignal, ContinueSignal):
            pass
    except ExitSignal:
        pass
    except PSRuntimeError as exc:
        failure = _failure(exc.record)
    finally:
        coverage.RECORDER.add_calls(rs.called)
    rc = rs.global_scope.vars.get("lastexitcode")
    parts = list(rs.console)
    if failure is not None:
        parts.append(failure)
        rc = 1
    if out:
        parts.append("\r\n".join(C.to_string(o) for o in out))
    if failure is None and rs.error_stream:
        parts.append(_failure(rs.error_stream[0]))
        if rc is None:
            rc = 1
    stdout = "".join(p + "\r\n" for p in parts)
    result = None
    for line in parts[:1]:
        try:
            result = json.loads(line)
        except ValueError:
            result = None
    return ModuleRun(int(rc) if rc is not None else 0, stdout, result=result, info={"junk": bool(out)})


def capture_spec(host: Any, script_name: str, script: str, utils: list[tuple[str, str]], csharp: list[str]) -> dict:
    """The argument spec a module passes to ``AnsibleModule.Create`` (as ansible-test's ps_argspec.ps1 gets it)."""
    rs = engine.new_runspace(host, {})
    rs.global_scope.vars["erroractionpreference"] = "Stop"
    rs.global_scope.vars["complex_args"] = Hashtable()
    rs.csharp_utils.update(name.lower() for name in csharp)
    rs.extras["capture_spec"] = True
    try:
        for name, text in utils:
            if name not in ANSIBLE_UTILS:
                engine.load_util(rs, name, text)
        engine.run_as_function(rs, script_name, script)
    except ExitSignal:
        pass
    spec = rs.extras.get("spec")
    if spec is None:
        raise AssertionError("%s did not call AnsibleModule.Create" % script_name)
    return spec
