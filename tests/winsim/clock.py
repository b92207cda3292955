"""The simulated hosts' clock: simulated epoch seconds, never going back, with per-command virtual time.

One ``FleetClock`` per simulator process maps the wall clock to simulated time::

    sim(t) = sim0 + (t - real0) / time_scale

``time_scale`` is a fleet setting (default 1.0: simulated time is real time). With 0.1 the
simulated clock runs ten times faster than the wall clock, so a simulated 30 s wait costs 3 real
seconds. The anchor ``(sim0, real0, time_scale)`` is kept in ``<state_dir>/clock.json``: a
restarted simulator continues from where the previous one stopped and never goes back in time
(also when ``time_scale`` changed in between: the clock is re-anchored at the time reached).

Each host has a ``HostClock``. Outside a command its ``now()`` is the fleet time (or later, see
below). While one command runs (``begin_command`` … ``end_command``), ``now()`` is the command's
start plus a *virtual* elapsed time that only moves when something on the host waits:
``Start-Sleep``, ``Process.WaitForExit``, a native program that takes time. Nothing here sleeps.
The server holds the command's answer back for ``virtual_elapsed * time_scale`` real seconds so
that the wall clock catches up with the host before the next command; the host's clock keeps a
floor at the end of the last command in the meantime, so it never goes back.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

CLOCK_FILE = "clock.json"


class FleetClock:
    """Simulated time of one simulator process (see the module docstring)."""

    def __init__(self, time_scale: float = 1.0, real: Callable[[], float] = time.time) -> None:
        if not isinstance(time_scale, int | float) or isinstance(time_scale, bool) or time_scale <= 0:
            raise ValueError("time_scale must be a number > 0, got %r" % (time_scale,))
        self.time_scale = float(time_scale)
        self._real = real
        self.real0 = real()
        self.sim0 = self.real0
        #: The latest simulated time any host reached (a command's virtual end included).
        self.high_water = self.sim0

    def wall_now(self) -> float:
        """Simulated time by the wall clock alone."""
        return self.sim0 + (self._real() - self.real0) / self.time_scale

    def reached(self, sim_time: float) -> None:
        """Record that a host reached ``sim_time`` (kept across restarts)."""
        if sim_time > self.high_water:
            self.high_water = sim_time

    def real_seconds(self, sim_seconds: float) -> float:
        """How long ``sim_seconds`` of simulated time take on the wall clock."""
        return max(0.0, float(sim_seconds)) * self.time_scale

    # ------------------------------------------------------------------ persistence
    def load(self, state_dir: str) -> FleetClock:
        """Continue from ``state_dir/clock.json`` when there is one: never earlier than it got.

        The saved anchor is kept as long as ``time_scale`` is the same (so a restart leaves the file
        as it was); with another scale, or when a command's virtual time ran ahead of the wall
        clock before the stop, the clock is re-anchored at the time reached.
        """
        path = os.path.join(state_dir, CLOCK_FILE)
        if not os.path.exists(path):
            return self
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
        old_scale = float(saved.get("time_scale") or 1.0)
        sim0, real0 = float(saved["sim0"]), float(saved["real0"])
        then = sim0 + (self._real() - real0) / old_scale
        ahead = float(saved.get("high_water") or 0.0)
        if old_scale == self.time_scale and ahead <= then:
            self.sim0, self.real0 = sim0, real0
        else:
            self.real0 = self._real()
            self.sim0 = max(then, ahead)
        self.high_water = max(self.sim0, ahead)
        return self

    def save(self, state_dir: str) -> None:
        """Write the anchor (and the time reached, when it is ahead of the wall clock); only on change."""
        data: dict[str, float] = {"sim0": self.sim0, "real0": self.real0, "time_scale": self.time_scale}
        if self.high_water > self.wall_now():
            data["high_water"] = self.high_water
        text = json.dumps(data, sort_keys=True, indent=1) + "\n"
        path = os.path.join(state_dir, CLOCK_FILE)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                if fh.read() == text:
                    return
        from .host import _atomic_write  # host imports this module

        _atomic_write(path, text)


def fleet_time(state_dir: str) -> float:
    """The simulated time now by the anchor a running simulator keeps in ``state_dir`` (for the
    processes that share its world: the fake cloud, the tests). Real time when there is none."""
    try:
        with open(os.path.join(state_dir, CLOCK_FILE), encoding="utf-8") as fh:
            anchor = json.load(fh)
        return float(anchor["sim0"]) + (time.time() - float(anchor["real0"])) / float(anchor["time_scale"])
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return time.time()


class HostClock:
    """One host's view of the fleet clock, with the virtual time of the command that runs."""

    def __init__(self, fleet: FleetClock | None = None) -> None:
        self.fleet = fleet or FleetClock()
        self._floor = 0.0
        self._command_start: float | None = None
        self._virtual = 0.0

    def now(self) -> float:
        if self._command_start is not None:
            return self._command_start + self._virtual
        return max(self.fleet.wall_now(), self._floor)

    @property
    def in_command(self) -> bool:
        return self._command_start is not None

    @property
    def virtual_elapsed(self) -> float:
        return self._virtual

    def begin_command(self) -> None:
        if self._command_start is not None:
            raise RuntimeError("a command is already running on this host")
        self._command_start = self.now()
        self._virtual = 0.0

    def end_command(self) -> float:
        """End the command; returns the real seconds its answer must be held back."""
        if self._command_start is None:
            return 0.0
        end = self._command_start + self._virtual
        self._floor = max(self._floor, end)
        self.fleet.reached(end)
        virtual, self._command_start, self._virtual = self._virtual, None, 0.0
        return self.fleet.real_seconds(virtual)

    def set_time(self, sim_time: float) -> None:
        """Move the command's virtual time forward to ``sim_time`` (never back)."""
        if self._command_start is None:
            # Outside a command (unit tests, boot): only the floor moves.
            self._floor = max(self._floor, sim_time)
            self.fleet.reached(self._floor)
            return
        self._virtual = max(self._virtual, sim_time - self._command_start)
