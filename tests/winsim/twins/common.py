"""Reads of a simulated host shared by the twins: what the _MdeDefender.psm1 functions return."""

from __future__ import annotations

import fnmatch
import json

from .. import rules
from ..host import (
    ATP_POLICY_KEY,
    ATP_STATUS_KEY,
    CBS_REBOOT_PENDING_KEY,
    DEFENDER_POLICY_KEY,
    RTP_POLICY_KEY,
    SESSION_MANAGER_KEY,
    UNINSTALL_KEY,
    WU_REBOOT_REQUIRED_KEY,
    SimHost,
)

_START_MODES = {"auto": "Auto", "manual": "Manual", "disabled": "Disabled"}
_STATES = {"running": "Running", "stopped": "Stopped", "start_pending": "Start Pending", "stop_pending": "Stop Pending"}


def like(value: str, pattern: str) -> bool:
    """PowerShell ``-like``: case-insensitive wildcards."""
    return fnmatch.fnmatchcase((value or "").lower(), (pattern or "").lower())


def os_info(host: SimHost) -> dict:
    o = host.os
    return {
        "caption": o["caption"],
        "version": o["version"],
        "build_number": str(o["build"]),
        "product_type": int(o["product_type"]),
        "edition_id": o.get("edition"),
        "ubr": o.get("ubr", 1000),
        "last_boot_filetime": host.last_boot_filetime,
    }


def computer_info(host: SimHost) -> dict:
    domain = host.state.get("domain") or {}
    joined = bool(domain.get("joined"))
    return {
        "dns_hostname": host.state.get("hostname"),
        "domain": domain.get("name") if joined else "WORKGROUP",
        "part_of_domain": joined,
    }


def service_info(host: SimHost, name: str) -> dict:
    svc = host.service(name)
    if svc is None:
        return {"exists": False, "state": None, "start_mode": None}
    return {
        "exists": True,
        "state": _STATES.get(svc.get("state", "stopped"), svc.get("state")),
        "start_mode": _START_MODES.get(svc.get("start_mode", "auto"), svc.get("start_mode")),
    }


def mp_status(host: SimHost, fields: list[str] | None) -> tuple[dict | None, str | None]:
    """Get-MpComputerStatus as the simulated Defender reports it (``fields=None``: every property)."""
    state = host.state
    defender = state.get("defender", {})
    mode = rules.derive_running_mode(state)
    if mode is None:
        return None, "Get-MpComputerStatus is not available on this host"
    rtp = rules.real_time_protection_enabled(state, mode)
    running = mode != rules.NOT_RUNNING
    full = {
        "AMEngineVersion": defender.get("engine_version"),
        "AMProductVersion": defender.get("platform_version"),
        "AMRunningMode": mode,
        "AMServiceEnabled": running,
        "AMServiceVersion": defender.get("platform_version"),
        "AntispywareEnabled": running,
        "AntivirusEnabled": running,
        "AntivirusSignatureAge": defender.get("signature_age_days", 0),
        "AntivirusSignatureLastUpdated": "2026-11-29T06:00:00.0000000Z",
        "AntivirusSignatureVersion": defender.get("signature_version"),
        "BehaviorMonitorEnabled": rtp,
        "ComputerState": 0,
        "DefenderSignaturesOutOfDate": defender.get("signature_age_days", 0) > 7,
        "IoavProtectionEnabled": rtp,
        "IsTamperProtected": bool(defender.get("tamper_protection")),
        "NISEnabled": rtp,
        "OnAccessProtectionEnabled": rtp,
        "RealTimeProtectionEnabled": rtp,
    }
    if fields is None:
        return full, None
    return {f: full.get(f) for f in fields}, None


def onboarding_org_id(host: SimHost) -> str | None:
    """Get-MdeOnboardingOrgId: the orgId inside OnboardingInfo (JSON whose body is JSON text)."""
    info = host.reg_get(ATP_POLICY_KEY, "OnboardingInfo")
    if not info:
        return None
    try:
        return str(json.loads(json.loads(info)["body"])["orgId"])
    except (ValueError, KeyError, TypeError):
        return "unreadable"


def policy_values(host: SimHost) -> dict:
    return {
        "onboarding_state": host.reg_get(ATP_STATUS_KEY, "OnboardingState"),
        "status_org_id": host.reg_get(ATP_STATUS_KEY, "OrgId"),
        "onboarding_org_id": onboarding_org_id(host),
        "force_defender_passive_mode": host.reg_get(ATP_POLICY_KEY, "ForceDefenderPassiveMode"),
        "guide_force_passive_mode": host.reg_get(DEFENDER_POLICY_KEY, "ForcePassiveMode"),
        "disable_antispyware": host.reg_get(DEFENDER_POLICY_KEY, "DisableAntiSpyware"),
        "disable_realtime_monitoring": host.reg_get(RTP_POLICY_KEY, "DisableRealtimeMonitoring"),
    }


def _product_state(on: bool, up_to_date: bool, microsoft: bool) -> int:
    """The community encoding of productState (mde-facts §4)."""
    value = (0x06 if microsoft else 0x04) << 16
    value |= (0x1 if on else 0x0) << 12
    value |= (0x1 if microsoft else 0x0) << 8
    value |= 0x00 if up_to_date else 0x10
    return value


def security_center(host: SimHost) -> dict:
    """root\\SecurityCenter2\\AntiVirusProduct (workstations only)."""
    if not host.is_workstation:
        return {"available": False, "error": "Invalid namespace", "products": []}
    if not host.service_running("wscsvc"):
        return {"available": False, "error": "The Security Center service is not running", "products": []}
    products = []
    state = host.state
    mode = rules.derive_running_mode(state)
    if mode is not None:
        products.append(
            {
                "displayName": "Windows Defender",
                "productState": _product_state(mode == rules.NORMAL, True, True),
                "instanceGuid": "{D68DDC3A-831F-4fae-9E44-DA132C1ACF46}",
                "pathToSignedProductExe": "windowsdefender://",
                "timestamp": "Sat, 29 Nov 2026 06:00:00 GMT",
            }
        )
    for av in state.get("third_party_av", []):
        if not av.get("installed", True) or not av.get("registered", True):
            continue
        products.append(
            {
                "displayName": av["display_name"],
                "productState": _product_state(bool(av.get("real_time")), bool(av.get("up_to_date", True)), False),
                "instanceGuid": av["instance_guid"],
                "pathToSignedProductExe": r"C:\Program Files\%s\agent.exe" % av["vendor"],
                "timestamp": "Sat, 29 Nov 2026 06:00:00 GMT",
            }
        )
    return {"available": True, "error": None, "products": products}


def av_services(host: SimHost, patterns: list[str]) -> list[dict]:
    out = []
    for name, svc in sorted(host.state.get("services", {}).items()):
        display = svc.get("display_name", name)
        if any(like(name, p) or like(display, p) for p in patterns):
            info = service_info(host, name)
            out.append(
                {"name": name, "display_name": display, "state": info["state"], "start_mode": info["start_mode"]}
            )
    return out


def installed_products(host: SimHost, patterns: list[str]) -> list[dict]:
    out = []
    for sub in host.reg_subkeys(UNINSTALL_KEY):
        key = UNINSTALL_KEY + "\\" + sub
        name = host.reg_get(key, "DisplayName")
        if name and any(like(name, p) for p in patterns):
            out.append(
                {
                    "display_name": name,
                    "publisher": host.reg_get(key, "Publisher"),
                    "version": host.reg_get(key, "DisplayVersion"),
                    "key": sub,
                }
            )
    return out


def pending_reboot(host: SimHost) -> dict:
    return {
        "component_based_servicing": host.reg_key_exists(CBS_REBOOT_PENDING_KEY),
        "windows_update": host.reg_key_exists(WU_REBOOT_REQUIRED_KEY),
        "pending_file_rename": host.reg_get(SESSION_MANAGER_KEY, "PendingFileRenameOperations") is not None,
    }


def unified_agent(host: SimHost) -> bool:
    return bool(installed_products(host, ["Microsoft Defender for Endpoint*"]))
