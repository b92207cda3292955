"""Calling a command: arguments, name resolution (function, cmdlet, alias, script block, native
program), redirections.

Resolution order as in PowerShell: alias, function, cmdlet, external program. A name that is a
real Windows PowerShell 5.1 command but not modelled raises ``PSUnsupported``; any other unknown
name is PowerShell's CommandNotFoundException.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import ast as A
from . import convert as C
from .commands import CMDLETS, call_cmdlet, call_function
from .errors import PSUnsupported, ReturnSignal, error
from .runtime import Frame, Function, Scope
from .values import AUTOMATION_NULL, Hashtable, ScriptBlockValue, collect, is_null

ALIASES = {"%": "foreach-object", "foreach": "foreach-object", "?": "where-object", "where": "where-object"}
_NATIVE = re.compile(r"(\\|/|\.(exe|com|cmd|bat)$)", re.I)

#: Commands of Windows PowerShell 5.1 (and the modules the collection uses) that are real but
#: not modelled: using one is PSUnsupported, not "not recognized".
REAL_COMMANDS = {
    c.lower()
    for c in """
    Add-Content Add-Member Add-Type Clear-Content Clear-Item Clear-ItemProperty Clear-Variable Compare-Object
    ConvertFrom-Csv ConvertFrom-StringData ConvertTo-Csv ConvertTo-Html ConvertTo-Xml Copy-Item
    Copy-ItemProperty Export-Clixml Export-Csv Format-List Format-Table Format-Wide Get-Acl Get-Alias Get-ChildItem
    Get-CimClass Get-Content Get-Credential Get-EventLog Get-ExecutionPolicy Get-FileHash Get-Host Get-Item
    Get-ItemProperty Get-ItemPropertyValue Get-Location Get-Member Get-Module Get-PSDrive Get-Process Get-Random
    Get-Service Get-Unique Get-Variable Get-WmiObject Group-Object Import-Clixml Import-Csv Import-Module
    Invoke-CimMethod Invoke-Command Invoke-Expression Invoke-Item Invoke-RestMethod Invoke-WebRequest
    Measure-Object Move-Item New-CimInstance New-Item New-ItemProperty New-Object New-PSDrive New-Service
    New-TimeSpan New-Variable Out-File Out-Host Pop-Location Push-Location Read-Host Register-ObjectEvent
    Remove-CimInstance Remove-Item Remove-ItemProperty Remove-Variable Rename-Item Rename-ItemProperty
    Resolve-Path Restart-Computer Restart-Service Select-Object Select-String Select-Xml Set-Acl Set-Content
    Set-CimInstance Set-Item Set-ItemProperty Set-Location Set-Service Set-StrictMode Set-Variable
    Sort-Object Split-Path Start-Job Start-Process Start-Service Start-Sleep Stop-Process Stop-Service
    Tee-Object Test-Connection Test-Path Wait-Process Write-Debug Write-Error Write-Host Write-Information
    Write-Output Write-Progress Write-Verbose Write-Warning Get-MpPreference Set-MpPreference Get-MpThreat
    Get-MpComputerStatus Get-WinEvent New-EventLog Write-EventLog Get-GPO New-GPO Remove-GPO Get-GPInheritance
    New-GPLink Set-GPLink Remove-GPLink Get-GPRegistryValue Set-GPRegistryValue Remove-GPRegistryValue
    Get-GPPrefRegistryValue Set-GPPrefRegistryValue Remove-GPPrefRegistryValue Get-GPResultantSetOfPolicy
    Set-GPPermission Get-GPPermission Invoke-GPUpdate Get-ADComputer Get-ADOrganizationalUnit Get-ComputerInfo
    Get-HotFix Get-Date Out-String Out-Null ConvertTo-Json ConvertFrom-Json Get-Command Join-Path ForEach-Object
    Where-Object Export-ModuleMember New-Module Get-CimInstance Test-Path Get-Item Add-CSharpType
    """.split()
}


def compile_command(compiler: Any, node: A.Command) -> Callable[[Frame, list | None], list]:
    args = _compile_args(compiler, node)
    merge = discard_out = discard_err = False
    for r in node.redirects:
        if r.stream == "2" and r.target == "&1":
            merge = True
        elif isinstance(r.target, A.Var) and r.target.name.lower() == "null" and not r.append:
            if r.stream == "1":
                discard_out = True
            else:
                discard_err = True
        else:
            raise compiler.fail(r, "redirection to a file")
    name_ev = None if isinstance(node.name, str) else compiler.expr(node.name)
    literal = node.name if isinstance(node.name, str) else None
    line, file = node.line, compiler.file

    def run(f: Frame, input_objects: list | None) -> list:
        items = args(f)
        target: Any = literal if name_ev is None else name_ev(f)
        if isinstance(target, ScriptBlockValue):
            if merge or discard_err:
                raise PSUnsupported(file, line, "redirecting the errors of a script block")
            out = invoke_block(f, target, input_objects, items, new_scope=True)
        else:
            name = C.to_string(target)
            out = _call_named(f, name, items, input_objects, merge, discard_err, file, line)
        return [] if discard_out else out

    return run


def _call_named(
    f: Frame, name: str, items: list, input_objects: list | None, merge: bool, discard_err: bool, file: str, line: int
) -> list:
    low = ALIASES.get(name.lower(), name.lower())
    fn = f.find_function(low)
    if fn is not None:
        if merge or discard_err:
            raise PSUnsupported(file, line, "redirecting the errors of function %s" % name)
        return call_function(f, fn, items, input_objects)
    cmdlet = CMDLETS.get(low)
    if cmdlet is not None and (cmdlet.available is None or cmdlet.available(f.rs.host)):
        if discard_err:
            raise PSUnsupported(file, line, "2>$null on cmdlet %s" % name)
        return call_cmdlet(f, cmdlet, items, input_objects, merge_errors=merge)
    if _NATIVE.search(name) or (cmdlet is None and low not in REAL_COMMANDS and _native_exists(f, name)):
        from .win_process import run_native

        return run_native(f, name, items, input_objects, merge, discard_err)
    if low in REAL_COMMANDS and cmdlet is None:
        raise PSUnsupported(file, line, "command %s (not modelled)" % name)
    raise error(
        "The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
        % name,
        "CommandNotFoundException",
        exc_type="System.Management.Automation.CommandNotFoundException",
        category="ObjectNotFound",
        target=name,
    )


def _native_exists(f: Frame, name: str) -> bool:
    from .win_process import find_program

    return find_program(f, name) is not None


def _compile_args(compiler: Any, node: A.Command) -> Callable[[Frame], list]:
    specs: list[tuple] = []
    for a in node.args:
        if isinstance(a, A.Param):
            specs.append(("named", a.name, compiler.expr(a.value) if a.value is not None else None, a.colon))
        elif isinstance(a, A.Var) and a.splat:
            specs.append(("splat", a.name.lower(), a.scope))
        else:
            specs.append(("pos", compiler.expr(a)))

    def build(f: Frame) -> list:
        items: list = []
        for spec in specs:
            kind = spec[0]
            if kind == "pos":
                v = spec[1](f)
                items.append(("pos", None if v is AUTOMATION_NULL else v))
            elif kind == "named":
                ev = spec[2]
                if ev is None:
                    items.append(("named", spec[1], None, False, False))
                else:
                    v = ev(f)
                    items.append(("named", spec[1], None if v is AUTOMATION_NULL else v, True, spec[3]))
            else:
                value = f.scope_for(spec[2]).vars.get(spec[1]) if spec[2] else f.get(spec[1])
                if isinstance(value, Hashtable):
                    for k, v in value.items():
                        items.append(("named", C.to_string(k), v, True, True))
                elif isinstance(value, list):
                    items.extend(("pos", v) for v in value)
                elif not is_null(value):
                    items.append(("pos", value))
        return items

    return build


def invoke_block(
    f: Frame,
    block: ScriptBlockValue,
    input_objects: list | None = None,
    args: list | None = None,
    *,
    new_scope: bool,
    dollar_under: Any = AUTOMATION_NULL,
) -> list:
    """Run a script block: in a new child scope (``&``) or in the current one (ForEach-Object)."""
    if args and any(item[0] != "pos" for item in args):
        raise PSUnsupported(block.block.file, block.block.line, "named arguments to a script block")
    if new_scope:
        parent = f.scope if f.scope.session is block.session else block.session.scope
        frame = Frame(f.rs, Scope(parent, block.session))
        frame.scope.vars["args"] = [item[1] for item in args or []]
        if input_objects is not None:
            frame.scope.vars["input"] = list(input_objects)
    else:
        frame = f
    vars_ = frame.scope.vars
    saved = vars_.get("_", _NOTHING)
    if dollar_under is not AUTOMATION_NULL:
        vars_["_"] = dollar_under
    out: list = []
    try:
        block.compiled(frame, out)
    except ReturnSignal:
        pass
    finally:
        if dollar_under is not AUTOMATION_NULL:
            if saved is _NOTHING:
                vars_.pop("_", None)
            else:
                vars_["_"] = saved
    return out


_NOTHING = object()


def block_value(f: Frame, block: ScriptBlockValue, item: Any) -> Any:
    """The collected output of a script block run for one pipeline object (Where-Object)."""
    return collect(invoke_block(f, block, new_scope=False, dollar_under=item))


def function_names(f: Frame) -> list[Function]:
    found: dict[str, Function] = {}
    s: Scope | None = f.scope
    while s is not None:
        for k, v in s.funcs.items():
            found.setdefault(k, v)
        s = s.parent
    return list(found.values())
