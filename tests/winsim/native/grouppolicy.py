"""gpupdate.exe and gpresult.exe over the simulated domain (``tests/winsim/domain.py``).

``gpupdate /target:computer [/force] [/wait:n]`` (Microsoft Learn: "gpupdate"): computer policy
is processed (``domain.apply_group_policy``) in ``GP_PROCESSING_S`` simulated seconds; stdout gets
"Updating policy..." and "Computer Policy update has completed successfully.", exit 0. When the
host cannot reach a domain controller (fault ``dc_unreachable``) nothing is
applied, the failure text goes to stderr and the exit code is 1; the System log gets
Group Policy event 1129. UNCONFIRMED: which of gpupdate's texts go to stderr; the model sends
the error and warning blocks there, the progress lines to stdout (Windows PowerShell 5.1 turns
each stderr line into an error record under ``2>&1``). ``/wait:0`` returns without waiting.
The "OK to restart?" question of startup-only extensions is not modelled (no such extension).

``gpresult /scope computer /x <path> [/f]`` (Microsoft Learn: "gpresult"): writes the computer's
RSOP report (``domain.gpresult_xml``) as UTF-16 with a byte order mark and prints nothing; an
existing file without /f, or a directory that does not exist, is an "ERROR: ..." line on stderr
and exit 1. A workgroup computer has RSOP data for its local policy. Other report forms (/r,
/h, /v, /z), user scope and remote computers are NativeUnsupported.

``klist -li 0x3e7 purge`` (Microsoft Learn: "klist"): deletes the computer account's (LocalSystem,
logon id 0x3e7) Kerberos tickets, so that its next ticket - the one Group Policy processing uses -
carries the security groups the computer is in now (``domain.purge_tickets``); without it a
computer added to a group gets the group's GPOs after its next restart. It needs an elevated
token. Other klist commands are NativeUnsupported.
"""

from __future__ import annotations

import ntpath
import re
from collections.abc import Generator
from typing import Any

from .. import domain
from . import conditions
from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, program

#: MODEL: how long computer policy processing takes on the simulated clock.
GP_PROCESSING_S = 2.0
GPRESULT_S = 1.0
_GPUPDATE_FAILED = (
    "Computer policy could not be updated successfully. The following errors were encountered:\r\n\r\n"
    "The processing of Group Policy failed because of lack of network connectivity to a domain controller. "
    "This may be a transient condition. A success message would be generated once the machine gets connected to "
    "the domain controller and Group Policy has successfully processed. If you do not see a success message for "
    "several hours, then contact your administrator.\r\n"
    "To diagnose the failure, review the event log or run GPRESULT /H GPReport.html from the command line to "
    "access information about Group Policy results.\r\n"
)


def dc_reachable(host: Any) -> bool:
    """A domain member reaches a domain controller unless the fault ``dc_unreachable`` says otherwise."""
    info = host.state.get("domain") or {}
    return not info.get("joined") or not (host.state.get("faults") or {}).get("dc_unreachable")


@program(SYSTEM32 + "\\gpupdate.exe")
def gpupdate_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    target = None
    wait = 600
    for word in argv[1:]:
        low = word.lower()
        m = re.fullmatch(r"/target:(computer|user)", low)
        w = re.fullmatch(r"/wait:(-?\d+)", low)
        if m:
            target = m.group(1)
        elif w:
            wait = int(w.group(1))
        elif low != "/force":
            raise NativeUnsupported("gpupdate %s" % word)
    if target != "computer":
        raise NativeUnsupported("gpupdate without /target:computer (user policy): %s" % command_line)
    host = ctx.host
    ctx.out("Updating policy...\r\n\r\n")
    if not dc_reachable(host):
        yield min(GP_PROCESSING_S, wait) if wait >= 0 else GP_PROCESSING_S
        host.write_event(
            "System",
            "Microsoft-Windows-GroupPolicy",
            1129,
            "Error",
            "The processing of Group Policy failed because of lack of network connectivity to a domain controller.",
        )
        ctx.err(_GPUPDATE_FAILED)
        return 1
    if wait == 0:
        domain.apply_group_policy(host)
        return 0
    yield GP_PROCESSING_S
    domain.apply_group_policy(host)
    ctx.out("Computer Policy update has completed successfully.\r\n\r\n")
    return 0


@program(SYSTEM32 + "\\gpresult.exe")
def gpresult_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    args = argv[1:]
    scope = path = None
    force = False
    i = 0
    while i < len(args):
        low = args[i].lower()
        if low == "/scope" and i + 1 < len(args):
            scope = args[i + 1].lower()
            i += 2
        elif low == "/x" and i + 1 < len(args):
            path = args[i + 1]
            i += 2
        elif low == "/f":
            force = True
            i += 1
        else:
            raise NativeUnsupported("gpresult %s" % args[i])
    if scope != "computer" or path is None:
        raise NativeUnsupported("gpresult other than /scope computer /x <file>: %s" % command_line)
    host = ctx.host
    full = ntpath.normpath(path if ntpath.isabs(path) else ntpath.join(ctx.cwd, path))
    yield GPRESULT_S
    if not host.is_dir(ntpath.dirname(full)):
        ctx.err("ERROR: The system cannot find the path specified.\r\n")
        return 1
    if host.path_exists(full) and not force:
        ctx.err('ERROR: The file "%s" already exists.\r\n' % full)
        return 1
    host.write_file(full, b"\xff\xfe" + domain.gpresult_xml(host).encode("utf-16-le"))
    return 0


@program(SYSTEM32 + "\\klist.exe")
def klist_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    words = [w.lower() for w in argv[1:]]
    if sorted(words) != sorted(["-li", "0x3e7", "purge"]) or words.index("-li") + 1 != words.index("0x3e7"):
        raise NativeUnsupported("klist other than -li 0x3e7 purge: %s" % command_line)
    yield 0.1
    ctx.out("\r\nCurrent LogonId is 0:0x3e4\r\nTargeted LogonId is 0:0x3e7\r\n")
    if not conditions.elevated(ctx.host):
        ctx.err("klist failed with 0xc0000022/-1073741790: (null)\r\n")
        return -1073741790
    domain.purge_tickets(ctx.host)
    ctx.out("\tDeleting all tickets:\r\n\tTicket(s) purged!\r\n")
    return 0
