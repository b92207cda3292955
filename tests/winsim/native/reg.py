"""reg.exe: ``add``, ``query`` and ``delete`` on the host's registry.

Microsoft Learn: "reg add", "reg query", "reg delete". Options are case-insensitive; arguments
are split with the C runtime rules (``argv.py``), so ``/d "{\\"body\\":...}"`` gives the JSON text.
Success prints "The operation completed successfully." and exits 0; a missing key or value
prints "ERROR: The system was unable to find the specified registry key or value." on stderr
and exits 1; an ACL refusal "ERROR: Access is denied." and 1; bad syntax "ERROR: Invalid
syntax." and 1. ``reg query`` prints the key with its root spelled out and each value as
``<4 spaces>name<4 spaces>type<4 spaces>data`` (REG_DWORD as ``0x1``, REG_BINARY as hex digits).
``/reg:64`` is the default view of a 64-bit reg.exe; ``/reg:32`` (the WOW64 view) is not
modelled. Only HKLM is modelled. A write under the ATP policy key is seen by Sense at once
(``services.policy_changed``).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

from ..host import ATP_POLICY_KEY, norm_key
from . import conditions, services
from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, program

OK = "The operation completed successfully.\r\n"
NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value.\r\n"
DENIED = "ERROR: Access is denied.\r\n"
TYPES = ("REG_SZ", "REG_MULTI_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_QWORD", "REG_BINARY", "REG_NONE")
_ROOTS = {"HKLM": "HKEY_LOCAL_MACHINE", "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE"}


def _syntax(ctx: Ctx, op: str) -> int:
    ctx.err('ERROR: Invalid syntax.\r\nType "REG %s /?" for usage.\r\n' % op.upper())
    return 1


def _key(ctx: Ctx, text: str) -> tuple[str, str] | None:
    """(HKLM\\path, HKEY_LOCAL_MACHINE\\path as printed) or None for a bad root."""
    if text.startswith("\\\\"):
        raise NativeUnsupported("reg.exe on a remote computer: %s" % text)
    root, _sep, rest = text.rstrip("\\").partition("\\")
    upper = root.upper()
    if upper in ("HKCU", "HKCR", "HKU", "HKCC", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT", "HKEY_USERS"):
        raise NativeUnsupported("reg.exe on %s (only HKLM is modelled)" % root)
    if upper not in _ROOTS:
        return None
    return ("HKLM\\" + rest if rest else "HKLM"), (_ROOTS[upper] + ("\\" + rest if rest else ""))


def _options(args: list[str], flags: tuple[str, ...], valued: tuple[str, ...]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        word = args[i].lower()
        if word in valued:
            if i + 1 >= len(args) or word in out:
                return None
            out[word] = args[i + 1]
            i += 2
        elif word in flags and word not in out:
            out[word] = True
            i += 1
        else:
            return None
    if out.get("/reg:32"):
        raise NativeUnsupported("reg.exe /reg:32 (the 32-bit registry view)")
    if "/reg:32" in out and "/reg:64" in out:
        return None
    return out


def key_exists(host: Any, key: str) -> bool:
    builtin = norm_key(key) in ("hklm", "hklm\\software", "hklm\\system")
    return builtin or host.reg_key_exists(key) or bool(host.reg_subkeys(key))


def _data(rtype: str, text: str, sep: str) -> Any:
    """The value to store for ``/d text`` (ValueError: not valid for the type)."""
    if rtype in ("REG_DWORD", "REG_QWORD"):
        value = int(text, 16) if text.lower().startswith("0x") else int(text or "0")
        if value < 0 or value > (0xFFFFFFFF if rtype == "REG_DWORD" else 0xFFFFFFFFFFFFFFFF):
            raise ValueError(text)
        return value
    if rtype in ("REG_BINARY", "REG_NONE"):
        text = text.strip()
        if len(text) % 2:
            text = "0" + text
        return [int(text[i : i + 2], 16) for i in range(0, len(text), 2)]
    if rtype == "REG_MULTI_SZ":
        return text.split(sep) if text else []
    return text


def shown(rtype: str, data: Any) -> str:
    """The data as reg query prints it."""
    if rtype in ("REG_DWORD", "REG_QWORD"):
        return "0x%x" % int(data)
    if rtype in ("REG_BINARY", "REG_NONE"):
        return "".join("%02X" % b for b in data or [])
    if rtype == "REG_MULTI_SZ":
        return "\\0".join(str(d) for d in data or [])
    return str(data)


def _confirm(ctx: Ctx, prompt: str) -> Generator[float, None, bool]:
    """A Yes/No question on stdin (a console nobody answers waits for ever)."""
    ctx.out(prompt)
    if ctx.stdin.console:
        yield math.inf
    line = ctx.stdin.read_line()
    return line is not None and line.strip().lower() in ("y", "yes")


def _add(ctx: Ctx, key: str, args: list[str]) -> Generator[float, None, int]:
    host = ctx.host
    opts = _options(args, ("/ve", "/f", "/reg:32", "/reg:64"), ("/v", "/t", "/s", "/d"))
    if opts is None or ("/v" in opts and "/ve" in opts):
        return _syntax(ctx, "add")
    rtype = str(opts.get("/t", "REG_SZ")).upper()
    if rtype not in TYPES:
        if rtype.startswith("REG_"):
            raise NativeUnsupported("reg add /t %s" % rtype)
        return _syntax(ctx, "add")
    name = "" if opts.get("/ve") else opts.get("/v")
    if name is None:
        if conditions.registry_denied(host, key, None, "write"):
            ctx.err(DENIED)
            return 1
        host.reg_ensure_key(key)
        ctx.out(OK)
        return 0
    try:
        data = _data(rtype, str(opts.get("/d", "")), str(opts.get("/s", "\\0")))
    except ValueError:
        return _syntax(ctx, "add")
    if conditions.registry_denied(host, key, name, "write"):
        ctx.err(DENIED)
        return 1
    if host.reg_get_item(key, name) is not None and not opts.get("/f"):
        overwrite = yield from _confirm(ctx, "Value %s exists, overwrite(Yes/No)? " % (name or "(Default)"))
        if not overwrite:
            ctx.out("The operation was canceled by the user.\r\n")
            return 0
    host.reg_set(key, name, data, rtype)
    ctx.out(OK)
    if norm_key(key) == norm_key(ATP_POLICY_KEY):
        services.policy_changed(host)
    return 0


def _query(ctx: Ctx, key: str, printed: str, args: list[str]) -> int:
    host = ctx.host
    opts = _options(args, ("/ve", "/reg:32", "/reg:64"), ("/v",))
    if opts is None or ("/v" in opts and "/ve" in opts):
        if any(a.lower() in ("/s", "/f", "/k", "/d", "/c", "/e", "/z", "/se", "/t") for a in args):
            raise NativeUnsupported("reg query %s" % " ".join(args))
        return _syntax(ctx, "query")
    if not key_exists(host, key):
        ctx.err(NOT_FOUND)
        return 1
    lines = ["", printed]
    if "/v" in opts or "/ve" in opts:
        name = "" if opts.get("/ve") else str(opts["/v"])
        item = host.reg_get_item(key, name)
        if item is None:
            if name:
                ctx.err(NOT_FOUND)
                return 1
            lines.append("    (Default)    REG_SZ    (value not set)")
        else:
            lines.append("    %s    %s    %s" % (name or "(Default)", item["type"], shown(item["type"], item["data"])))
        ctx.out("\r\n".join(lines) + "\r\n\r\n")
        return 0
    for vname, item in host.reg_values(key).items():
        lines.append("    %s    %s    %s" % (vname or "(Default)", item["type"], shown(item["type"], item["data"])))
    lines.append("")
    lines += [printed + "\\" + sub for sub in host.reg_subkeys(key)]
    ctx.out("\r\n".join(lines) + "\r\n")
    return 0


def _delete(ctx: Ctx, key: str, printed: str, args: list[str]) -> Generator[float, None, int]:
    host = ctx.host
    opts = _options(args, ("/ve", "/va", "/f", "/reg:32", "/reg:64"), ("/v",))
    if opts is None or sum(1 for k in ("/v", "/ve", "/va") if k in opts) > 1:
        return _syntax(ctx, "delete")
    if "/va" in opts:
        raise NativeUnsupported("reg delete /va")
    if not key_exists(host, key):
        ctx.err(NOT_FOUND)
        return 1
    if "/v" in opts or "/ve" in opts:
        name = "" if opts.get("/ve") else str(opts["/v"])
        if host.reg_get_item(key, name) is None:
            ctx.err(NOT_FOUND)
            return 1
        if conditions.registry_denied(host, key, name, "delete"):
            ctx.err(DENIED)
            return 1
        if not opts.get("/f"):
            yes = yield from _confirm(ctx, "Delete the registry value %s (Yes/No)? " % (name or "(Default)"))
            if not yes:
                return 0
        host.reg_delete_value(key, name)
    else:
        if conditions.registry_denied(host, key, None, "delete"):
            ctx.err(DENIED)
            return 1
        if not opts.get("/f"):
            yes = yield from _confirm(ctx, "Permanently delete the registry key %s (Yes/No)? " % printed)
            if not yes:
                return 0
        host.reg_delete_key(key)
    ctx.out(OK)
    if norm_key(key) == norm_key(ATP_POLICY_KEY):
        services.policy_changed(host)
    return 0


@program(SYSTEM32 + "\\reg.exe")
def reg_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    if len(argv) < 2:
        ctx.err('ERROR: Invalid syntax.\r\nType "REG /?" for usage.\r\n')
        return 1
    op = argv[1].lower()
    if op not in ("add", "query", "delete"):
        raise NativeUnsupported("reg %s: %s" % (argv[1], command_line))
    if len(argv) < 3:
        return _syntax(ctx, op)
    keys = _key(ctx, argv[2])
    if keys is None:
        ctx.err('ERROR: Invalid key name.\r\nType "REG %s /?" for usage.\r\n' % op.upper())
        return 1
    key, printed = keys
    if op == "add":
        return (yield from _add(ctx, key, argv[3:]))
    if op == "query":
        return _query(ctx, key, printed, argv[3:])
    return (yield from _delete(ctx, key, printed, argv[3:]))
