# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the mde_rollout role does with one host, decided once from its assessment. PRIVATE.

Input: the state and diagnosis that ``win_mde_info`` builds (``_mde_state.build_state`` and
``_diagnosis.diagnose``) and the rollout's options. Output, the *plan*::

    {"action": "refuse" | "done" | "rollout" | "repair",
     "goal": "passive" | "active_by_design",
     "steps": [...],          # in order, from STEPS
     "reason": str | None,    # why the host is refused / unprotected / held active (None: nothing to say)
     "detail": str}           # one sentence for people

The role follows ``steps`` and nothing else: no decision about a host is taken in YAML.

Rules (sources in docs/sources.md):

* Never lower protection (§1.5): the passive value is only planned where a third-party
  antivirus provides real-time protection; otherwise the host is onboarded and Defender stays
  the active antivirus (goal ``active_by_design``), or refused when the rollout requires a
  third-party antivirus.
* A host found passive (or disabled) with no antivirus providing real-time protection is
  *unprotected*: the plan repairs it (``ForceDefenderPassiveMode`` back to 0, Defender back to
  active; §1.2) before anything else.
* Windows Server goes passive only by the value, set **before** onboarding (§1.2, §8).
* Tamper protection keeps an onboarded server active once it went active (platform
  4.18.2208.0 or later, §8): such a server is refused at assessment, left exactly as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._mode import is_passive_goal
from ._rules_versions import TAMPER_LOCK_FROM, version_tuple

ACTIONS = ("refuse", "done", "rollout", "repair", "offboard")
GOALS = ("passive", "active_by_design", "offboarded")
#: Every step a plan can hold, in the only order they can run in.
STEPS = ("passive_off", "registry", "group_policy", "onboard", "reboot", "offboard", "verify_mode")
PASSIVE_METHODS = ("registry", "group_policy", "none")

#: Problems that refuse a host whatever the options say (it is left exactly as it is).
REFUSE_ALWAYS = ("wrong_org", "unsupported_os", "defender_not_installed", "tamper_protection_blocks_passive")
#: Why a host has no third-party antivirus to stand aside for.
NO_AV_REASONS = ("no_third_party_av", "third_party_av_inactive", "security_center_disabled")


_SERVER_KINDS = ("server", "domain_controller")


@dataclass(frozen=True)
class PlanOptions:
    """The rollout options that change a host's plan (the role's variables, validated)."""

    require_third_party_av: bool = False
    passive_method: str = "registry"
    force_passive_on_clients: bool = False
    installer_available: bool = False
    #: compliant hosts still join the waves to have their EDR confirmed through the API
    confirm_edr: bool = False

    def __post_init__(self) -> None:
        if self.passive_method not in PASSIVE_METHODS:
            raise ValueError(
                "passive_method must be one of %s, got %r" % (", ".join(PASSIVE_METHODS), self.passive_method)
            )


def _errors(diagnosis: dict) -> list[dict]:
    return [p for p in diagnosis.get("problems") or [] if p.get("severity") == "error"]


def _first(problems: list[dict], reasons: tuple[str, ...]) -> dict | None:
    for p in problems:
        if p.get("reason") in reasons:
            return p
    return None


def is_server(state: dict) -> bool:
    return (state.get("os") or {}).get("kind") in _SERVER_KINDS


def tamper_lock_predicted(state: dict) -> bool:
    """§8 at assessment: an onboarded server that tamper protection already holds active.

    Onboarded, Defender active, tamper protection on, platform 4.18.2208.0 or later and
    ``ForceDefenderPassiveMode`` not 1: setting the value now cannot make it passive. (With the
    value already 1, the same server is diagnosed after the settle wait instead: the value may
    have been set before onboarding, in which case Defender goes passive by itself.)
    """
    defender = state.get("defender") or {}
    onboarding = state.get("onboarding") or {}
    policy = state.get("policy") or {}
    return bool(
        is_server(state)
        and onboarding.get("onboarded")
        and defender.get("mode") == "active"
        and defender.get("tamper_protected")
        and version_tuple(defender.get("platform_version")) >= TAMPER_LOCK_FROM
        and policy.get("force_defender_passive_mode") != 1
    )


def is_unprotected(state: dict, diagnosis: dict) -> bool:
    """No real-time protection at all: Defender not active (passive, EDR block, disabled) and no
    third-party antivirus providing it. Hosts whose Defender cannot be read are not judged here."""
    mode = (state.get("defender") or {}).get("mode")
    if mode in ("not_installed", "unknown", None):
        return False
    return not diagnosis.get("protected", True)


def _onboarded_ok(state: dict) -> bool:
    onboarding = state.get("onboarding") or {}
    return bool(onboarding.get("onboarded") and onboarding.get("sense_running") and onboarding.get("org_matches"))


def _plan(action: str, goal: str, steps: list[str], reason: str | None, detail: str) -> dict:
    if action not in ACTIONS or goal not in GOALS or any(s not in STEPS for s in steps):
        raise ValueError("invalid plan: %s %s %s" % (action, goal, steps))
    ordered = [s for s in STEPS if s in steps]
    passive_value = "absent" if "passive_off" in ordered else ("present" if "registry" in ordered else None)
    return {
        "action": action,
        "goal": goal,
        "steps": ordered,
        "reason": reason,
        "detail": detail,
        "passive_value": passive_value,
        "wave": action in ("rollout", "repair", "offboard"),
    }


def plan_host(state: dict, diagnosis: dict, options: PlanOptions) -> dict:
    """The plan of one host (see the module docstring)."""
    plan = _plan_host(state, diagnosis, options)
    if plan["action"] == "done" and options.confirm_edr:
        plan["wave"] = True
    return plan


def _plan_host(state: dict, diagnosis: dict, options: PlanOptions) -> dict:
    errors = _errors(diagnosis)
    server = is_server(state)
    policy = state.get("policy") or {}
    force = policy.get("force_defender_passive_mode")
    av = state.get("antivirus") or {}
    # A client's Defender sees the other antivirus only through Security Center (§1.1).
    third_party = bool(av.get("third_party_active")) and _first(errors, ("security_center_disabled",)) is None
    goal = "passive" if third_party else "active_by_design"

    # 1. unprotected first: whatever else is wrong, real-time protection comes back before anything.
    if is_unprotected(state, diagnosis):
        if force == 1 or policy.get("guide_force_passive_mode") == 1:
            return _plan(
                "repair",
                "active_by_design",
                ["passive_off", "reboot", "verify_mode"],
                "unprotected",
                "Defender is %s and no antivirus provides real-time protection: ForceDefenderPassiveMode goes "
                "back to 0 and Defender back to active." % (state.get("defender") or {}).get("mode"),
            )
        return _plan(
            "refuse",
            "active_by_design",
            [],
            "unprotected",
            "Defender is %s and no antivirus provides real-time protection; nothing this rollout set holds it "
            "there: turn the third-party antivirus's real-time protection on, or remove what keeps Defender off."
            % (state.get("defender") or {}).get("mode"),
        )

    # 2. refusals: the host is left exactly as it is.
    blocking = _first(errors, REFUSE_ALWAYS)
    if blocking is not None:
        return _plan("refuse", goal, [], blocking["reason"], blocking.get("msg") or "")
    if third_party and tamper_lock_predicted(state):
        return _plan(
            "refuse",
            goal,
            [],
            "tamper_protection_blocks_passive",
            "This server was onboarded before ForceDefenderPassiveMode was set and tamper protection (platform %s) "
            "keeps Defender active: setting the value now cannot make it passive."
            % (state.get("defender") or {}).get("platform_version"),
        )
    unified = _first(errors, ("unified_agent_required",))
    if unified is not None and not options.installer_available:
        return _plan("refuse", goal, [], "unified_agent_required", unified.get("msg") or "")
    no_av = _first(diagnosis.get("problems") or [], NO_AV_REASONS)
    if not third_party and options.require_third_party_av:
        reason = no_av["reason"] if no_av else "no_third_party_av"
        return _plan("refuse", goal, [], reason, (no_av or {}).get("msg") or "No active third-party antivirus.")

    # 3. what is left to do.
    steps: list[str] = []
    wants_value = third_party and (server or options.force_passive_on_clients) and force != 1
    if wants_value and options.passive_method != "none":
        steps.append(options.passive_method)
    if not _onboarded_ok(state):
        steps.append("onboard")
    onboarded = bool((state.get("onboarding") or {}).get("onboarded"))
    mode = (state.get("defender") or {}).get("mode")
    delivered = force == 1 or (wants_value and options.passive_method != "none")
    if third_party and server and onboarded and not is_passive_goal(str(mode)) and delivered:
        # Defender reads the value at boot: an onboarded server needs one (with consent).
        steps.append("reboot")
    if goal == "passive":
        done = bool(diagnosis.get("compliant"))
    else:
        done = _onboarded_ok(state) and bool(diagnosis.get("protected")) and mode == "active"
    if done and not steps:
        if goal == "passive":
            return _plan("done", goal, [], None, diagnosis.get("summary") or "compliant")
        return _plan("done", goal, [], (no_av or {}).get("reason") or "no_third_party_av", _active_detail(no_av))
    steps.append("verify_mode")
    if goal == "active_by_design":
        return _plan("rollout", goal, steps, (no_av or {}).get("reason") or "no_third_party_av", _active_detail(no_av))
    return _plan("rollout", goal, steps, None, "steps: %s" % ", ".join(s for s in STEPS if s in steps))


def plan_offboard(state: dict, diagnosis: dict, allow_reboot: bool) -> dict:
    """The plan of one host for the mde_offboard role: passive mode off first, then offboarding.

    The host must stay protected (§1.5): offboarding a passive host whose third-party antivirus does
    not protect would leave Defender passive or disabled. ForceDefenderPassiveMode goes back to 0
    and the host reboots (Microsoft's way back to active, §1.2) before the package runs; without
    consent to reboot such a host is refused, left as it is.
    """
    errors = _errors(diagnosis)
    wrong = _first(errors, ("wrong_org",))
    if wrong is not None:
        return _plan("refuse", "offboarded", [], "wrong_org", wrong.get("msg") or "")
    policy = state.get("policy") or {}
    onboarding = state.get("onboarding") or {}
    mode = (state.get("defender") or {}).get("mode")
    steps: list[str] = []
    if policy.get("force_defender_passive_mode") == 1 or policy.get("guide_force_passive_mode") is not None:
        steps.append("passive_off")
        if is_passive_goal(str(mode)) or mode == "disabled":
            steps.append("reboot")
    if onboarding.get("onboarded") or onboarding.get("sense_running"):
        steps.append("offboard")
    protected = bool(diagnosis.get("protected"))
    if "reboot" in steps and not allow_reboot and not protected:
        return _plan(
            "refuse",
            "offboarded",
            [],
            "unprotected",
            "Defender is %s and the third-party antivirus does not protect this host: offboarding needs a reboot "
            "first so that Defender is active again; allow it (mde_offboard_allow_reboot) or turn the other "
            "antivirus back on." % mode,
        )
    if not steps:
        return _plan("done", "offboarded", [], None, "not onboarded, ForceDefenderPassiveMode not set")
    steps.append("verify_mode")
    return _plan("offboard", "offboarded", steps, None, "steps: %s" % ", ".join(s for s in STEPS if s in steps))


def _active_detail(no_av: dict | None) -> str:
    why = (no_av or {}).get("msg") or "No third-party antivirus provides real-time protection."
    return "%s. Defender stays the active antivirus: onboarded for EDR, never set to passive." % why.rstrip(".")


__all__ = [
    "ACTIONS",
    "GOALS",
    "NO_AV_REASONS",
    "PASSIVE_METHODS",
    "REFUSE_ALWAYS",
    "STEPS",
    "TAMPER_LOCK_FROM",
    "PlanOptions",
    "is_server",
    "is_unprotected",
    "plan_host",
    "plan_offboard",
    "tamper_lock_predicted",
]
