# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of mdeops.defender.win_mde_passive_mode. PRIVATE: may change in any release.

Pure functions over the state that ``win_mde_info``'s ``gather()`` builds (see
``_mde_state.build_state``): which registry values to write, whether that is a change, the
safety guard, tamper protection, ``reboot_required`` and the diff. The action plugin calls
them in that order; check mode, diff and the real run share the same computation.

Facts followed (docs/sources.md):

* §1.2: ``ForceDefenderPassiveMode`` (REG_DWORD) under
  ``HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection``; ``1`` passive,
  ``0`` the documented way back to active (then reboot). Documented for Windows Server only;
  set it before onboarding. Whether setting ``1`` needs a reboot is not documented.
* §1.3: the guide's ``HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\ForcePassiveMode``
  is in no Microsoft document; Windows ignores it.
* §8: on an onboarded server with platform >= 4.18.2208.0, tamper protection lets Defender
  switch to active but not back to passive, even with ``ForceDefenderPassiveMode = 1``.
"""

from __future__ import annotations

from ._errors import MdeError
from ._mode import is_passive_goal
from ._reasons import remediation_of
from ._registry import FORCE_PASSIVE, GUIDE_ITEM, PASSIVE_ITEM, as_int
from ._rules_versions import TAMPER_LOCK_FROM, version_tuple

#: result key -> (registry key, value name), in display order
VALUES: dict[str, tuple[str, str]] = {
    "force_defender_passive_mode": PASSIVE_ITEM,
    "guide_force_passive_mode": GUIDE_ITEM,
}


GUIDE_STATES = ("present", "absent", "unmanaged")


def values_from_state(host_state: dict) -> dict:
    """Both registry values as the host has them now (``None`` = not set)."""
    policy = host_state.get("policy") or {}
    return {name: as_int(policy.get(name)) for name in VALUES}


def values_from_raw(raw: dict | None) -> dict:
    """Both registry values from a ``before``/``after`` dict of the PowerShell side."""
    raw = raw or {}
    return {name: as_int(raw.get(name)) for name in VALUES}


def guide_state(state: str, guide_value: bool) -> str:
    """What to do with the guide's value: V(present) = 1, V(absent) = remove, or leave it alone."""
    if not guide_value:
        return "unmanaged"
    return "present" if state == "present" else "absent"


def desired_values(state: str, guide_value: bool, before: dict) -> dict:
    """The values after the task: ``present`` -> 1, ``absent`` -> 0 (Microsoft's way back, not a delete)."""
    desired = dict(before)
    desired["force_defender_passive_mode"] = 1 if state == "present" else 0
    guide = guide_state(state, guide_value)
    if guide == "present":
        desired["guide_force_passive_mode"] = 1
    elif guide == "absent":
        desired["guide_force_passive_mode"] = None
    return desired


def needs_change(before: dict, desired: dict) -> bool:
    return any(before.get(name) != desired.get(name) for name in VALUES)


def third_party_view(host_state: dict) -> dict:
    """The third-party antivirus as the guard sees it."""
    av = host_state.get("antivirus") or {}
    products = [p for p in av.get("products") or [] if p.get("third_party")]
    protecting = [p["name"] for p in products if p.get("real_time") or p.get("real_time_service")]
    return {
        "present": bool(av.get("third_party_present")),
        "protecting": bool(av.get("third_party_active") or av.get("third_party_protecting")),
        "names": list(av.get("third_party_names") or []),
        "protecting_names": protecting,
    }


def check_guard(host_state: dict, require_third_party_av: bool, host: str = "the host") -> list[str]:
    """The never-unprotected guard for ``state=present``, decided before any change.

    Raises :class:`MdeError` (``no_third_party_av`` / ``third_party_av_inactive``) when no
    third-party antivirus with real-time protection runs and the guard is on. With the guard
    off, returns the loud warning the result must carry.
    """
    view = third_party_view(host_state)
    if view["protecting"]:
        if require_third_party_av:
            return []
        return [
            "require_third_party_av is false: the safety guard that keeps hosts from being left without "
            "real-time antivirus protection is OFF for this task (a third-party antivirus was found this time: %s)."
            % ", ".join(view["protecting_names"] or view["names"])
        ]
    if view["present"]:
        reason = "third_party_av_inactive"
        what = "the third-party antivirus (%s) has no real-time protection on" % ", ".join(view["names"])
    else:
        reason = "no_third_party_av"
        what = "no third-party antivirus was found (%s)" % (
            "Security Center, services and installed products"
            if (host_state.get("security_center") or {}).get("applicable")
            else "services and installed products; Windows Server has no Security Center"
        )
    if require_third_party_av:
        raise MdeError(
            reason,
            "Refusing to set %s = 1 on %s: %s. In passive mode Defender Antivirus does not block threats, so "
            "the host would be left without real-time antivirus protection. Install and turn on the third-party "
            "antivirus first (name it with av_name_patterns if the built-in catalogue does not know it); "
            "require_third_party_av: false skips this check (not recommended)." % (FORCE_PASSIVE, host, what),
        )
    return [
        "DANGER: require_third_party_av is false and %s: setting %s = 1 anyway. Once Defender is passive this "
        "host has NO real-time antivirus protection." % (what, FORCE_PASSIVE)
    ]


def tamper_protection_blocks(state: str, host_state: dict) -> bool:
    """§8: onboarded server, tamper protection on, Defender already active, platform >= 4.18.2208.0."""
    if state != "present":
        return False
    defender = host_state.get("defender") or {}
    os_info = host_state.get("os") or {}
    onboarding = host_state.get("onboarding") or {}
    return bool(
        os_info.get("kind") in ("server", "domain_controller")
        and onboarding.get("onboarded")
        and defender.get("tamper_protected")
        and defender.get("mode") == "active"
        and version_tuple(defender.get("platform_version")) >= TAMPER_LOCK_FROM
    )


def reboot_required(state: str, before: dict, after: dict, host_state: dict) -> bool:
    """When a reboot is needed for the documented value to take effect.

    * ``absent``: the value went from 1 to something else -> True (Microsoft: set 0 and reboot).
    * ``present`` on an onboarded host whose Defender is not passive yet -> True. Microsoft does not
      say whether 1 needs a reboot; a reboot is the safe choice. Also True on a rerun that changes
      nothing, until Defender is passive.
    * ``present`` before onboarding -> False: Sense reads the value when the device is onboarded.
    The guide's value never needs a reboot: Windows ignores it.
    """
    doc_before = before.get("force_defender_passive_mode")
    doc_after = after.get("force_defender_passive_mode")
    if state == "absent":
        return doc_before == 1 and doc_after != 1
    if doc_after != 1:
        return False
    onboarded = bool((host_state.get("onboarding") or {}).get("onboarded"))
    mode = (host_state.get("defender") or {}).get("mode")
    return onboarded and not is_passive_goal(str(mode)) and mode != "not_installed"


def advisories(state: str, host_state: dict) -> tuple[list[str], bool, str | None]:
    """Warnings that do not stop the task: client, unsupported OS, tamper protection.

    Returns ``(warnings, tamper_protection_blocks_passive, remediation)``.
    """
    warnings: list[str] = []
    os_info = host_state.get("os") or {}
    support = os_info.get("support") or {}
    if state == "present" and os_info.get("kind") == "workstation":
        warnings.append(
            "%s is a Windows client: Microsoft documents %s for Windows Server only. Windows 10/11 go passive by "
            "themselves once onboarded with a third-party antivirus registered with Security Center; the value's "
            "effect on clients is not documented." % (support.get("name") or "This host", FORCE_PASSIVE)
        )
    if support and support.get("supported") is False:
        warnings.append(
            "Passive mode is not supported here (%s: %s); the value is written but Defender may ignore it."
            % (support.get("name"), support.get("detail"))
        )
    blocked = tamper_protection_blocks(state, host_state)
    remediation = None
    if blocked:
        remediation = remediation_of("tamper_protection_blocks_passive")
        warnings.append(
            "Tamper protection keeps this onboarded server's Defender active: Microsoft documents that once it "
            "is active, %s = 1 does not bring it back to passive (platform 4.18.2208.0 or later). The value was "
            "set anyway (harmless). %s" % (FORCE_PASSIVE, remediation)
        )
    return warnings, blocked, remediation


def _reg_dword(value: int) -> str:
    return "dword:%08x" % (value & 0xFFFFFFFF)


def registry_text(values: dict, include_guide: bool) -> str:
    """The values in ``.reg`` style, for the diff."""
    lines: list[str] = []
    for name, (key, value_name) in VALUES.items():
        if name == "guide_force_passive_mode" and not include_guide:
            continue
        if lines:
            lines.append("")
        lines.append("[%s]" % key.replace("HKLM\\", "HKEY_LOCAL_MACHINE\\", 1))
        data = values.get(name)
        if data is None:
            lines.append('; "%s" is not set' % value_name)
        else:
            lines.append('"%s"=%s' % (value_name, _reg_dword(int(data))))
    return "\n".join(lines) + "\n"


def build_diff(before: dict, after: dict, guide_value: bool) -> dict:
    """Registry-style before/after; the guide's key shows when managed or set on either side."""
    include_guide = bool(guide_value) or any(v.get("guide_force_passive_mode") is not None for v in (before, after))
    return {
        "before_header": "registry (before)",
        "after_header": "registry (after)",
        "before": registry_text(before, include_guide),
        "after": registry_text(after, include_guide),
    }


__all__ = [
    "TAMPER_LOCK_FROM",
    "VALUES",
    "advisories",
    "build_diff",
    "check_guard",
    "desired_values",
    "guide_state",
    "needs_change",
    "reboot_required",
    "registry_text",
    "tamper_protection_blocks",
    "third_party_view",
    "values_from_raw",
    "values_from_state",
]
