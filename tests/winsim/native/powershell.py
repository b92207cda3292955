"""powershell.exe and MpCmdRun.exe as the portal's scripts and the detection test start them.

powershell.exe is not interpreted here (the collection's own PowerShell runs in ``tests/winsim/ps``).
Three command lines are known, anything else is NativeUnsupported:

* the onboarding/offboarding scripts' telemetry call: ``-Command "Add-Type ...`` of an
  EventSource named ``Microsoft.Windows.Sense.Client.Management`` that writes one ETW event:
  exit 0, no visible effect;
* the onboarding script's ELAM call (``InstallELAMCertificateInfo`` on ``WdBoot.sys``): exit 0
  after printing its progress lines (MODEL: it always succeeds);
* Microsoft's detection test (mde-facts §3.3, "Run a detection test"): ``-NoExit ...
  DownloadFile('http://127.0.0.1/1.exe', ...);Start-Process ...``. The download and the start
  fail silently (``$ErrorActionPreference = 'silentlycontinue'``); with a console the process
  then waits for input for ever (``-NoExit``), with a non-console standard input it reads end
  of file and exits 0 (UNCONFIRMED). The sensor sees the command line: when the host is
  onboarded with Sense running, the run is recorded in ``state["mde"]["detection_tests"]``,
  which the fake Defender API turns into the test alert. Its two paths are read as PowerShell reads
  single-quoted strings (``'`` and U+2018, U+2019, U+201A, U+201B end one, any two of them in a row
  are one literal quote): a path whose quote ends the string early is not the documented command
  (NativeUnsupported; Windows would report a parse error). The record keeps the path (``target``).

``MpCmdRun.exe -ReloadEngine`` (Microsoft Learn: "Use the mpcmdrun.exe command-line tool"):
exit 0; the program exists only where Defender Antivirus is installed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator

from .. import rules
from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, program

#: The characters PowerShell takes as a single quote: ' and the typographic U+2018, U+2019, U+201A, U+201B
#: (the PowerShell language specification, §2.3.5.2 "String literals": single-quote-character). A
#: single-quoted string ends at any of them unless the next character is one too (then that second
#: character is literal).
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_SQ = "[%s]" % SINGLE_QUOTES
_LITERAL = "%s((?:[^%s]|%s%s)*)%s" % (_SQ, SINGLE_QUOTES, _SQ, _SQ, _SQ)
_DETECTION = re.compile(
    r"(?i)-NoExit\s+-ExecutionPolicy\s+Bypass\s+-WindowStyle\s+Hidden\s+"
    r"\$ErrorActionPreference\s*=\s*'silentlycontinue'\s*;\s*"
    r"\(New-Object\s+System\.Net\.WebClient\)\.DownloadFile\('http://127\.0\.0\.1/1\.exe',\s*" + _LITERAL + r"\)\s*;\s*"
    r"Start-Process\s+" + _LITERAL + r"\s*$"
)


def single_quoted_value(body: str) -> str:
    """The value of a single-quoted string's body: a pair of single quotes is its second character."""
    return re.sub("%s(%s)" % (_SQ, _SQ), r"\1", body)


def _record_detection_test(ctx: Ctx, target: str) -> None:
    state = ctx.host.state
    tests = state.setdefault("mde", {}).setdefault("detection_tests", [])
    record = {
        "time": round(ctx.now(), 3),
        "command": ctx.process.command_line,
        "target": target,
        "onboarded": rules.is_onboarded(state),
    }
    tests.append(record)
    del tests[:-20]


@program(SYSTEM32 + "\\WindowsPowerShell\\v1.0\\powershell.exe")
def powershell_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    if "-command" in command_line.lower() and "add-type" in command_line.lower():
        if "Microsoft.Windows.Sense.Client.Management" in command_line:
            return 0
        if "InstallELAMCertificateInfo" in command_line:
            driver = "C:\\Windows\\System32\\Drivers\\WdBoot.sys"
            ctx.out("About to call create file on %s\r\n" % driver)
            ctx.out("About to call InstallELAMCertificateInfo on handle 1234\r\nCall successful.\r\n")
            return 0
    detection = _DETECTION.search(command_line)
    if detection:
        if rules.is_onboarded(ctx.host.state):
            _record_detection_test(ctx, single_quoted_value(detection.group(1)))
        if ctx.stdin.console:
            yield math.inf  # -NoExit: the prompt waits for input nobody types
        return 0
    raise NativeUnsupported("powershell.exe %s" % command_line)


@program(
    "C:\\Program Files\\Windows Defender\\MpCmdRun.exe",
    installed=lambda host: bool((host.state.get("defender") or {}).get("installed", True)),
)
def mpcmdrun_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    if [a.lower() for a in argv[1:]] == ["-reloadengine"]:
        return 0
    raise NativeUnsupported("MpCmdRun.exe %s" % " ".join(argv[1:]))
    yield  # pragma: no cover  # pylint: disable=unreachable
