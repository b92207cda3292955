"""Core cmdlets (Microsoft.PowerShell.Core/Utility): output, pipelines, objects, JSON, time, modules.

Each follows its page in the PowerShell 5.1 cmdlet reference
(learn.microsoft.com/powershell/module/microsoft.powershell.utility/<name>?view=powershell-5.1).
``Write-Host`` is what Ansible's module wrapper makes of it: a function writing to the output.
Formatting of objects other than strings and error records (tables, lists) is not modelled.
"""

from __future__ import annotations

from typing import Any

from . import convert as C
from .commands import CMDLETS, CmdletCall, ParamSpec, array_of, cmdlet, type_of
from .errors import ErrorRecord, NetException, PSUnsupported
from .invoke import REAL_COMMANDS, block_value, invoke_block
from .jsonps import from_json, to_json
from .types import lookup
from .values import AUTOMATION_NULL, NetObject, ScriptBlockValue, is_null

UTILITY = "Microsoft.PowerShell.Utility"
CORE = "Microsoft.PowerShell.Core"


def _obj() -> Any:
    return type_of("object")


def _str() -> Any:
    return type_of("string")


# ---------------------------------------------------------------------------- output
@cmdlet("Write-Output", [ParamSpec("InputObject", _obj(), position=0, pipeline=True)], module=UTILITY)
def write_output(call: CmdletCall) -> None:
    if call.input is not None:
        call.out.extend(call.input)
    value = call.p["inputobject"]
    if isinstance(value, list):
        call.out.extend(value)
    elif call.input is None and value is not AUTOMATION_NULL:
        call.out.append(value)


@cmdlet("Write-Host", [ParamSpec("Object", _obj(), position=0)], module=UTILITY)
def write_host(call: CmdletCall) -> None:
    # Ansible's module_wrapper.ps1 redefines Write-Host as Write-Output.
    call.out.append(call.p["object"])


@cmdlet("Write-Verbose", [ParamSpec("Message", _str(), mandatory=True, position=0)], module=UTILITY)
def write_verbose(call: CmdletCall) -> None:
    return None


@cmdlet("Write-Warning", [ParamSpec("Message", _str(), mandatory=True, position=0)], module=UTILITY)
def write_warning(call: CmdletCall) -> None:
    return None


@cmdlet("Write-Debug", [ParamSpec("Message", _str(), mandatory=True, position=0)], module=UTILITY)
def write_debug(call: CmdletCall) -> None:
    return None


@cmdlet(
    "Write-Error",
    [
        ParamSpec("Message", _str(), position=0),
        ParamSpec("ErrorRecord", type_of("System.Management.Automation.ErrorRecord")),
    ],
    module=UTILITY,
)
def write_error(call: CmdletCall) -> None:
    if call.p["errorrecord"] is not None:
        call.error(call.p["errorrecord"])
        return
    message = call.p["message"] or ""
    exc = NetException("System.Exception", message)
    call.error(ErrorRecord(exc, "Microsoft.PowerShell.Commands.WriteErrorException", "NotSpecified"))


@cmdlet("Out-Null", [ParamSpec("InputObject", _obj(), pipeline=True)], module=CORE)
def out_null(call: CmdletCall) -> None:
    return None


def format_for_host(value: Any) -> list[str]:
    """The text lines Out-String / the host would show for one object."""
    if isinstance(value, str):
        return [value]
    if value is None:
        return []
    if isinstance(value, ErrorRecord):
        if value.error_id == "NativeCommandErrorMessage":
            return [value.exception.message]
        if value.error_id == "NativeCommandError":
            program = value.target_name or "program"
            return [
                "%s : %s" % (program, value.exception.message),
                value.invocation.p_positionmessage(),
                "    + CategoryInfo          : NotSpecified: (%s:String) [], RemoteException" % value.exception.message,
                "    + FullyQualifiedErrorId : NativeCommandError",
                " ",
            ]
    if isinstance(value, bool | int | float):
        return [C.net_string(value)]
    raise PSUnsupported("", 0, "formatting a %s for output (Out-String)" % C.type_name_of(value))


@cmdlet(
    "Out-String",
    [
        ParamSpec("InputObject", _obj(), pipeline=True),
        ParamSpec("Width", type_of("int")),
        ParamSpec("Stream", switch=True),
    ],
    module=UTILITY,
)
def out_string(call: CmdletCall) -> None:
    items = (
        call.input if call.input is not None else ([] if is_null(call.p["inputobject"]) else [call.p["inputobject"]])
    )
    lines: list[str] = []
    for item in items:
        lines.extend(format_for_host(item))
    if call.p["stream"]:
        call.out.extend(lines)
        return
    call.out.append("".join(line + "\r\n" for line in lines))


# ---------------------------------------------------------------------------- pipelines
@cmdlet(
    "ForEach-Object",
    [
        ParamSpec("Process", array_of("scriptblock"), position=0, mandatory=True),
        ParamSpec("InputObject", _obj(), pipeline=True),
    ],
    module=CORE,
)
def foreach_object(call: CmdletCall) -> None:
    blocks = call.p["process"]
    if len(blocks) != 1:
        raise PSUnsupported("", 0, "ForEach-Object with -Begin/-End blocks")
    block: ScriptBlockValue = blocks[0]
    for item in call.input or []:
        call.out.extend(invoke_block(call.f, block, new_scope=False, dollar_under=item))


@cmdlet(
    "Where-Object",
    [
        ParamSpec("FilterScript", type_of("scriptblock"), position=0, mandatory=True),
        ParamSpec("InputObject", _obj(), pipeline=True),
    ],
    module=CORE,
)
def where_object(call: CmdletCall) -> None:
    block = call.p["filterscript"]
    for item in call.input or []:
        if C.to_bool(block_value(call.f, block, item)):
            call.out.append(item)


# ---------------------------------------------------------------------------- objects
@cmdlet(
    "New-Object",
    [
        ParamSpec("TypeName", _str(), position=0, mandatory=True),
        ParamSpec("ArgumentList", array_of("object"), position=1, aliases=("Args",)),
    ],
    module=UTILITY,
)
def new_object(call: CmdletCall) -> None:
    name = call.p["typename"]
    t = lookup(name)
    if t is None:
        raise PSUnsupported("", 0, "New-Object of type %s" % name)
    if t.new is None:
        raise PSUnsupported("", 0, "a constructor of [%s]" % t.full_name)
    call.out.append(t.new(call.f, *(call.p["argumentlist"] or [])))


@cmdlet(
    "ConvertFrom-Json",
    [ParamSpec("InputObject", _str(), position=0, mandatory=True, pipeline=True)],
    module=UTILITY,
)
def convertfrom_json(call: CmdletCall) -> None:
    text = call.p["inputobject"] if call.input is None else "\n".join(C.to_string(i) for i in call.input)
    value = from_json(text)
    if isinstance(value, list):
        call.out.append(value)  # 5.1 writes the array as one object
    else:
        call.out.append(value)


@cmdlet(
    "ConvertTo-Json",
    [
        ParamSpec("InputObject", _obj(), position=0, mandatory=True, pipeline=True, allow_null=True),
        ParamSpec("Depth", type_of("int")),
        ParamSpec("Compress", switch=True),
    ],
    module=UTILITY,
)
def convertto_json(call: CmdletCall) -> None:
    value = (
        call.p["inputobject"] if call.input is None else (call.input[0] if len(call.input) == 1 else list(call.input))
    )
    call.out.append(to_json(value, compress=bool(call.p["compress"])))


class CommandInfo(NetObject):
    TYPE_NAMES = ("System.Management.Automation.CommandInfo", "System.Object")

    def __init__(self, name: str, kind: str, source: str) -> None:
        self.name = name
        self.kind = kind
        self.source = source

    def p_name(self) -> str:
        return self.name

    def p_commandtype(self) -> str:
        return self.kind

    def p_source(self) -> str:
        return self.source

    def ps_to_string(self) -> str:
        return self.name


@cmdlet("Get-Command", [ParamSpec("Name", array_of("string"), position=0)], module=CORE)
def get_command(call: CmdletCall) -> None:
    from .win_process import find_program

    for name in call.p["name"] or []:
        low = name.lower()
        fn = call.f.find_function(low)
        if fn is not None:
            call.out.append(CommandInfo(fn.name, "Function", fn.session.name))
            continue
        c = CMDLETS.get(low)
        if c is not None and (c.available is None or c.available(call.host)):
            call.out.append(CommandInfo(c.name, "Cmdlet", c.module))
            continue
        if c is None and low in REAL_COMMANDS:
            raise PSUnsupported("", 0, "Get-Command of %s (not modelled)" % name)
        program = find_program(call.f, name)
        if program is not None:
            call.out.append(CommandInfo(name, "Application", program))
            continue
        call.error(
            call.record(
                "The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "
                "Check the spelling of the name, or if a path was included, verify that the path is correct and try "
                "again." % name,
                "CommandNotFoundException",
                "ObjectNotFound",
                exc_type="System.Management.Automation.CommandNotFoundException",
                target=name,
            )
        )


@cmdlet(
    "Export-ModuleMember",
    [
        ParamSpec("Function", array_of("string"), position=0),
        ParamSpec("Cmdlet", array_of("string")),
        ParamSpec("Variable", array_of("string")),
        ParamSpec("Alias", array_of("string")),
    ],
    module=CORE,
)
def export_module_member(call: CmdletCall) -> None:
    session = call.f.session
    if not session.name:
        raise PSUnsupported("", 0, "Export-ModuleMember outside a module")
    if call.p["variable"] or call.p["alias"] or call.p["cmdlet"]:
        raise PSUnsupported("", 0, "Export-ModuleMember of variables, aliases or cmdlets")
    exports = call.f.rs.extras.setdefault("exports", {}).setdefault(session.name, [])
    exports.extend(call.p["function"] or [])


# ---------------------------------------------------------------------------- time
@cmdlet(
    "Get-Date",
    [ParamSpec("Date", type_of("datetime"), position=0), ParamSpec("Format", _str())],
    module=UTILITY,
)
def get_date(call: CmdletCall) -> None:
    from .dotnet import DateTime

    date = call.p["date"] if call.p["date"] is not None else DateTime.now(call.host)
    call.out.append(date.format(call.p["format"]) if call.p["format"] else date)


@cmdlet(
    "Start-Sleep",
    [ParamSpec("Seconds", type_of("int"), position=0), ParamSpec("Milliseconds", type_of("int"))],
    exclusive=[("seconds", "milliseconds")],
    module=UTILITY,
)
def start_sleep(call: CmdletCall) -> None:
    seconds = call.p["seconds"] if call.p.get("seconds") else 0
    if call.p["milliseconds"]:
        seconds = call.p["milliseconds"] / 1000
    # Simulated time passes on the host; nothing sleeps.
    call.host.advance(max(0, seconds))
