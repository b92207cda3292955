"""The item cmdlets over the registry and file system providers.

Get-Item, Get-ChildItem, Get-ItemProperty, Test-Path, New-Item, New-ItemProperty,
Set-ItemProperty, Remove-ItemProperty, Remove-Item, Join-Path — each after its page in the
Microsoft.PowerShell.Management reference (5.1), with the errors PowerShell writes (a missing
path is a non-terminating ItemNotFoundException "Cannot find path '…' because it does not
exist."; a missing registry value a PSArgumentException "Property X does not exist at path …").
Wildcards in ``-Path`` are not modelled (PSUnsupported): the collection uses ``-LiteralPath``.
"""

from __future__ import annotations

import ntpath
from typing import Any

from . import convert as C
from . import win_files as fs
from . import win_registry as reg
from .commands import CmdletCall, ParamSpec, array_of, cmdlet, type_of
from .errors import PSUnsupported
from .values import PSCustomObject, is_null


def _paths() -> list[ParamSpec]:
    return [
        ParamSpec("Path", array_of("string"), position=0, pipeline=True),
        ParamSpec("LiteralPath", array_of("string"), aliases=("PSPath", "LP")),
    ]


def _given_paths(call: CmdletCall) -> list[str]:
    if call.p.get("literalpath") is not None:
        return list(call.p["literalpath"])
    paths = call.p.get("path")
    if paths is None:
        return []
    for p in paths:
        if any(ch in p for ch in "*?[]"):
            raise PSUnsupported("", 0, "%s -Path with wildcard characters (%s)" % (call.name, p))
    return list(paths)


def _resolve(text: str) -> tuple[str, str]:
    """(provider, canonical path): ``registry`` with ``HKLM\\…``, or ``fs`` with a full path."""
    key = reg.parse_path(text)
    if key is not None:
        return "registry", key
    return "fs", fs.full_path(text)


def _not_found(call: CmdletCall, path: str) -> None:
    call.error(
        call.record(
            "Cannot find path '%s' because it does not exist." % path,
            "PathNotFound",
            "ObjectNotFound",
            exc_type="System.Management.Automation.ItemNotFoundException",
            target=path,
        )
    )


def _denied(call: CmdletCall, key: str, value: str | None, op: str, target: str) -> bool:
    """Write the error of a registry access the ACLs refuse; True when refused."""
    if not reg.write_denied(call.host, key, value, op):
        return False
    call.error(
        call.record(
            "Requested registry access is not allowed.",
            "System.Security.SecurityException",
            "PermissionDenied",
            exc_type="System.Security.SecurityException",
            target=target,
        )
    )
    return True


def _exists(call: CmdletCall, provider: str, path: str) -> bool:
    if provider == "registry":
        return reg.key_exists(call.host, path)
    return fs.exists(call.host, path)


def _item(call: CmdletCall, provider: str, path: str) -> Any:
    if provider == "registry":
        return reg.RegistryKey(call.host, path)
    return fs.item(call.host, path)


# ---------------------------------------------------------------------------- reading
@cmdlet(
    "Get-Item",
    [*_paths(), ParamSpec("Force", switch=True)],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
)
def get_item(call: CmdletCall) -> None:
    for text in _given_paths(call):
        provider, path = _resolve(text)
        if not _exists(call, provider, path):
            _not_found(call, text)
            continue
        call.write(_item(call, provider, path))


@cmdlet(
    "Get-ChildItem",
    [*_paths(), ParamSpec("Force", switch=True), ParamSpec("Recurse", switch=True)],
    exclusive=[("path", "literalpath")],
)
def get_child_item(call: CmdletCall) -> None:
    if call.p["recurse"]:
        raise PSUnsupported("", 0, "Get-ChildItem -Recurse")
    for text in _given_paths(call) or []:
        provider, path = _resolve(text)
        if not _exists(call, provider, path):
            _not_found(call, text)
            continue
        if provider == "registry":
            for sub in call.host.reg_subkeys(path):
                call.write(reg.RegistryKey(call.host, path + "\\" + sub))
        else:
            if not fs.is_dir(call.host, path):
                call.write(fs.item(call.host, path))
                continue
            for child in fs.children(call.host, path):
                call.write(fs.item(call.host, child))


@cmdlet(
    "Get-ItemProperty",
    [*_paths(), ParamSpec("Name", array_of("string"), position=1)],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
)
def get_item_property(call: CmdletCall) -> None:
    for text in _given_paths(call):
        provider, path = _resolve(text)
        if provider != "registry":
            raise PSUnsupported("", 0, "Get-ItemProperty on the file system")
        if not reg.key_exists(call.host, path):
            _not_found(call, text)
            continue
        found: list[tuple[str, Any]] = []
        names = call.p["name"]
        if names is None:
            for name, item in reg.values(call.host, path).items():
                found.append((name, reg.read_value(call.host, item)))
        else:
            for name in names:
                hit = reg.value_item(call.host, path, name)
                if hit is None:
                    call.error(
                        call.record(
                            "Property %s does not exist at path %s."
                            % (name, reg.RegistryKey(call.host, path).p_name()),
                            "System.Management.Automation.PSArgumentException",
                            "InvalidArgument",
                            exc_type="System.Management.Automation.PSArgumentException",
                            target=name,
                        )
                    )
                    continue
                found.append((hit[0], reg.read_value(call.host, hit[1])))
        if found:
            call.write(PSCustomObject(found + reg.note_properties(path)))


@cmdlet(
    "Test-Path",
    [*_paths(), ParamSpec("PathType", type_of("string"), validate_set=["Any", "Container", "Leaf"])],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
)
def test_path(call: CmdletCall) -> None:
    kind = (call.p["pathtype"] or "Any").lower()
    for text in _given_paths(call):
        if text == "":
            raise _empty_path(call)
        provider, path = _resolve(text)
        present = _exists(call, provider, path)
        if present and kind != "any":
            container = provider == "registry" or fs.is_dir(call.host, path)
            present = container == (kind == "container")
        call.write(present)


def _empty_path(call: CmdletCall) -> Exception:
    from .errors import error

    return error(
        "Cannot bind argument to parameter 'Path' because it is an empty string.",
        "ParameterArgumentValidationErrorEmptyStringNotAllowed,Microsoft.PowerShell.Commands.TestPathCommand",
        exc_type="System.Management.Automation.ParameterBindingException",
        category="InvalidData",
    )


# ---------------------------------------------------------------------------- changing
@cmdlet(
    "New-Item",
    [
        ParamSpec("Path", array_of("string"), position=0),
        ParamSpec("Name", type_of("string")),
        ParamSpec("ItemType", type_of("string"), aliases=("Type",)),
        ParamSpec("Value", type_of("object"), pipeline=True),
        ParamSpec("Force", switch=True),
    ],
    should_process=True,
)
def new_item(call: CmdletCall) -> None:
    for text in call.p["path"] or []:
        if call.p["name"]:
            text = ntpath.join(text, call.p["name"])
        provider, path = _resolve(text)
        if provider == "registry":
            _new_key(call, text, path)
        else:
            _new_fs_item(call, text, path)


def _new_key(call: CmdletCall, text: str, key: str) -> None:
    host = call.host
    if call.p["itemtype"] not in (None, "", "Key"):
        raise PSUnsupported("", 0, "New-Item -ItemType %s in the registry" % call.p["itemtype"])
    if reg.key_exists(host, key):
        if not call.p["force"]:
            call.error(
                call.record(
                    "A key at this path already exists.",
                    "System.IO.IOException",
                    "ResourceExists",
                    exc_type="System.IO.IOException",
                    target=text,
                )
            )
            return
        # The registry provider's New-Item -Force on an existing key recreates it empty.
        host.reg_delete_key(key)
    parent = ntpath.dirname(key)
    if not reg.key_exists(host, parent) and not call.p["force"]:
        _not_found(call, ntpath.dirname(text))
        return
    if _denied(call, key, None, "write", text):
        return
    host.reg_ensure_key(key)
    if not is_null(call.p["value"]):
        rtype, data = reg.to_data("String", call.p["value"])
        host.reg_set(key, "", data, rtype)
    call.write(reg.RegistryKey(host, key))


def _new_fs_item(call: CmdletCall, text: str, path: str) -> None:
    host = call.host
    kind = (call.p["itemtype"] or "File").lower()
    if kind not in ("directory", "file"):
        raise PSUnsupported("", 0, "New-Item -ItemType %s" % call.p["itemtype"])
    if fs.exists(host, path):
        if kind == "directory" and fs.is_dir(host, path) and call.p["force"]:
            call.write(fs.item(host, path))
            return
        if not call.p["force"] or fs.is_dir(host, path) != (kind == "directory"):
            call.error(
                call.record(
                    "An item with the specified name %s already exists." % path,
                    "DirectoryExist" if kind == "directory" else "NewItemIOError",
                    "ResourceExists",
                    exc_type="System.IO.IOException",
                    target=path,
                )
            )
            return
    if kind == "directory":
        host.make_dirs(path)
    else:
        parent = ntpath.dirname(path)
        if not fs.is_dir(host, parent):
            if not call.p["force"]:
                _not_found(call, parent)
                return
            host.make_dirs(parent)
        value = call.p["value"]
        host.write_file(path, b"" if is_null(value) else C.to_string(value).encode("utf-8"))
    call.write(fs.item(host, path))


_PROPERTY_TYPES = ["String", "ExpandString", "Binary", "DWord", "MultiString", "QWord", "Unknown"]


@cmdlet(
    "New-ItemProperty",
    [
        *_paths(),
        ParamSpec(
            "Name", type_of("string"), mandatory=True, position=1, aliases=("PSProperty",), allow_empty_string=True
        ),
        ParamSpec("PropertyType", type_of("string"), aliases=("Type",), validate_set=_PROPERTY_TYPES),
        ParamSpec("Value", type_of("object"), position=2, pipeline=True, allow_null=True),
        ParamSpec("Force", switch=True),
    ],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
    should_process=True,
)
def new_item_property(call: CmdletCall) -> None:
    name = call.p["name"]
    for text in _given_paths(call):
        provider, key = _resolve(text)
        if provider != "registry":
            raise PSUnsupported("", 0, "New-ItemProperty on the file system")
        if not reg.key_exists(call.host, key):
            _not_found(call, text)
            continue
        if reg.value_item(call.host, key, name) is not None and not call.p["force"]:
            call.error(
                call.record(
                    "The property already exists.",
                    "System.IO.IOException",
                    "ResourceExists",
                    exc_type="System.IO.IOException",
                    target=text,
                )
            )
            continue
        kind = call.p["propertytype"] or "String"
        if kind == "Unknown":
            raise PSUnsupported("", 0, "New-ItemProperty -PropertyType Unknown")
        rtype, data = reg.to_data(kind, call.p["value"])
        if _denied(call, key, name, "write", text):
            continue
        call.host.reg_set(key, name, data, rtype)
        reg.changed(call.host, key)
        value = reg.read_value(call.host, {"type": rtype, "data": data})
        call.write(PSCustomObject([(name, value), *reg.note_properties(key)]))


@cmdlet(
    "Set-ItemProperty",
    [
        *_paths(),
        ParamSpec("Name", type_of("string"), mandatory=True, position=1, aliases=("PSProperty",)),
        ParamSpec("Value", type_of("object"), position=2, pipeline=True, allow_null=True),
        ParamSpec("Type", type_of("string"), validate_set=_PROPERTY_TYPES),
        ParamSpec("Force", switch=True),
    ],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
    should_process=True,
)
def set_item_property(call: CmdletCall) -> None:
    name = call.p["name"]
    for text in _given_paths(call):
        provider, key = _resolve(text)
        if provider != "registry":
            raise PSUnsupported("", 0, "Set-ItemProperty on the file system")
        if not reg.key_exists(call.host, key):
            _not_found(call, text)
            continue
        existing = reg.value_item(call.host, key, name)
        kind = call.p["type"] or (reg.KINDS[existing[1]["type"]] if existing else "String")
        rtype, data = reg.to_data(kind, call.p["value"])
        if _denied(call, key, name, "write", text):
            continue
        call.host.reg_set(key, existing[0] if existing else name, data, rtype)
        reg.changed(call.host, key)


@cmdlet(
    "Remove-ItemProperty",
    [
        *_paths(),
        ParamSpec("Name", array_of("string"), mandatory=True, position=1, aliases=("PSProperty",)),
        ParamSpec("Force", switch=True),
    ],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
    should_process=True,
)
def remove_item_property(call: CmdletCall) -> None:
    for text in _given_paths(call):
        provider, key = _resolve(text)
        if provider != "registry":
            raise PSUnsupported("", 0, "Remove-ItemProperty on the file system")
        if not reg.key_exists(call.host, key):
            _not_found(call, text)
            continue
        for name in call.p["name"]:
            if reg.value_item(call.host, key, name) is not None and _denied(call, key, name, "delete", text):
                continue
            if call.host.reg_delete_value(key, name):
                reg.changed(call.host, key)
            else:
                call.error(
                    call.record(
                        "Property %s does not exist at path %s." % (name, reg.RegistryKey(call.host, key).p_name()),
                        "System.Management.Automation.PSArgumentException",
                        "InvalidArgument",
                        exc_type="System.Management.Automation.PSArgumentException",
                        target=name,
                    )
                )


@cmdlet(
    "Remove-Item",
    [*_paths(), ParamSpec("Recurse", switch=True), ParamSpec("Force", switch=True)],
    exclusive=[("path", "literalpath")],
    one_of=[("path", "literalpath")],
    should_process=True,
)
def remove_item(call: CmdletCall) -> None:
    host = call.host
    for text in _given_paths(call):
        provider, path = _resolve(text)
        if not _exists(call, provider, path):
            _not_found(call, text)
            continue
        if provider == "registry":
            if host.reg_subkeys(path) and not call.p["recurse"]:
                raise PSUnsupported(
                    "", 0, "Remove-Item of a registry key with subkeys without -Recurse (PowerShell prompts)"
                )
            if _denied(call, path, None, "delete", text):
                continue
            host.reg_delete_key(path)
            reg.changed(host, path)
            continue
        if fs.is_dir(host, path) and fs.children(host, path) and not call.p["recurse"]:
            raise PSUnsupported("", 0, "Remove-Item of a directory with children without -Recurse (PowerShell prompts)")
        host.remove_path(path)


@cmdlet(
    "Join-Path",
    [
        ParamSpec("Path", array_of("string"), mandatory=True, position=0, aliases=("PSPath",)),
        ParamSpec("ChildPath", type_of("string"), mandatory=True, position=1, allow_empty_string=True),
    ],
)
def join_path(call: CmdletCall) -> None:
    child = call.p["childpath"] or ""
    for base in call.p["path"]:
        if ":" in base.split("\\", 1)[0]:
            drive = base.split(":", 1)[0]
            if reg.parse_path(drive + ":\\") is None and not (len(drive) == 1 and drive.isalpha()):
                call.error(
                    call.record(
                        "Cannot find drive. A drive with the name '%s' does not exist." % drive,
                        "DriveNotFound",
                        "ObjectNotFound",
                        exc_type="System.Management.Automation.RuntimeException",
                        target=drive,
                    )
                )
                continue
        call.write(base.rstrip("\\") + "\\" + child.lstrip("\\") if child else base)
