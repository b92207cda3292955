"""find.exe, timeout.exe and eventcreate.exe.

``find [/i] [/v] [/c] "string"`` (Microsoft Learn: "find"): reads standard input (file names are
not modelled), prints the matching lines, exits 0 when a line matched and 1 when none did; the
string must be in double quotes ("FIND: Parameter format not correct", exit 2).

``timeout /t n`` and ``timeout n`` (Microsoft Learn: "timeout"; n from -1 to 99999, -1 waits for a
key): with a console it waits n seconds on the simulated clock and exits 0. Standard input that
is not a console (a pipe, a file, the non-console handle a WinRM process inherits) makes it
print "ERROR: Input redirection is not supported, exiting the process immediately." on stderr
and exit 1 at once: observed behaviour, widely reported, not on the reference page (UNCONFIRMED
for ``/nobreak``, modelled the same).

``eventcreate /l <log> /so <source> /t <type> /id <1-1000> /d <text>`` (Microsoft Learn:
"eventcreate"): writes the event; a source used for the first time is registered under
``HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\<log>\\<source>`` with ``CustomSource`` = 1
(which needs an elevated token); a source that belongs to an installed application, or to
another log, is refused. Success prints "SUCCESS: An event of type '<type>' was created in the
'<log>' log with '<source>' as the source."
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from typing import Any

from . import conditions
from .errors import NativeUnsupported
from .process import OEM, SYSTEM32, Ctx, program

EVENTLOG_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog"
_LEVELS = {"error": "Error", "warning": "Warning", "information": "Information", "success": "Information"}
_TYPE_NAMES = {"error": "Error", "warning": "Warning", "information": "Information", "success": "Success"}


def _after_program(command_line: str) -> str:
    text = command_line.lstrip(" \t")
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[end + 1 :] if end >= 0 else ""
    parts = text.split(None, 1)
    return parts[1] if len(parts) > 1 else ""


@program(SYSTEM32 + "\\find.exe")
def find_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    rest = _after_program(command_line)
    m = re.fullmatch(r'\s*((?:/[a-zA-Z]+\s+)*)"([^"]*)"\s*(.*?)\s*', rest)
    if not m:
        ctx.err("FIND: Parameter format not correct\r\n")
        return 2
    switches = {s.lower() for s in m.group(1).split()}
    if switches - {"/i", "/v", "/c"}:
        raise NativeUnsupported("find %s" % " ".join(sorted(switches)))
    if m.group(3):
        raise NativeUnsupported("find in files: %s" % command_line)
    if ctx.stdin.console:
        yield math.inf  # find waits for console input
    data = ctx.stdin.read_all().decode(OEM, errors="replace")
    needle = m.group(2)
    fold = "/i" in switches
    lines = data.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    matched = [
        line for line in lines if ((needle.lower() in line.lower()) if fold else (needle in line)) != ("/v" in switches)
    ]
    if "/c" in switches:
        ctx.out("%d\r\n" % len(matched))
    else:
        ctx.out("".join(line + "\r\n" for line in matched))
    return 0 if matched else 1


@program(SYSTEM32 + "\\timeout.exe")
def timeout_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    args = argv[1:]
    nobreak = any(a.lower() == "/nobreak" for a in args)
    args = [a for a in args if a.lower() != "/nobreak"]
    if args and args[0].lower() == "/t":
        args = args[1:]
    if len(args) != 1:
        ctx.err(
            "ERROR: Invalid syntax. Default option is not allowed more than '1' time(s).\r\nType \"TIMEOUT /?\" "
            "for usage.\r\n"
        )
        return 1
    try:
        seconds = int(args[0])
    except ValueError:
        seconds = -2
    if seconds < -1 or seconds > 99999:
        ctx.err("ERROR: Invalid value for timeout (/T) specified. Valid range is -1 to 99999.\r\n")
        return 1
    if ctx.stdin.redirected:
        ctx.err("ERROR: Input redirection is not supported, exiting the process immediately.\r\n")
        return 1
    if seconds == -1:
        ctx.out("\r\nPress any key to continue ...")
        yield math.inf
    ctx.out(
        "\r\nWaiting for %d seconds, press %s to continue ..." % (seconds, "CTRL+C to quit" if nobreak else "a key")
    )
    if seconds:
        yield float(seconds)
    ctx.out("\r\n")
    return 0


def _source_log(host: Any, source: str) -> tuple[str, bool] | None:
    """(log, custom) of a registered event source, or None."""
    for sub in host.reg_subkeys(EVENTLOG_KEY):
        key = EVENTLOG_KEY + "\\" + sub
        for name in host.reg_subkeys(key):
            if name.lower() == source.lower():
                return sub, host.reg_get(key + "\\" + name, "CustomSource") == 1
    return None


def register_source(host: Any, log: str, source: str) -> None:
    key = "%s\\%s\\%s" % (EVENTLOG_KEY, log, source)
    host.reg_set(key, "EventMessageFile", "%SystemRoot%\\System32\\EventCreate.exe", "REG_EXPAND_SZ")
    host.reg_set(key, "TypesSupported", 7, "REG_DWORD")
    host.reg_set(key, "CustomSource", 1, "REG_DWORD")


@program(SYSTEM32 + "\\eventcreate.exe")
def eventcreate_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    opts: dict[str, str] = {}
    args = argv[1:]
    i = 0
    while i < len(args):
        word = args[i].lower()
        if word in ("/s", "/u", "/p"):
            raise NativeUnsupported("eventcreate on a remote computer: %s" % command_line)
        if word not in ("/l", "/so", "/t", "/id", "/d") or i + 1 >= len(args) or word in opts:
            ctx.err('ERROR: Invalid syntax.\r\nType "EVENTCREATE /?" for usage.\r\n')
            return 1
        opts[word] = args[i + 1]
        i += 2
    if not all(k in opts for k in ("/t", "/id", "/d")):
        ctx.err('ERROR: Invalid syntax. Mandatory option is missing.\r\nType "EVENTCREATE /?" for usage.\r\n')
        return 1
    kind = opts["/t"].lower()
    if kind not in _LEVELS:
        ctx.err("ERROR: Invalid Argument/Option - '/t'.\r\nType \"EVENTCREATE /?\" for usage.\r\n")
        return 1
    try:
        event_id = int(opts["/id"])
    except ValueError:
        event_id = 0
    if not 1 <= event_id <= 1000:
        ctx.err("ERROR: Invalid ID specified. Valid range is 1 to 1000.\r\n")
        return 1
    log = {"application": "Application", "system": "System"}.get(opts.get("/l", "Application").lower())
    if log is None:
        raise NativeUnsupported("eventcreate /l %s" % opts["/l"])
    source = opts.get("/so", "EventCreate")
    host = ctx.host
    registered = _source_log(host, source)
    if registered is None:
        if not conditions.elevated(host):
            ctx.err("ERROR: Access is denied.\r\n")
            return 1
        register_source(host, log, source)
    elif registered[0].lower() != log.lower():
        ctx.err("ERROR: Source already exists in '%s' log. Source cannot be duplicated.\r\n" % registered[0])
        return 1
    elif not registered[1]:
        ctx.err(
            "ERROR: Source parameter is used to identify custom applications/scripts only (not installed "
            "applications).\r\n"
        )
        return 1
    host.write_event(log, source, event_id, _LEVELS[kind], opts["/d"])
    ctx.out(
        "SUCCESS: An event of type '%s' was created in the '%s' log with '%s' as the source.\r\n"
        % (_TYPE_NAMES[kind], log, source)
    )
    return 0
    yield  # pragma: no cover
