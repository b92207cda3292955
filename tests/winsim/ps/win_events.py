"""Get-WinEvent -FilterHashtable over the host's event log.

Sources: the Get-WinEvent reference page (FilterHashtable keys LogName, ProviderName, Id, Level,
StartTime, EndTime), "Creating Get-WinEvent queries with FilterHashtable", and the
EventLogRecord class page. Events come newest first. A provider exists when it is registered
as an event source (``HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\<log>\\<source>``, as
eventcreate registers it) or is one of Windows' own; a query naming an unregistered provider
fails as a whole ("There is not an event provider on the localhost computer that matches …"),
also when the other providers have events. No match is the non-terminating
"No events were found that match the specified selection criteria."
"""

from __future__ import annotations

from typing import Any

from . import convert as C
from .commands import CmdletCall, ParamSpec, cmdlet, type_of
from .dotnet import DateTime, to_datetime
from .errors import PSUnsupported
from .values import Hashtable, NetObject, is_null

EVENTLOG_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog"
#: Providers every Windows host has, per log (the ones the model writes events for).
BUILTIN = {
    "application": {"Application Error", "MsiInstaller", "Windows Error Reporting", "Security-SPP"},
    "system": {"Microsoft-Windows-GroupPolicy", "Service Control Manager", "EventLog"},
    "microsoft-windows-sense/operational": {"Microsoft-Windows-SENSE"},
}
LEVELS = {"Critical": 1, "Error": 2, "Warning": 3, "Information": 4}
_KEYS = {"logname", "providername", "id", "level", "starttime", "endtime"}


def logs(host: Any) -> set[str]:
    found = {"application", "system", "security"}
    if host.service("Sense") is not None:
        found.add("microsoft-windows-sense/operational")
    return found


def providers(host: Any) -> set[str]:
    names = {p.lower() for group in BUILTIN.values() for p in group}
    for log in host.reg_subkeys(EVENTLOG_KEY):
        names.update(s.lower() for s in host.reg_subkeys(EVENTLOG_KEY + "\\" + log))
    return names


class EventLogRecord(NetObject):
    TYPE_NAMES = (
        "System.Diagnostics.Eventing.Reader.EventLogRecord",
        "System.Diagnostics.Eventing.Reader.EventRecord",
        "System.Object",
    )

    def __init__(self, host: Any, event: dict) -> None:
        self.host = host
        self.event = event

    def p_providername(self) -> str:
        return str(self.event["source"])

    def p_id(self) -> int:
        return int(self.event["id"])

    def p_level(self) -> int:
        return LEVELS.get(self.event.get("level", "Information"), 4)

    def p_leveldisplayname(self) -> str:
        return str(self.event.get("level", "Information"))

    def p_message(self) -> str:
        return str(self.event.get("message", ""))

    def p_timecreated(self) -> DateTime:
        return DateTime.from_unix(float(self.event["time"]))

    def p_logname(self) -> str:
        return str(self.event["log"])

    def p_recordid(self) -> int:
        return int(self.event.get("record", 0))

    def p_machinename(self) -> str:
        return str(self.host.state.get("hostname") or self.host.name)


def _list(value: Any) -> list:
    return [] if is_null(value) else C.to_list(value)


@cmdlet(
    "Get-WinEvent",
    [ParamSpec("FilterHashtable", type_of("hashtable"), mandatory=True), ParamSpec("MaxEvents", type_of("long"))],
    module="Microsoft.PowerShell.Diagnostics",
)
def get_win_event(call: CmdletCall) -> None:
    host = call.host
    table: Hashtable = call.p["filterhashtable"]
    unknown = {str(k).lower() for k in table} - _KEYS
    if unknown:
        raise PSUnsupported("", 0, "Get-WinEvent -FilterHashtable keys %s" % sorted(unknown))
    log_names = [C.to_string(x) for x in _list(table["logname"])]
    provider_names = [C.to_string(x) for x in _list(table["providername"])]
    if not log_names and not provider_names:
        raise PSUnsupported("", 0, "Get-WinEvent -FilterHashtable without LogName or ProviderName")
    for log in log_names:
        if log.lower() not in logs(host):
            call.error(
                call.record(
                    'There is not an event log on the localhost computer that matches "%s".' % log,
                    "NoMatchingLogsFound",
                    "ObjectNotFound",
                    target=log,
                )
            )
            return
    known = providers(host)
    for provider in provider_names:
        if provider.lower() not in known:
            call.error(
                call.record(
                    'There is not an event provider on the localhost computer that matches "%s".' % provider,
                    "NoMatchingProvidersFound",
                    "ObjectNotFound",
                    target=provider,
                )
            )
            return
    ids = {C.to_integer(x) for x in _list(table["id"])}
    levels = {C.to_integer(x) for x in _list(table["level"])}
    start = None if is_null(table["starttime"]) else to_datetime(table["starttime"]).unix()
    end = None if is_null(table["endtime"]) else to_datetime(table["endtime"]).unix()
    wanted_logs = {x.lower() for x in log_names}
    wanted_providers = {x.lower() for x in provider_names}
    found = []
    for event in reversed(host.state.get("events", [])):
        if wanted_logs and event["log"].lower() not in wanted_logs:
            continue
        if wanted_providers and event["source"].lower() not in wanted_providers:
            continue
        if ids and int(event["id"]) not in ids:
            continue
        record = EventLogRecord(host, event)
        if levels and record.p_level() not in levels:
            continue
        if start is not None and float(event["time"]) < start:
            continue
        if end is not None and float(event["time"]) > end:
            continue
        found.append(record)
    if call.p["maxevents"]:
        found = found[: call.p["maxevents"]]
    if not found:
        call.error(
            call.record(
                "No events were found that match the specified selection criteria.",
                "NoMatchingEventsFound",
                "ObjectNotFound",
            )
        )
        return
    call.out.extend(found)
