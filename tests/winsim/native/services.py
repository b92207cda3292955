"""The Service Control Manager of a simulated host, and what the Sense service does.

Service states are those of SERVICE_STATUS (Microsoft Learn: "SERVICE_STATUS structure"):
``stopped``, ``start_pending``, ``stop_pending``, ``running``. Starting a service returns the
Win32 error of StartService (Microsoft Learn: "StartServiceW", "System Error Codes"): 1060 no
such service, 1058 disabled, 1056 already running, 5 access denied. Services other than Sense
reach RUNNING at once (MODEL).

Sense (the Defender for Endpoint sensor, mde-facts §3.3, §3.5, §9.2):

* StartService puts it in START_PENDING; ``sense_start_delay(host)`` simulated seconds later it
  is RUNNING (a host timer), unless it fails to start (577 when the ELAM driver is off, 1067
  when it crashes: SENSE event 3, state stopped) or stays pending for ever.
* RUNNING, it reads ``OnboardingInfo``: ``SENSE_ONBOARD_S`` later it writes
  ``Status\\OnboardingState`` = 1 and ``Status\\OrgId``, sets its start type to automatic, writes
  SENSE event 11 and onboarding completes (``rules.on_onboarded``). Without onboarding data it
  writes event 6 and stops.
* When the offboarding value appears (``policy_changed``): valid and for its org, Sense stops
  ``SENSE_OFFBOARD_S`` later (OnboardingState 0, OrgId removed, start type manual, event 44,
  ``rules.on_offboarded``); expired or for another org, event 29 and Sense keeps running.

MODEL: Sense keeps its state across a reboot (the timeline after a reboot is not modelled);
re-onboarding a running sensor with another org's data switches ``Status\\OrgId``.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from .. import rules
from ..host import ATP_POLICY_KEY, ATP_STATUS_KEY, on_boot, timer_action
from . import conditions

SENSE = "Sense"
SENSE_LOG = "Microsoft-Windows-SENSE/Operational"
SENSE_SOURCE = "Microsoft-Windows-SENSE"
_FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)

STATE_CODES = {"stopped": 1, "start_pending": 2, "stop_pending": 3, "running": 4}


def _generation(host: Any) -> int:
    return int(host.state.setdefault("mde", {}).get("sense_generation", 0))


def _bump(host: Any) -> int:
    gen = _generation(host) + 1
    host.state.setdefault("mde", {})["sense_generation"] = gen
    return gen


def _sense_event(host: Any, event_id: int, level: str, message: str) -> None:
    host.write_event(SENSE_LOG, SENSE_SOURCE, event_id, level, message)


def service_state(host: Any, name: str) -> str | None:
    svc = host.service(name)
    return None if svc is None else str(svc.get("state", "stopped"))


def start_service(host: Any, name: str) -> int:
    """StartService: 0, or the Win32 error."""
    svc = host.service(name)
    if svc is None:
        return 1060
    if not conditions.elevated(host):
        return 5
    if svc.get("start_mode") == "disabled":
        return 1058
    if svc.get("state", "stopped") != "stopped":
        return 1056
    if name.lower() != SENSE.lower():
        host.set_service(name, state="running", exit_code=0)
        return 0
    failure = conditions.sense_start_failure(host)
    if failure == 577:
        # ELAM refuses the driver: the start fails at once (mde-facts §9.2).
        host.set_service(SENSE, exit_code=577)
        return 577
    gen = _bump(host)
    host.set_service(SENSE, state="start_pending", exit_code=0)
    if conditions.sense_stays_pending(host):
        return 0
    host.schedule(conditions.sense_start_delay(host), "native.sense_started", generation=gen)
    return 0


def _info_org(value: Any) -> tuple[str | None, dict]:
    try:
        outer = json.loads(str(value))
        body = outer.get("body")
        body = json.loads(body) if isinstance(body, str) else body
    except (ValueError, AttributeError, TypeError):
        return None, {}
    if not isinstance(body, dict):
        return None, {}
    org = body.get("orgId")
    return (str(org).lower() if isinstance(org, str) else None), body


@timer_action("native.sense_started")
def _sense_started(host: Any, generation: int) -> None:
    if generation != _generation(host) or service_state(host, SENSE) != "start_pending":
        return
    if conditions.sense_start_failure(host) == 1067:
        host.set_service(SENSE, state="stopped", exit_code=1067)
        _sense_event(host, 3, "Error", "Microsoft Defender for Endpoint service failed to start.")
        return
    host.set_service(SENSE, state="running", exit_code=0)
    _sense_event(host, 1, "Information", "Microsoft Defender for Endpoint service started.")
    org, _body = _info_org(host.reg_get(ATP_POLICY_KEY, "OnboardingInfo"))
    if org is None:
        if host.reg_get(ATP_STATUS_KEY, "OnboardingState") == 1:
            return  # onboarded before: it goes on with what it has
        _sense_event(
            host,
            6,
            "Error",
            "Microsoft Defender for Endpoint service is not onboarded and no onboarding parameters were found.",
        )
        host.set_service(SENSE, state="stopped")
        return
    host.schedule(conditions.SENSE_ONBOARD_S, "native.sense_onboarded", generation=generation)


@timer_action("native.sense_onboarded")
def _sense_onboarded(host: Any, generation: int) -> None:
    if generation != _generation(host) or service_state(host, SENSE) != "running":
        return
    if conditions.sense_writes_no_state(host):
        _sense_event(host, 26, "Error", "Microsoft Defender for Endpoint service failed to set the onboarding status.")
        return
    if conditions.sense_rejects_onboarding(host):
        host.reg_set(ATP_STATUS_KEY, "OnboardingState", 0, "REG_DWORD")
        _sense_event(
            host, 7, "Error", "Microsoft Defender for Endpoint service failed to read the onboarding parameters."
        )
        return
    org, _body = _info_org(host.reg_get(ATP_POLICY_KEY, "OnboardingInfo"))
    if org is None:
        return
    host.set_service(SENSE, start_mode="auto")
    host.reg_set(ATP_STATUS_KEY, "OnboardingState", 1, "REG_DWORD")
    host.reg_set(ATP_STATUS_KEY, "OrgId", org, "REG_SZ")
    _sense_event(host, 11, "Information", "Onboarding or re-onboarding of Microsoft Defender for Endpoint completed.")
    switch = rules.on_onboarded(host.state)
    if switch is not None:
        host.schedule(rules.onboarding_switch_delay(host.state), "defender.switch", generation=switch)


@timer_action("defender.switch")
def _defender_switch(host: Any, generation: int) -> None:
    """Defender switches its mode, some time after onboarding or a boot (``rules.settle``)."""
    rules.settle(host.state, generation)


@on_boot
def _defender_at_boot(host: Any) -> None:
    """Schedule the switch after a boot. Boot hooks run before ``rules.on_boot`` (host.complete_boot),
    which reads the policy Group Policy left and keeps the mode until this switch."""
    delay = rules.boot_switch_delay(host.state)
    if delay > 0:
        host.schedule(delay, "defender.switch", generation=rules.new_switch(host.state))


def _expired(body: dict, now: float) -> bool:
    try:
        ticks = int(body.get("expirationTimestamp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return (_FILETIME_EPOCH + datetime.timedelta(microseconds=ticks // 10)).timestamp() < now


def policy_changed(host: Any) -> None:
    """A value under the ATP policy key changed: a running Sense takes new onboarding data, or offboards."""
    if service_state(host, SENSE) != "running":
        return
    current = host.reg_get(ATP_STATUS_KEY, "OrgId")
    current = str(current).strip("{}").lower() if current else None
    value = host.reg_get(ATP_POLICY_KEY, conditions.OFFBOARDING_VALUE)
    if value is None:
        org, _body = _info_org(host.reg_get(ATP_POLICY_KEY, "OnboardingInfo"))
        if org is not None and (org != current or host.reg_get(ATP_STATUS_KEY, "OnboardingState") != 1):
            host.schedule(conditions.SENSE_ONBOARD_S, "native.sense_onboarded", generation=_generation(host))
        return
    org, body = _info_org(value)
    if org is None or _expired(body, float(host.now())) or (current is not None and org != current):
        _sense_event(host, 29, "Error", "Failed to read the offboarding parameters.")
        return
    if conditions.sense_ignores_offboarding(host):
        return
    gen = _bump(host)
    host.schedule(conditions.SENSE_OFFBOARD_S, "native.sense_offboarded", generation=gen)


@timer_action("native.sense_offboarded")
def _sense_offboarded(host: Any, generation: int) -> None:
    if generation != _generation(host) or service_state(host, SENSE) != "running":
        return
    host.set_service(SENSE, state="stopped", start_mode="manual", exit_code=0)
    host.reg_set(ATP_STATUS_KEY, "OnboardingState", 0, "REG_DWORD")
    host.reg_delete_value(ATP_STATUS_KEY, "OrgId")
    _sense_event(host, 44, "Information", "Offboarding of Microsoft Defender for Endpoint completed.")
    rules.on_offboarded(host.state)
