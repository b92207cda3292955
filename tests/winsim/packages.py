r"""Generate Defender for Endpoint onboarding/offboarding packages for tests and the demo.

The scripts follow the control flow of the portal's Group Policy scripts as public copies show
it (mde-facts §3.1, §3.2, §3.4; docs/simulator.md): ``net session`` as the privilege check (65),
removal of a leftover offboarding value (5), ``reg add`` of ``OnboardingInfo`` (10) whose data is
JSON with a JSON ``body`` holding ``orgId``, ``net start sense`` unless ``sc query`` shows it
running (event 10), then polls 5 s apart with ``timeout 5 >NUL 2>&1``: Sense RUNNING (15, or 30
while it is still START_PENDING), ``Status\OnboardingState`` present (35) and ``0x1`` (40); the
WDATPOnboarding events (20 on success, the error code on failure, read back from
``%TMP%\senseTmp.txt`` with ``Set /P``) and ``EXIT /B %errorCode%``. The local script adds the
``set /p`` consent loop and a final ``pause``. Offboarding: org check (70), removal of
``OnboardingInfo`` (5), the offboarding value (10), a poll for STOPPED 10 s apart (15). Like the
portal's, the checks inside a parenthesised block read ``%ERRORLEVEL%`` as it was when the block
was read. The texts are the fixture's own; signatures and certificates are placeholders.

Usage: ``python -m tests.winsim.packages --org ORG --out DIR [--kind onboarding|offboarding]``
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import uuid
import zipfile

from .native import argv
from .native.msiexec import MSI_SIGNATURE

OFFBOARDING_VALUE = "696C1FA1-4030-4FA4-8713-FAF9B2EA7C0A"
_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)


def _filetime(when: datetime.datetime) -> int:
    return int((when - _EPOCH).total_seconds() * 10_000_000)


def info_json(body: dict) -> str:
    """The OnboardingInfo value: the signed envelope around the JSON body (the signature is fake)."""
    return json.dumps(
        {
            "body": json.dumps(body, separators=(",", ":")),
            "sig": "U0lNVUxBVEVELVNJRw==",
            "sha256sig": "U0lNVUxBVEVELVNIQTI1Ng==",
            "cert": "U0lNVUxBVEVELUNFUlQ=",
            "chain": ["U0lNVUxBVEVELUNIQUlO"],
        },
        separators=(",", ":"),
    )


_POLICY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
_STATUS = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"
_TMP = r"%TMP%\senseTmp.txt"
#: the portal's scripts indent with tabs (written as {T} here: pep8 forbids tabs in the source)
T = "\t"
#: The telemetry call of the scripts: one ETW event of the sensor's EventSource (a stand-in text).
_TELEMETRY = (
    "%powershellPath% -ExecutionPolicy Bypass -NoProfile -Command \"Add-Type 'using System.Diagnostics.Tracing; "
    "public static class SimTrace { public static void Send(string text) { using (var source = new EventSource("
    '\\"Microsoft.Windows.Sense.Client.Management\\")) { source.Write(\\"{kind}Script\\"); } } }\'; '
    "[SimTrace]::Send('%{var}%')\" >NUL 2>&1"
)


def _lines(*chunks: str) -> str:
    return "\r\n".join(line for chunk in chunks for line in chunk.strip("\n").split("\n")) + "\r\n"


def _common_start(kind: str) -> str:
    """Privilege check and the PowerShell path, as both portal scripts begin."""
    return rf"""
@echo off
REM Simulated Defender for Endpoint {kind} script (test fixture). The control flow follows the
REM portal's Group Policy script; texts, signatures and certificates are placeholders.

echo.
echo Starting the simulated {kind} of Microsoft Defender for Endpoint...
echo.
set errorCode=0
set lastError=0
set "troubleshootInfo=See the troubleshooting pages of Microsoft Defender for Endpoint."
set "errorDescription="

echo Checking for administrator privileges
net session >NUL 2>&1
if %ERRORLEVEL% NEQ 0 (
{T}@echo The script must run with administrator privileges> {_TMP}
{T}set errorCode=65
{T}set lastError=%ERRORLEVEL%
{T}GOTO ERROR
)
echo Administrator privileges: present

IF [%PROCESSOR_ARCHITEW6432%] EQU [] (
  set powershellPath=%windir%\System32\WindowsPowerShell\v1.0\powershell.exe
) ELSE (
  set powershellPath=%windir%\SysNative\WindowsPowerShell\v1.0\powershell.exe
)
"""


def _telemetry(kind: str, variable: str) -> str:
    return _TELEMETRY.replace("{kind}", kind).replace("{var}", variable)


def _error_block(source: str, kind: str, end_label: str) -> str:
    telemetry = _telemetry(kind, "errorOutput")
    return rf"""
:ERROR
Set /P errorMsg=<{_TMP}
set "errorOutput=[Error Id: %errorCode%, Error Level: %lastError%] %errorDescription% Error message: %errorMsg%"
{telemetry}
echo %errorOutput%
echo %troubleshootInfo%
echo.
eventcreate /l Application /so {source} /t Error /id %errorCode% /d "%errorOutput%" >NUL 2>&1
GOTO {end_label}
"""


def _wait_loop(label: str, probe: str, code: int, text: str, tries: int, pause_s: int, on_give_up: str = "") -> str:
    """One of the scripts' polls: ``tries`` probes ``pause_s`` seconds apart, then ``code``."""
    give_up = (
        on_give_up
        or rf"""
{T}{T}@echo {text}> {_TMP}
{T}{T}set errorCode={code}
{T}{T}set lastError=%ERRORLEVEL%
{T}{T}GOTO ERROR"""
    )
    return rf"""
set /a counter=0
:{label}
{probe} >NUL 2>&1
if %ERRORLEVEL% NEQ 0 (
{T}IF %counter% EQU {tries} ({give_up}
{T})
{T}set /a counter=%counter%+1
{T}timeout {pause_s} >NUL 2>&1
{T}GOTO :{label}
)
"""


def onboarding_body(org_id: str) -> dict:
    """The JSON body of OnboardingInfo for ``org_id`` as an onboarding package carries it."""
    return {
        "previousOrgIds": [],
        "orgId": org_id,
        "geoLocationUrl": "https://winatp-gw-weu.microsoft.com/",
        "datacenter": "WestEurope",
        "vortexGeoLocation": "EU",
        "version": "1.7",
    }


def onboarding_script(org_id: str, local: bool = False) -> str:
    """The onboarding script: the Group Policy one, or with ``local`` the interactive local one."""
    body = onboarding_body(org_id)
    consent = rf"""
echo This simulated local script onboards one machine; use the Group Policy package for more.
:USER_CONSENT
set /p shouldContinue= "Press (Y) to confirm and continue or (N) to cancel and exit: "
IF /I "%shouldContinue%"=="N" (
{T}GOTO CLEANUP
)
IF /I "%shouldContinue%"=="Y" (
{T}GOTO SCRIPT_START
)
echo Please answer Y or N.
GOTO USER_CONSENT
:SCRIPT_START
"""
    elam = (
        "%powershellPath% -ExecutionPolicy Bypass -NoProfile -Command \"Add-Type 'using System; using "
        'System.Runtime.InteropServices; public static class SimElam { [DllImport(\\"Kernel32\\", '
        "SetLastError=true)] public static extern bool InstallELAMCertificateInfo(Microsoft.Win32.SafeHandles."
        "SafeFileHandle handle); }'; $stream = [System.IO.File]::OpenRead($env:SystemRoot + "
        "'\\System32\\Drivers\\WdBoot.sys'); [void][SimElam]::InstallELAMCertificateInfo($stream.SafeFileHandle)\" "
        ">NUL 2>&1"
    )
    info = argv.quote_inner(info_json(body))
    error = _error_block("WDATPOnboarding", "Onboarding", "CLEANUP")
    telemetry = _telemetry("Onboarding", "successOutput")
    running = _wait_loop(
        "SENSE_RUNNING_WAIT", 'sc query "SENSE" | find /i "RUNNING"', 15, "", 4, 5, " GOTO SENSE_NOT_RUNNING"
    )
    status_probe = 'REG query "%s" /v OnboardingState /reg:64' % _STATUS
    status = _wait_loop(
        "SENSE_ONBOARDED_STATUS_WAIT", status_probe, 35, "The sensor did not record its onboarding state", 4, 5
    )
    onboarded = _wait_loop(
        "SENSE_ONBOARDED_WAIT",
        status_probe + ' | find /i "0x1"',
        40,
        "The sensor did not record a successful onboarding",
        4,
        5,
    )
    main = rf"""
echo Writing the onboarding data
set sdbin=01000480140000002400000000000000 >NUL 2>&1
reg add HKLM\SYSTEM\CurrentControlSet\Control\WMI\Security /v 5a6d2c3e-0000-4000-8000-53494d554c41 /t REG_BINARY /d %sdbin% /f >NUL 2>&1
REG add "HKLM\SOFTWARE\Policies\Microsoft\Windows\DataCollection" /v DisableEnterpriseAuthProxy /t REG_DWORD /f /d 1 >NUL 2>&1
{elam}

REG query "{_POLICY}" /v {OFFBOARDING_VALUE} /reg:64 > {_TMP} 2>&1
if %ERRORLEVEL% EQU 0 (
    REG delete "{_POLICY}" /v {OFFBOARDING_VALUE} /f > {_TMP} 2>&1
    if %ERRORLEVEL% NEQ 0 (
        set "errorDescription=The previous offboarding data could not be removed from the registry."
        set errorCode=5
        set lastError=%ERRORLEVEL%
        GOTO ERROR
    )
)

REG add "{_POLICY}" /v OnboardingInfo /t REG_SZ /f /d "{info}" > {_TMP} 2>&1
if %ERRORLEVEL% NEQ 0 (
   set "errorDescription=The onboarding data could not be written to the registry."
   set errorCode=10
   set lastError=%ERRORLEVEL%
   GOTO ERROR
)

echo Starting the sensor service unless it runs already
sc query "SENSE" | find /i "RUNNING" >NUL 2>&1
if %ERRORLEVEL% EQU 0 GOTO RUNNING

net start sense > {_TMP} 2>&1
if %ERRORLEVEL% NEQ 0 (
   echo The sensor service has not started yet
   GOTO WAIT_FOR_THE_SERVICE_TO_START
)
goto SUCCEEDED

:RUNNING
set "runningOutput=The sensor service runs already."
echo %runningOutput%
eventcreate /l Application /so WDATPOnboarding /t Information /id 10 /d "%runningOutput%" >NUL 2>&1
GOTO WAIT_FOR_THE_SERVICE_TO_START
{error}
:SUCCEEDED
echo The onboarding data is in place
GOTO WAIT_FOR_THE_SERVICE_TO_START

:WAIT_FOR_THE_SERVICE_TO_START
echo Waiting for the sensor service
{running}
{status}
{onboarded}
set "successOutput=Successfully onboarded machine to Microsoft Defender for Endpoint"
echo %successOutput%
eventcreate /l Application /so WDATPOnboarding /t Information /id 20 /d "%successOutput%" >NUL 2>&1
{telemetry}
"%PROGRAMFILES%\Windows Defender\MpCmdRun.exe" -ReloadEngine >NUL 2>&1
GOTO CLEANUP

:SENSE_NOT_RUNNING
sc query "SENSE" | find /i "START_PENDING" >NUL 2>&1
if %ERRORLEVEL% EQU 0 (
{T}set "errorDescription=Gave up waiting for the sensor service to reach RUNNING."
{T}set errorCode=30
) ELSE (
{T}set "errorDescription=The sensor service did not start."
{T}set errorCode=15
)
sc query "SENSE" > {_TMP} 2>&1
GOTO ERROR

:CLEANUP
if exist {_TMP} del {_TMP}
"""
    end = "pause\nEXIT /B %errorCode%" if local else "EXIT /B %errorCode%"
    return _lines(_common_start("onboarding"), consent if local else "", main, end)


def offboarding_script(org_id: str, valid_until: datetime.date) -> str:
    """The offboarding script (as the public copies: org check, then the value, then Sense stops)."""
    expires = datetime.datetime.combine(valid_until, datetime.time(23, 59), tzinfo=datetime.UTC)
    body = {"orgIds": [org_id], "orgId": org_id, "expirationTimestamp": _filetime(expires), "version": "1.65"}
    info = argv.quote_inner(info_json(body))
    stopped = _wait_loop(
        "SENSE_STOPPED_WAIT", 'sc query "SENSE" | find /i "STOPPED"', 15, "The sensor service did not stop", 5, 10
    )
    telemetry = _telemetry("Offboarding", "successOutput")
    error = _error_block("WDATPOffboarding", "Offboarding", "EXIT")
    main = rf"""
reg query "{_STATUS}" /v OrgId >NUL 2>&1
if %ERRORLEVEL% NEQ 0 (
    GOTO AFTER_ORG_CHECK
)
reg query "{_STATUS}" /v OrgId | find /i "{org_id}" >NUL 2>&1
if %ERRORLEVEL% NEQ 0 (
    set "errorDescription=This offboarding script is for organisation {org_id}; the machine is onboarded to another one."
    set errorCode=70
    set lastError=%ERRORLEVEL%
    GOTO ERROR
)
:AFTER_ORG_CHECK

reg query "{_POLICY}" /v OnboardingInfo /reg:64 > {_TMP} 2>&1
if %ERRORLEVEL% EQU 0 (
    reg delete "{_POLICY}" /v OnboardingInfo /f > {_TMP} 2>&1
    if %ERRORLEVEL% NEQ 0 (
        set "errorDescription=The onboarding data could not be removed from the registry."
        set errorCode=5
        set lastError=%ERRORLEVEL%
        GOTO ERROR
    )
)

reg add "{_POLICY}" /v {OFFBOARDING_VALUE} /t REG_SZ /f /d "{info}" > {_TMP} 2>&1
if %ERRORLEVEL% NEQ 0 (
   set "errorDescription=The offboarding data could not be written to the registry."
   set errorCode=10
   set lastError=%ERRORLEVEL%
   GOTO ERROR
)
{stopped}
set "successOutput=Successfully offboarded machine from Microsoft Defender for Endpoint"
{telemetry}
echo %successOutput%
eventcreate /l Application /so WDATPOffboarding /t Information /id 20 /d "%successOutput%" >NUL 2>&1
goto EXIT
{error}
:EXIT
if exist {_TMP} del {_TMP}
EXIT /B %errorCode%
"""
    return _lines(_common_start("offboarding"), main)


def onboarding_zip(org_id: str, local: bool = False, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        name = "WindowsDefenderATPLocalOnboardingScript.cmd" if local else "WindowsDefenderATPOnboardingScript.cmd"
        zf.writestr(name, onboarding_script(org_id, local=local))
        if not local:
            zf.writestr("OptionalParamsPolicy/AtpConfiguration.admx", "<policyDefinitions/>\r\n")
        for member, content in (extra or {}).items():
            zf.writestr(member, content)
    return buf.getvalue()


def offboarding_name(valid_until: datetime.date) -> str:
    return "WindowsDefenderATPOffboardingScript_valid_until_%s.cmd" % valid_until.isoformat()


def offboarding_zip(org_id: str, valid_until: datetime.date) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(offboarding_name(valid_until), offboarding_script(org_id, valid_until))
    return buf.getvalue()


def write_set(out_dir: str, org_id: str, other_org: str | None = None) -> dict:
    """Write the packages the demo and the end-to-end tests use; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    today = datetime.date.today()
    other_org = other_org or str(uuid.uuid5(uuid.NAMESPACE_URL, "other-org"))
    files = {
        "onboarding_zip": ("WindowsDefenderATPOnboardingPackage.zip", onboarding_zip(org_id)),
        "onboarding_cmd": ("WindowsDefenderATPOnboardingScript.cmd", onboarding_script(org_id).encode()),
        "onboarding_local_zip": ("WindowsDefenderATPLocalOnboardingPackage.zip", onboarding_zip(org_id, local=True)),
        "onboarding_other_org_zip": ("OtherOrg-WindowsDefenderATPOnboardingPackage.zip", onboarding_zip(other_org)),
        "offboarding_zip": (
            "WindowsDefenderATPOffboardingPackage.zip",
            offboarding_zip(org_id, today + datetime.timedelta(days=7)),
        ),
        "offboarding_expired_zip": (
            "Expired-WindowsDefenderATPOffboardingPackage.zip",
            offboarding_zip(org_id, today - datetime.timedelta(days=3)),
        ),
        "corrupt_zip": ("Corrupt-WindowsDefenderATPOnboardingPackage.zip", b"PK\x03\x04this is not a zip"),
        "empty_zip": ("NoScript-WindowsDefenderATPOnboardingPackage.zip", _zip_without_script()),
        "installer": ("md4ws.msi", fake_installer()),
    }
    paths = {}
    for key, (name, data) in files.items():
        path = os.path.join(out_dir, name)
        with open(path, "wb") as fh:
            fh.write(data)
        paths[key] = path
    paths["org_id"] = org_id
    paths["other_org_id"] = other_org
    return paths


def fake_installer() -> bytes:
    """A stand-in for md4ws.msi: the OLE compound-file signature, then filler (not an installer)."""
    return MSI_SIGNATURE + b"\x00" * 504 + b"simulated md4ws.msi for tests\n"


def _zip_without_script() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "no script here\r\n")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(json.dumps(write_set(args.out, args.org), indent=2))


if __name__ == "__main__":
    main()
