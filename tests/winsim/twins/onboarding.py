"""Twin of win_mde_onboarding.ps1: the portal's onboarding/offboarding script and md4ws.msi on a host.

Like the PowerShell, the twin gets the script's text and runs it; here "running" means reading
what the script would write and doing what Windows would do (mde-facts §3.2-§3.6). It does not
import the collection: the ``reg add ... /v OnboardingInfo /t REG_SZ /f /d "<json>"`` line is
parsed here, with the Windows command-line quoting rules.

Onboarding, in the order of the real script (an ``onboarding_exit_code: N`` fault stops at the
step whose error code is N, after the changes of the steps before it):

====  ==========================================================================================
65    not elevated (nothing changed)
5     remove the leftover offboarding value ``696C1FA1-...`` from the ATP policy key
10    write ``OnboardingInfo`` under the ATP policy key
15    start Sense: fails when there is no Sense service (unsupported OS, Server 2012 R2/2016
      without the unified agent), with ``sense_never_starts``, or when Defender's ELAM is off
      (client, ``DisableAntiSpyware`` = 1 on a platform before 4.18.2007.8, §9.2)
30    Sense stays start-pending
35    Sense running, ``OnboardingState`` never written
40    ``OnboardingState`` written but not 1
====  ==========================================================================================

Success: Sense running (start auto), ``Status\\OnboardingState`` = 1 and ``Status\\OrgId``,
Application event ``WDATPOnboarding`` 20, then ``rules.on_onboarded``. Errors write the event
whose ID is the exit code. ``sense_start_delay_s: S`` makes the script end while Sense is still
start-pending; Sense comes up S seconds later (a timer). The PowerShell waits up to ``timeout``
for it: the twin answers after ``min(S, timeout)`` seconds (``ctx.delay``).

Offboarding: exit 70 when the package's org is not the host's (or the host has none); else
``OnboardingInfo`` removed, the offboarding value written, Sense stopped, ``OnboardingState`` = 0,
``WDATPOffboarding`` 20 and ``rules.on_offboarded``. An expired package is written but Sense
ignores it (SENSE/Operational event 29) and keeps running. ``offboarding_exit_code: N`` fails
with N before any change.

MODEL (not documented by Microsoft): a script with ``set /p`` (the local script) never ends with
standard input closed - it loops back to its prompt - and is stopped at ``timeout``; re-onboarding
a running sensor to another org (force) switches ``Status\\OrgId`` to the new org; md4ws.msi is
"valid" when the file starts with the OLE compound-file signature, otherwise msiexec exits 1620.
"""

from __future__ import annotations

import base64
import datetime
import json
import ntpath
import re

from .. import rules
from ..host import ATP_POLICY_KEY, ATP_STATUS_KEY, SimHost, timer_action
from ..native import conditions, msiexec
from ..native.msiexec import MSI_SIGNATURE
from . import ModuleFail, check_args, common, twin
from .mde_info import read_host

FQCN = "mdeops.defender.win_mde_onboarding"
OFFBOARDING_VALUE = "696C1FA1-4030-4FA4-8713-FAF9B2EA7C0A"
APPLICATION = "Application"
ON_SOURCE = "WDATPOnboarding"
OFF_SOURCE = "WDATPOffboarding"
SENSE_LOG = "Microsoft-Windows-SENSE/Operational"
SENSE_TIMER = "win_mde_onboarding.sense_started"
_ONBOARDING_STEPS = (65, 5, 10, 15, 30, 35, 40)

_REG_ADD = re.compile(
    r'(?i)\breg(?:\.exe)?\s+add\s+"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"'
    r'\s+/v\s+(?P<name>[^\s"]+)\s+/t\s+REG_SZ\s+/f\s+/d\s+"'
)
# A console prompt; "Set /P x=<file" reads a file.
_SET_P = re.compile(r"(?im)^\s*set\s+/p\s(?![^\r\n]*<)")
_GUID = re.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)

ACCEPTED = {
    "action": ...,
    "path": None,
    "max_bytes": 2097152,
    "script": None,
    "script_name": "WindowsDefenderATPOnboardingScript.cmd",
    "timeout": 300,
    "installer": None,
    "installer_force_passive": True,
    "read_state": None,
}


# ----------------------------------------------------------------------------- script parsing
def _quoted_arg(text: str, start: int) -> str | None:
    """The argument that starts after an opening quote, unescaped like CommandLineToArgvW."""
    out = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            count = j - i
            if j < len(text) and text[j] == '"':
                out.append("\\" * (count // 2))
                if count % 2:
                    out.append('"')
                    i = j + 1
                    continue
                return "".join(out)
            out.append("\\" * count)
            i = j
            continue
        if ch == '"':
            return "".join(out)
        if ch in "\r\n":
            return None
        out.append(ch)
        i += 1
    return None


def reg_add_value(script: str, name: str) -> str | None:
    """The data the script writes to ``name`` under the ATP policy key, or None."""
    for match in _REG_ADD.finditer(script):
        if match.group("name").lower() == name.lower():
            return _quoted_arg(script, match.end())
    return None


def body_of(value: str | None) -> dict:
    """``json(json(value).body)``: where orgId lives (mde-facts §3.4)."""
    if not value:
        return {}
    try:
        outer = json.loads(value)
        body = outer.get("body")
        body = json.loads(body) if isinstance(body, str) else body
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def org_of(value: str | None) -> str | None:
    org = body_of(value).get("orgId")
    return org.lower() if isinstance(org, str) and _GUID.match(org) else None


def _expired(body: dict, now: float) -> bool:
    try:
        ticks = int(body.get("expirationTimestamp"))
    except (TypeError, ValueError):
        return False
    expires = _FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)
    return expires.timestamp() < now


# ----------------------------------------------------------------------------- host helpers
def host_org(host: SimHost) -> str | None:
    org = host.reg_get(ATP_STATUS_KEY, "OrgId")
    if org:
        return str(org).strip("{}").lower()
    return org_of(host.reg_get(ATP_POLICY_KEY, "OnboardingInfo"))


def observe(host: SimHost) -> dict:
    info = host.reg_get(ATP_POLICY_KEY, "OnboardingInfo")
    return {
        "onboarding_state": host.reg_get(ATP_STATUS_KEY, "OnboardingState"),
        "status_org_id": host.reg_get(ATP_STATUS_KEY, "OrgId"),
        "org_id": org_of(info),
        "onboarding_info_present": info is not None,
        "offboarding_info_present": host.reg_get(ATP_POLICY_KEY, OFFBOARDING_VALUE) is not None,
        "sense": common.service_info(host, "Sense"),
        "unified_agent": common.unified_agent(host),
    }


def _event(host: SimHost, source: str, event_id: int, level: str, message: str) -> None:
    host.write_event(APPLICATION, source, event_id, level, message)


def _run(
    exit_code: int | None,
    timed_out: bool = False,
    duration: float = 0.2,
    waited: float = 0.0,
    wait_timed_out: bool = False,
) -> dict:
    return {
        "ran": True,
        "exit_code": exit_code,
        "timed_out": timed_out,
        "duration_s": duration,
        "waited_s": waited,
        "wait_timed_out": wait_timed_out,
    }


@timer_action(SENSE_TIMER)
def sense_started(host: SimHost, org: str | None = None) -> None:
    """Sense reaches running: it writes OnboardingState (§3.3) and onboarding completes."""
    if host.service("Sense") is None:
        return
    host.set_service("Sense", state="running", start_mode="auto")
    host.reg_set(ATP_STATUS_KEY, "OnboardingState", 1, "REG_DWORD")
    if org:
        host.reg_set(ATP_STATUS_KEY, "OrgId", org, "REG_SZ")
    host.write_event(SENSE_LOG, "Microsoft-Windows-SENSE", 11, "Information", "Onboarding or re-onboarding completed.")
    rules.on_onboarded(host.state)


def _elam_off(host: SimHost) -> bool:
    """§9.2: on old client platforms DisableAntiSpyware also turns the ELAM driver off; Sense fails with 577."""
    return conditions.sense_start_failure(host) == 577


# ----------------------------------------------------------------------------- the scripts
def run_onboarding(host: SimHost, script: str, timeout: int, ctx) -> dict:
    faults = host.faults
    fault = faults.get("onboarding_exit_code")
    fault = int(fault) if fault is not None else None

    def fail(code: int) -> dict:
        _event(host, ON_SOURCE, code, "Error", "Onboarding failed with error %d" % code)
        return _run(code)

    if _SET_P.search(script):
        # The local script: with stdin closed 'set /p' reads nothing and it loops to its prompt.
        ctx.delay = float(timeout)
        return _run(None, timed_out=True, duration=float(timeout))
    if fault is not None and fault not in _ONBOARDING_STEPS[1:]:
        return fail(fault)
    info = reg_add_value(script, "OnboardingInfo")
    if info is None:
        return fail(10)
    org = org_of(info)
    if fault == 5:
        return fail(5)
    host.reg_delete_value(ATP_POLICY_KEY, OFFBOARDING_VALUE)
    if fault == 10:
        return fail(10)
    host.reg_set(ATP_POLICY_KEY, "OnboardingInfo", info, "REG_SZ")
    sense = host.service("Sense")
    if fault == 15 or sense is None or faults.get("sense_never_starts") or _elam_off(host):
        return fail(15)
    if fault == 30:
        host.set_service("Sense", state="start_pending", start_mode="auto")
        return fail(30)
    already = sense.get("state") == "running"
    if already:
        _event(host, ON_SOURCE, 10, "Information", "Sense service is already running")
    delay = float(faults.get("sense_start_delay_s") or 0)
    if delay > 0 and not already:
        host.set_service("Sense", state="start_pending", start_mode="auto")
        _event(host, ON_SOURCE, 20, "Information", "Successfully onboarded machine to Microsoft Defender for Endpoint")
        # The PowerShell waits for Sense up to what is left of the timeout.
        if delay <= timeout:
            ctx.delay = delay
            sense_started(host, org=org)
            return _run(0, waited=delay)
        host.schedule(delay, SENSE_TIMER, org=org)
        ctx.delay = float(timeout)
        return _run(0, waited=float(timeout), wait_timed_out=True)
    host.set_service("Sense", state="running", start_mode="auto")
    if fault == 35:
        host.reg_delete_value(ATP_STATUS_KEY, "OnboardingState")
        return fail(35)
    if fault == 40:
        host.reg_set(ATP_STATUS_KEY, "OnboardingState", 0, "REG_DWORD")
        return fail(40)
    sense_started(host, org=org)
    _event(host, ON_SOURCE, 20, "Information", "Successfully onboarded machine to Microsoft Defender for Endpoint")
    return _run(0)


def run_offboarding(host: SimHost, script: str, timeout: int, ctx) -> dict:
    fault = host.faults.get("offboarding_exit_code")

    def fail(code: int) -> dict:
        _event(host, OFF_SOURCE, code, "Error", "Offboarding failed with error %d" % code)
        return _run(code)

    if _SET_P.search(script):
        ctx.delay = float(timeout)
        return _run(None, timed_out=True, duration=float(timeout))
    if fault is not None and int(fault) != 0:
        return fail(int(fault))
    value = reg_add_value(script, OFFBOARDING_VALUE)
    body = body_of(value)
    org = org_of(value)
    current = host_org(host)
    if value is None or org is None or current is None or current != org:
        return fail(70)
    host.reg_delete_value(ATP_POLICY_KEY, "OnboardingInfo")
    host.reg_set(ATP_POLICY_KEY, OFFBOARDING_VALUE, value, "REG_SZ")
    _event(host, OFF_SOURCE, 20, "Information", "Successfully offboarded machine from Microsoft Defender for Endpoint")
    if _expired(body, host.now()):
        # Sense refuses an expired package (§3.5, SENSE event 29) and keeps running; the PowerShell
        # waits for it to stop until the timeout.
        host.write_event(SENSE_LOG, "Microsoft-Windows-SENSE", 29, "Error", "Cannot read offboarding parameters")
        ctx.delay = float(timeout)
        return _run(0, waited=float(timeout), wait_timed_out=True)
    if host.service("Sense") is not None:
        host.set_service("Sense", state="stopped", start_mode="manual")
    host.reg_set(ATP_STATUS_KEY, "OnboardingState", 0, "REG_DWORD")
    host.reg_delete_value(ATP_STATUS_KEY, "OrgId")
    host.write_event(SENSE_LOG, "Microsoft-Windows-SENSE", 44, "Information", "Offboarding completed.")
    rules.on_offboarded(host.state)
    return _run(0)


def install_unified_agent(host: SimHost, path: str, force_passive: bool, check_mode: bool) -> dict:
    """md4ws.msi: the modern unified solution for Server 2012 R2/2016 (§3.6)."""
    result = {
        "path": path,
        "exists": True,
        "already_installed": False,
        "ran": False,
        "exit_code": None,
        "timed_out": False,
        "duration_s": 0,
        "log_path": None,
    }
    if common.unified_agent(host):
        result["already_installed"] = True
        return result
    data = host.read_file(path)
    if data is None:
        result["exists"] = False
        return result
    if check_mode:
        return result
    log = ntpath.join(host.temp_dir(), "md4ws-install-%s.log" % datetime.datetime.now().strftime("%Y%m%d%H%M%S"))
    result.update(ran=True, duration_s=1.0, log_path=log)
    if not data.startswith(MSI_SIGNATURE):
        result["exit_code"] = 1620
        host.write_file(log, b"MSI (c): This installation package could not be opened. 1620\r\n")
        return result
    msiexec.install_unified_agent(host, force_passive)
    host.write_file(
        log, b"MSI (s): Product: Microsoft Defender for Endpoint -- Installation completed successfully.\r\n"
    )
    result["exit_code"] = 0
    return result


def read_package(host: SimHost, path: str, max_bytes: int) -> dict:
    result = {"path": path, "exists": False, "size": None, "too_large": False, "data": None, "error": None}
    if host.is_dir(path):
        result["error"] = "the path is a directory"
        return result
    data = host.read_file(path)
    if data is None:
        result["error"] = "Cannot find path '%s' because it does not exist." % path
        return result
    result.update(exists=True, size=len(data))
    if len(data) > max_bytes:
        result["too_large"] = True
        return result
    result["data"] = base64.b64encode(data).decode("ascii")
    return result


# ----------------------------------------------------------------------------- the module
@twin(FQCN, sample_args={"action": "read_package", "path": r"C:\Packages\WindowsDefenderATPOnboardingPackage.zip"})
def win_mde_onboarding(host, args, ctx):
    opts = check_args(FQCN, args, ACCEPTED)
    action = opts["action"]
    if action not in ("read_package", "onboard", "offboard"):
        raise ModuleFail(
            "value of action must be one of: read_package, onboard, offboard. Got no match for: %s" % action
        )
    needed = "path" if action == "read_package" else "script"
    if not opts[needed]:
        raise ModuleFail("action is %s but all of the following are missing: %s" % (action, needed))
    result = {
        "changed": False,
        "package": None,
        "installer": None,
        "script_run": None,
        "events": [],
        "observed": None,
        "reboot_required": False,
        "state": None,
    }
    if action == "read_package":
        result["package"] = read_package(host, opts["path"], int(opts["max_bytes"]))
        return result
    timeout = int(opts["timeout"])
    proceed = True
    if opts["installer"]:
        install = install_unified_agent(host, opts["installer"], bool(opts["installer_force_passive"]), ctx.check_mode)
        if not install["exists"]:
            proceed = False
        elif not install["already_installed"]:
            result["changed"] = True
            if install["ran"]:
                result["reboot_required"] = install["exit_code"] in (1641, 3010)
                proceed = install["exit_code"] in (0, 1641, 3010)
        result["installer"] = install
    if proceed:
        if not ctx.check_mode:
            start = host.now() - 0.001
            if action == "onboard":
                run = run_onboarding(host, opts["script"], timeout, ctx)
            else:
                run = run_offboarding(host, opts["script"], timeout, ctx)
            result["script_run"] = run
            result["events"] = [
                {
                    "source": ev["source"],
                    "id": ev["id"],
                    "level": ev["level"],
                    "message": ev["message"],
                    "time": datetime.datetime.fromtimestamp(ev["time"], datetime.UTC).isoformat(),
                }
                for ev in host.events(log=APPLICATION)
                if ev["source"] in (ON_SOURCE, OFF_SOURCE) and ev["time"] >= start
            ]
        result["changed"] = True
    result["observed"] = observe(host)
    read = opts["read_state"]
    if read and not ctx.check_mode:
        if not isinstance(read, dict) or not read.get("mp_status_fields"):
            raise ModuleFail("missing required arguments: mp_status_fields found in read_state")
        result["state"] = read_host(
            host, read["mp_status_fields"], read.get("service_patterns") or [], read.get("product_patterns") or []
        )
    return result
