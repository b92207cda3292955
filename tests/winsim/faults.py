"""Injected faults: things that happen to a host around one module run.

A host's ``faults.inject`` (fleet file, or ``WinSim.set_faults`` at run time) is a list of
events, each keyed by module, nth call and moment::

    faults:
      inject:
        - {module: win_mde_passive_mode, call: 1, at: before, do: rtp_off}
        - {module: win_mde_onboarding, at: after, do: http_500}
        - {module: win_mde_info, call: 2, at: before, do: hang, seconds: 90}
        - {module: "*", call: 3, at: after, do: reboot}

``module`` is a module's short name or FQCN (``*``: any module); ``call`` counts that module's runs
on the host from 1 (default 1); ``at`` is ``before`` (default: the event happens before the module
runs) or ``after`` (once it has run, before its answer is sent). Each event fires once. What
``do`` means:

* ``rtp_off`` / ``rtp_on`` - the third-party antivirus's real-time protection goes off (on): its
  real-time flag and its service (what Security Center and the service list report) change.
* ``http_500`` - the WinRM service answers the command's Receive with HTTP 500 and a WS-Management
  fault (``before``: the command did not run; ``after``: its effects are applied).
* ``reboot`` - the host restarts at once and the connection is reset (``before``: the command did
  not run; ``after``: its effects are applied).
* ``hang`` - the command does not answer for ``seconds`` (real seconds, whatever the fleet's
  ``time_scale``: what cuts it is the controller's bound, in real time; the WinRM service keeps
  answering Receives with OperationTimeout meanwhile). ``before``: the command never runs (its late
  answer is a failure); ``after``: its effects are applied and the answer comes late.
* ``drop`` - the connection is reset (as ``drop_connection``, the older spelling, which stays).

The counters group ``faults`` counts every fired event by its ``do``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What an event may do; the keys an event may have.
ACTIONS = ("rtp_off", "rtp_on", "http_500", "reboot", "hang", "drop")
EVENT_KEYS = {"module", "call", "at", "do", "seconds", "fired"}
MOMENTS = ("before", "after")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fired:
    """The events of one module run that change how the command is answered."""

    before: list[dict]
    after: list[dict]

    @property
    def skip_run(self) -> bool:
        """An event before the run that keeps the command from running."""
        return any(e["do"] in ("http_500", "reboot", "hang", "drop") for e in self.before)


def check_inject(name: str, spec: Any) -> None:
    """Reject ``faults.inject`` settings the simulator does not understand (``FaultSpecError``)."""
    if spec is None:
        return
    if not isinstance(spec, list):
        raise FaultSpecError("%s: faults.inject must be a list of events, got %r" % (name, spec))
    for i, event in enumerate(spec):
        where = "%s: faults.inject[%d]" % (name, i)
        if not isinstance(event, dict):
            raise FaultSpecError("%s must be a mapping, got %r" % (where, event))
        unknown = set(event) - EVENT_KEYS
        if unknown:
            raise FaultSpecError("%s: unknown keys %s; allowed: %s" % (where, sorted(unknown), sorted(EVENT_KEYS)))
        if not isinstance(event.get("module"), str) or not event["module"]:
            raise FaultSpecError("%s: 'module' (a module name or '*') is required" % where)
        if event.get("do") not in ACTIONS:
            raise FaultSpecError("%s: 'do' must be one of %s, got %r" % (where, ", ".join(ACTIONS), event.get("do")))
        if event.get("at", "before") not in MOMENTS:
            raise FaultSpecError("%s: 'at' must be before or after, got %r" % (where, event.get("at")))
        call = event.get("call", 1)
        if not isinstance(call, int) or isinstance(call, bool) or call < 1:
            raise FaultSpecError("%s: 'call' must be an integer >= 1, got %r" % (where, call))
        seconds = event.get("seconds", 0)
        number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        if event["do"] == "hang" and (not number or seconds <= 0):
            raise FaultSpecError("%s: a hang needs 'seconds' > 0, got %r" % (where, seconds))


def _matches(event: dict, module: str) -> bool:
    target = str(event.get("module") or "")
    return target == "*" or target in (module, module.rsplit(".", 1)[-1])


def take(host: Any, module: str | None) -> Fired:
    """Count this run of ``module`` and return (and mark fired) the events it triggers."""
    fired = Fired([], [])
    events = host.faults.get("inject")
    if not module or not isinstance(events, list):
        return fired
    with host.lock:
        calls = host.state["faults"].setdefault("inject_calls", {})
        short = module.rsplit(".", 1)[-1]
        calls[short] = int(calls.get(short, 0)) + 1
        calls["*"] = int(calls.get("*", 0)) + 1
        for event in events:
            if event.get("fired") or not _matches(event, module):
                continue
            key = "*" if event["module"] == "*" else short
            if calls[key] != int(event.get("call", 1)):
                continue
            event["fired"] = True
            (fired.after if event.get("at") == "after" else fired.before).append(event)
    return fired


def set_real_time(host: Any, on: bool) -> None:
    """The third-party antivirus's real-time protection goes on or off (flag and service)."""
    with host.lock:
        for av in host.state.get("third_party_av", []):
            if not av.get("installed", True):
                continue
            av["real_time"] = on
            if av.get("service"):
                host.set_service(av["service"], state="running" if on else "stopped")


def apply_state_events(host: Any, events: list[dict]) -> None:
    """The events that change the host itself (not the answer)."""
    for event in events:
        if event["do"] in ("rtp_off", "rtp_on"):
            set_real_time(host, event["do"] == "rtp_on")
