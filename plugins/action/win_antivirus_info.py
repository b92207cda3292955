# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_antivirus_info (step 2 of the guide: verify the third-party AV).

One round trip to ``win_antivirus_info.ps1``, which returns raw observations; the products
are assembled here with the catalogue and decoders of ``module_utils/_av.py`` and ``_wsc.py``.
Read-only: check mode runs the same way.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _av
from ansible_collections.mdeops.defender.plugins.module_utils._mode import normalize_running_mode
from ansible_collections.mdeops.defender.plugins.module_utils._registry import as_bool, as_int
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase

# Get-MpComputerStatus properties read for Defender's own entry (docs/sources.md §2.2).
DEFENDER_FIELDS = (
    "AMProductVersion",
    "AMRunningMode",
    "AntivirusSignatureVersion",
    "DefenderSignaturesOutOfDate",
    "RealTimeProtectionEnabled",
)
DEFENDER_NAME = "Microsoft Defender Antivirus"
_KINDS = {1: "workstation", 2: "domain_controller", 3: "server"}


def defender_from_status(mp: dict | None, error: str | None) -> dict:
    """Defender's own state from Get-MpComputerStatus (``installed`` false when there is none)."""
    if not mp:
        return {
            "installed": False,
            "mode": "not_installed",
            "am_running_mode": None,
            "enabled": False,
            "real_time": False,
            "up_to_date": None,
            "platform_version": None,
            "signature_version": None,
            "status_error": error,
        }
    mode = normalize_running_mode(mp.get("AMRunningMode"))
    out_of_date = as_bool(mp.get("DefenderSignaturesOutOfDate"))
    return {
        "installed": True,
        "mode": mode,
        "am_running_mode": mp.get("AMRunningMode"),
        "enabled": mode not in ("disabled", "not_installed"),
        # In passive mode real-time protection may run for Endpoint DLP only (§1.5): it is not AV protection.
        "real_time": mode == "active" and bool(as_bool(mp.get("RealTimeProtectionEnabled"))),
        "up_to_date": None if out_of_date is None else not out_of_date,
        "platform_version": mp.get("AMProductVersion"),
        "signature_version": mp.get("AntivirusSignatureVersion"),
        "status_error": error,
    }


def _defender_product(defender: dict) -> dict:
    return {
        "name": DEFENDER_NAME,
        "microsoft": True,
        "third_party": False,
        "enabled": defender["enabled"],
        "real_time": defender["real_time"],
        "up_to_date": defender["up_to_date"],
        "state": "on" if defender["real_time"] else "off",
        "product_state": None,
        "product_state_hex": None,
        "instance_guid": None,
        "path": None,
        "found_by": ["defender_status"],
        "service": "WinDefend",
        "service_state": None,
        "registered": None,
        "real_time_service": defender["real_time"],
        "version": defender["platform_version"],
    }


def _same_product(registered: dict, found: dict) -> bool:
    a, b = registered["name"].lower(), found["name"].lower()
    if a and b and (a in b or b in a):
        return True
    vendor = _av._vendor_for(product=registered["name"])[0]
    return bool(vendor) and vendor in (
        _av._vendor_for(product=found["name"])[0],
        _av._vendor_for(service=found.get("service") or "")[0],
    )


def assemble(raw: dict, user_patterns: list[str], include_microsoft: bool = True) -> dict:
    """The documented result from the raw observations (pure; unit-tested)."""
    os_raw = raw.get("os") or {}
    kind = _KINDS.get(as_int(os_raw.get("product_type")) or 1, "unknown")
    workstation = kind == "workstation"
    services = raw.get("services") or {}
    wsc = services.get("WscSvc") or {}
    sc_raw = raw.get("security_center") or {}
    security_center = {
        "applicable": workstation,
        "available": bool(sc_raw.get("available")) and workstation,
        "service_running": bool(wsc.get("exists")) and str(wsc.get("state") or "").lower() == "running",
        "error": sc_raw.get("error"),
    }
    inventory = _av.from_server_inventory(
        raw.get("av_services") or [], raw.get("installed_products") or [], user_patterns
    )
    products: list[dict] = []
    if workstation:
        # What Security Center reports is what Defender sees (docs/sources.md §1.1, §4).
        products = _av.from_security_center(sc_raw.get("products") or []) if security_center["available"] else []
        for product in products:
            product.update(registered=True, real_time_service=product["real_time"], version=None)
        for found in inventory:
            match = next((p for p in products if not p["microsoft"] and _same_product(p, found)), None)
            if match is not None:
                match["found_by"] = sorted(set(match["found_by"]) | set(found["found_by"]))
                match["service"] = found["service"]
                match["service_state"] = found["service_state"]
                match["version"] = found.get("version")
            else:
                # Running but not registered with Security Center: Defender cannot see it (§1.1).
                products.append(
                    dict(
                        found,
                        registered=False,
                        real_time_service=found["real_time"],
                        real_time=False,
                        enabled=False,
                        version=found.get("version"),
                    )
                )
    else:
        for found in inventory:
            products.append(
                dict(found, registered=None, real_time_service=found["real_time"], version=found.get("version"))
            )
    defender = defender_from_status(raw.get("mp_status"), raw.get("mp_status_error"))
    if defender["installed"] and not any(p["microsoft"] for p in products):
        products.append(_defender_product(defender))
    summary = _av.summarize(products)
    return {
        "changed": False,
        "os": {"caption": os_raw.get("caption"), "build": as_int(os_raw.get("build_number")) or 0, "kind": kind},
        "detection_method": "security_center" if workstation else "services_and_products",
        "security_center": security_center,
        "products": [p for p in products if include_microsoft or not p["microsoft"]],
        "defender": defender,
        "third_party_present": summary["third_party_present"],
        "third_party_active": summary["third_party_active"],
        "third_party_protecting": summary["third_party_protecting"],
        "third_party_names": summary["third_party_names"],
        "active_names": summary["active_names"],
    }


class ActionModule(MdeActionBase):
    MODULE = "win_antivirus_info"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        patterns = _av.patterns_for(args["av_name_patterns"])
        raw = self._run_ps(
            {
                "_mp_status_fields": list(DEFENDER_FIELDS),
                "_service_patterns": patterns["services"],
                "_product_patterns": patterns["products"],
            },
            task_vars,
        )
        return assemble(raw, args["av_name_patterns"], args["include_microsoft"])
