"""Twin of win_mde_detection_test.ps1: Microsoft's detection test on a simulated host.

The run is recorded in ``state["mde"]["detection_tests"]`` (time, command line, whether the
host was onboarded with Sense running); the fake Defender API (tests/winsim/cloud) turns it
into the test alert on that machine ``alert_delay_s`` later, and into a process event in the
advanced hunting timeline.
"""

from __future__ import annotations

import datetime
import zlib

from .. import rules
from ..host import ATP_STATUS_KEY
from . import check_args, twin

DEFAULT_DIRECTORY = "C:\\test-MDATP-test"


def command_line(directory: str) -> str:
    target = (directory.rstrip("\\") + "\\invoice.exe").replace("\\", "\\\\")
    test = (
        "$ErrorActionPreference = 'silentlycontinue';(New-Object System.Net.WebClient).DownloadFile("
        "'http://127.0.0.1/1.exe', '%s');Start-Process '%s'" % (target, target)
    )
    return "powershell.exe -NoExit -ExecutionPolicy Bypass -WindowStyle Hidden %s" % test


def _round_trip(ts: float) -> str:
    """``[DateTime]::UtcNow.ToString('o')``: 7 fractional digits and Z."""
    when = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@twin("mdeops.defender.win_mde_detection_test", sample_args={"directory": DEFAULT_DIRECTORY, "stop_after": 10})
def win_mde_detection_test(host, args, ctx):
    opts = check_args(
        "mdeops.defender.win_mde_detection_test", args, {"directory": DEFAULT_DIRECTORY, "stop_after": 10}
    )
    directory = opts["directory"]
    sense = host.service("Sense")
    state = host.reg_get(ATP_STATUS_KEY, "OnboardingState")
    result = {
        "changed": True,
        "ran": False,
        "ran_at_utc": None,
        "process_id": None,
        "command_line": command_line(directory),
        "directory_created": False,
        "process_stopped": False,
        "directory_removed": False,
        "onboarding_state": int(state) if state is not None else None,
        "sense_status": (
            {"running": "Running", "stopped": "Stopped"}.get(sense.get("state"), sense.get("state")) if sense else None
        ),
    }
    if ctx.check_mode:
        return result
    if not host.path_exists(directory):
        host.make_dirs(directory)
        result["directory_created"] = True
    now = host.now()
    tests = host.state.setdefault("mde", {}).setdefault("detection_tests", [])
    tests.append(
        {"time": round(now, 3), "command": result["command_line"], "onboarded": rules.is_onboarded(host.state)}
    )
    del tests[:-20]
    result.update(
        {
            "ran": True,
            "ran_at_utc": _round_trip(now),
            "process_id": 4000 + zlib.crc32(("%s%f" % (host.name, now)).encode()) % 60000,
        }
    )
    if opts["stop_after"] > 0:
        result["process_stopped"] = True
        if result["directory_created"]:
            host.remove_path(directory)
            result["directory_removed"] = True
    return result
