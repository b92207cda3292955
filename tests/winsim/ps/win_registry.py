"""The registry provider over the host's registry (``SimHost.reg_*``) and ``Microsoft.Win32.RegistryKey``.

Sources: about_Registry_Provider, the Get-ItemProperty / New-ItemProperty / New-Item reference
pages, and the RegistryKey and RegistryValueKind API pages. Modelled: HKLM only (``HKLM:\\`` and
``Registry::HKEY_LOCAL_MACHINE\\``); value kinds String, ExpandString, DWord (Int32, so values
above 0x7FFFFFFF read negative, as in .NET), QWord, MultiString, Binary; a key exists when it or
a subkey was ever created (parents always exist on Windows). The OS identity values under
``Windows NT\\CurrentVersion`` come from the host's OS facts (Windows maintains them itself).
"""

from __future__ import annotations

import base64
import ntpath
from typing import Any

from . import convert as C
from .dotnet import ByteArray
from .errors import PSUnsupported
from .types import PSType, register
from .values import EnumValue, NetObject, is_null

HIVES = {"hklm": "HKLM", "hkey_local_machine": "HKLM"}
LONG_HIVE = {"HKLM": "HKEY_LOCAL_MACHINE"}
KINDS = {"REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString", "REG_DWORD": "DWord", "REG_QWORD": "QWord",
         "REG_MULTI_SZ": "MultiString", "REG_BINARY": "Binary"}  # fmt: skip
KIND_NUMBERS = {
    "Unknown": 0,
    "String": 1,
    "ExpandString": 2,
    "Binary": 3,
    "DWord": 4,
    "MultiString": 7,
    "QWord": 11,
    "None": -1,
}
REG_TYPES = {v.lower(): k for k, v in KINDS.items()}
CURRENT_VERSION = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
REGISTRY_VALUE_KIND = register(PSType("Microsoft.Win32.RegistryValueKind", enum=KIND_NUMBERS))


def parse_path(text: str) -> str | None:
    """``HKLM:\\X`` / ``Registry::HKEY_LOCAL_MACHINE\\X`` → ``HKLM\\X``; None when not a registry path."""
    path = text.replace("/", "\\")
    low = path.lower()
    if low.startswith("microsoft.powershell.core\\registry::"):
        path = path[len("microsoft.powershell.core\\registry::") :]
        low = path.lower()
    if low.startswith("registry::"):
        path = path[len("registry::") :]
        head, _sep, rest = path.partition("\\")
    elif ":" in path.split("\\", 1)[0]:
        drive, _sep, rest = path.partition(":")
        head = drive
        rest = rest.lstrip("\\")
        if head.lower() not in HIVES:
            if head.lower() in ("hkcu", "hkcr", "hku", "hkcc"):
                raise PSUnsupported("", 0, "the %s: registry drive" % head.upper())
            return None
    else:
        return None
    hive = HIVES.get(head.lower())
    if hive is None:
        raise PSUnsupported("", 0, "registry hive %s" % head)
    rest = "\\".join(p for p in rest.split("\\") if p)
    return hive + ("\\" + rest if rest else "")


def key_exists(host: Any, key: str) -> bool:
    if key.count("\\") == 0:
        return True
    return host.reg_key_exists(key) or bool(host.reg_subkeys(key))


def _os_values(host: Any) -> dict[str, dict]:
    """The OS identity values Windows keeps under CurrentVersion, from the host's OS facts."""
    os_ = host.os
    caption = str(os_.get("caption", ""))
    build = int(os_.get("build", 0))
    version = str(os_.get("version", "10.0.0"))
    return {
        "ProductName": {"type": "REG_SZ", "data": caption.replace("Microsoft ", "", 1)},
        "EditionID": {"type": "REG_SZ", "data": str(os_.get("edition", ""))},
        "CurrentBuild": {"type": "REG_SZ", "data": str(build)},
        "CurrentBuildNumber": {"type": "REG_SZ", "data": str(build)},
        "CurrentVersion": {"type": "REG_SZ", "data": "6.3" if build >= 9600 else ".".join(version.split(".")[:2])},
        "UBR": {"type": "REG_DWORD", "data": int(os_.get("ubr", 1000))},
        "InstallationType": {"type": "REG_SZ", "data": "Client" if int(os_.get("product_type", 1)) == 1 else "Server"},
    }


def values(host: Any, key: str) -> dict[str, dict]:
    found = dict(host.reg_values(key))
    if key.lower() == CURRENT_VERSION.lower():
        for name, item in _os_values(host).items():
            found.setdefault(name, item)
    return found


def value_item(host: Any, key: str, name: str) -> tuple[str, dict] | None:
    for vname, item in values(host, key).items():
        if vname.lower() == name.lower():
            return vname, item
    return None


def read_value(host: Any, item: dict, expand: bool = True) -> Any:
    """A value's data as .NET returns it (Get-ItemProperty, RegistryKey.GetValue)."""
    rtype, data = item.get("type", "REG_SZ"), item.get("data")
    if rtype == "REG_DWORD":
        number = int(data) & 0xFFFFFFFF
        return number - (1 << 32) if number > 0x7FFFFFFF else number
    if rtype == "REG_QWORD":
        number = int(data) & 0xFFFFFFFFFFFFFFFF
        return number - (1 << 64) if number > 0x7FFFFFFFFFFFFFFF else number
    if rtype == "REG_MULTI_SZ":
        return [str(x) for x in (data or [])]
    if rtype == "REG_BINARY":
        if isinstance(data, str):
            return ByteArray(base64.b64decode(data))
        return ByteArray(bytes(int(x) for x in data or []))
    if rtype == "REG_EXPAND_SZ" and expand:
        from .basic import _expand_env

        return _expand_env(dict(host.state.get("env") or {}), str(data))
    if rtype in ("REG_SZ", "REG_EXPAND_SZ"):
        return "" if data is None else str(data)
    raise PSUnsupported("", 0, "registry value type %s" % rtype)


def to_data(kind: str, value: Any) -> tuple[str, Any]:
    """A PowerShell value written as ``-PropertyType kind`` → (REG_ type, stored data)."""
    rtype = REG_TYPES.get(kind.lower())
    if rtype is None:
        raise PSUnsupported("", 0, "registry value type %s" % kind)
    if rtype == "REG_DWORD":
        number = C.to_integer(value, (-(2**31), 2**32 - 1), "System.Int32")
        return rtype, number & 0xFFFFFFFF
    if rtype == "REG_QWORD":
        return rtype, C.to_integer(value, C.INT64, "System.Int64") & 0xFFFFFFFFFFFFFFFF
    if rtype == "REG_MULTI_SZ":
        return rtype, [C.to_string(v) for v in C.to_list(value)]
    if rtype == "REG_BINARY":
        data = value.data if isinstance(value, ByteArray) else bytes(C.to_integer(v) & 0xFF for v in C.to_list(value))
        return rtype, base64.b64encode(data).decode("ascii")
    return rtype, C.to_string(value)


def ps_path(key: str) -> str:
    hive, _sep, rest = key.partition("\\")
    return "Microsoft.PowerShell.Core\\Registry::%s%s" % (LONG_HIVE[hive], "\\" + rest if rest else "")


def note_properties(key: str) -> list[tuple[str, Any]]:
    """The PS* note properties the provider adds to what it returns."""
    parent = ntpath.dirname(key)
    return [
        ("PSPath", ps_path(key)),
        ("PSParentPath", ps_path(parent) if "\\" in key else ""),
        ("PSChildName", ntpath.basename(key)),
        ("PSDrive", "HKLM"),
        ("PSProvider", "Microsoft.PowerShell.Core\\Registry"),
    ]


class RegistryKey(NetObject):
    """``Microsoft.Win32.RegistryKey`` as Get-Item / Get-ChildItem return it (with the PS* properties)."""

    TYPE_NAMES = ("Microsoft.Win32.RegistryKey", "System.MarshalByRefObject", "System.Object")

    def __init__(self, host: Any, key: str) -> None:
        self.host = host
        self.key = key

    def _item(self, name: Any) -> tuple[str, dict] | None:
        return value_item(self.host, self.key, "" if is_null(name) else C.to_string(name))

    def m_getvalue(self, ctx: Any, name: Any, default: Any = None) -> Any:
        found = self._item(name)
        return default if found is None else read_value(self.host, found[1])

    def m_getvaluenames(self, ctx: Any) -> list:
        return list(values(self.host, self.key))

    def m_getsubkeynames(self, ctx: Any) -> list:
        return self.host.reg_subkeys(self.key)

    def m_getvaluekind(self, ctx: Any, name: Any) -> EnumValue:
        found = self._item(name)
        if found is None:
            from .errors import error

            raise error("The specified registry key does not exist.", "IOException", exc_type="System.IO.IOException")
        return REGISTRY_VALUE_KIND.enum_value(KINDS[found[1].get("type", "REG_SZ")])

    def m_close(self, ctx: Any) -> Any:
        from .values import AUTOMATION_NULL

        return AUTOMATION_NULL

    def m_dispose(self, ctx: Any) -> Any:
        return self.m_close(ctx)

    def p_name(self) -> str:
        hive, _sep, rest = self.key.partition("\\")
        return LONG_HIVE[hive] + ("\\" + rest if rest else "")

    def p_valuecount(self) -> int:
        return len(values(self.host, self.key))

    def p_subkeycount(self) -> int:
        return len(self.host.reg_subkeys(self.key))

    def p_property(self) -> list:
        return list(values(self.host, self.key))

    def p_pspath(self) -> str:
        return ps_path(self.key)

    def p_pschildname(self) -> str:
        return ntpath.basename(self.key)

    def p_psparentpath(self) -> str:
        return ps_path(ntpath.dirname(self.key))

    def p_psiscontainer(self) -> bool:
        return True

    def ps_to_string(self) -> str:
        return self.p_name()


# ---------------------------------------------------------------------------- writes
def write_denied(host: Any, key: str, value: str | None, op: str) -> bool:
    """Does the registry refuse the connection user ``op`` (write/delete) of ``value`` under ``key``?

    The native layer's conditions decide (a token that is not elevated, ACL denials of the fleet).
    """
    from ..native import conditions

    return bool(conditions.registry_denied(host, key, value, op))


def changed(host: Any, key: str) -> None:
    """After a change under a key: Sense watches the ATP policy key (onboarding and offboarding data)."""
    from ..host import ATP_POLICY_KEY, norm_key

    if norm_key(key) == norm_key(ATP_POLICY_KEY):
        from ..native import services

        services.policy_changed(host)
