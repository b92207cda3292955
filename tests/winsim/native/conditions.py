"""Windows conditions that native programs obey, and the fleet faults that create them.

A fault never scripts an exit code: it puts the host in a Windows condition, and the portal's
script, run as it is, ends with the exit code that condition gives (mde-facts §3.2, §9.2):

=======================  ===================================================================
``onboarding_exit_code``  the condition
=======================  ===================================================================
65                        the connection user's token is not elevated (``net session`` fails
                          with system error 5; HKLM writes are denied)
5                         a leftover offboarding value that the registry ACL does not let
                          anyone delete (the value is written when a native program first runs)
10                        the registry ACL denies writing ``OnboardingInfo``
15                        the Sense service fails to start (its process ends during start)
30                        the Sense service stays START_PENDING
35                        Sense runs but never writes ``Status\\OnboardingState`` (event 26)
40                        Sense rejects the onboarding data: ``OnboardingState`` = 0 (event 7)
=======================  ===================================================================

``offboarding_exit_code``: 65 (not elevated), 5 (deleting ``OnboardingInfo`` denied), 10
(writing the offboarding value denied), 15 (Sense does not stop). Exit 70 comes from a host
onboarded to another organisation (``onboarded_org`` in the fleet), not from a fault.
``sense_never_starts`` is the 15 condition; ``sense_start_delay_s`` sets how long Sense takes to
reach RUNNING. Other codes have no Windows condition: NativeUnsupported.

Hosts can also carry ``registry_deny`` (a list of ``{key, value, op}``, op ``write`` or
``delete``) in their state for ACL denials of their own.
"""

from __future__ import annotations

from typing import Any

from .. import rules
from ..host import ATP_POLICY_KEY, norm_key
from .errors import NativeUnsupported

OFFBOARDING_VALUE = "696C1FA1-4030-4FA4-8713-FAF9B2EA7C0A"
ONBOARDING_CODES = (5, 10, 15, 30, 35, 40, 65)
OFFBOARDING_CODES = (5, 10, 15, 65)
#: §9.2: DisableAntiSpyware also switches the ELAM driver off on client platforms before this one.
ELAM_FIXED_PLATFORM = (4, 18, 2007, 8)
#: MODEL (UNCONFIRMED): how long Sense takes from StartService to RUNNING ...
DEFAULT_SENSE_START_S = 15.0
#: ... and from RUNNING to writing Status\OnboardingState (after it, not before: the safe choice).
SENSE_ONBOARD_S = 2.0
#: MODEL (UNCONFIRMED): from the offboarding value to Sense stopped.
SENSE_OFFBOARD_S = 5.0


def _code(host: Any, fault: str, allowed: tuple[int, ...]) -> int | None:
    value = (host.state.get("faults") or {}).get(fault)
    if value is None:
        return None
    code = int(value)
    if code not in allowed:
        raise NativeUnsupported(
            "the fault %s: %d has no Windows condition in the model (supported: %s)"
            % (fault, code, ", ".join(map(str, allowed)))
        )
    return code


def onboarding_fault(host: Any) -> int | None:
    return _code(host, "onboarding_exit_code", ONBOARDING_CODES)


def offboarding_fault(host: Any) -> int | None:
    return _code(host, "offboarding_exit_code", OFFBOARDING_CODES)


def prepare(host: Any) -> None:
    """Make the registry match the faults that need data to exist (called when a program starts)."""
    if onboarding_fault(host) == 5 and host.reg_get(ATP_POLICY_KEY, OFFBOARDING_VALUE) is None:
        host.reg_set(ATP_POLICY_KEY, OFFBOARDING_VALUE, '{"body":"{}"}', "REG_SZ")


def elevated(host: Any) -> bool:
    """Is the connection user's token elevated (an administrator's)?"""
    return onboarding_fault(host) != 65 and offboarding_fault(host) != 65 and host.state.get("elevated", True)


def registry_denied(host: Any, key: str, value: str | None, op: str) -> bool:
    """Does the registry refuse ``op`` (``write`` or ``delete``) of ``value`` under ``key``?"""
    wanted = norm_key(key)
    if wanted.startswith("hklm") and not elevated(host):
        return True
    rules_: list[dict] = list(host.state.get("registry_deny") or [])
    policy = norm_key(ATP_POLICY_KEY)
    on, off = onboarding_fault(host), offboarding_fault(host)
    if on == 5:
        rules_.append({"key": policy, "value": OFFBOARDING_VALUE, "op": "delete"})
    if on == 10:
        rules_.append({"key": policy, "value": "OnboardingInfo", "op": "write"})
    if off == 5:
        rules_.append({"key": policy, "value": "OnboardingInfo", "op": "delete"})
    if off == 10:
        rules_.append({"key": policy, "value": OFFBOARDING_VALUE, "op": "write"})
    for rule in rules_:
        if norm_key(rule["key"]) != wanted or rule.get("op", "write") != op:
            continue
        if rule.get("value") is None or (value or "").lower() == str(rule["value"]).lower():
            return True
    return False


def sense_start_failure(host: Any) -> int | None:
    """The Win32 error that ends Sense's start: 577 (ELAM off, §9.2), 1067 (it crashes), or None."""
    if not host.is_server:
        platform = rules.version_tuple(host.state.get("defender", {}).get("platform_version"))
        if rules.read_policy(host.state).get("DisableAntiSpyware") == 1 and platform < ELAM_FIXED_PLATFORM:
            return 577
    if (host.state.get("faults") or {}).get("sense_never_starts") or onboarding_fault(host) == 15:
        return 1067
    return None


def sense_stays_pending(host: Any) -> bool:
    return onboarding_fault(host) == 30


def sense_start_delay(host: Any) -> float:
    value = (host.state.get("faults") or {}).get("sense_start_delay_s")
    return DEFAULT_SENSE_START_S if value is None else max(0.0, float(value))


def sense_writes_no_state(host: Any) -> bool:
    return onboarding_fault(host) == 35


def sense_rejects_onboarding(host: Any) -> bool:
    return onboarding_fault(host) == 40


def sense_ignores_offboarding(host: Any) -> bool:
    return offboarding_fault(host) == 15
