# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turning the raw observations of ``win_mde_info.ps1`` into the documented state. PRIVATE.

The PowerShell side returns values as Windows gives them; everything here is pure and
unit-tested: OS classification, mode normalisation, onboarding, policy, Security Center
products, pending reboot.
"""

from __future__ import annotations

from . import _av
from ._mode import normalize_running_mode
from ._os_support import classify
from ._package import canonical_guid
from ._registry import as_bool, as_int

# Get-MpComputerStatus properties the collection reports (docs/sources.md §2.2).
MP_STATUS_FIELDS = (
    "AMEngineVersion",
    "AMProductVersion",
    "AMRunningMode",
    "AMServiceEnabled",
    "AMServiceVersion",
    "AntispywareEnabled",
    "AntivirusEnabled",
    "AntivirusSignatureAge",
    "AntivirusSignatureLastUpdated",
    "AntivirusSignatureVersion",
    "BehaviorMonitorEnabled",
    "ComputerState",
    "DefenderSignaturesOutOfDate",
    "IoavProtectionEnabled",
    "IsTamperProtected",
    "NISEnabled",
    "OnAccessProtectionEnabled",
    "RealTimeProtectionEnabled",
)

_PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}


def _org(value: object) -> str | None:
    return canonical_guid(str(value)) if value else None


def _service(raw: dict | None) -> dict:
    raw = raw or {}
    exists = bool(raw.get("exists"))
    return {
        "exists": exists,
        "state": (str(raw.get("state") or "").lower() or None) if exists else None,
        "start_mode": (str(raw.get("start_mode") or "").lower() or None) if exists else None,
        "running": exists and str(raw.get("state") or "").lower() == "running",
    }


def os_from_raw(raw_os: dict, support_policy: str = "microsoft", unified_agent: bool = False) -> dict:
    build = as_int(raw_os.get("build_number")) or 0
    product_type = as_int(raw_os.get("product_type")) or 1
    info = {
        "caption": raw_os.get("caption"),
        "version": raw_os.get("version"),
        "build": build,
        "ubr": as_int(raw_os.get("ubr")),
        "product_type": product_type,
        "kind": _PRODUCT_TYPES.get(product_type, "unknown"),
        "edition": raw_os.get("edition_id"),
    }
    info["support"] = classify(
        {"caption": info["caption"], "build": build, "product_type": product_type, "edition": info["edition"]},
        policy=support_policy,
        unified_agent=unified_agent,
    )
    return info


def mp_status_from_raw(raw: dict | None) -> dict | None:
    if not raw:
        return None
    return {field: raw.get(field) for field in MP_STATUS_FIELDS}


def build_state(
    raw: dict,
    support_policy: str = "microsoft",
    expected_org_id: str | None = None,
    user_patterns: list[str] | None = None,
) -> dict:
    """The documented state of a host (everything but the diagnosis)."""
    services = {
        name.lower(): _service((raw.get("services") or {}).get(name)) for name in ("WinDefend", "Sense", "WscSvc")
    }
    reg = raw.get("registry") or {}
    mp = mp_status_from_raw(raw.get("mp_status"))
    mode_raw = mp.get("AMRunningMode") if mp else None
    if mp is None:
        mode = "not_installed" if not services["windefend"]["exists"] else "unknown"
    elif mode_raw is None:
        # §2.1: a status without AMRunningMode says nothing about the mode (not "not installed").
        mode = "unknown"
    else:
        mode = normalize_running_mode(mode_raw)
    edr_block = mode == "edr_block"
    if edr_block and as_int(reg.get("force_defender_passive_mode")) == 0:
        # §2.1: EDR Block Mode is passive unless ForceDefenderPassiveMode is 0; then Defender is the
        # active antivirus with EDR in block mode on.
        mode = "active"
    # Server 2012 R2/2016: the modern unified solution brings its own Sense service (§1.4).
    unified = bool(raw.get("unified_agent")) or (services["sense"]["exists"] and services["windefend"]["exists"])
    os_info = os_from_raw(raw.get("os") or {}, support_policy, unified_agent=unified)

    onboarding_state = as_int(reg.get("onboarding_state"))
    # The host sends the orgId read from OnboardingInfo (Get-MdeOnboardingOrgId), never the raw value.
    org_id = _org(reg.get("onboarding_org_id"))
    status_org = reg.get("status_org_id")
    if not org_id and status_org:
        org_id = canonical_guid(str(status_org)) or str(status_org).strip("{}").lower()
    onboarding = {
        "onboarded": onboarding_state == 1,
        "onboarding_state": onboarding_state,
        "org_id": org_id,
        "sense_running": services["sense"]["running"],
        "sense_installed": services["sense"]["exists"],
        "expected_org_id": expected_org_id,
        "org_matches": None if not expected_org_id or not org_id else org_id == expected_org_id.lower(),
    }
    policy = {
        "force_defender_passive_mode": as_int(reg.get("force_defender_passive_mode")),
        "guide_force_passive_mode": as_int(reg.get("guide_force_passive_mode")),
        "disable_antispyware": as_int(reg.get("disable_antispyware")),
        "disable_realtime_monitoring": as_int(reg.get("disable_realtime_monitoring")),
    }
    sc_raw = raw.get("security_center") or {}
    workstation = os_info["kind"] == "workstation"
    security_center = {
        "applicable": workstation,
        "available": bool(sc_raw.get("available")) and workstation,
        "service_running": services["wscsvc"]["running"],
        "error": sc_raw.get("error"),
    }
    if workstation:
        products = _av.from_security_center(sc_raw.get("products") or [])
        # AV products that run but are not registered with Security Center: Defender cannot
        # see them (§1.1), report them without counting them.
        seen = {p["name"].lower() for p in products}
        for extra in _av.from_server_inventory(
            raw.get("av_services") or [], raw.get("installed_products") or [], user_patterns or []
        ):
            if extra["name"].lower() not in seen and not any(
                extra["name"].lower() in s or s in extra["name"].lower() for s in seen
            ):
                extra = dict(
                    extra, registered=False, real_time_service=extra["real_time"], real_time=False, enabled=False
                )
                products.append(extra)
        for p in products:
            p.setdefault("registered", True)
    else:
        products = _av.from_server_inventory(
            raw.get("av_services") or [], raw.get("installed_products") or [], user_patterns or []
        )
        for p in products:
            p["registered"] = None
    av_summary = _av.summarize(products)
    rp = raw.get("reboot_pending") or {}
    pending_reasons = [
        name for name in ("component_based_servicing", "windows_update", "pending_file_rename") if rp.get(name)
    ]
    computer = raw.get("computer") or {}
    tamper = as_bool(mp.get("IsTamperProtected")) if mp else None
    rtp = as_bool(mp.get("RealTimeProtectionEnabled")) if mp else False
    defender = {
        "installed": mp is not None or services["windefend"]["exists"],
        "mode": mode,
        "am_running_mode": mode_raw,
        "edr_block_mode": edr_block,
        "real_time_protection_enabled": bool(rtp),
        "platform_version": mp.get("AMProductVersion") if mp else None,
        "engine_version": mp.get("AMEngineVersion") if mp else None,
        "signature_version": mp.get("AntivirusSignatureVersion") if mp else None,
        "tamper_protected": tamper,
        "status": mp,
        "status_error": raw.get("mp_status_error"),
    }
    return {
        "hostname": computer.get("dns_hostname"),
        "computer": {"machine_guid": computer.get("machine_guid") or None},
        "os": os_info,
        "defender": defender,
        "services": services,
        "onboarding": onboarding,
        "policy": policy,
        "security_center": security_center,
        "antivirus": {"products": products, **av_summary},
        "tamper_protection": tamper,
        "reboot_pending": bool(pending_reasons),
        "reboot_pending_reasons": pending_reasons,
        "domain": {
            "joined": bool(computer.get("part_of_domain")),
            "name": computer.get("domain") if computer.get("part_of_domain") else None,
        },
        "last_boot_filetime": as_int((raw.get("os") or {}).get("last_boot_filetime")),
    }
