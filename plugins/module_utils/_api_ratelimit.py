# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side rate limiting of the Defender API and Microsoft Graph. PRIVATE to this collection.

A limiter per endpoint family (:data:`FAMILIES`) keeps every run under the documented limits
(docs/sources.md §7.3-§7.6: machines/alerts 100/min and 1,500/h, deviceavinfo 30/min and
1,000/h, advanced hunting 45/min and 1,500/h): the client waits instead of being throttled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FAMILIES", "Family", "RateLimiter"]


@dataclass(frozen=True)
class Family:
    """An endpoint family: the unit Microsoft's rate limits apply to."""

    name: str
    resource: str  # "api", "graph" or "login"
    per_minute: int | None
    per_hour: int | None
    label: str


#: Endpoint families and their documented limits (docs/sources.md §7.3-§7.6). Graph publishes no
#: fixed numbers for runHuntingQuery (the advanced hunting quota applies) nor for Intune;
#: the Intune cap is a conservative client-side choice, not a Microsoft figure.
FAMILIES: dict[str, Family] = {
    "machines": Family("machines", "api", 100, 1500, "Defender API machines"),
    "alerts": Family("alerts", "api", 100, 1500, "Defender API alerts"),
    "deviceavinfo": Family("deviceavinfo", "api", 30, 1000, "Defender API device AV health"),
    "advancedqueries": Family("advancedqueries", "api", 45, 1500, "Defender API advanced hunting"),
    "graph_hunting": Family("graph_hunting", "graph", 45, 1500, "Graph runHuntingQuery"),
    "graph_intune": Family("graph_intune", "graph", 100, None, "Graph Intune"),
    "login": Family("login", "login", None, None, "Microsoft Entra sign-in"),
}


class RateLimiter:
    """Sliding windows per endpoint family (last minute and last hour).

    :meth:`acquire` waits (with the injected sleep) until one more call fits into both
    windows of the family, then records it. Waiting is cheaper than a 429.
    """

    def __init__(
        self, clock: Callable[[], float], sleep: Callable[[float], None], families: dict[str, Family] | None = None
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.families = families or FAMILIES
        self._calls: dict[str, deque[float]] = {}
        self.waited = 0.0

    def delay(self, family: str) -> float:
        """Seconds until one more call of ``family`` is allowed (0 = now)."""
        fam = self.families.get(family)
        if fam is None:
            return 0.0
        now = self.clock()
        calls = self._calls.setdefault(family, deque())
        while calls and calls[0] <= now - 3600:
            calls.popleft()
        wait = 0.0
        if fam.per_minute:
            recent = [t for t in calls if t > now - 60]
            if len(recent) >= fam.per_minute:
                wait = max(wait, recent[-fam.per_minute] + 60 - now)
        if fam.per_hour and len(calls) >= fam.per_hour:
            wait = max(wait, calls[-fam.per_hour] + 3600 - now)
        return max(0.0, wait)

    def acquire(self, family: str) -> float:
        total = 0.0
        wait = self.delay(family)
        while wait > 0:
            self.sleep(wait)
            total += wait
            wait = self.delay(family)
        self._calls.setdefault(family, deque()).append(self.clock())
        self.waited += total
        return total
