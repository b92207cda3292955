# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advanced hunting: the wave query builder and result normalisation. PRIVATE to this collection.

The rollout confirms EDR for a whole wave with ONE query (docs/sources.md §7.5): for each device
of the wave, does the device timeline hold recent events, and what sensor health does the
device report? :func:`build_wave_query` writes it::

    union withsource=SourceTable DeviceInfo, DeviceProcessEvents
    | where Timestamp > ago(24h)
    | where DeviceName in~ ("ws01.corp.example.com", "ws02.corp.example.com")
    | summarize Events = countif(SourceTable != "DeviceInfo"),
                LastEvent = maxif(Timestamp, SourceTable != "DeviceInfo"),
                LastReport = maxif(Timestamp, SourceTable == "DeviceInfo"),
                SensorHealthStates = make_set_if(SensorHealthState, SourceTable == "DeviceInfo")
        by DeviceId, DeviceName

(on one line). ``DeviceName`` in advanced hunting is the FQDN, like ``computerDnsName`` of
the machines API, so the role passes the names mde_machine_info resolved. ``DeviceInfo``
is reported hourly and on change and carries ``SensorHealthState``; the event tables are the
device timeline.

The two APIs answer in two shapes: the Defender API ``{"Schema": [{"Name", "Type"}],
"Results": [...]}`` and Graph ``{"schema": [{"name", "type"}], "results": [...]}``;
:func:`normalize_results` returns one shape.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import MdeError
from ._mde_machines import normalize_name

__all__ = [
    "DEFAULT_TIMELINE_TABLES",
    "MAX_DEVICES_PER_QUERY",
    "TIMELINE_TABLES",
    "build_wave_query",
    "evaluate_wave",
    "normalize_results",
]

#: Device timeline tables of advanced hunting the builder may use.
TIMELINE_TABLES = (
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceLogonEvents",
    "DeviceImageLoadEvents",
    "DeviceEvents",
)
DEFAULT_TIMELINE_TABLES = ("DeviceProcessEvents",)
#: Advanced hunting covers the last 30 days.
MAX_TIMELINE_HOURS = 30 * 24
#: Devices per query; a larger wave is split (a few more calls, still not one per host).
MAX_DEVICES_PER_QUERY = 500

# Windows allows non-ASCII computer names (KÜCHE-PC): letters and digits of any script count. The
# name goes into a KQL string literal, which _kql_string escapes.
_NAME_RE = re.compile(r"^[^\W_][\w.-]{0,252}$")


def _kql_string(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def build_wave_query(
    devices: list[str], timeline_hours: int = 24, tables: list[str] | tuple[str, ...] = DEFAULT_TIMELINE_TABLES
) -> str:
    """The one advanced hunting query that confirms timeline data and sensor health for ``devices``."""
    if not devices:
        raise MdeError("invalid_argument", "devices must name at least one device")
    bad = [d for d in devices if not _NAME_RE.match(str(d))]
    if bad:
        raise MdeError(
            "invalid_argument",
            "devices must be host names (FQDN as Defender reports them), got %s" % ", ".join(repr(b) for b in bad[:5]),
        )
    hours = int(timeline_hours)
    if not 1 <= hours <= MAX_TIMELINE_HOURS:
        raise MdeError(
            "invalid_argument",
            "timeline_hours must be between 1 and %d (advanced hunting keeps 30 days), "
            "got %d" % (MAX_TIMELINE_HOURS, hours),
        )
    tables = list(tables or DEFAULT_TIMELINE_TABLES)
    unknown = [t for t in tables if t not in TIMELINE_TABLES]
    if unknown:
        raise MdeError(
            "invalid_argument",
            "timeline_tables: unknown table(s) %s; use %s" % (", ".join(unknown), ", ".join(TIMELINE_TABLES)),
        )
    names = []
    for d in devices:
        n = normalize_name(d)
        if n not in names:
            names.append(n)
    parts = [
        "union withsource=SourceTable DeviceInfo, %s" % ", ".join(dict.fromkeys(tables)),
        "where Timestamp > ago(%dh)" % hours,
        "where DeviceName in~ (%s)" % ", ".join(_kql_string(n) for n in names),
        'summarize Events = countif(SourceTable != "DeviceInfo"), '
        'LastEvent = maxif(Timestamp, SourceTable != "DeviceInfo"), '
        'LastReport = maxif(Timestamp, SourceTable == "DeviceInfo"), '
        'SensorHealthStates = make_set_if(SensorHealthState, SourceTable == "DeviceInfo") '
        "by DeviceId, DeviceName",
    ]
    return " | ".join(parts)


def chunks(devices: list[str], size: int = MAX_DEVICES_PER_QUERY) -> list[list[str]]:
    return [devices[i : i + size] for i in range(0, len(devices), size)]


def normalize_results(data: Any) -> dict:
    """``{"columns": [{"name", "type"}], "rows": [...]}`` from either API's answer."""
    if not isinstance(data, dict):
        raise MdeError("api_error", "the advanced hunting answer is not a JSON object")
    lowered = {str(k).lower(): v for k, v in data.items()}
    schema = lowered.get("schema") or []
    rows = lowered.get("results") or []
    columns = []
    for col in schema:
        if isinstance(col, dict):
            c = {str(k).lower(): v for k, v in col.items()}
            columns.append({"name": c.get("name"), "type": c.get("type")})
    return {"columns": columns, "rows": list(rows)}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        import json

        try:
            parsed = json.loads(value)
            return parsed if isinstance(parsed, list) else [parsed]
        except ValueError:
            return [value]
    return [value]


def evaluate_wave(devices: list[str], rows: list[dict]) -> dict[str, dict]:
    """Per requested device: timeline events and sensor health from the wave query's rows."""
    by_name: dict[str, list[dict]] = {}
    for row in rows:
        name = normalize_name(row.get("DeviceName") or "")
        by_name.setdefault(name, []).append(row)
    out: dict[str, dict] = {}
    for device in devices:
        wanted = normalize_name(device)
        matched = list(by_name.get(wanted, []))
        if "." not in wanted:  # a short name: match the host part of FQDNs too
            for name, name_rows in by_name.items():
                if name != wanted and name.split(".", 1)[0] == wanted:
                    matched.extend(name_rows)
        events = sum(int(r.get("Events") or 0) for r in matched)
        last_event = max((str(r["LastEvent"]) for r in matched if r.get("LastEvent")), default=None)
        last_report = max((str(r["LastReport"]) for r in matched if r.get("LastReport")), default=None)
        states: list[str] = []
        for r in matched:
            for s in _as_list(r.get("SensorHealthStates")):
                if s and s not in states:
                    states.append(str(s))
        if not states:
            state = None
        elif len(states) == 1:
            state = states[0]
        else:
            state = "Mixed"
        out[device] = {
            "found": bool(matched),
            "device_ids": sorted({str(r.get("DeviceId")) for r in matched if r.get("DeviceId")}),
            "device_names": sorted({str(r.get("DeviceName")) for r in matched if r.get("DeviceName")}),
            "events": events,
            "last_event": last_event,
            "last_report": last_report,
            "sensor_health_states": states,
            "sensor_health_state": state,
            "timeline_ok": events > 0,
            "sensor_healthy": states == ["Active"],
            "confirmed": events > 0 and states == ["Active"],
        }
    return out
