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

from collections.abc import Callable
from dataclasses import dataclass

from ._mode import is_passive_goal
from ._reasons import problem
from ._rules_versions import CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM, TAMPER_LOCK_FROM, version_tuple


def is_protected(state: dict) -> bool:
    defender = state["defender"]
    defender_rtp = defender["mode"] == "active" and bool(defender.get("real_time_protection_enabled"))
    av = state["antivirus"]
    return defender_rtp or bool(av.get("third_party_active") or av.get("third_party_protecting"))


@dataclass(frozen=True)
class _Facts:
    """What every rule looks at, taken from the state once."""

    state: dict
    expected_org_id: str | None
    support: dict
    defender: dict
    onboarding: dict
    policy: dict
    av: dict
    sc: dict
    mode: str
    server: bool
    protected: bool
    org: str | None

    @classmethod
    def of(cls, state: dict, expected_org_id: str | None) -> _Facts:
        os_info = state["os"]
        return cls(
            state=state,
            expected_org_id=expected_org_id.lower() if expected_org_id else None,
            support=os_info["support"],
            defender=state["defender"],
            onboarding=state["onboarding"],
            policy=state["policy"],
            av=state["antivirus"],
            sc=state["security_center"],
            mode=state["defender"]["mode"],
            server=os_info["kind"] in ("server", "domain_controller"),
            protected=is_protected(state),
            org=state["onboarding"].get("org_id"),
        )


def _unsupported_os(f: _Facts) -> list[dict]:
    """§1.4: the Windows editions and versions Microsoft supports."""
    if f.support["supported"]:
        return []
    return [problem(f.support["reason"] or "unsupported_os", "%s: %s." % (f.support["name"], f.support["detail"]))]


def _defender_missing(f: _Facts) -> list[dict]:
    """§1.1, §3.6: Defender Antivirus must be installed (passive needs it; so does onboarding)."""
    if f.defender["installed"] or not f.support["supported"]:
        return []
    return [problem("defender_not_installed", "Microsoft Defender Antivirus is not installed on this host.")]


def _onboarding(f: _Facts) -> list[dict]:
    """§3.3, §9.2: onboarded, and the Sense sensor running."""
    onb = f.onboarding
    if onb["onboarded"]:
        if onb["sense_running"]:
            return []
        return [problem("sensor_not_running", "OnboardingState is 1 but the Sense service is not running.")]
    if f.org and f.support["supported"]:
        return [
            problem(
                "sensor_not_running" if onb["sense_installed"] else "not_onboarded",
                "Onboarding data for org %s is present but the device is not onboarded (OnboardingState %s, Sense %s)."
                % (f.org, onb["onboarding_state"], "running" if onb["sense_running"] else "not running"),
            )
        ]
    if f.support["supported"] or f.support.get("reason") == "unified_agent_required":
        return [problem("not_onboarded", "The device is not onboarded to Defender for Endpoint.")]
    return []


def _organisation(f: _Facts) -> list[dict]:
    """§3.4: onboarded to the organisation the operator expects."""
    if f.expected_org_id and f.org and f.org != f.expected_org_id:
        return [
            problem(
                "wrong_org",
                "The device is onboarded to org %s, not to the expected org %s." % (f.org, f.expected_org_id),
            )
        ]
    return []


def _third_party_av(f: _Facts) -> list[dict]:
    """§1.1, §4: Security Center on clients, and a third-party antivirus with real-time protection on."""
    out = []
    if f.sc["applicable"] and not f.sc["service_running"]:
        out.append(
            problem(
                "security_center_disabled",
                "The Security Center service (wscsvc) is not running, so Defender cannot see a third-party antivirus.",
            )
        )
    if not f.av["third_party_present"]:
        out.append(
            problem(
                "no_third_party_av",
                "No third-party antivirus was found%s; Defender stays the active antivirus."
                % (" in Security Center" if f.sc["applicable"] else " (services and installed products)"),
                severity="error",
            )
        )
    elif not f.av["third_party_active"] and (not f.sc["applicable"] or f.sc["service_running"]):
        unregistered = [p["name"] for p in f.av["products"] if p.get("third_party") and p.get("registered") is False]
        detail = (" (not registered with Security Center: %s)" % ", ".join(unregistered)) if unregistered else ""
        msg = "The third-party antivirus (%s) has no real-time protection on%s." % (
            ", ".join(f.av["third_party_names"]),
            detail,
        )
        if not f.protected:
            msg += " This host has NO real-time antivirus protection."
        out.append(problem("third_party_av_inactive", msg))
    return out


def _policies(f: _Facts) -> list[dict]:
    """§5.1, §5.2, §1.3: policies that turn Defender or its real-time protection off; the guide's value."""
    out = []
    if f.policy["disable_antispyware"] == 1:
        platform = version_tuple(f.defender.get("platform_version"))
        ignored = not f.server and platform >= CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM
        out.append(
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
    if f.policy["disable_realtime_monitoring"] == 1:
        out.append(
            problem(
                "realtime_monitoring_disabled_policy",
                "The 'Turn off real-time protection' policy (DisableRealtimeMonitoring = 1) is set.",
                severity="warning",
            )
        )
    if f.policy["guide_force_passive_mode"] is not None:
        out.append(
            problem(
                "guide_registry_value_ignored",
                "Windows Defender\\ForcePassiveMode = %s is set; Windows ignores it."
                % f.policy["guide_force_passive_mode"],
                severity="info",
            )
        )
    return out


def _tamper_locks(f: _Facts) -> bool:
    return version_tuple(f.defender.get("platform_version")) >= TAMPER_LOCK_FROM


def _server_not_passive(f: _Facts) -> list[dict]:
    """§1.1, §1.2, §8, §9.1: a server goes passive only with ForceDefenderPassiveMode set before onboarding."""
    if not (f.server and f.av["third_party_active"] and f.support["supported"]):
        return []
    force = f.policy["force_defender_passive_mode"]
    if f.onboarding["onboarded"] and f.mode == "active":
        if force != 1 and f.defender.get("tamper_protected") and _tamper_locks(f):
            return [
                problem(
                    "tamper_protection_blocks_passive",
                    "This server was onboarded without ForceDefenderPassiveMode and tamper protection (platform %s) "
                    "keeps Defender active: setting the value now cannot make it passive."
                    % f.defender.get("platform_version"),
                )
            ]
        if force != 1:
            return [
                problem(
                    "server_passive_not_forced",
                    "Windows Server does not go passive by itself and ForceDefenderPassiveMode is not 1.",
                )
            ]
        if f.defender.get("tamper_protected"):
            return [
                problem(
                    "tamper_protection_blocks_passive",
                    "ForceDefenderPassiveMode is 1 but tamper protection keeps this onboarded server active "
                    "(the value was set after onboarding).",
                )
            ]
        return [
            problem(
                "reboot_pending",
                "ForceDefenderPassiveMode is 1 and Defender is still active: it takes effect at the next boot.",
            )
        ]
    if not f.onboarding["onboarded"] and force != 1:
        return [
            problem(
                "server_passive_not_forced",
                "Set ForceDefenderPassiveMode = 1 before onboarding this server, or it will go active and "
                "tamper protection may keep it active.",
                severity="warning",
            )
        ]
    return []


def _client_not_passive(f: _Facts) -> list[dict]:
    """§1.1, §9.1: an onboarded client with a registered third-party antivirus goes passive by itself."""
    onb = f.onboarding
    if (
        not f.server
        and f.av["third_party_active"]
        and onb["onboarded"]
        and onb["sense_running"]
        and f.sc["service_running"]
        and f.mode == "active"
    ):
        return [
            problem(
                "passive_mode_not_reached",
                "The client is onboarded with a registered third-party AV but Defender is still active.",
            )
        ]
    return []


def _sxs_passive(f: _Facts) -> list[dict]:
    """§2.1: limited periodic scanning is not passive mode."""
    if f.mode != "sxs_passive":
        return []
    return [problem("sxs_passive_mode", "Defender runs in limited periodic scanning (SxS Passive Mode).")]


#: The problem families, in the order their problems are reported.
RULES: tuple[Callable[[_Facts], list[dict]], ...] = (
    _unsupported_os,
    _defender_missing,
    _onboarding,
    _organisation,
    _third_party_av,
    _policies,
    _server_not_passive,
    _client_not_passive,
    _sxs_passive,
)


def _reboot_pending(f: _Facts, found: list[dict]) -> list[dict]:
    """A pending reboot, unless a rule already explained it."""
    if not f.state.get("reboot_pending") or any(p["reason"] == "reboot_pending" for p in found):
        return []
    return [
        problem(
            "reboot_pending",
            "A reboot is pending (%s)." % ", ".join(f.state.get("reboot_pending_reasons") or ["unknown"]),
            severity="warning",
        )
    ]


#: The host verdicts: the passive-mode goal met; Defender kept active on purpose (no third-party
#: antivirus to stand aside for) and everything else in place; no real-time protection at all; the rest.
VERDICTS = ("compliant", "active_by_design", "unprotected", "non_compliant")


def _third_party_usable(f: _Facts) -> bool:
    """§1.1: a third-party antivirus Defender can stand aside for (on clients, seen through Security Center)."""
    return bool(f.av["third_party_active"]) and (not f.sc["applicable"] or bool(f.sc["service_running"]))


def _host_verdict(f: _Facts, compliant: bool, org_ok: bool) -> str:
    if f.mode not in ("not_installed", "unknown") and not f.protected:
        return "unprotected"
    if compliant:
        return "compliant"
    in_place = f.onboarding["onboarded"] and f.onboarding["sense_running"] and org_ok and f.support["supported"]
    if in_place and f.mode == "active" and f.protected and not _third_party_usable(f):
        return "active_by_design"
    return "non_compliant"


def _verdict(f: _Facts, problems: list[dict]) -> dict:
    goal_met = is_passive_goal(f.mode)
    org_ok = not f.expected_org_id or (f.org is not None and f.org == f.expected_org_id)
    compliant = bool(
        goal_met
        and f.onboarding["onboarded"]
        and f.onboarding["sense_running"]
        and f.av["third_party_active"]
        and org_ok
        and f.support["supported"]
    )
    verdict = _host_verdict(f, compliant, org_ok)
    if verdict in ("compliant", "active_by_design"):
        # A host reported in its goal state carries warnings, not errors: what is left is advice.
        problems = [dict(p, severity="warning") if p["severity"] == "error" else p for p in problems]
    errors = [p for p in problems if p["severity"] == "error"]
    if compliant:
        summary = "compliant: Defender %s, onboarded to %s, sensor running, third-party AV %s" % (
            f.mode,
            f.org,
            ", ".join(f.av["active_names"]),
        )
    elif verdict == "active_by_design":
        summary = "protected, active by design: Defender is the active antivirus (no third-party antivirus it can "
        summary += "stand aside for), onboarded to %s, sensor running" % f.org
    elif verdict == "unprotected":
        summary = "UNPROTECTED: Defender is %s and no antivirus provides real-time protection" % f.mode
    elif errors:
        summary = "not compliant: " + "; ".join(p["reason"] for p in errors)
    else:
        summary = "not compliant: Defender mode is %s" % f.mode
    return {
        "compliant": compliant,
        "verdict": verdict,
        "protected": f.protected,
        "goal_met": goal_met,
        "mode": f.mode,
        "problems": problems,
        "reasons": [p["reason"] for p in problems],
        "summary": summary,
    }


def diagnose(state: dict, expected_org_id: str | None = None) -> dict:
    """Every problem of the host (one function per problem family, :data:`RULES`) and the verdict."""
    facts = _Facts.of(state, expected_org_id)
    problems: list[dict] = []
    for rule in RULES:
        problems.extend(rule(facts))
    problems.extend(_reboot_pending(facts, problems))
    return _verdict(facts, problems)
