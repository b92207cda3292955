# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Did ForceDefenderPassiveMode arrive by Group Policy? The verdict of win_mde_policy_refresh. PRIVATE.

:func:`refresh_verdict` reads win_mde_policy_refresh.ps1's answer (the registry before and after
``gpupdate``, and the RSOP report) and says whether the value arrived, from which GPO, and what to
check when it did not. Facts: docs/sources.md §1.2, §5.3.
"""

from __future__ import annotations

from ._gpo_rsop import (
    GpresultError,
    applied_gpo_names,
    defender_turned_off_by,
    not_applied_gpos,
    parse_gpresult,
    winning_setting,
)
from ._registry import PASSIVE_ITEM, as_int

__all__ = ["REFRESH_CHECK_MODE_MSG", "refresh_verdict"]

REFRESH_CHECK_MODE_MSG = (
    "check mode: gpupdate was not run; the values are what the host has now (from its last policy processing)"
)


def refresh_verdict(
    raw: dict, expected_value: int, expected_gpo: str | None, check_mode: bool, host: str = "the host"
) -> tuple[dict, str | None, list[str]]:
    """Interpret win_mde_policy_refresh.ps1's answer: ``(result, failure message or None, warnings)``.

    The value arrived when ForceDefenderPassiveMode equals ``expected_value`` and, when
    ``expected_gpo`` is given and the RSOP report can tell, that GPO is the one that set it.
    A reboot is required when the refresh changed the value on a host that is already onboarded:
    Defender reads the value at boot (docs/sources.md §1.2). Check mode never fails for a value that has
    not arrived: gpupdate did not run.
    """
    registry = raw.get("registry") or {}
    registry_before = raw.get("registry_before") or {}
    value = as_int(registry.get("force_defender_passive_mode"))
    value_before = as_int(registry_before.get("force_defender_passive_mode"))
    warnings: list[str] = []
    parsed = None
    rsop_error = raw.get("gpresult_error")
    if raw.get("gpresult_xml"):
        try:
            parsed = parse_gpresult(raw["gpresult_xml"])
        except GpresultError as exc:
            rsop_error = str(exc)
    if parsed is None:
        warnings.append(
            "the RSOP report (gpresult /scope computer /x) could not be read (%s): which GPO set "
            "ForceDefenderPassiveMode is unknown" % (rsop_error or "no report")
        )
    source = winning_setting(parsed, *PASSIVE_ITEM) if parsed else None
    source_gpo = source.get("gpo") if source else None
    onboarded = as_int(registry.get("onboarding_state")) == 1
    turned_off_by = defender_turned_off_by(parsed) if parsed else []
    result: dict = {
        "changed": bool(raw.get("changed")) and not check_mode,
        "refreshed": bool(raw.get("refreshed")),
        "value": value,
        "value_before": value_before,
        "expected_value": expected_value,
        "arrived": value == expected_value,
        "source_gpo": source_gpo,
        "source": ({k: source.get(k) for k in ("gpo", "gpo_id", "kind", "precedence", "action")} if source else None),
        "applied_gpos": applied_gpo_names(parsed) if parsed else [],
        "not_applied_gpos": not_applied_gpos(parsed) if parsed else [],
        "som": (parsed.get("computer") or {}).get("som") if parsed else None,
        "defender_turned_off_by": turned_off_by,
        "guide_force_passive_mode": as_int(registry.get("guide_force_passive_mode")),
        "disable_antispyware": as_int(registry.get("disable_antispyware")),
        "onboarded": onboarded,
        "reboot_required": onboarded and value is not None and value != value_before,
        "gpupdate": raw.get("gpupdate"),
        "rsop_error": rsop_error if parsed is None else None,
    }
    if turned_off_by:
        warnings.append(
            "GPO %s sets 'Turn off Microsoft Defender Antivirus' (DisableAntiSpyware = 1) on %s: it is "
            "not a passive-mode setting and Microsoft says to make sure it is disabled; exclude onboarded "
            "devices from it." % (", ".join(repr(n) for n in turned_off_by), host)
        )
    wrong_source = (
        bool(expected_gpo)
        and parsed is not None
        and result["arrived"]
        and (source_gpo or "").lower() != str(expected_gpo).lower()
    )
    if expected_gpo and parsed is None and result["arrived"]:
        warnings.append(
            "ForceDefenderPassiveMode = %s arrived, but without the RSOP report it cannot be shown to "
            "come from GPO %r" % (value, expected_gpo)
        )
    if check_mode:
        result["msg"] = REFRESH_CHECK_MODE_MSG
        return result, None, warnings
    if result["arrived"] and not wrong_source:
        return result, None, warnings
    return result, _not_applied_message(result, expected_gpo, wrong_source, host), warnings


def _not_applied_message(result: dict, expected_gpo: str | None, wrong_source: bool, host: str) -> str:
    where = " (computer in %s)" % result["som"] if result.get("som") else ""
    if wrong_source:
        found = ("from GPO %r" % result["source_gpo"]) if result["source_gpo"] else "from no GPO (set locally)"
        head = "ForceDefenderPassiveMode = %s is on %s%s, but %s, not from GPO %r." % (
            result["value"],
            host,
            where,
            found,
            expected_gpo,
        )
    else:
        head = "ForceDefenderPassiveMode is %s on %s%s after gpupdate /target:computer /force; expected %s." % (
            "not set" if result["value"] is None else result["value"],
            host,
            where,
            result["expected_value"],
        )
    applied = ", ".join(repr(n) for n in result["applied_gpos"]) or "none"
    parts = [head, "GPOs applied: %s." % applied]
    if result["not_applied_gpos"]:
        parts.append(
            "Not applied: %s." % ", ".join("%r (%s)" % (g["name"], g["reason"]) for g in result["not_applied_gpos"])
        )
    parts.append(
        "Check that the GPO is linked (and the link enabled) to the computer's OU or a parent OU, that its "
        "security filtering includes the computer, and read 'gpresult /scope computer /r' on the host."
    )
    return " ".join(parts)
