# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matching inventory names to Defender for Endpoint machine entities. PRIVATE to this collection.

The Defender API lists machines with ``computerDnsName`` (the FQDN, lower case as the
service reports it; docs/sources.md §7.3). Inventories often use short names, or FQDNs with other
casing. :func:`match_machines` maps each requested name to the best machine entity:

* a name with a dot is compared with the whole ``computerDnsName`` (case-insensitive); a
  machine whose ``computerDnsName`` has no domain also matches on the first label;
* a name without a dot is compared with the first label of ``computerDnsName``;
* several entities for one name happen after a reimage or rename (a new entity, the old one
  goes Inactive): the one seen last wins and the others are reported as ``duplicates``.
"""

from __future__ import annotations

import re
from typing import Any

from ._mode import normalize_api_av_mode
from ._reasons import problem

__all__ = ["HEALTH_STATUSES", "machine_record", "match_machines", "normalize_name", "summarize"]

#: healthStatus values (docs/sources.md §7.3).
HEALTH_STATUSES = (
    "Active",
    "Inactive",
    "ImpairedCommunication",
    "NoSensorData",
    "NoSensorDataImpairedCommunication",
    "Unknown",
)

# Why a sensor is not Active, and what to do (defender-endpoint/fix-unhealthy-sensors.md via
# docs/sources.md §7.3 and §G12: an unhealthy sensor is not
# always an incomplete onboarding).
_HEALTH_HELP = {
    "inactive": (
        "has sent no signal for more than 7 days",
        "The device may be switched off, reimaged or renamed (that creates a new machine entity) or offboarded; "
        "check it is running and onboarded, then wait for the next report.",
    ),
    "impairedcommunication": (
        "has impaired communications with the Defender for Endpoint service",
        "Check the proxy (WinHTTP or the static proxy setting) and firewall rules for the Defender for Endpoint "
        "URLs, then run the MDE Client Analyzer.",
    ),
    "nosensordata": (
        "talks to the service but sends no sensor data",
        "Check that the Sense and DiagTrack (Connected User Experiences and Telemetry) services run and that no "
        "policy or ELAM driver blocks them; run the MDE Client Analyzer.",
    ),
    "nosensordataimpairedcommunication": (
        "sends no sensor data and has impaired communications",
        "Check the proxy and firewall for the Defender for Endpoint URLs and that the Sense and DiagTrack "
        "services run; run the MDE Client Analyzer.",
    ),
    "unknown": (
        "has an unknown sensor health",
        "Wait for the next device report and look at the device page in the Defender portal.",
    ),
}


def normalize_name(name: str) -> str:
    return str(name or "").strip().rstrip(".").lower()


def short_name(name: str) -> str:
    return normalize_name(name).split(".", 1)[0]


def _seen(machine: dict) -> str:
    return str(machine.get("lastSeen") or machine.get("firstSeen") or "")


def _index(machines: list[dict]) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    by_fqdn: dict[str, list[dict]] = {}
    by_short: dict[str, list[dict]] = {}
    for machine in machines:
        dns = normalize_name(machine.get("computerDnsName") or "")
        if not dns:
            continue
        by_fqdn.setdefault(dns, []).append(machine)
        by_short.setdefault(dns.split(".", 1)[0], []).append(machine)
    return by_fqdn, by_short


def match_machines(requested: list[str], machines: list[dict]) -> dict[str, tuple[dict | None, list[dict]]]:
    """``{requested name: (best machine or None, other machines with that name)}``."""
    by_fqdn, by_short = _index(machines)
    out: dict[str, tuple[dict | None, list[dict]]] = {}
    for name in requested:
        wanted = normalize_name(name)
        if "." in wanted:
            candidates = list(by_fqdn.get(wanted, []))
            # A machine registered without a domain still matches the host part of an FQDN.
            candidates += [
                m
                for m in by_short.get(wanted.split(".", 1)[0], [])
                if "." not in normalize_name(m.get("computerDnsName") or "") and m not in candidates
            ]
        else:
            candidates = list(by_short.get(wanted, []))
        candidates.sort(key=_seen, reverse=True)
        out[name] = (candidates[0] if candidates else None, candidates[1:])
    return out


def _av_index(av_infos: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for info in av_infos:
        key = str(info.get("machineId") or "").lower()
        if key and (key not in out or str(info.get("lastSeenTime") or "") > str(out[key].get("lastSeenTime") or "")):
            out[key] = info
    return out


def machine_record(
    name: str, machine: dict | None, duplicates: list[dict], av_info: dict | None, av_requested: bool
) -> dict:
    """The documented per-name result of mde_machine_info."""
    record: dict[str, Any] = {
        "name": name,
        "found": machine is not None,
        "id": None,
        "computer_dns_name": None,
        "health_status": None,
        "onboarding_status": None,
        "last_seen": None,
        "first_seen": None,
        "os_platform": None,
        "os_build": None,
        "version": None,
        "last_ip_address": None,
        "rbac_group_name": None,
        "machine_tags": [],
        "av_mode": None,
        "av_mode_normalized": None,
        "av_info_found": False,
        "av_last_seen": None,
        "duplicates": [d.get("id") for d in duplicates],
        "edr_active": False,
        "problems": [],
    }
    if machine is None:
        record["problems"].append(
            problem(
                "not_onboarded",
                "%s is not in the Defender for Endpoint device inventory of this tenant" % name,
                "Check that the host is onboarded to this tenant's organisation and that Sense runs; a newly onboarded "
                "device can take up to a few hours to appear (Group Policy onboarding even longer).",
            )
        )
        return record
    record.update(
        {
            "id": machine.get("id"),
            "computer_dns_name": machine.get("computerDnsName"),
            "health_status": machine.get("healthStatus"),
            "onboarding_status": machine.get("onboardingStatus"),
            "last_seen": machine.get("lastSeen"),
            "first_seen": machine.get("firstSeen"),
            "os_platform": machine.get("osPlatform"),
            "os_build": machine.get("osBuild"),
            "version": machine.get("version"),
            "last_ip_address": machine.get("lastIpAddress"),
            "rbac_group_name": machine.get("rbacGroupName"),
            "machine_tags": list(machine.get("machineTags") or []),
        }
    )
    health = str(machine.get("healthStatus") or "Unknown")
    onboarded = str(machine.get("onboardingStatus") or "").lower() == "onboarded"
    record["edr_active"] = health == "Active" and onboarded
    if not onboarded:
        record["problems"].append(
            problem(
                "not_onboarded",
                "%s is known to Defender for Endpoint with onboardingStatus %s, not Onboarded"
                % (name, machine.get("onboardingStatus")),
            )
        )
    elif health != "Active":
        what, fix = _HEALTH_HELP.get(health.lower(), _HEALTH_HELP["unknown"])
        record["problems"].append(problem("sensor_not_running", "%s %s (healthStatus %s)" % (name, what, health), fix))
    if av_info is not None:
        raw = av_info.get("avMode")
        record.update(
            {
                "av_mode": raw,
                "av_mode_normalized": normalize_api_av_mode(raw),
                "av_info_found": True,
                "av_last_seen": av_info.get("lastSeenTime"),
            }
        )
    elif av_requested:
        record["av_mode_normalized"] = "unknown"
    return record


def build_records(requested: list[str], machines: list[dict], av_infos: list[dict] | None) -> dict[str, dict]:
    """Records for every requested name (av_infos None = deviceavinfo not asked for)."""
    matches = match_machines(requested, machines)
    av = _av_index(av_infos or [])
    out = {}
    for name in requested:
        machine, dups = matches[name]
        info = av.get(str(machine.get("id") or "").lower()) if machine else None
        out[name] = machine_record(name, machine, dups, info, av_infos is not None)
    return out


def summarize(records: dict[str, dict]) -> dict:
    """Counts and name lists for a wave."""
    health: dict[str, int] = {}
    av_modes: dict[str, int] = {}
    for rec in records.values():
        if rec["found"]:
            key = rec["health_status"] or "Unknown"
            health[key] = health.get(key, 0) + 1
        if rec["av_mode_normalized"]:
            av_modes[rec["av_mode_normalized"]] = av_modes.get(rec["av_mode_normalized"], 0) + 1
    return {
        "requested": len(records),
        "found": sum(1 for r in records.values() if r["found"]),
        "missing": sum(1 for r in records.values() if not r["found"]),
        "edr_active": sum(1 for r in records.values() if r["edr_active"]),
        "health_status": dict(sorted(health.items())),
        "av_mode": dict(sorted(av_modes.items())),
    }


# Windows allows non-ASCII computer names (KÜCHE-PC): letters and digits of any script count.
_DNS_RE = re.compile(r"^[^\W_]([\w-]{0,62})(\.[\w-]{1,63})*\.?$")


def invalid_names(names: list[str]) -> list[str]:
    """Names that cannot be host names (they would never match and may be typos)."""
    return [n for n in names if not _DNS_RE.match(str(n or ""))]
