"""sc.exe and net.exe: the services and the privilege check of the portal's scripts.

``sc query <name>`` / ``sc start <name>`` (Microsoft Learn: "sc.exe query", "sc.exe start"): the
SERVICE_STATUS fields in sc's layout (``STATE              : 4  RUNNING``); a missing service is
``[SC] EnumQueryServicesStatus:OpenService FAILED 1060`` and exit code 1060; a failed start is
``[SC] StartService FAILED <err>`` and exit code ``<err>``. sc writes everything to stdout.

``net session`` (Microsoft Learn: "net session"; the privilege test of the portal's scripts):
"There are no entries in the list." and exit 0 when elevated, else "System error 5 has
occurred. Access is denied." and exit 2. ``net start <service>`` (Microsoft Learn: "net start")
starts a service and waits while it is START_PENDING, printing a dot per poll; errors are the
NET HELPMSG texts (2182 already started, 2185 no such service, 3534 ended during start, system
errors 5, 577, 1058) with exit code 2. UNCONFIRMED: net.exe writes its error texts to stderr;
it waits at most ``NET_START_WAIT_S`` for a pending service, then reports NET HELPMSG 2186.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from . import conditions, services
from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, program

#: MODEL (UNCONFIRMED): how long ``net start`` waits for a START_PENDING service, polling each second.
NET_START_WAIT_S = 30
_STATE_NAMES = {1: "STOPPED", 2: "START_PENDING", 3: "STOP_PENDING", 4: "RUNNING"}
_CONTROLS = {
    1: "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)",
    2: "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)",
    3: "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)",
    4: "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)",
}
_SYSTEM_ERRORS = {
    5: "Access is denied.",
    577: (
        "Windows cannot verify the digital signature for this file. A recent hardware or software change might have "
        "installed a file that is signed incorrectly or damaged, or that might be malicious software from an "
        "unknown source."
    ),
    1056: "An instance of the service is already running.",
    1058: (
        "The service cannot be started, either because it is disabled or because it has no enabled devices "
        "associated with it."
    ),
    1060: "The specified service does not exist as an installed service.",
    1067: "The process terminated unexpectedly.",
}


def _find(host: Any, name: str) -> tuple[str, dict] | None:
    """A service by its name or display name (case-insensitive)."""
    for sname, svc in (host.state.get("services") or {}).items():
        if sname.lower() == name.lower() or str(svc.get("display_name", "")).lower() == name.lower():
            return sname, svc
    return None


def status_block(name: str, svc: dict, with_pid: bool = False) -> str:
    code = services.STATE_CODES.get(str(svc.get("state", "stopped")), 1)
    exit_code = svc.get("exit_code")
    exit_code = int(exit_code) if exit_code is not None else (1077 if code == 1 else 0)  # 1077: never started
    lines = [
        "",
        "SERVICE_NAME: %s " % name,
        "        TYPE               : 10  WIN32_OWN_PROCESS  ",
        "        STATE              : %d  %s " % (code, _STATE_NAMES[code]),
        "                                %s" % _CONTROLS[code],
        "        WIN32_EXIT_CODE    : %d  (0x%x)" % (exit_code, exit_code),
        "        SERVICE_EXIT_CODE  : 0  (0x0)",
        "        CHECKPOINT         : 0x%x" % (1 if code == 2 else 0),
        "        WAIT_HINT          : 0x%x" % (2000 if code == 2 else 0),
    ]
    if with_pid:
        lines += ["        PID                : %d" % (int(svc.get("pid", 0) or 0)), "        FLAGS              :"]
    return "\r\n".join(lines) + "\r\n"


def _sc_failed(ctx: Ctx, call: str, error: int) -> int:
    ctx.out("[SC] %s FAILED %d:\r\n\r\n%s\r\n\r\n" % (call, error, _SYSTEM_ERRORS.get(error, "")))
    return error


@program(SYSTEM32 + "\\sc.exe")
def sc_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    args = argv[1:]
    if args and args[0].startswith("\\\\"):
        raise NativeUnsupported("sc.exe on a remote computer: %s" % command_line)
    if len(args) != 2 or args[0].lower() not in ("query", "start"):
        raise NativeUnsupported("sc %s" % " ".join(args))
    op, name = args[0].lower(), args[1]
    found = _find(ctx.host, name)
    if op == "query":
        if found is None or found[0].lower() != name.lower():
            return _sc_failed(ctx, "EnumQueryServicesStatus:OpenService", 1060)
        ctx.out(status_block(name, found[1]))
        return 0
    if found is None or found[0].lower() != name.lower():
        return _sc_failed(ctx, "OpenService", 1060)
    if not conditions.elevated(ctx.host):
        return _sc_failed(ctx, "OpenService", 5)
    error = services.start_service(ctx.host, found[0])
    if error:
        return _sc_failed(ctx, "StartService", error)
    ctx.out(status_block(name, ctx.host.service(found[0]), with_pid=True))
    return 0
    yield  # pragma: no cover


def _net_error(ctx: Ctx, helpmsg: int, text: str) -> int:
    ctx.err("%s\r\n\r\nMore help is available by typing NET HELPMSG %d.\r\n\r\n" % (text, helpmsg))
    return 2


def _system_error(ctx: Ctx, error: int) -> int:
    ctx.err("System error %d has occurred.\r\n\r\n%s\r\n\r\n" % (error, _SYSTEM_ERRORS[error]))
    return 2


def _net_start(ctx: Ctx, name: str) -> Generator[float, None, int]:
    host = ctx.host
    found = _find(host, name)
    if found is None:
        return _net_error(ctx, 2185, "The service name is invalid.")
    sname, svc = found
    display = str(svc.get("display_name") or sname)
    state = str(svc.get("state", "stopped"))
    if state == "running":
        return _net_error(ctx, 2182, "The requested service has already been started.")
    if state != "stopped":
        return _net_error(ctx, 2189, "The service is starting or stopping.  Please try again later.")
    error = services.start_service(host, sname)
    if error:
        return _system_error(ctx, error)
    ctx.out("The %s service is starting" % display)
    waited = 0
    while services.service_state(host, sname) == "start_pending" and waited < NET_START_WAIT_S:
        yield 1.0
        waited += 1
        ctx.out(".")
    state = services.service_state(host, sname) or ""
    if state == "running":
        ctx.out(".\r\nThe %s service was started successfully.\r\n\r\n" % display)
        return 0
    ctx.out("\r\nThe %s service could not be started.\r\n\r\n" % display)
    if state == "start_pending":
        return _net_error(ctx, 2186, "The service is not responding to the control function.")
    exit_code = int((host.service(sname) or {}).get("exit_code") or 0)
    if exit_code and exit_code in _SYSTEM_ERRORS:
        ctx.err("A system error has occurred.\r\n\r\n")
        return _system_error(ctx, exit_code)
    return _net_error(ctx, 3534, "The service did not report an error.")


@program(SYSTEM32 + "\\net.exe")
def net_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    args = argv[1:]
    verb = args[0].lower() if args else ""
    if verb == "session" and len(args) == 1:
        if not conditions.elevated(ctx.host):
            return _system_error(ctx, 5)
        ctx.out("There are no entries in the list.\r\n\r\n")
        return 0
    if verb == "start" and len(args) >= 2:
        return (yield from _net_start(ctx, " ".join(args[1:])))
    if verb == "start":
        names = sorted(
            str(svc.get("display_name") or n)
            for n, svc in (ctx.host.state.get("services") or {}).items()
            if svc.get("state") == "running"
        )
        ctx.out("These Windows services are started:\r\n\r\n")
        ctx.out("".join("   %s\r\n" % n for n in names))
        ctx.out("\r\nThe command completed successfully.\r\n\r\n")
        return 0
    raise NativeUnsupported("net %s" % " ".join(args))
