"""msiexec.exe /i for md4ws.msi, the unified agent of Server 2012 R2 / 2016 (mde-facts §1.2, §3.6).

``msiexec /i <package> [/quiet|/qn] [/norestart] [/l*v <log>] [FORCEPASSIVEMODE=1]`` (Microsoft
Learn: "msiexec", "MsiExec.exe and InstMsi.exe error messages"). msiexec writes nothing to the
console with /quiet; the result is the exit code: 0 success, 1619 the package cannot be opened
(missing), 1620 it is not a valid package (here: the file does not start with the OLE
compound-file signature), 3010 success with a restart needed (fault ``installer_reboot_required``:
files in use), 1639 bad command line. An installation takes
``INSTALL_S`` simulated seconds. Installing puts Defender Antivirus, the Sense service (stopped,
manual) and the "Microsoft Defender for Endpoint" uninstall entry on the host; FORCEPASSIVEMODE=1
starts Defender Antivirus in passive mode (``rules.derive_running_mode``). The verbose log is
written as UTF-16 with a byte order mark (MODEL). Another installation in progress (1618) is not
modelled.
"""

from __future__ import annotations

import ntpath
from collections.abc import Generator
from typing import Any

from ..host import UNINSTALL_KEY
from . import conditions
from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, program

MSI_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UNIFIED_KEY = UNINSTALL_KEY + "\\{A5D3C6B2-4E51-4D6B-9C40-5F0E3D7B1A11}"
UNIFIED_NAME = "Microsoft Defender for Endpoint"
#: MODEL: how long md4ws.msi takes to install on the simulated clock.
INSTALL_S = 30.0


def is_installed(host: Any) -> bool:
    return host.reg_get(UNIFIED_KEY, "DisplayName") is not None or bool(host.state.get("mde", {}).get("unified_agent"))


def install_unified_agent(host: Any, force_passive: bool) -> None:
    """What md4ws.msi leaves on the host."""
    state = host.state
    mde = state.setdefault("mde", {})
    mde["unified_agent"] = True
    mde["sense_installed"] = True
    if force_passive:
        mde["unified_agent_force_passive"] = True
    state.setdefault("defender", {})["installed"] = True
    if host.service("WinDefend") is None:
        host.set_service(
            "WinDefend", display_name="Microsoft Defender Antivirus Service", state="running", start_mode="auto"
        )
    if host.service("Sense") is None:
        host.set_service(
            "Sense",
            display_name="Windows Defender Advanced Threat Protection Service",
            state="stopped",
            start_mode="manual",
        )
    host.reg_set(UNIFIED_KEY, "DisplayName", UNIFIED_NAME, "REG_SZ")
    host.reg_set(UNIFIED_KEY, "Publisher", "Microsoft Corporation", "REG_SZ")
    host.reg_set(UNIFIED_KEY, "DisplayVersion", "10.8760.%d.1000" % int(host.os["build"]), "REG_SZ")


def _log(host: Any, path: str | None, lines: list[str]) -> None:
    if path:
        text = "".join(line + "\r\n" for line in lines)
        host.write_file(path, b"\xff\xfe" + text.encode("utf-16-le"))


@program(SYSTEM32 + "\\msiexec.exe")
def msiexec_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    host = ctx.host
    args = argv[1:]
    package = log = None
    quiet = False
    properties: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        low = word.lower()
        if low in ("/i", "-i", "/package"):
            if i + 1 >= len(args):
                return 1639
            package = args[i + 1]
            i += 2
        elif low in ("/quiet", "/qn", "-quiet", "/q"):
            quiet = True
            i += 1
        elif low in ("/norestart", "-norestart"):
            i += 1
        elif low.startswith("/l"):
            if i + 1 >= len(args):
                return 1639
            log = args[i + 1]
            i += 2
        elif "=" in word and not word.startswith("/"):
            name, value = word.split("=", 1)
            properties[name.upper()] = value
            i += 1
        else:
            raise NativeUnsupported("msiexec %s" % word)
    if package is None or not quiet:
        raise NativeUnsupported("msiexec without /i <package> /quiet: %s" % command_line)
    path = package if ntpath.isabs(package) else ntpath.join(ctx.cwd, package)
    log_path = None if log is None else (log if ntpath.isabs(log) else ntpath.join(ctx.cwd, log))
    data = host.read_file(path)
    if data is None:
        _log(host, log_path, ["MSI (c): Note: 1: 1309 2: 2 3: %s" % path, "MSI (c): Product: -- Error 1619."])
        return 1619
    yield INSTALL_S
    if not data.startswith(MSI_SIGNATURE):
        _log(host, log_path, ["MSI (c): This installation package could not be opened. Error 1620."])
        return 1620
    if is_installed(host):
        _log(host, log_path, ["MSI (s): Product: %s -- Configuration completed successfully." % UNIFIED_NAME])
        return 0
    if not conditions.elevated(host):
        _log(host, log_path, ["MSI (s): Product: %s -- Error 1925." % UNIFIED_NAME])
        return 1603
    install_unified_agent(host, properties.get("FORCEPASSIVEMODE") == "1")
    _log(host, log_path, ["MSI (s): Product: %s -- Installation completed successfully." % UNIFIED_NAME])
    if (host.state.get("faults") or {}).get("installer_reboot_required"):
        return 3010
    return 0
