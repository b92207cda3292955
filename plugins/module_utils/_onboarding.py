# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions and result shaping of win_mde_onboarding. PRIVATE: may change in any release.

Pure functions, no I/O, unit-tested:

* what the onboarding script's exit codes and ``WDATPOnboarding`` event IDs mean
  (docs/sources.md §3.2, from Microsoft's troubleshoot-onboarding page), and Windows Installer's
  exit codes for ``md4ws.msi`` (§3.6);
* the checks a package must pass before anything touches a host (§3.1, §3.5);
* the present/absent decision table (:func:`plan`) and the check-mode prediction;
* turning what the PowerShell side observed after the run into the documented result, or
  into a failure with a reason code (:func:`evaluate`).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from ._errors import MdeError
from ._package import OFFBOARDING, ONBOARDING, PackageError, check_expiry, verify_checksum
from ._registry import ATP_POLICY_KEY, ATP_STATUS_KEY, as_int

PRESENT = "present"
ABSENT = "absent"

OP_NONE = "none"
OP_ONBOARD = "onboard"
OP_OFFBOARD = "offboard"

#: Application-log sources the scripts write to (§3.2).
ONBOARDING_SOURCE = "WDATPOnboarding"
OFFBOARDING_SOURCE = "WDATPOffboarding"

#: The largest package the host sends back for ``remote_package`` (the portal's zips are tens of KB).
REMOTE_PACKAGE_MAX_BYTES = 2 * 1024 * 1024


# Exit codes of the portal's onboarding script = the ID of the error event it writes to the
# Application log under WDATPOnboarding (docs/sources.md §3.2; defender-docs troubleshoot-onboarding.md).
# That exit code = event ID is UNCONFIRMED (read from public copies of generated scripts).
ONBOARDING_EXIT_CODES: dict[int, str] = {
    0: "the script finished without error",
    5: "leftover offboarding data could not be removed: check the permissions (ACLs) on %s" % ATP_POLICY_KEY,
    10: "writing the onboarding data (OnboardingInfo) to %s failed: check its ACLs and that the script "
    "runs elevated" % ATP_POLICY_KEY,
    15: "the SENSE service did not start: it is stuck start-pending, or failed with error 577/1058 "
    "(ELAM driver off because Defender Antivirus is disabled by policy, e.g. DisableAntiSpyware), or the "
    "SENSE feature on demand is missing",
    30: "the script gave up waiting for the SENSE service to reach the running state",
    35: "OnboardingState never appeared under %s" % ATP_STATUS_KEY,
    40: "OnboardingState is present under %s but is not 1" % ATP_STATUS_KEY,
    65: "the script was not run elevated (it needs administrator rights)",
    70: "the offboarding package belongs to a different organisation than the one SENSE is onboarded to",
}
#: Onboarding exit codes that mean the sensor, not the script, is the problem.
SENSOR_EXIT_CODES = frozenset({15, 30})
#: Exit codes of the onboarding script's waits for Sense and OnboardingState (docs/sources.md §3.2).
# Microsoft documents one offboarding-specific code (70, §3.2); 0 is success.
OFFBOARDING_EXIT_CODES: dict[int, str] = {
    0: "the script finished without error",
    70: ONBOARDING_EXIT_CODES[70],
}

#: Exit codes of the scripts' own waits (for SENSE to run, for OnboardingState, for SENSE to stop):
#: the script gave up waiting, the host may still get there (a slow sensor; or a script whose
#: ``timeout`` loops did not wait, as when its standard input is not a console). Such an exit is
#: judged by what the host reports within the module's timeout (docs/sources.md §3.2; the
#: offboarding wait's code 15 is read from public copies of the generated script, UNCONFIRMED).
WAIT_EXIT_CODES: dict[str, frozenset[int]] = {
    ONBOARDING: frozenset({15, 30, 35, 40}),
    OFFBOARDING: frozenset({15}),
}

# Windows Installer (msiexec) exit codes that matter for md4ws.msi (learn.microsoft.com,
# "MsiExec.exe and InstMsi.exe error messages"; windows/win32/msi/error-codes).
MSIEXEC_EXIT_CODES: dict[int, str] = {
    0: "installed",
    1602: "the installation was cancelled",
    1603: "fatal error during installation: read the msiexec log (missing prerequisite updates - SSU/LCU, "
    "KB4052623 platform - are the usual cause on Server 2012 R2/2016)",
    1618: "another installation is already in progress: retry when it has finished",
    1619: "the installation package could not be opened: check the path and that the account can read it",
    1620: "the installation package could not be opened: it is not a valid Windows Installer package",
    1625: "the installation is forbidden by system policy",
    1633: "this installation package is not supported on this processor type",
    1638: "another version of this product is already installed",
    1639: "invalid command line argument",
    1641: "installed; the installer started a restart",
    3010: "installed; a restart is required to complete the installation",
}
MSIEXEC_SUCCESS = frozenset({0, 1641, 3010})
MSIEXEC_REBOOT = frozenset({1641, 3010})


def exit_code_meaning(code: int | None, kind: str = ONBOARDING) -> str:
    """The documented meaning of an onboarding or offboarding script's exit code."""
    if code is None:
        return "the script did not report an exit code"
    table = ONBOARDING_EXIT_CODES if kind == ONBOARDING else OFFBOARDING_EXIT_CODES
    if code in table:
        return table[code]
    source = ONBOARDING_SOURCE if kind == ONBOARDING else OFFBOARDING_SOURCE
    documented = ", ".join(str(c) for c in sorted(table) if c)
    text = "exit code %d is not documented by Microsoft (documented: %s); read the %s events in the Application log"
    return text % (code, documented, source)


def installer_meaning(code: int | None, timed_out: bool = False) -> str:
    if timed_out:
        return "msiexec did not finish in time and was stopped"
    if code is None:
        return "msiexec did not report an exit code"
    return MSIEXEC_EXIT_CODES.get(code, "Windows Installer error %d: read the msiexec log" % code)


# ----------------------------------------------------------------------------- package checks
def check_package(
    package: dict,
    state: str,
    expected_org_id: str | None = None,
    checksum: str | None = None,
    today: datetime.date | None = None,
) -> None:
    """Refuse a package that must not run: every check that needs no host. Raises MdeError."""
    try:
        if checksum:
            verify_checksum(package, checksum)
        wanted = ONBOARDING if state == PRESENT else OFFBOARDING
        if package["kind"] != wanted:
            raise MdeError(
                "wrong_package_type",
                "'%s' is an %s package but state=%s needs an %s package"
                % (package.get("package_name"), package["kind"], state, wanted),
            )
        if package.get("interactive"):
            raise MdeError(
                "interactive_package",
                "'%s' is the interactive local script: it asks for Y and waits for a key (set /p, pause), and "
                "without a console it loops or fails. Download the Group Policy package from the Defender portal "
                "(Settings > Endpoints > Device management > %s, deployment method 'Group Policy') and pass it "
                "instead" % (package.get("script_name"), "Onboarding" if wanted == ONBOARDING else "Offboarding"),
            )
        check_expiry(package, today=today)
    except PackageError as exc:
        raise MdeError(exc.reason, exc.msg) from exc
    if expected_org_id and package["org_id"] != expected_org_id:
        raise MdeError(
            "wrong_org",
            "'%s' belongs to organisation %s, not to expected_org_id %s: download the package of the right "
            "organisation" % (package.get("package_name"), package["org_id"], expected_org_id),
        )


def safe_script_name(name: str | None) -> str:
    """The file name the script gets on the host: the portal's name, reduced to safe characters."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(".")
    if not base:
        base = "WindowsDefenderATPOnboardingScript.cmd"
    if not base.lower().endswith(".cmd"):
        base += ".cmd"
    return base


def package_summary(package: dict, source: str) -> dict:
    """What the result says about the package: never its content."""
    return {
        "name": package.get("package_name"),
        "script_name": package.get("script_name"),
        "kind": package.get("kind"),
        "flavor": package.get("flavor"),
        "org_id": package.get("org_id"),
        "sha256": package.get("package_sha256"),
        "script_sha256": package.get("sha256"),
        "valid_until": package.get("valid_until"),
        "source": source,
    }


# ----------------------------------------------------------------------------- status and plan
def status(onboarding_state: object, org_id: str | None, sense_running: bool) -> dict:
    """The onboarding status used for ``before``/``after``/``diff``."""
    state = as_int(onboarding_state)
    return {
        "onboarded": state == 1,
        "org_id": org_id,
        "onboarding_state": state,
        "sense_running": bool(sense_running),
    }


def status_from_state(host_state: dict) -> dict:
    """From win_mde_info's documented state (``gather()``)."""
    onb = host_state.get("onboarding") or {}
    return status(onb.get("onboarding_state"), onb.get("org_id"), bool(onb.get("sense_running")))


def status_from_observed(observed: dict | None) -> dict:
    """From the raw ``observed`` of win_mde_onboarding.ps1."""
    observed = observed or {}
    sense = observed.get("sense") or {}
    running = bool(sense.get("exists")) and str(sense.get("state") or "").lower() == "running"
    org = observed.get("org_id") or observed.get("status_org_id")
    org = str(org).strip().strip("{}").lower() if org else None
    return status(observed.get("onboarding_state"), org, running)


@dataclass
class Plan:
    operation: str
    install_agent: bool = False
    msg: str = ""


def plan(
    state: str,
    package: dict,
    before: dict,
    force: bool = False,
    needs_unified_agent: bool = False,
    unified_agent: bool = False,
    installer_given: bool = False,
) -> Plan:
    """The decision table. Raises MdeError for the refusals that need the host's state.

    present: already onboarded to the package's org with Sense running → nothing; onboarded to
    another org → wrong_org unless ``force``; Server 2012 R2/2016 without the unified agent →
    install it first, or unified_agent_required without an installer.
    absent: not onboarded (OnboardingState ≠ 1) and Sense stopped → nothing; onboarded to
    another org → wrong_org unless ``force`` (the script then exits 70).
    """
    org = package["org_id"]
    host_org = before.get("org_id")
    onboarded = bool(before.get("onboarded"))
    other_org = bool(host_org) and host_org != org
    if state == PRESENT:
        if onboarded and other_org and not force:
            raise MdeError(
                "wrong_org",
                "the host is onboarded to organisation %s, the package is for %s: offboard it with the "
                "offboarding package of %s first, or set force=true to onboard it anyway" % (host_org, org, host_org),
            )
        if onboarded and host_org == org and before.get("sense_running"):
            return Plan(OP_NONE, msg="already onboarded to organisation %s and Sense is running" % org)
        install = needs_unified_agent and not unified_agent
        if install and not installer_given:
            raise MdeError(
                "unified_agent_required",
                "Windows Server 2012 R2 and 2016 need the modern unified solution (md4ws.msi) before the onboarding "
                "script can work, and it is not installed: download md4ws.msi from the Defender portal (Settings > "
                "Endpoints > Onboarding, Windows Server 2012 R2 and 2016) and pass it with installer or "
                "remote_installer",
            )
        return Plan(OP_ONBOARD, install_agent=install, msg="onboard to organisation %s" % org)
    if not onboarded and not before.get("sense_running"):
        return Plan(OP_NONE, msg="not onboarded; nothing to offboard")
    if other_org and not force:
        raise MdeError(
            "wrong_org",
            "the host is onboarded to organisation %s but the offboarding package is for %s; the script would "
            "exit with 70. Use the offboarding package of %s" % (host_org, org, host_org),
        )
    return Plan(OP_OFFBOARD, msg="offboard from organisation %s" % org)


def predict_after(state: str, package: dict, before: dict) -> dict:
    """Check mode: the status the run would leave behind."""
    if state == PRESENT:
        return status(1, package["org_id"], True)
    return status(0, None, False)


def diff(before: dict, after: dict) -> dict:
    return {"before": dict(before), "after": dict(after)}


# ----------------------------------------------------------------------------- run results
def shape_events(events: list | None) -> list[dict]:
    out = []
    for ev in events or []:
        out.append(
            {
                "source": ev.get("source"),
                "id": int(ev["id"]) if ev.get("id") is not None else None,
                "level": ev.get("level"),
                "message": ev.get("message"),
                "time": ev.get("time"),
            }
        )
    return sorted(out, key=lambda e: (str(e.get("time") or ""), e.get("id") or 0))


def script_result(script_run: dict | None, kind: str) -> dict | None:
    """``script_result``: the exit code and its documented meaning (None when no script ran)."""
    if not script_run or not script_run.get("ran"):
        return None
    code = script_run.get("exit_code")
    code = int(code) if code is not None else None
    timed_out = bool(script_run.get("timed_out"))
    return {
        "exit_code": code,
        "meaning": (
            "the script did not finish in time and was stopped" if timed_out else exit_code_meaning(code, kind)
        ),
        "documented": code in (ONBOARDING_EXIT_CODES if kind == ONBOARDING else OFFBOARDING_EXIT_CODES),
        "success": code == 0 and not timed_out,
        "timed_out": timed_out,
        "duration_s": script_run.get("duration_s"),
        "waited_s": script_run.get("waited_s"),
        "wait_timed_out": bool(script_run.get("wait_timed_out")),
    }


def reached(state: str, after: dict) -> bool:
    """Did the host reach the wanted state (``after`` as status_from_observed gives it)?"""
    onboarded = bool(after.get("onboarded")) and bool(after.get("sense_running"))
    if state == PRESENT:
        return onboarded
    return not after.get("onboarded") and not after.get("sense_running")


def wait_exit_warning(state: str, script: dict | None, after: dict) -> str | None:
    """The warning when a script gave up waiting but the host got there (None otherwise)."""
    kind = ONBOARDING if state == PRESENT else OFFBOARDING
    if not script or script.get("timed_out") or script.get("exit_code") in (0, None):
        return None
    code = script["exit_code"]
    if code not in WAIT_EXIT_CODES[kind] or not reached(state, after):
        return None
    what = "onboarded" if state == PRESENT else "offboarded"
    return (
        "the %s script exited with %s (%s), but the host was %s %.0f s later: the script stopped waiting "
        "before the sensor was done, so the host is judged by what it reports"
        % (kind, code, exit_code_meaning(code, kind), what, script.get("waited_s") or 0)
    )


def installer_result(raw: dict | None, required: bool, path: str | None, force_passive: bool) -> dict:
    raw = raw or {}
    code = raw.get("exit_code")
    return {
        "required": required,
        "path": path,
        "already_installed": bool(raw.get("already_installed")),
        "installed": bool(raw.get("ran")) and code in MSIEXEC_SUCCESS,
        "exit_code": code,
        "meaning": installer_meaning(code, bool(raw.get("timed_out"))) if raw.get("ran") else None,
        "force_passive": force_passive,
        "log_path": raw.get("log_path"),
    }


def _event_text(events: list[dict]) -> str:
    errors = [e for e in events if str(e.get("level") or "").lower() == "error"]
    if not errors:
        return ""
    return "; events: %s" % ", ".join("%s %s" % (e.get("source"), e.get("id")) for e in errors)


def still_starting(state: str, script: dict | None, after: dict) -> bool:
    """The script ran and Windows is still on its way: judged later, after the settle wait.

    The portal script's own waits give up after a fixed time and exit with a sensor code (15, 30, 35,
    40) while Sense may still be starting (docs/sources.md §3.2). Those codes, and a success while
    Sense is not running yet, say nothing final: only what the host shows after the settle wait does.
    """
    script = script or {}
    if not script.get("ran") or script.get("timed_out"):
        return False
    code = script.get("exit_code")
    if state == PRESENT:
        return code in WAIT_EXIT_CODES[ONBOARDING] or (
            code == 0 and not (after.get("onboarded") and after.get("sense_running"))
        )
    return code in WAIT_EXIT_CODES[OFFBOARDING] or (code == 0 and bool(after.get("sense_running")))


def pending_record(state: str, timeout: int, script: dict | None, events: list[dict]) -> dict:
    """A script run judged later (``still_starting``): what ``judge_pending`` needs after the settle wait."""
    script = script or {}
    return {
        "state": state,
        "timeout": int(timeout),
        "script_run": {k: script.get(k) for k in ("ran", "exit_code", "timed_out", "waited_s")},
        "events": events,
    }


def judge_pending(pending: object, after: dict) -> tuple[str, str] | None:
    """The verdict of a pending script run once the settle wait is over (``after``: the host's
    ``onboarding`` as the last read saw it). ``None`` when the host got there or ``pending`` is not a
    pending record; otherwise the script's own verdict (its exit code and what it means)."""
    if not isinstance(pending, dict) or pending.get("state") not in (PRESENT, ABSENT):
        return None
    state = pending["state"]
    if reached(state, after):
        return None
    raw_script = pending.get("script_run")
    script: dict = raw_script if isinstance(raw_script, dict) else {}
    raw_events = pending.get("events")
    events: list[dict] = [e for e in raw_events if isinstance(e, dict)] if isinstance(raw_events, list) else []
    # Not reached: evaluate always gives the script's failure then (its exit code, or Sense's state).
    return evaluate(state, int(pending.get("timeout") or 0), None, dict(script, ran=True), after, events)


def evaluate(
    state: str, timeout: int, installer: dict | None, script: dict | None, after: dict, events: list[dict]
) -> tuple[str, str] | None:
    """Did the run reach the wanted state? ``None`` or ``(reason, msg)``."""
    installer = installer or {}
    if installer.get("exists") is False:
        return (
            "package_not_found",
            "the installer '%s' does not exist on the host (or the connection user cannot read it)"
            % installer.get("path"),
        )
    if installer.get("ran") and installer.get("exit_code") not in MSIEXEC_SUCCESS:
        code = installer.get("exit_code")
        return (
            "onboarding_failed",
            "installing md4ws.msi failed with msiexec exit code %s: %s (log: %s); the onboarding script did "
            "not run" % (code, installer_meaning(code), installer.get("log_path")),
        )
    kind = ONBOARDING if state == PRESENT else OFFBOARDING
    failed = "onboarding_failed" if state == PRESENT else "offboarding_failed"
    what = "onboarding" if state == PRESENT else "offboarding"
    if not script or not script.get("ran"):
        return ("host_error", "the %s script did not run on the host" % what)
    if script.get("timed_out"):
        if state == PRESENT and after.get("org_id") and not after.get("sense_running"):
            # It got past writing OnboardingInfo and was still waiting for SENSE (net start waits).
            return (
                "sensor_not_running",
                "the onboarding script did not finish within timeout=%d s and was stopped while SENSE was not "
                "running yet (SENSE can take minutes to start: a larger timeout waits for it)%s"
                % (timeout, _event_text(events)),
            )
        return (
            failed,
            "the %s script did not finish within timeout=%d s and was stopped; a script that waits "
            "for input (the local script) never finishes unattended%s" % (what, timeout, _event_text(events)),
        )
    code = script.get("exit_code")
    sense = "running" if after.get("sense_running") else "not running"
    if code != 0 and code in WAIT_EXIT_CODES[kind] and reached(state, after):
        return None  # judged by what the host reports: see wait_exit_warning
    if code != 0:
        meaning = exit_code_meaning(code, kind)
        if state == PRESENT and code in SENSOR_EXIT_CODES:
            return (
                "sensor_not_running",
                "the onboarding script exited with %s: %s. Sense is %s (timeout=%d s)%s"
                % (code, meaning, sense, timeout, _event_text(events)),
            )
        return (failed, "the %s script exited with %s: %s%s" % (what, code, meaning, _event_text(events)))
    if state == PRESENT:
        if not (after.get("onboarded") and after.get("sense_running")):
            return (
                "sensor_not_running",
                "the onboarding script succeeded but after timeout=%d s Sense is %s and OnboardingState is %s "
                "(1 = onboarded); Sense writes OnboardingState when it starts"
                % (timeout, sense, after.get("onboarding_state")),
            )
        return None
    if after.get("onboarded") or after.get("sense_running"):
        return (
            failed,
            "the offboarding script succeeded but after timeout=%d s Sense is %s and OnboardingState is %s; an "
            "expired or foreign offboarding package is ignored by Sense (SENSE/Operational event 29)"
            % (timeout, sense, after.get("onboarding_state")),
        )
    return None
