# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stable reason codes: the machine-readable half of every problem and failure.

PRIVATE to this collection: it may change in any release. The codes themselves are a
public, documented interface (docs/reason-codes.md); a unit test keeps the two in step.

Every code belongs to one *family*: the guide's four causes of failure (``onboarding``,
``av_conflict``, ``policy``, ``unsupported_windows``), the documented extras
(``tamper_protection``, ``security_center``), and the operational ones (``reboot``,
``input``, ``connectivity``, ``api``).
"""

from __future__ import annotations

FAMILIES = (
    "onboarding",
    "av_conflict",
    "policy",
    "unsupported_windows",
    "tamper_protection",
    "security_center",
    "reboot",
    "input",
    "connectivity",
    "api",
)

# code: (family, default remediation)
REASONS: dict[str, tuple[str, str]] = {
    # --- onboarding
    "not_onboarded": (
        "onboarding",
        "Onboard the device with the Group Policy onboarding package (mdeops.defender.win_mde_onboarding).",
    ),
    "wrong_org": (
        "onboarding",
        "The device belongs to another Defender for Endpoint organisation: offboard it with that org's "
        "offboarding package first, or set expected_org_id to the right org; use force only if you are sure.",
    ),
    "sensor_not_running": (
        "onboarding",
        "Start the Sense service and check the SENSE/Operational event log and connectivity (WinHTTP proxy); "
        "run the MDE Client Analyzer if it does not start.",
    ),
    "onboarding_failed": (
        "onboarding",
        "Read the WDATPOnboarding events in the Application log; the exit code names the failing step.",
    ),
    "offboarding_failed": (
        "onboarding",
        "Read the WDATPOffboarding events in the Application log and check the package belongs to this org.",
    ),
    "unified_agent_required": (
        "unsupported_windows",
        "Windows Server 2012 R2 and 2016 need the modern unified solution (md4ws.msi) before onboarding; "
        "pass it with the installer option of win_mde_onboarding.",
    ),
    # --- third-party AV / conflicts
    "no_third_party_av": (
        "av_conflict",
        "Install a third-party antivirus with real-time protection on (registered with Windows Security "
        "Center on clients) before putting Defender in passive mode; the host stays in active mode meanwhile.",
    ),
    "third_party_av_inactive": (
        "av_conflict",
        "Turn the third-party antivirus's real-time protection on (or renew its licence) before relying on "
        "passive mode.",
    ),
    "defender_not_installed": (
        "av_conflict",
        "Install or re-enable Microsoft Defender Antivirus (Windows Server: Install-WindowsFeature "
        "Windows-Defender; 2016: MpCmdRun.exe -wdenable); MDE needs it, even in passive mode.",
    ),
    "sxs_passive_mode": (
        "av_conflict",
        "Defender runs in limited periodic scanning (SxS passive), which is not passive mode: onboard the "
        "device so that it goes passive.",
    ),
    # --- Security Center
    "security_center_disabled": (
        "security_center",
        "Enable and start the Security Center service (wscsvc): without it Defender cannot see the "
        "third-party antivirus and stays active.",
    ),
    # --- policy
    "server_passive_not_forced": (
        "policy",
        "Windows Server never goes passive by itself: set ForceDefenderPassiveMode = 1 "
        "(mdeops.defender.win_mde_passive_mode), before onboarding when possible.",
    ),
    "disable_antispyware_policy": (
        "policy",
        "Remove the 'Turn off Microsoft Defender Antivirus' policy (DisableAntiSpyware): it is not a "
        "passive-mode setting and breaks onboarding alongside a third-party AV.",
    ),
    "realtime_monitoring_disabled_policy": (
        "policy",
        "Remove the 'Turn off real-time protection' policy (DisableRealtimeMonitoring): Microsoft says not "
        "to turn real-time protection off in passive mode.",
    ),
    "guide_registry_value_ignored": (
        "policy",
        "Windows Defender\\ForcePassiveMode is not a documented value and does nothing; Microsoft's value "
        "is ForceDefenderPassiveMode under Windows Advanced Threat Protection.",
    ),
    "passive_mode_not_reached": (
        "policy",
        "Defender is not in passive mode although the documented conditions look met; reboot, then run "
        "the MDE Client Analyzer.",
    ),
    "unprotected": (
        "av_conflict",
        "The host has no real-time antivirus protection (Defender passive or off, and no third-party antivirus "
        "providing it): the rollout sets ForceDefenderPassiveMode back to 0 and reboots (with consent) so that "
        "Defender is active again; turn the third-party antivirus's real-time protection back on before going "
        "passive again.",
    ),
    # --- tamper protection
    "tamper_protection_blocks_passive": (
        "tamper_protection",
        "Tamper protection keeps an onboarded server active once it went active: turn on troubleshooting "
        "mode for the device in the Defender portal (or exclude it from tamper protection), then reboot with "
        "ForceDefenderPassiveMode = 1. Next time set the value before onboarding.",
    ),
    # --- unsupported Windows
    "unsupported_os": (
        "unsupported_windows",
        "This Windows version or edition is not supported by Defender for Endpoint passive mode; upgrade "
        "it or leave it out of the rollout.",
    ),
    # --- reboot
    "reboot_pending": (
        "reboot",
        "Reboot the host (allow_reboot) so that pending changes take effect.",
    ),
    "reboot_failed": (
        "reboot",
        "The host did not come back within the reboot timeout: check it from the console.",
    ),
    # --- input
    "invalid_argument": ("input", "Fix the option named in the message."),
    "package_invalid": (
        "input",
        "Download the package again from the Defender portal (Settings > Endpoints > Device management > "
        "Onboarding or Offboarding).",
    ),
    "package_not_found": ("input", "Check the package path on the controller (or remote_package on the host)."),
    "checksum_mismatch": ("input", "The package is not the one you expected: download it again and update checksum."),
    "package_expired": (
        "input",
        "Offboarding packages expire 7 days after download: download a new one from the Defender portal.",
    ),
    "interactive_package": (
        "input",
        "Use the Group Policy onboarding package (WindowsDefenderATPOnboardingScript.cmd); the local script "
        "waits for keyboard input and cannot run unattended.",
    ),
    "wrong_package_type": (
        "input",
        "Use an onboarding package with state=present and an offboarding package with state=absent.",
    ),
    # --- connectivity / API
    "unreachable": ("connectivity", "Check WinRM connectivity and credentials for the host."),
    "duplicate_host": (
        "input",
        "Two inventory entries reach the same machine: keep one of them (the others were not touched in this run).",
    ),
    "module_failure": (
        "connectivity",
        "A module crashed or received an answer it does not understand: read msg and exception, and report it if "
        "the answer came from Microsoft's API.",
    ),
    "timeout": ("connectivity", "Raise the timeout or check the host."),
    "host_error": ("connectivity", "The PowerShell side failed on the host; read msg and exception, then rerun."),
    "api_unauthorized": ("api", "Check tenant_id, client_id and the client secret or certificate."),
    "api_forbidden": ("api", "Grant the application permission named in the message and give admin consent."),
    "api_throttled": ("api", "The API rate limit was hit; rerun later or lower the number of calls."),
    "api_error": ("api", "The API answered with an error; see the message and retry later."),
    "api_not_found": ("api", "The object does not exist in the tenant."),
    "gpo_module_missing": (
        "input",
        "Run win_mde_gpo on a domain controller or a management server with the GroupPolicy module (RSAT).",
    ),
    "policy_not_applied": (
        "policy",
        "The Group Policy value did not arrive: check the GPO link, security filtering and gpresult.",
    ),
}


def family_of(reason: str) -> str:
    return REASONS.get(reason, ("unknown", ""))[0]


def remediation_of(reason: str) -> str:
    return REASONS.get(reason, ("unknown", ""))[1]


def problem(reason: str, msg: str, remediation: str | None = None, severity: str = "error") -> dict:
    """A problem entry as every module and role reports it."""
    if reason not in REASONS:
        raise KeyError("unknown reason code %r" % reason)
    return {
        "reason": reason,
        "family": family_of(reason),
        "severity": severity,
        "msg": msg,
        "remediation": remediation or remediation_of(reason),
    }
