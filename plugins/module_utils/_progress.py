# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's progress through a run, recorded from the modules' verdicts. PRIVATE.

Every module the roles gate on returns its verdict: ``step`` (the guide step it judges),
``reason`` (``None`` when the step reached the state it promised) and ``detail``. The
``fleet_progress`` action feeds those results here; this module records them in the host's
progress record (fact ``mde_report_host``, read by the fleet report) and says whether the host
must stop, with the first failing verdict. No message is ever taken apart.
"""

from __future__ import annotations

from typing import Any

from ._reasons import REASONS, family_of, remediation_of
from ._report import STEP_OUTCOMES, STEPS
from ._wave_hosts import usable_name

#: Steps a result may name that are recorded under another report step.
_STEP_ALIASES = {"reboot": "verify_mode", "passive_off": "registry"}
#: What a failed task of another collection means (the rescue names the action).
_ACTION_REASONS = {"win_reboot": ("verify_mode", "reboot_failed")}
#: Keys of a win_mde_info result kept as the host's latest state in the record.
_STATE_KEYS = (
    "hostname",
    "os",
    "defender",
    "onboarding",
    "policy",
    "security_center",
    "antivirus",
    "tamper_protection",
    "reboot_pending",
    "domain",
    "diagnosis",
    "computer",
)


def update_progress(progress: dict, step: str, outcome: object = "ok", reboots: int = 0, **extra: object) -> dict:
    """A copy of a host's progress record with ``step`` set to ``outcome`` (a result or a name).

    A step already ``changed`` stays ``changed`` when it is checked again as ``ok``; ``reboots`` is
    added; ``extra`` keys (``pending_reboot``, ``held``, ``done``, ...) are merged.
    """
    if step not in STEPS:
        raise ValueError("unknown step %r; expected one of %s" % (step, ", ".join(STEPS)))
    value = outcome_of(outcome) if isinstance(outcome, dict) else str(outcome)
    if value not in STEP_OUTCOMES:
        raise ValueError("unknown outcome %r; expected one of %s" % (value, ", ".join(STEP_OUTCOMES)))
    record = dict(progress or {})
    steps = dict(record.get("steps") or {})
    if not (steps.get(step) == "changed" and value == "ok"):
        steps[step] = value
    record["steps"] = steps
    record["current_step"] = step
    record["reboots"] = int(record.get("reboots") or 0) + int(reboots or 0)
    record.update(extra)
    return record


def outcome_of(result: object) -> str:
    """The step outcome of a registered task result: ok, changed, skipped, failed or unreachable."""
    if not isinstance(result, dict):
        return "ok"
    if result.get("unreachable"):
        return "unreachable"
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "skipped"
    if result.get("changed"):
        return "changed"
    return "ok"


class Verdict(dict):
    """A failing verdict: ``step``, ``reason``, ``family``, ``remediation``, ``msg``, ``detail``."""


def _is_result(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and not value.get("skipped")


def report_step(step: str | None, fallback: str) -> str:
    step = _STEP_ALIASES.get(step or "", step or "")
    return step if step in STEPS else fallback


def _failure_of(result: dict, step: str, failed_action: str | None = None) -> Verdict | None:
    """The verdict of one result when it is a failure (``None``: the step is fine)."""
    reason = result.get("reason")
    failed = bool(result.get("failed")) or bool(result.get("unreachable"))
    short_action = (failed_action or "").rsplit(".", 1)[-1]
    if not reason and result.get("rebooted") is False:
        failed = True  # win_reboot with failed_when: false - the host did not come back
        short_action = "win_reboot"
    if not failed and not reason:
        return None
    if not reason and short_action in _ACTION_REASONS:
        step, reason = _ACTION_REASONS[short_action]
    if not reason:
        if result.get("timedout"):
            reason = "timeout"
        elif result.get("unreachable"):
            reason = "unreachable"
        elif "exception" in result or "MODULE FAILURE" in str(result.get("msg", "")):
            reason = "module_failure"
        else:
            reason = "host_error"
    known = reason in REASONS
    detail = result.get("detail") or ""
    msg = str(result.get("msg") or detail or reason)
    return Verdict(
        step=step,
        reason=reason,
        family=result.get("family") or (family_of(reason) if known else "unknown"),
        remediation=result.get("remediation") or (remediation_of(reason) if known else "See the message."),
        msg=msg,
        detail=detail,
    )


def recorded_failure(record: dict) -> Verdict | None:
    """The failure a record already holds (recorded without stopping the host), as a verdict."""
    failure = record.get("failure")
    if not isinstance(failure, dict) or not failure.get("reason"):
        return None
    return _failure_of(dict(failure, failed=True), str(failure.get("step") or record.get("current_step") or "assess"))


def _state_of(result: dict) -> dict | None:
    """The host state in a win_mde_info result (or in win_mde_onboarding's ``host_read``)."""
    if isinstance(result.get("diagnosis"), dict):
        return {k: result[k] for k in _STATE_KEYS if k in result}
    nested = result.get("host_read")
    if isinstance(nested, dict) and isinstance(nested.get("diagnosis"), dict):
        return {k: nested[k] for k in _STATE_KEYS if k in nested}
    return None


def device_name(state: dict) -> str | None:
    """The name the Defender portal knows the device by: DNS host name and domain, lower-case.

    Windows allows non-ASCII computer names; they are kept as they are (lower-cased). A name that
    cannot be one (empty, control characters, longer than a DNS name) is ``None``: that host's EDR
    confirmation fails on its own, the others' are unaffected.
    """
    host = str(state.get("hostname") or "").strip()
    domain = state.get("domain") or {}
    name = host + (".%s" % domain["name"] if domain.get("joined") and domain.get("name") else "")
    return usable_name(name) if host else None


def record_result(
    record: dict, result: dict, step: str | None = None, failed_action: str | None = None
) -> tuple[dict, Verdict | None]:
    """Record one host-level result; returns the new record and its failing verdict, if any."""
    fallback = record.get("current_step") or "assess"
    named = step or result.get("step") or ("reboot" if "rebooted" in result else None)
    rstep = report_step(named, fallback)
    verdict = _failure_of(result, rstep, failed_action)
    if verdict is not None:
        rstep = verdict["step"]
    extra: dict[str, Any] = {}
    state = _state_of(result)
    if state is not None:
        extra["state"] = state
        extra["device_name"] = device_name(state)
    if isinstance(result.get("plan"), dict):
        plan = result["plan"]
        extra.update(plan=plan, goal=plan.get("goal"), rollout_group="pending" if plan.get("wave") else "done")
        if plan.get("reason") == "unprotected":
            extra["unprotected"] = True
    if named == "reboot" or result.get("rebooted"):
        reboots = 1 if result.get("rebooted") and not result.get("failed") else 0
    else:
        reboots = 0
    outcome = "failed" if verdict is not None and not result.get("unreachable") else outcome_of(result)
    if verdict is None and result.get("pending_reboot"):
        # a reboot that is needed and not allowed (win_mde_onboard_reboot): the host waits for it, and
        # the step it belongs to (step 3) has not run
        extra["pending_reboot"] = True
        outcome = "not_run"
    record = update_progress(record, rstep, outcome, reboots=reboots, **extra)
    if state is not None and _judged(state):
        # Every host read says whether the host has real-time protection now: passive (or off)
        # without it is recorded as unprotected after any step, and cleared once it has it again.
        record["unprotected"] = not (state.get("diagnosis") or {}).get("protected", True)
    return record, verdict


def _judged(state: dict) -> bool:
    """A read whose Defender mode is known (an unreadable Defender is not judged unprotected)."""
    return (state.get("defender") or {}).get("mode") not in ("not_installed", "unknown", None)


def wave_verdict(result: dict, host: str) -> tuple[str, dict | None]:
    """This host's part of a run_once wave result: ``(step, host-level result or None)``.

    A wave-level failure (the API refused the whole call) is every host's failure; otherwise the
    host's own entry in ``hosts`` is its verdict. A host missing from a result that answers per
    host gets ``host_error``: its name could not be asked for, which says nothing about the others.
    """
    step = str(result.get("step") or "confirm_edr")
    if result.get("reason") or result.get("failed"):
        return step, result
    hosts = result.get("hosts")
    if not isinstance(hosts, dict):
        return step, {"changed": bool(result.get("changed")), "step": step}
    own = hosts.get(host)
    if not isinstance(own, dict):
        return step, {
            "step": step,
            "reason": "host_error",
            "detail": "%s was not part of the wave's answer (no usable device name for it)" % host,
        }
    return step, dict(own, step=own.get("step") or step)


def judge_wave(records: dict[str, dict], max_fail_percentage: int) -> tuple[list[str], bool, str]:
    """Whether a finished wave stops the rollout: ``(failed hosts, stop, message)``.

    Ansible's rule for ``max_fail_percentage``: the run stops when the failed share is *greater*
    than the percentage (0 - any failure stops; the canary wave of one host always does). A host
    counts as failed when its record holds a failure (an unprotected host that the wave could not
    repair has one).
    """
    failed = sorted(host for host, record in records.items() if record.get("failure"))
    total = len(records)
    share = 100.0 * len(failed) / total if total else 0.0
    stop = bool(failed) and share > max_fail_percentage
    if stop:
        msg = (
            "%d of %d host(s) of this wave failed (%.0f %% > mde_max_fail_percentage %d): the rollout stops here (%s)"
            % (
                len(failed),
                total,
                share,
                max_fail_percentage,
                ", ".join(failed),
            )
        )
    elif failed:
        msg = (
            "%d of %d host(s) of this wave failed (%.0f %%, within mde_max_fail_percentage %d): the rollout goes on"
            % (
                len(failed),
                total,
                share,
                max_fail_percentage,
            )
        )
    else:
        msg = "every host of this wave (%d) reached its goal" % total
    return failed, stop, msg


def apply(
    record: dict,
    host: str,
    results: list[Any] | None = None,
    wave_results: list[Any] | None = None,
    step: str | None = None,
    fleet: dict | None = None,
    failed_action: str | None = None,
) -> tuple[dict, Verdict | None]:
    """Record every result in order; stop at the first failing verdict and return it."""
    record = dict(record or {})
    refused = ((fleet or {}).get("refused") or {}).get(host)
    for index, result in enumerate(results or []):
        if not _is_result(result):
            continue
        if result.get("failed") and isinstance(result.get("progress"), dict) and result["progress"].get("failure"):
            # A gate that failed (fleet_progress): its record is the newest one, since Ansible keeps no
            # facts of a failed task; its failure is the host's verdict.
            record = dict(result["progress"])
            return record, Verdict(record["failure"])
        record, verdict = record_result(record, result, step if index == 0 else None, failed_action)
        if verdict is not None:
            return record, verdict
    if isinstance(refused, dict):
        record, verdict = record_result(record, dict(refused, step="assess"))
        if verdict is not None:
            record["rollout_group"] = "done"
            return record, verdict
    # Every wave-level answer is recorded (a failed Intune step does not hide the EDR confirmation);
    # the first failing one is the host's verdict.
    first: Verdict | None = None
    for result in wave_results or []:
        if not _is_result(result):
            continue
        wave_step, own = wave_verdict(result, host)
        if own is None:
            continue
        record, verdict = record_result(record, own, wave_step)
        first = first or verdict
    if first is not None:
        record = update_progress(record, first["step"], "failed")
    return record, first


def _check_steps() -> None:
    unknown = sorted(alias for alias in _STEP_ALIASES.values() if alias not in STEPS)
    if unknown:
        raise ValueError("step aliases name unknown steps: %s" % ", ".join(unknown))


_check_steps()

__all__ = [
    "Verdict",
    "apply",
    "device_name",
    "outcome_of",
    "record_result",
    "recorded_failure",
    "report_step",
    "update_progress",
    "wave_verdict",
]
