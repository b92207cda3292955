# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a host is (not) in passive mode: the diagnosis rules. PRIVATE.

Input is the state built by :func:`._mde_state.build_state`. Output::

    {"compliant": bool, "protected": bool, "goal_met": bool, "mode": str,
     "problems": [{"reason", "family", "severity", "msg", "remediation"}], "summary": str}

*compliant*: the passive-mode goal is met — Defender passive (or EDR block mode), the
device onboarded (to the expected org when one is given) with the Sense sensor running,
and a third-party AV providing real-time protection.

*protected*: the host has real-time antivirus protection: Defender active with real-time
protection on, or a third-party AV with real-time protection on. The collection never
makes a change that would turn this to false.

Every rule cites the docs/sources.md section it follows.
"""

from __future__ import annotations

from ._mode import is_passive_goal
from ._reasons import problem
from ._rules_versions import version_tuple

CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM = (4, 18, 2007, 8)


def is_protected(state: dict) -> bool:
    defender = state["defender"]
    defender_rtp = defender["mode"] == "active" and bool(defender.get("real_time_protection_enabled"))
    av = state["antivirus"]
    return defender_rtp or bool(av.get("third_party_active") or av.get("third_party_protecting"))


def diagnose(state: dict, expected_org_id: str | None = None) -> dict:
    problems: list[dict] = []
    os_info = state["os"]
    support = os_info["support"]
    defender = state["defender"]
    onboarding = state["onboarding"]
    policy = state["policy"]
    av = state["antivirus"]
    mode = defender["mode"]
    server = os_info["kind"] in ("server", "domain_controller")
    protected = is_protected(state)

    # --- unsupported Windows (§1.4)
    if not support["supported"]:
        problems.append(
            problem(support["reason"] or "unsupported_os", "%s: %s." % (support["name"], support["detail"]))
        )

    # --- Defender itself
    if not defender["installed"] and support["supported"]:
        problems.append(
            problem("defender_not_installed", "Microsoft Defender Antivirus is not installed on this host.")
        )

    # --- onboarding (§3.3, §9.2)
    org = onboarding.get("org_id")
    if onboarding["onboarded"]:
        if not onboarding["sense_running"]:
            problems.append(problem("sensor_not_running", "OnboardingState is 1 but the Sense service is not running."))
    elif org and support["supported"]:
        problems.append(
            problem(
                "sensor_not_running" if onboarding["sense_installed"] else "not_onboarded",
                "Onboarding data for org %s is present but the device is not onboarded (OnboardingState %s, Sense %s)."
                % (org, onboarding["onboarding_state"], "running" if onboarding["sense_running"] else "not running"),
            )
        )
    elif support["supported"] or support.get("reason") == "unified_agent_required":
        problems.append(problem("not_onboarded", "The device is not onboarded to Defender for Endpoint."))
    if expected_org_id and org and org != expected_org_id.lower():
        problems.append(
            problem(
                "wrong_org",
                "The device is onboarded to org %s, not to the expected org %s." % (org, expected_org_id.lower()),
            )
        )

    # --- Security Center and the third-party AV (§1.1, §4)
    sc = state["security_center"]
    if sc["applicable"] and not sc["service_running"]:
        problems.append(
            problem(
                "security_center_disabled",
                "The Security Center service (wscsvc) is not running, so Defender cannot see a third-party antivirus.",
            )
        )
    if not av["third_party_present"]:
        problems.append(
            problem(
                "no_third_party_av",
                "No third-party antivirus was found%s; Defender stays the active antivirus."
                % (" in Security Center" if sc["applicable"] else " (services and installed products)"),
                severity="error",
            )
        )
    elif not av["third_party_active"] and (not sc["applicable"] or sc["service_running"]):
        unregistered = [p["name"] for p in av["products"] if p.get("third_party") and p.get("registered") is False]
        detail = (" (not registered with Security Center: %s)" % ", ".join(unregistered)) if unregistered else ""
        msg = "The third-party antivirus (%s) has no real-time protection on%s." % (
            ", ".join(av["third_party_names"]),
            detail,
        )
        if not protected:
            msg += " This host has NO real-time antivirus protection."
        problems.append(problem("third_party_av_inactive", msg))

    # --- policy (§5.1, §1.3)
    if policy["disable_antispyware"] == 1:
        platform = version_tuple(defender.get("platform_version"))
        ignored = not server and platform >= CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM
        problems.append(
            problem(
                "disable_antispyware_policy",
                "The 'Turn off Microsoft Defender Antivirus' policy (DisableAntiSpyware = 1) is set%s."
                % (
                    " (ignored by this client's Defender platform, but it still breaks onboarding on older platforms)"
                    if ignored
                    else ""
                ),
                severity="warning" if ignored else "error",
            )
        )
    if policy["disable_realtime_monitoring"] == 1:
        problems.append(
            problem(
                "realtime_monitoring_disabled_policy",
                "The 'Turn off real-time protection' policy (DisableRealtimeMonitoring = 1) is set.",
                severity="warning",
            )
        )
    if policy["guide_force_passive_mode"] is not None:
        problems.append(
            problem(
                "guide_registry_value_ignored",
                "Windows Defender\\ForcePassiveMode = %s is set; Windows ignores it."
                % policy["guide_force_passive_mode"],
                severity="info",
            )
        )

    # --- why not passive (§1.1, §8, §9.1)
    third_party_ok = av["third_party_active"]
    force = policy["force_defender_passive_mode"]
    if server and third_party_ok and support["supported"]:
        if onboarding["onboarded"] and mode == "active":
            if force != 1:
                problems.append(
                    problem(
                        "server_passive_not_forced",
                        "Windows Server does not go passive by itself and ForceDefenderPassiveMode is not 1.",
                    )
                )
            elif defender.get("tamper_protected"):
                problems.append(
                    problem(
                        "tamper_protection_blocks_passive",
                        "ForceDefenderPassiveMode is 1 but tamper protection keeps this onboarded server active "
                        "(the value was set after onboarding).",
                    )
                )
            else:
                problems.append(
                    problem(
                        "reboot_pending",
                        "ForceDefenderPassiveMode is 1 and Defender is still active: it takes effect at the next boot.",
                    )
                )
        elif not onboarding["onboarded"] and force != 1:
            problems.append(
                problem(
                    "server_passive_not_forced",
                    "Set ForceDefenderPassiveMode = 1 before onboarding this server, or it will go active and "
                    "tamper protection may keep it active.",
                    severity="warning",
                )
            )
    if (
        not server
        and third_party_ok
        and onboarding["onboarded"]
        and onboarding["sense_running"]
        and sc["service_running"]
        and mode == "active"
    ):
        problems.append(
            problem(
                "passive_mode_not_reached",
                "The client is onboarded with a registered third-party AV but Defender is still active.",
            )
        )
    if mode == "sxs_passive":
        problems.append(problem("sxs_passive_mode", "Defender runs in limited periodic scanning (SxS Passive Mode)."))
    if state.get("reboot_pending") and not any(p["reason"] == "reboot_pending" for p in problems):
        problems.append(
            problem(
                "reboot_pending",
                "A reboot is pending (%s)." % ", ".join(state.get("reboot_pending_reasons") or ["unknown"]),
                severity="warning",
            )
        )

    goal_met = is_passive_goal(mode)
    org_ok = not expected_org_id or (org is not None and org == expected_org_id.lower())
    compliant = bool(
        goal_met
        and onboarding["onboarded"]
        and onboarding["sense_running"]
        and third_party_ok
        and org_ok
        and support["supported"]
    )
    errors = [p for p in problems if p["severity"] == "error"]
    if compliant:
        summary = "compliant: Defender %s, onboarded to %s, sensor running, third-party AV %s" % (
            mode,
            org,
            ", ".join(av["active_names"]),
        )
    elif errors:
        summary = "not compliant: " + "; ".join(p["reason"] for p in errors)
    else:
        summary = "not compliant: Defender mode is %s" % mode
    return {
        "compliant": compliant,
        "protected": protected,
        "goal_met": goal_met,
        "mode": mode,
        "problems": problems,
        "reasons": [p["reason"] for p in problems],
        "summary": summary,
    }
