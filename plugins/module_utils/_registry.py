# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows registry keys and value names the collection reads or writes. PRIVATE.

Each path and value name is defined here once for the Python side (the PowerShell side has its
own, in ``_MdeDefender.psm1``). Sources: docs/sources.md §1.2 (``ForceDefenderPassiveMode``),
§1.3 (the guide's ``ForcePassiveMode``), §3.3 (``OnboardingState``), §3.4 (``OnboardingInfo``),
§5.1 (``DisableAntiSpyware``). Also the name helpers Group Policy needs to compare registry
items written in the several spellings Windows tools use, and the conversions of the values
Windows reports (:func:`as_int`, :func:`as_bool`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ANTISPYWARE_ITEM",
    "ATP_POLICY_KEY",
    "ATP_STATUS_KEY",
    "DEFENDER_POLICY_KEY",
    "DISABLE_ANTISPYWARE",
    "FORCE_PASSIVE",
    "GUIDE_FORCE_PASSIVE",
    "GUIDE_ITEM",
    "OFFBOARDING_DATA",
    "ONBOARDING_INFO",
    "ONBOARDING_STATE",
    "PASSIVE_ITEM",
    "as_bool",
    "as_int",
    "kind_name",
    "reg_key",
    "reg_type",
    "same_value",
]

#: Defender for Endpoint's sensor policies (§1.2, §3.4).
ATP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
#: Where the sensor reports its onboarding state (§3.3).
ATP_STATUS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"
#: Defender Antivirus policies (§5.1, §5.2); also the key of the guide's undocumented value (§1.3).
DEFENDER_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender"

#: REG_DWORD under ATP_POLICY_KEY: 1 passive, 0 active (§1.2).
FORCE_PASSIVE = "ForceDefenderPassiveMode"
#: The source guide's value under DEFENDER_POLICY_KEY: in no Microsoft document (§1.3).
GUIDE_FORCE_PASSIVE = "ForcePassiveMode"
#: "Turn off Microsoft Defender Antivirus" under DEFENDER_POLICY_KEY (§5.1).
DISABLE_ANTISPYWARE = "DisableAntiSpyware"
#: REG_DWORD under ATP_STATUS_KEY: 1 = onboarded (§3.3).
ONBOARDING_STATE = "OnboardingState"
#: REG_SZ JSON under ATP_POLICY_KEY written by the onboarding script (§3.4, UNCONFIRMED layout).
ONBOARDING_INFO = "OnboardingInfo"
#: Previous offboarding data under ATP_POLICY_KEY, deleted by the onboarding script (§3.4).
OFFBOARDING_DATA = "696C1FA1-4030-4FA4-8713-FAF9B2EA7C0A"

#: (key, value name) pairs
PASSIVE_ITEM = (ATP_POLICY_KEY, FORCE_PASSIVE)
GUIDE_ITEM = (DEFENDER_POLICY_KEY, GUIDE_FORCE_PASSIVE)
ANTISPYWARE_ITEM = (DEFENDER_POLICY_KEY, DISABLE_ANTISPYWARE)

#: registry type names as PowerShell and the GroupPolicy cmdlets write them -> REG_*
_TYPE_NAMES = {
    "dword": "REG_DWORD",
    "qword": "REG_QWORD",
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ",
    "binary": "REG_BINARY",
}
#: REG_* -> the RegistryValueKind name the GroupPolicy cmdlets take (-Type)
_KIND_NAMES = {
    v: k
    for k, v in {
        "DWord": "REG_DWORD",
        "QWord": "REG_QWORD",
        "String": "REG_SZ",
        "ExpandString": "REG_EXPAND_SZ",
        "MultiString": "REG_MULTI_SZ",
        "Binary": "REG_BINARY",
    }.items()
}
_HIVES = {
    "hkey_local_machine": "HKLM",
    "localmachine": "HKLM",
    "hklm": "HKLM",
    "hkey_current_user": "HKCU",
    "currentuser": "HKCU",
    "hkcu": "HKCU",
}


def reg_type(value: Any) -> str:
    """``DWord`` / ``REG_DWORD`` / ``dword`` -> ``REG_DWORD``."""
    text = str(value or "").strip()
    upper = text.upper()
    if upper.startswith("REG_"):
        return upper
    return _TYPE_NAMES.get(text.lower(), upper or "REG_DWORD")


def kind_name(rtype: str) -> str:
    """``REG_DWORD`` -> ``DWord`` (the -Type of Set-GPRegistryValue / Set-GPPrefRegistryValue)."""
    return _KIND_NAMES[reg_type(rtype)]


def reg_key(hive: Any, path: Any = None) -> str:
    """A registry key as ``HKLM\\SOFTWARE\\...`` from a hive name and a path, or from a full key."""
    if path is None:
        text = str(hive or "").replace("/", "\\").strip("\\")
        first, _sep, rest = text.partition("\\")
        hive, path = first.rstrip(":"), rest
    short = _HIVES.get(str(hive or "").strip().lower().rstrip(":"), str(hive or "").upper())
    return "%s\\%s" % (short, str(path or "").replace("/", "\\").strip("\\"))


def same_value(a_key: str, a_name: str, b_key: str, b_name: str) -> bool:
    return reg_key(a_key).lower() == reg_key(b_key).lower() and str(a_name).lower() == str(b_name).lower()


def as_bool(value: Any) -> bool | None:
    """A flag as Windows reports it (``True``, ``"True"``, ``1``, ``"0"``, ...) as a bool; None when unknown."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    return None


def as_int(value: Any) -> int | None:
    """A number as Windows reports it (registry data, WMI and CIM values, JSON from PowerShell) as an
    int; None when it is absent or not a whole number."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None
