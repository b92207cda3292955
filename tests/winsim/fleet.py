"""Fleet files: parsing, validation and the initial state of each simulated host.

A fleet file is YAML with a ``defaults`` block and a ``hosts`` map (see
``fleets/demo.yml``). Unknown keys are rejected so that a typo never silently
produces a different host.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import yaml

from . import rules
from .host import (
    ATP_POLICY_KEY,
    ATP_STATUS_KEY,
    CBS_REBOOT_PENDING_KEY,
    UNINSTALL_KEY,
    unix_to_filetime,
)
from .packages import info_json, onboarding_body

DEFAULT_PASSWORD = "Sim-Passw0rd!"  # test fleet only
#: What md4ws.msi (the unified agent of Server 2012 R2/2016) calls itself in Programs and Features.
UNIFIED_NAME = "Microsoft Defender for Endpoint"

# product_type: 1 workstation, 2 domain controller, 3 server (Win32_OperatingSystem.ProductType)
OS_CATALOG: dict[str, dict[str, Any]] = {
    "windows7_sp1": {
        "caption": "Microsoft Windows 7 Enterprise",
        "version": "6.1.7601",
        "build": 7601,
        "product_type": 1,
        "edition": "Enterprise",
    },
    "windows81": {
        "caption": "Microsoft Windows 8.1 Enterprise",
        "version": "6.3.9600",
        "build": 9600,
        "product_type": 1,
        "edition": "Enterprise",
    },
    "windows10_1607": {
        "caption": "Microsoft Windows 10 Enterprise LTSB",
        "version": "10.0.14393",
        "build": 14393,
        "product_type": 1,
        "edition": "EnterpriseS",
    },
    "windows10_1809": {
        "caption": "Microsoft Windows 10 Enterprise LTSC",
        "version": "10.0.17763",
        "build": 17763,
        "product_type": 1,
        "edition": "EnterpriseS",
    },
    "windows10_22h2": {
        "caption": "Microsoft Windows 10 Enterprise",
        "version": "10.0.19045",
        "build": 19045,
        "product_type": 1,
        "edition": "Enterprise",
    },
    "windows10_22h2_pro": {
        "caption": "Microsoft Windows 10 Pro",
        "version": "10.0.19045",
        "build": 19045,
        "product_type": 1,
        "edition": "Professional",
    },
    "windows10_22h2_home": {
        "caption": "Microsoft Windows 10 Home",
        "version": "10.0.19045",
        "build": 19045,
        "product_type": 1,
        "edition": "Core",
    },
    "windows11_23h2": {
        "caption": "Microsoft Windows 11 Enterprise",
        "version": "10.0.22631",
        "build": 22631,
        "product_type": 1,
        "edition": "Enterprise",
    },
    "windows11_24h2": {
        "caption": "Microsoft Windows 11 Pro",
        "version": "10.0.26100",
        "build": 26100,
        "product_type": 1,
        "edition": "Professional",
    },
    "server2008r2": {
        "caption": "Microsoft Windows Server 2008 R2 Standard",
        "version": "6.1.7601",
        "build": 7601,
        "product_type": 3,
        "edition": "ServerStandard",
    },
    "server2012r2": {
        "caption": "Microsoft Windows Server 2012 R2 Standard",
        "version": "6.3.9600",
        "build": 9600,
        "product_type": 3,
        "edition": "ServerStandard",
    },
    "server2016": {
        "caption": "Microsoft Windows Server 2016 Standard",
        "version": "10.0.14393",
        "build": 14393,
        "product_type": 3,
        "edition": "ServerStandard",
    },
    "server2019": {
        "caption": "Microsoft Windows Server 2019 Standard",
        "version": "10.0.17763",
        "build": 17763,
        "product_type": 3,
        "edition": "ServerStandard",
    },
    "server2022": {
        "caption": "Microsoft Windows Server 2022 Datacenter",
        "version": "10.0.20348",
        "build": 20348,
        "product_type": 3,
        "edition": "ServerDatacenter",
    },
    "server2025": {
        "caption": "Microsoft Windows Server 2025 Datacenter",
        "version": "10.0.26100",
        "build": 26100,
        "product_type": 3,
        "edition": "ServerDatacenter",
    },
    "hyperv_server2019": {
        "caption": "Microsoft Hyper-V Server 2019",
        "version": "10.0.17763",
        "build": 17763,
        "product_type": 3,
        "edition": "ServerHyperCore",
    },
}

# Services and uninstall entries of well-known AV products, used when a fleet file names
# a product without saying which service it runs.
KNOWN_AV = {
    "crowdstrike": ("CSFalconService", "CrowdStrike Falcon Sensor", "CrowdStrike, Inc."),
    "sentinelone": ("SentinelAgent", "Sentinel Agent", "SentinelOne"),
    "sophos": ("Sophos Endpoint Defense Service", "Sophos Endpoint Agent", "Sophos Limited"),
    "trend micro": ("ds_agent", "Trend Micro Deep Security Agent", "Trend Micro Inc."),
    "symantec": ("SepMasterService", "Symantec Endpoint Protection", "Broadcom"),
    "trellix": ("mfemms", "Trellix Endpoint Security Platform", "Musarubra US LLC"),
    "mcafee": ("mfemms", "McAfee Endpoint Security Platform", "McAfee, LLC"),
    "eset": ("ekrn", "ESET Endpoint Antivirus", "ESET, spol. s r.o."),
    "bitdefender": ("EPSecurityService", "Bitdefender Endpoint Security Tools", "Bitdefender"),
    "kaspersky": ("kavfs", "Kaspersky Security for Windows Server", "AO Kaspersky Lab"),
    "cortex": ("cyserver", "Cortex XDR", "Palo Alto Networks"),
    "carbon black": ("CbDefense", "Carbon Black Cloud Sensor 64-bit", "Broadcom"),
}

HOST_KEYS = {
    "os",
    "third_party_av",
    "onboarded_org",
    "tamper_protection",
    "defender_platform",
    "defender_installed",
    "security_center_enabled",
    "domain_joined",
    "edr_block_mode",
    "registry",
    "credentials",
    "faults",
    "groups",
    "ou",
    "reboot_seconds",
    "unified_agent",
    "unified_agent_name",
    "smart_app_control",
    "dlp_enabled",
    "limited_periodic_scanning",
    "pending_reboot",
    "hostname",
    "sense_installed",
    "sense_running",
    "domain_controller",
    "timeline",
    "logon_server",
}
AV_KEYS = {"name", "real_time", "up_to_date", "registered", "service", "vendor", "installed", "display_name"}
FAULT_KEYS = {
    "latency_ms",
    "down",
    "drop_connection",
    "reboot_never_returns",
    "onboarding_exit_code",
    "sense_never_starts",
    "sense_start_delay_s",
    "offboarding_exit_code",
    "dc_unreachable",
    "installer_reboot_required",
    "inject",
    "inject_calls",
}
TOP_KEYS = {"defaults", "hosts", "domain", "cloud", "tenant", "time_scale"}


class FleetError(ValueError):
    pass


def load_fleet(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return validate_fleet(data, source=path)


def validate_fleet(data: dict, source: str = "<fleet>") -> dict:
    if not isinstance(data, dict):
        raise FleetError(f"{source}: a fleet file is a mapping with 'defaults' and 'hosts'")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise FleetError(f"{source}: unknown top-level keys {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")
    scale = data.get("time_scale", 1.0)
    if not isinstance(scale, int | float) or isinstance(scale, bool) or scale <= 0:
        raise FleetError(
            f"{source}: time_scale must be a number > 0 (real seconds per simulated second), got {scale!r}"
        )
    hosts = data.get("hosts")
    if not isinstance(hosts, dict) or not hosts:
        raise FleetError(f"{source}: 'hosts' must be a non-empty mapping of host name to settings")
    defaults = data.get("defaults") or {}
    for where, block in [("defaults", defaults)] + [(f"hosts.{n}", h or {}) for n, h in hosts.items()]:
        if not isinstance(block, dict):
            raise FleetError(f"{source}: {where} must be a mapping")
        bad = set(block) - HOST_KEYS
        if bad:
            raise FleetError(f"{source}: {where}: unknown keys {sorted(bad)}; allowed: {sorted(HOST_KEYS)}")
        faults = block.get("faults") or {}
        bad = set(faults) - FAULT_KEYS
        if bad:
            raise FleetError(f"{source}: {where}.faults: unknown faults {sorted(bad)}; allowed: {sorted(FAULT_KEYS)}")
        for av in block.get("third_party_av") or []:
            if not isinstance(av, dict) or "name" not in av:
                raise FleetError(f"{source}: {where}.third_party_av entries need at least 'name'")
            bad = set(av) - AV_KEYS
            if bad:
                raise FleetError(f"{source}: {where}.third_party_av: unknown keys {sorted(bad)}")
        try:
            rules.timeline_settings(block.get("timeline"))
        except ValueError as exc:
            raise FleetError(f"{source}: {where}: {exc}") from None
        os_ = block.get("os")
        if isinstance(os_, str) and os_ not in OS_CATALOG:
            raise FleetError(f"{source}: {where}.os '{os_}' is not in the catalog: {sorted(OS_CATALOG)}")
    return data


def host_settings(fleet: dict, name: str) -> dict:
    merged = copy.deepcopy(fleet.get("defaults") or {})
    for key, value in (fleet["hosts"].get(name) or {}).items():
        if key in ("faults", "credentials") and isinstance(value, dict):
            merged.setdefault(key, {})
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_os(spec: Any) -> dict:
    if spec is None:
        spec = "windows11_23h2"
    if isinstance(spec, str):
        return dict(OS_CATALOG[spec], key=spec)
    base = dict(OS_CATALOG.get(spec.get("key", ""), {}))
    base.update(spec)
    for field in ("caption", "version", "build", "product_type"):
        if field not in base:
            raise FleetError(f"os mapping needs '{field}' (or a catalog 'key')")
    base["build"] = int(base["build"])
    base.setdefault("edition", "Enterprise")
    return base


def onboarding_info_json(org_id: str) -> str:
    """The shape of OnboardingInfo (docs/sources.md §3.4): a JSON whose 'body' is JSON text."""
    body = onboarding_body(org_id)
    body["packageGuid"] = str(uuid.UUID(int=uuid.UUID(org_id).int ^ 0x5A5A))
    return info_json(body)


def _av_entry(av: dict, workstation: bool) -> dict:
    name = av["name"]
    known = next((v for k, v in KNOWN_AV.items() if k in name.lower()), None)
    service = av.get("service") or (known[0] if known else "".join(ch for ch in name if ch.isalnum()) + "Svc")
    return {
        "name": name,
        "display_name": av.get("display_name") or (known[1] if known else name),
        "vendor": av.get("vendor") or (known[2] if known else name.split()[0]),
        "service": service,
        "real_time": bool(av.get("real_time", True)),
        "up_to_date": bool(av.get("up_to_date", True)),
        # Only clients have Security Center to register with (§4).
        "registered": bool(av.get("registered", True)) and workstation,
        "installed": bool(av.get("installed", True)),
        "instance_guid": "{%s}" % str(uuid.uuid5(uuid.NAMESPACE_DNS, name)).upper(),
    }


def new_state(name: str, settings: dict, now: float | None = None) -> dict:
    """The initial persisted state of a host from its merged fleet settings (``now``: simulated time)."""
    os_info = resolve_os(settings.get("os"))
    if settings.get("domain_controller"):
        os_info["product_type"] = 2
    workstation = os_info["product_type"] == 1
    build = os_info["build"]
    downlevel_server = not workstation and build in (9600, 14393)
    legacy = build < 10240 and not (not workstation and build == 9600)
    unified = bool(settings.get("unified_agent", False))
    # Defender availability: Windows 10+/Server 2016+ ship it; 2012 R2 only via the unified
    # solution (§1.1); Windows 7/8.1/2008 R2 have no Get-MpComputerStatus AMRunningMode here.
    default_installed = not legacy and (build != 9600 or unified)
    installed = bool(settings.get("defender_installed", default_installed))
    sense_installed = bool(settings.get("sense_installed", not legacy and (not downlevel_server or unified)))
    now = time.time() if now is None else now
    creds = {"username": "ansible", "password": DEFAULT_PASSWORD}
    creds.update(settings.get("credentials") or {})
    hostname = settings.get("hostname") or name.split(".")[0].upper()[:15]
    domain_joined = bool(settings.get("domain_joined", False)) or os_info["product_type"] == 2
    state: dict[str, Any] = {
        "schema": 1,
        "name": name,
        "hostname": hostname,
        "os": os_info,
        "credentials": creds,
        "boot": {"last_boot_filetime": unix_to_filetime(now - 3600), "count": 1},
        "reboot_seconds": float(settings.get("reboot_seconds", 2)),
        "domain": {
            "joined": domain_joined,
            "name": "corp.example.com" if domain_joined else None,
            "ou": settings.get("ou") if domain_joined else None,
        },
        "groups": list(settings.get("groups") or []),
        "registry": {},
        "services": {},
        # Directories every Windows host has (Ansible's temp dirs are created below them).
        "files": {"c:\\windows": {"type": "dir"}, "c:\\windows\\temp": {"type": "dir"}},
        "events": [],
        "env": {"TEMP": r"C:\Windows\TEMP"},
        "third_party_av": [_av_entry(av, workstation) for av in settings.get("third_party_av") or []],
        "defender": {
            "installed": installed,
            "platform_version": str(settings.get("defender_platform", "4.18.24090.11")),
            "engine_version": "1.1.24090.11",
            "signature_version": "1.419.214.0",
            "signature_age_days": 0,
            "tamper_protection": bool(settings.get("tamper_protection", False)),
            "smart_app_control": bool(settings.get("smart_app_control", False)),
            "limited_periodic_scanning": bool(settings.get("limited_periodic_scanning", False)),
            "dlp_enabled": bool(settings.get("dlp_enabled", False)),
            "active_latched": False,
            "disabled_before_onboarding": False,
        },
        "mde": {
            "sense_installed": sense_installed,
            "unified_agent": unified,
            "unified_agent_force_passive": False,
            "edr_block_mode": bool(settings.get("edr_block_mode", False)),
        },
        "faults": dict(settings.get("faults") or {}),
    }
    if installed:
        state["services"]["WinDefend"] = {
            "display_name": "Microsoft Defender Antivirus Service",
            "start_mode": "auto",
            "state": "running",
        }
    if sense_installed:
        state["services"]["Sense"] = {
            "display_name": "Windows Defender Advanced Threat Protection Service",
            "start_mode": "manual",
            "state": "stopped",
        }
    if workstation:
        wsc_on = bool(settings.get("security_center_enabled", True))
        state["services"]["wscsvc"] = {
            "display_name": "Security Center",
            "start_mode": "auto" if wsc_on else "disabled",
            "state": "running" if wsc_on else "stopped",
        }
    for av in state["third_party_av"]:
        if av["installed"]:
            state["services"][av["service"]] = {
                "display_name": av["display_name"],
                "start_mode": "auto",
                "state": "running" if av["real_time"] else "stopped",
            }
            key = UNINSTALL_KEY + "\\" + av["instance_guid"]
            state["registry"][key] = {
                "DisplayName": {"type": "REG_SZ", "data": av["display_name"]},
                "Publisher": {"type": "REG_SZ", "data": av["vendor"]},
                "DisplayVersion": {"type": "REG_SZ", "data": "7.1.0"},
            }
    if unified:
        state["registry"][UNINSTALL_KEY + "\\{A5D3C6B2-4E51-4D6B-9C40-5F0E3D7B1A11}"] = {
            # Older md4ws.msi releases registered as "Microsoft Defender for Windows Server" (Microsoft's
            # install.ps1 for the unified agent looks for both names).
            "DisplayName": {"type": "REG_SZ", "data": str(settings.get("unified_agent_name") or UNIFIED_NAME)},
            "Publisher": {"type": "REG_SZ", "data": "Microsoft Corporation"},
            "DisplayVersion": {"type": "REG_SZ", "data": "10.8760.20348.1000"},
        }
    for item in settings.get("registry") or []:
        key = item["key"]
        state["registry"].setdefault(key, {})[item["name"]] = {
            "type": item.get("type", "REG_DWORD"),
            "data": item["data"],
        }
    # Setup writes the machine's own id once (Windows: HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid);
    # two inventory names of one machine read the same. MODEL: derived from the host name.
    state["registry"].setdefault(r"HKLM\SOFTWARE\Microsoft\Cryptography", {})["MachineGuid"] = {
        "type": "REG_SZ",
        "data": str(uuid.uuid5(uuid.NAMESPACE_DNS, "winsim." + str(settings.get("hostname") or name).lower())),
    }
    # LogonUI recreates this key at every boot; ansible.windows.win_reboot waits for it.
    state["registry"][r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"] = {}
    if settings.get("pending_reboot"):
        state["registry"][CBS_REBOOT_PENDING_KEY] = {}
    org = settings.get("onboarded_org")
    if org and sense_installed:
        state["registry"].setdefault(ATP_POLICY_KEY, {})["OnboardingInfo"] = {
            "type": "REG_SZ",
            "data": onboarding_info_json(org),
        }
        state["registry"].setdefault(ATP_STATUS_KEY, {})["OnboardingState"] = {"type": "REG_DWORD", "data": 1}
        state["registry"][ATP_STATUS_KEY]["OrgId"] = {"type": "REG_SZ", "data": org}
        state["services"]["Sense"]["state"] = "running"
        state["services"]["Sense"]["start_mode"] = "auto"
        if settings.get("sense_running") is False:
            state["services"]["Sense"]["state"] = "stopped"
    rules.snapshot_policy(state)
    if rules.is_onboarded(state):
        rules.on_onboarded(state)
    if settings.get("logon_server") and domain_joined:
        # The domain controller the member uses (what its DC locator found): docs/simulator.md.
        state["domain"]["logon_server"] = str(settings["logon_server"])
    # Set after the initial onboarding: a host onboarded before the simulation has settled.
    timeline = rules.timeline_settings(settings.get("timeline"))
    if timeline:
        state["timeline"] = timeline
    return state
