# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Third-party antivirus detection. PRIVATE to this collection.

Workstations: Windows Security Center (``root\\SecurityCenter2\\AntiVirusProduct``) is how
Defender itself learns about another AV (docs/sources.md §1.1, §4).

Servers have no Security Center (§4: the WSC API is client-only), and Microsoft documents no
other method. Detection there is by the vendor's service and by installed-product entries
(``...\\CurrentVersion\\Uninstall``), from the catalogue below plus user patterns. Only a
*running* AV service counts as real-time protection on a server; an installed product whose
service is not found or not running is reported but does not count.
"""

from __future__ import annotations

import fnmatch

from ._wsc import decode_product_state, is_microsoft_product

# vendor product: service name patterns, installed-product (DisplayName) patterns
CATALOG: dict[str, dict[str, list[str]]] = {
    "CrowdStrike Falcon": {"services": ["CSFalconService"], "products": ["CrowdStrike*Sensor*"]},
    "SentinelOne": {"services": ["SentinelAgent"], "products": ["Sentinel Agent*"]},
    "Sophos Endpoint": {
        "services": ["Sophos Endpoint Defense Service", "SAVService"],
        "products": ["Sophos Endpoint Agent*", "Sophos Anti-Virus*"],
    },
    "Trend Micro": {"services": ["ds_agent", "ntrtscan", "TmCCSF"], "products": ["Trend Micro*"]},
    "Symantec Endpoint Protection": {"services": ["SepMasterService"], "products": ["Symantec Endpoint Protection*"]},
    "Trellix / McAfee Endpoint Security": {
        "services": ["mfemms", "mfefire", "McShield"],
        "products": ["Trellix Endpoint Security*", "McAfee Endpoint Security*", "McAfee VirusScan*"],
    },
    "ESET": {"services": ["ekrn"], "products": ["ESET*"]},
    "Bitdefender": {
        "services": ["EPSecurityService", "EPProtectedService"],
        "products": ["Bitdefender Endpoint Security*"],
    },
    "Kaspersky": {"services": ["kavfs", "AVP*", "klnagent"], "products": ["Kaspersky*"]},
    "Cortex XDR": {"services": ["cyserver", "CyveraService"], "products": ["Cortex XDR*"]},
    "Carbon Black": {"services": ["CbDefense", "CarbonBlack"], "products": ["Carbon Black*"]},
    "Cylance": {"services": ["CylanceSvc"], "products": ["Cylance*"]},
    "Webroot": {"services": ["WRSVC"], "products": ["Webroot*"]},
    "Malwarebytes": {"services": ["MBAMService"], "products": ["Malwarebytes*"]},
    "WithSecure / F-Secure": {"services": ["fshoster"], "products": ["WithSecure*", "F-Secure*"]},
    "Panda / WatchGuard": {"services": ["PSUAService"], "products": ["Panda*", "WatchGuard Endpoint*"]},
    "Cisco Secure Endpoint": {"services": ["CiscoAMP*"], "products": ["Cisco Secure Endpoint*", "Cisco AMP*"]},
    "Elastic Defend": {"services": ["ElasticEndpoint"], "products": ["Elastic Endpoint*"]},
}

# Never treat these as a third-party AV (Defender and its companions).
_MICROSOFT_SERVICES = {"windefend", "sense", "wdnissvc", "mdcoresvc", "securityhealthservice", "wscsvc"}


def patterns_for(user_patterns: list[str] | None = None) -> dict[str, list[str]]:
    """The service and product patterns to send to the host (catalogue + user's)."""
    services: list[str] = []
    products: list[str] = []
    for entry in CATALOG.values():
        services.extend(entry["services"])
        products.extend(entry["products"])
    for pattern in user_patterns or []:
        services.append(pattern)
        products.append(pattern)
    return {"services": sorted(set(services)), "products": sorted(set(products))}


def _match(name: str, patterns: list[str]) -> bool:
    low = (name or "").lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


def _vendor_for(service: str = "", product: str = "", user_patterns: list[str] | None = None) -> tuple[str, str]:
    for vendor, entry in CATALOG.items():
        if (service and _match(service, entry["services"])) or (product and _match(product, entry["products"])):
            return vendor, "catalog"
    for pattern in user_patterns or []:
        if (service and _match(service, [pattern])) or (product and _match(product, [pattern])):
            return pattern, "user_pattern"
    return "", "unknown"


def from_security_center(raw_products: list[dict]) -> list[dict]:
    """Products as Security Center reports them, decoded."""
    out = []
    for item in raw_products or []:
        name = str(item.get("displayName") or item.get("display_name") or "")
        decoded = decode_product_state(item.get("productState"))
        microsoft = is_microsoft_product(name, decoded["owner"])
        out.append(
            {
                "name": name,
                "microsoft": microsoft,
                "third_party": not microsoft,
                "enabled": decoded["enabled"],
                "real_time": decoded["real_time"],
                "up_to_date": decoded["up_to_date"],
                "state": decoded["state"],
                "product_state": decoded["raw"],
                "product_state_hex": decoded["hex"],
                "instance_guid": item.get("instanceGuid"),
                "path": item.get("pathToSignedProductExe"),
                "found_by": ["security_center"],
                "service": None,
                "service_state": None,
            }
        )
    return out


def from_server_inventory(
    services: list[dict], installed: list[dict], user_patterns: list[str] | None = None
) -> list[dict]:
    """Products detected on a server from services and installed-product entries."""
    by_vendor: dict[str, dict] = {}
    for svc in services or []:
        name = str(svc.get("name") or "")
        if name.lower() in _MICROSOFT_SERVICES:
            continue
        vendor, how = _vendor_for(service=name, user_patterns=user_patterns)
        if not vendor:
            vendor, how = _vendor_for(service=str(svc.get("display_name") or ""), user_patterns=user_patterns)
        if not vendor:
            continue
        running = str(svc.get("state") or "").lower() == "running"
        entry = by_vendor.setdefault(vendor, _blank(vendor))
        entry["found_by"].append("service" if how == "catalog" else "user_pattern")
        entry["service"] = name
        entry["service_state"] = str(svc.get("state") or "").lower()
        entry["enabled"] = entry["enabled"] or running
        entry["real_time"] = entry["real_time"] or running
        entry["state"] = "on" if entry["real_time"] else "off"
    for prod in installed or []:
        display = str(prod.get("display_name") or "")
        vendor, how = _vendor_for(product=display, user_patterns=user_patterns)
        if not vendor:
            continue
        entry = by_vendor.setdefault(vendor, _blank(vendor))
        entry["found_by"].append("installed_product" if how == "catalog" else "user_pattern")
        entry["name"] = display or entry["name"]
        entry["version"] = prod.get("version")
    for entry in by_vendor.values():
        entry["found_by"] = sorted(set(entry["found_by"]))
    return sorted(by_vendor.values(), key=lambda e: e["name"].lower())


def _blank(vendor: str) -> dict:
    return {
        "name": vendor,
        "microsoft": False,
        "third_party": True,
        "enabled": False,
        "real_time": False,
        "up_to_date": None,
        "state": "unknown",
        "product_state": None,
        "product_state_hex": None,
        "instance_guid": None,
        "path": None,
        "found_by": [],
        "service": None,
        "service_state": None,
    }


def summarize(products: list[dict]) -> dict:
    """``third_party_active``: what Defender can see (decides passive mode).

    ``third_party_protecting``: a third-party product whose real-time protection runs, seen or
    not by Defender (an AV whose service runs but is not registered with Security Center still
    protects the host). The never-unprotected guard uses this one.
    """
    third = [p for p in products if p.get("third_party")]
    active = [p for p in third if p.get("real_time")]
    protecting = [p for p in third if p.get("real_time") or p.get("real_time_service")]
    return {
        "third_party_present": bool(third),
        "third_party_active": bool(active),
        "third_party_protecting": bool(protecting),
        "third_party_names": [p["name"] for p in third],
        "active_names": [p["name"] for p in active],
    }
