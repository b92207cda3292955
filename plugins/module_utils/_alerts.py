# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defender for Endpoint alerts: the list filter and matching alerts to machines. PRIVATE.

``GET /api/alerts`` documents ``$filter`` on ``alertCreationTime``, ``lastUpdateTime``,
``incidentId``, ``InvestigationId``, ``id``, ``assignedTo``, ``detectionSource``,
``lastEventTime``, ``status``, ``severity`` and ``category`` (docs/sources.md §7.4) - not on the
machine or the title. So the server-side filter narrows by time (one call covers every
machine of a wave) and the machine and title are matched here, on the returned page.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from ._errors import MdeError
from ._mde_machines import normalize_name

__all__ = ["DETECTION_TEST_TITLE", "alert_filter", "alert_record", "match_alerts", "parse_since"]

#: Module code may run on a Python older than 3.11 (no datetime.UTC there).
_UTC = datetime.timezone.utc
#: The title of the alert Microsoft's detection test raises. UNCONFIRMED (not in the pages read;
#: community reports); the module matches case-insensitively on a substring by default.
DETECTION_TEST_TITLE = "[Test Alert] Suspicious Powershell commandline"

_RELATIVE_RE = re.compile(r"^-?(\d+)\s*([smhd])$")


def parse_since(value: str | None, now: datetime.datetime) -> datetime.datetime:
    """An ISO 8601 time, or a relative one like ``30m``, ``2h``, ``1d`` (before ``now``)."""
    if value is None or str(value).strip() == "":
        return now - datetime.timedelta(hours=24)
    text = str(value).strip()
    rel = _RELATIVE_RE.match(text)
    if rel:
        amount, unit = int(rel.group(1)), rel.group(2)
        seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return now - datetime.timedelta(seconds=seconds)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MdeError(
            "invalid_argument",
            "since must be an ISO 8601 time (2026-01-31T12:00:00Z) or a relative time "
            "such as 30m, 2h or 1d, got %r" % value,
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC)


def odata_time(when: datetime.datetime) -> str:
    return when.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_filter(since: datetime.datetime, extra: str | None = None) -> str:
    """``alertCreationTime ge <since>`` (and the user's extra filter)."""
    base = "alertCreationTime ge %s" % odata_time(since)
    if extra and extra.strip():
        return "%s and (%s)" % (base, extra.strip())
    return base


def _matches_machine(alert: dict, wanted: str) -> bool:
    if str(alert.get("machineId") or "").lower() == wanted:
        return True
    dns = normalize_name(alert.get("computerDnsName") or "")
    if not dns:
        return False
    if "." in wanted:
        return dns == wanted or ("." not in dns and dns == wanted.split(".", 1)[0])
    return dns.split(".", 1)[0] == wanted


def match_alerts(alerts: list[dict], machines: list[str], title_contains: str | None) -> tuple[list[dict], dict]:
    """``(alerts that match, {machine: [alert ids]})``; no machines = every machine."""
    title = (title_contains or "").lower()
    kept = [a for a in alerts if not title or title in str(a.get("title") or "").lower()]
    by_machine: dict[str, list[Any]] = {}
    if machines:
        selected = []
        for machine in machines:
            wanted = normalize_name(machine)
            ids = [a.get("id") for a in kept if _matches_machine(a, wanted)]
            by_machine[machine] = ids
        wanted_ids = {i for ids in by_machine.values() for i in ids}
        selected = [a for a in kept if a.get("id") in wanted_ids]
        kept = selected
    else:
        for a in kept:
            by_machine.setdefault(str(a.get("computerDnsName") or a.get("machineId")), []).append(a.get("id"))
    return kept, by_machine


_FIELDS = (
    ("id", "id"),
    ("title", "title"),
    ("severity", "severity"),
    ("status", "status"),
    ("category", "category"),
    ("detectionSource", "detection_source"),
    ("machineId", "machine_id"),
    ("computerDnsName", "computer_dns_name"),
    ("alertCreationTime", "alert_creation_time"),
    ("firstEventTime", "first_event_time"),
    ("lastEventTime", "last_event_time"),
    ("lastUpdateTime", "last_update_time"),
    ("incidentId", "incident_id"),
    ("threatFamilyName", "threat_family_name"),
)


def alert_record(alert: dict) -> dict:
    return {out: alert.get(src) for src, out in _FIELDS}
