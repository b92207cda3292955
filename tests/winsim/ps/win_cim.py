"""Get-CimInstance over the host model (root\\cimv2 and, on clients, root\\SecurityCenter2) and Get-Service.

Sources: the Get-CimInstance and Get-Service reference pages; the Win32_OperatingSystem,
Win32_ComputerSystem, Win32_Service and Win32_Process class pages; WQL (WHERE clause) reference.
``-Property`` returns instances whose other properties are ``$null`` (key properties always come).
A WQL ``-Filter`` supports ``prop = value``, ``<>``, ``!=``, ``LIKE`` and ``AND``/``OR`` (case-
insensitive). ``root\\SecurityCenter2`` exists on client SKUs only (WSC API: "Minimum supported
server: None supported"); on servers the query fails "Invalid namespace". The ``productState``
layout is the community decoding (docs/sources.md §4, UNCONFIRMED). MODEL (UNCONFIRMED): with the
Security Center service stopped the AntiVirusProduct query fails with "Provider load failure".
"""

from __future__ import annotations

import re
from typing import Any

from .. import rules
from ..host import filetime_to_unix
from . import convert as C
from .commands import CmdletCall, ParamSpec, array_of, cmdlet, type_of
from .dotnet import DateTime
from .errors import ErrorRecord, NetException, PSUnsupported
from .ops import like
from .types import PSType, register
from .values import EnumValue, NetObject

CIM = "Microsoft.Management.Infrastructure.CimCmdlets"
DEFENDER_GUID = "{D68DDC3A-831F-4fae-9E44-DA132C1ACF46}"
_STATES = {"running": "Running", "stopped": "Stopped", "start_pending": "Start Pending", "stop_pending": "Stop Pending"}
_START_MODES = {"auto": "Auto", "manual": "Manual", "disabled": "Disabled"}


class CimInstance(NetObject):
    TYPE_NAMES = ("Microsoft.Management.Infrastructure.CimInstance", "System.Object")

    def __init__(self, class_name: str, namespace: str, props: dict[str, Any], allowed: tuple[str, ...]) -> None:
        self.class_name = class_name
        self.namespace = namespace
        self.props = {k.lower(): v for k, v in props.items()}
        self.allowed = {a.lower() for a in allowed}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("p_"):
            low = name[2:]
            if low in self.allowed:
                return lambda: self.props.get(low)
            if low == "cimclass":
                return lambda: self.class_name
            raise PSUnsupported("", 0, "property %s of %s (not modelled)" % (low, self.class_name))
        raise AttributeError(name)

    def ps_to_string(self) -> str:
        return self.class_name


# ---------------------------------------------------------------------------- classes
def _os(host: Any) -> dict[str, Any]:
    o = host.os
    return {
        "Caption": o["caption"],
        "Version": o["version"],
        "BuildNumber": str(o["build"]),
        "ProductType": int(o["product_type"]),
        "LastBootUpTime": DateTime.from_unix(filetime_to_unix(host.last_boot_filetime)),
        "CSName": str(host.state.get("hostname") or host.name),
        "OSArchitecture": "64-bit",
        "SystemDirectory": "C:\\Windows\\system32",
        "WindowsDirectory": "C:\\Windows",
        "LocalDateTime": DateTime.now(host),
        "Name": "%s|C:\\Windows|\\Device\\Harddisk0\\Partition2" % o["caption"],
    }


def _computer(host: Any) -> dict[str, Any]:
    domain = host.state.get("domain") or {}
    joined = bool(domain.get("joined"))
    product = int(host.os["product_type"])
    role = {1: 1 if joined else 0, 3: 3 if joined else 2, 2: 5}.get(product, 0)
    name = str(host.state.get("hostname") or host.name)
    return {
        "Name": name,
        "DNSHostName": name,
        "Domain": domain.get("name") if joined else "WORKGROUP",
        "PartOfDomain": joined,
        "DomainRole": role,
        "Workgroup": None if joined else "WORKGROUP",
    }


def _services(host: Any) -> list[dict[str, Any]]:
    out = []
    for name, svc in sorted(host.state.get("services", {}).items(), key=lambda kv: kv[0].lower()):
        state = _STATES.get(svc.get("state", "stopped"), str(svc.get("state")))
        out.append(
            {
                "Name": name,
                "DisplayName": svc.get("display_name", name),
                "State": state,
                "StartMode": _START_MODES.get(svc.get("start_mode", "auto"), str(svc.get("start_mode"))),
                "Started": state == "Running",
                "Status": "OK",
            }
        )
    return out


def _processes(host: Any) -> list[dict[str, Any]]:
    from .. import native

    return [
        {
            "ProcessId": p.pid,
            "ParentProcessId": p.parent_pid or 0,
            "Name": p.name,
            "CommandLine": p.command_line,
            "ExecutablePath": p.image,
        }
        for p in native.processes(host)
    ]


def product_state(on: bool, up_to_date: bool, microsoft: bool) -> int:
    """Security Center's productState (the community decoding, docs/sources.md §4)."""
    value = (0x06 if microsoft else 0x04) << 16
    value |= (0x1 if on else 0x0) << 12
    value |= (0x1 if microsoft else 0x0) << 8
    value |= 0x00 if up_to_date else 0x10
    return value


def _antivirus(host: Any) -> list[dict[str, Any]]:
    state = host.state
    out = []
    mode = rules.derive_running_mode(state)
    stamp = "Sat, 29 Nov 2026 06:00:00 GMT"
    if mode is not None:
        out.append(
            {
                "displayName": "Windows Defender",
                "instanceGuid": DEFENDER_GUID,
                "pathToSignedProductExe": "windowsdefender://",
                "pathToSignedReportingExe": "%ProgramFiles%\\Windows Defender\\MsMpeng.exe",
                "productState": product_state(mode == rules.NORMAL, True, True),
                "timestamp": stamp,
            }
        )
    for av in state.get("third_party_av", []):
        if not av.get("installed", True) or not av.get("registered", True):
            continue
        out.append(
            {
                "displayName": av["display_name"],
                "instanceGuid": av["instance_guid"],
                "pathToSignedProductExe": "C:\\Program Files\\%s\\agent.exe" % av["vendor"],
                "pathToSignedReportingExe": "C:\\Program Files\\%s\\report.exe" % av["vendor"],
                "productState": product_state(bool(av.get("real_time")), bool(av.get("up_to_date", True)), False),
                "timestamp": stamp,
            }
        )
    return out


#: namespace → class → (rows(host), properties, key properties)
CLASSES: dict[str, dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]]] = {
    "root/cimv2": {
        "win32_operatingsystem": (lambda h: [_os(h)], (
            "Caption", "Version", "BuildNumber", "ProductType", "LastBootUpTime", "CSName", "OSArchitecture",
            "SystemDirectory", "WindowsDirectory", "LocalDateTime", "Name"), ("Name",)),
        "win32_computersystem": (lambda h: [_computer(h)], (
            "Name", "DNSHostName", "Domain", "PartOfDomain", "DomainRole", "Workgroup"), ("Name",)),
        "win32_service": (_services, ("Name", "DisplayName", "State", "StartMode", "Started", "Status"), ("Name",)),
        "win32_process": (_processes, ("ProcessId", "ParentProcessId", "Name", "CommandLine", "ExecutablePath"), ()),
    },
    "root/securitycenter2": {
        "antivirusproduct": (_antivirus, (
            "displayName", "instanceGuid", "pathToSignedProductExe", "pathToSignedReportingExe", "productState",
            "timestamp"), ("instanceGuid",)),
    },
}  # fmt: skip


# ---------------------------------------------------------------------------- WQL
_COND = re.compile(r"\s*(\w+)\s*(=|<>|!=|like)\s*('(?:[^']|'')*'|\"[^\"]*\"|-?\d+|true|false)\s*", re.I)


def parse_filter(text: str) -> list[list[tuple[str, str, Any]]]:
    """A WQL WHERE clause as OR-groups of AND-ed conditions."""
    groups: list[list[tuple[str, str, Any]]] = [[]]
    pos = 0
    while True:
        m = _COND.match(text, pos)
        if not m:
            raise ValueError(text)
        raw = m.group(3)
        if raw[0] in "'\"":
            value: Any = raw[1:-1].replace("''", "'")
        elif raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            value = int(raw)
        groups[-1].append((m.group(1).lower(), m.group(2).lower(), value))
        pos = m.end()
        if pos >= len(text):
            return groups
        joiner = re.match(r"(and|or)\b", text[pos:], re.I)
        if not joiner:
            raise ValueError(text)
        if joiner.group(1).lower() == "or":
            groups.append([])
        pos += len(joiner.group(0))


def _matches(row: dict[str, Any], groups: list[list[tuple[str, str, Any]]]) -> bool:
    lowered = {k.lower(): v for k, v in row.items()}
    for group in groups:
        ok = True
        for prop, op, value in group:
            if prop not in lowered:
                raise KeyError(prop)
            actual = lowered[prop]
            if op == "like":
                hit = like(actual, str(value).replace("%", "*").replace("_", "?"))
            elif isinstance(value, str):
                hit = C.to_string(actual).lower() == value.lower()
            else:
                hit = actual == value
            ok = ok and (hit if op in ("=", "like") else not hit)
        if ok:
            return True
    return False


def _cim_error(call: CmdletCall, message: str, hresult: str, category: str) -> None:
    exc = NetException("Microsoft.Management.Infrastructure.CimException", message)
    call.error(ErrorRecord(exc, "HRESULT %s,%s.GetCimInstanceCommand" % (hresult, CIM), category))


@cmdlet(
    "Get-CimInstance",
    [
        ParamSpec("ClassName", type_of("string"), position=0),
        ParamSpec("Namespace", type_of("string")),
        ParamSpec("Filter", type_of("string")),
        ParamSpec("Property", array_of("string"), aliases=("SelectProperties",)),
    ],
    module="CimCmdlets",
    class_name="%s.GetCimInstanceCommand" % CIM,
)
def get_cim_instance(call: CmdletCall) -> None:
    host = call.host
    class_name = call.p["classname"]
    if not class_name:
        raise PSUnsupported("", 0, "Get-CimInstance without -ClassName")
    namespace = (call.p["namespace"] or "root/cimv2").replace("\\", "/").lower()
    if namespace == "root/securitycenter2" and not host.is_workstation:
        _cim_error(call, "Invalid namespace ", "0x8004100e", "MetadataError")
        return
    classes = CLASSES.get(namespace)
    if classes is None:
        raise PSUnsupported("", 0, "CIM namespace %s" % namespace)
    spec = classes.get(class_name.lower())
    if spec is None:
        raise PSUnsupported("", 0, "CIM class %s in %s" % (class_name, namespace))
    if namespace == "root/securitycenter2" and not host.service_running("wscsvc"):
        _cim_error(call, "Provider load failure ", "0x80041013", "NotSpecified")
        return
    rows_of, props, keys = spec
    wanted = None
    if call.p["property"]:
        wanted = {p.lower() for p in call.p["property"]} | {k.lower() for k in keys}
        unknown = wanted - {p.lower() for p in props} - {k.lower() for k in keys}
        if unknown:
            raise PSUnsupported("", 0, "%s properties %s (not modelled)" % (class_name, sorted(unknown)))
    groups = None
    if call.p["filter"]:
        try:
            groups = parse_filter(call.p["filter"])
        except ValueError:
            _cim_error(call, "Invalid query ", "0x80041017", "InvalidArgument")
            return
    for row in rows_of(host):
        if groups is not None:
            try:
                if not _matches(row, groups):
                    continue
            except KeyError:
                _cim_error(call, "Invalid query ", "0x80041017", "InvalidArgument")
                return
        shown = row if wanted is None else {k: v for k, v in row.items() if k.lower() in wanted}
        call.write(CimInstance(class_name, namespace, shown, props))


# ---------------------------------------------------------------------------- Get-Service
SERVICE_STATUS = register(
    PSType(
        "System.ServiceProcess.ServiceControllerStatus",
        enum={
            "Stopped": 1,
            "StartPending": 2,
            "StopPending": 3,
            "Running": 4,
            "ContinuePending": 5,
            "PausePending": 6,
            "Paused": 7,
        },
    )
)
_STATUS_NAMES = {
    "running": "Running",
    "stopped": "Stopped",
    "start_pending": "StartPending",
    "stop_pending": "StopPending",
}


class ServiceController(NetObject):
    TYPE_NAMES = ("System.ServiceProcess.ServiceController", "System.ComponentModel.Component", "System.Object")

    def __init__(self, host: Any, name: str, svc: dict) -> None:
        self.host = host
        self.name = name
        self.svc = svc

    def p_name(self) -> str:
        return self.name

    def p_servicename(self) -> str:
        return self.name

    def p_displayname(self) -> str:
        return str(self.svc.get("display_name", self.name))

    def p_status(self) -> EnumValue:
        return SERVICE_STATUS.enum_value(_STATUS_NAMES.get(self.svc.get("state", "stopped"), "Stopped"))

    def p_starttype(self) -> str:
        return {"auto": "Automatic", "manual": "Manual", "disabled": "Disabled"}.get(
            self.svc.get("start_mode", "auto"), "Manual"
        )

    def ps_to_string(self) -> str:
        return "System.ServiceProcess.ServiceController"


@cmdlet("Get-Service", [ParamSpec("Name", array_of("string"), position=0, aliases=("ServiceName",))])
def get_service(call: CmdletCall) -> None:
    services = call.host.state.get("services", {})
    for pattern in call.p["name"] or ["*"]:
        found = [
            (n, s) for n, s in sorted(services.items()) if like(n, pattern) or like(s.get("display_name", n), pattern)
        ]
        if not found and not any(ch in pattern for ch in "*?["):
            call.error(
                call.record(
                    "Cannot find any service with service name '%s'." % pattern,
                    "NoServiceFoundForGivenName",
                    "ObjectNotFound",
                    exc_type="System.InvalidOperationException",
                    target=pattern,
                )
            )
        for name, svc in found:
            call.write(ServiceController(call.host, name, svc))
