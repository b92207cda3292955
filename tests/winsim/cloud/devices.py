"""What the fake Defender for Endpoint service knows about the simulated fleet.

It reads the simulator's persisted host states (``DIR/<host>.json``) on every request (cached
by file mtime), so whatever the modules did to the hosts over WinRM shows up in the cloud:

* a host is onboarded to org X when ``HKLM\\...\\Windows Advanced Threat Protection\\Status``
  ``OnboardingState`` = 1 and its org is X (``Status\\OrgId``, else ``orgId`` in the body of the
  ``OnboardingInfo`` policy value, docs/sources.md §3.4); it appears in the tenant whose ``org_id`` is
  X, never in another tenant;
* Sense running -> ``healthStatus`` ``Active`` with recent timeline events (hourly
  ``DeviceInfo`` reports, process events every 10 minutes); Sense stopped ->
  ``NoSensorData`` and no events; never onboarded -> absent (or ``CanBeOnboarded`` with
  ``discovery: true``);
* ``avMode`` of ``/api/deviceavinfo`` follows ``tests.winsim.rules.derive_running_mode``;
* a detection test the ``win_mde_detection_test`` twin recorded in ``state["mde"]["detection_tests"]``
  raises the test alert on that machine, ``alert_delay_s`` seconds later.

MODEL (not documented by Microsoft): the onboarding time is the last SENSE event 11
(onboarding completed) in the host's event log, else its first SENSE event, else (a host
onboarded in the fleet file) seven days before today 00:00 UTC; at onboarding the device
reports at once (a DeviceInfo row and a first event), then on a fixed grid; ``lastSeen`` is
the last full hour; identifiers are derived deterministically from org and host name.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from .. import rules

ATP_STATUS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"
ATP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DETECTION_TEST_TITLE = "[Test Alert] Suspicious Powershell commandline"
PRE_ONBOARDED_AGE = datetime.timedelta(days=7)
#: advanced hunting tables the fake fills with generic rows (the device, a time, ActionType "Generic")
GENERIC_TABLES = (
    "DeviceNetworkEvents",
    "DeviceEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceLogonEvents",
    "DeviceImageLoadEvents",
)
#: the advanced hunting tables the fake knows
HUNTING_TABLES = ("DeviceInfo", "DeviceProcessEvents", *GENERIC_TABLES)

# avMode of the device AV health API (docs/sources.md §7.6) from AMRunningMode.
_AV_MODE = {
    rules.NORMAL: "0",
    rules.PASSIVE: "1",
    rules.NOT_RUNNING: "2",
    rules.SXS_PASSIVE: "3",
    rules.EDR_BLOCK: "4",
}
_SERVER_PLATFORM = {
    9600: "WindowsServer2012R2",
    14393: "WindowsServer2016",
    17763: "WindowsServer2019",
    20348: "WindowsServer2022",
    26100: "WindowsServer2025",
}
_VERSION = {14393: "1607", 17763: "1809", 19045: "22H2", 20348: "21H2", 22631: "23H2", 26100: "24H2"}


def iso(when: datetime.datetime | float | None) -> str | None:
    if when is None:
        return None
    if not isinstance(when, datetime.datetime):
        when = datetime.datetime.fromtimestamp(float(when), datetime.UTC)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _reg(state: dict, key: str, name: str) -> Any:
    for k, values in (state.get("registry") or {}).items():
        if k.lower() == key.lower():
            for vname, item in values.items():
                if vname.lower() == name.lower():
                    return item.get("data")
    return None


def host_org(state: dict) -> str | None:
    """The org a host is onboarded to (None if OnboardingState is not 1)."""
    try:
        if int(_reg(state, ATP_STATUS_KEY, "OnboardingState") or 0) != 1:
            return None
    except (TypeError, ValueError):
        return None
    org = _reg(state, ATP_STATUS_KEY, "OrgId")
    if not org:
        info = _reg(state, ATP_POLICY_KEY, "OnboardingInfo")
        try:
            org = json.loads(json.loads(info)["body"]).get("orgId")
        except (TypeError, ValueError, KeyError):
            org = None
    return str(org).lower() if org else None


def sense_running(state: dict) -> bool:
    for name, svc in (state.get("services") or {}).items():
        if name.lower() == "sense":
            return svc.get("state") == "running"
    return False


def dns_name(state: dict) -> str:
    host = str(state.get("hostname") or state.get("name")).lower()
    domain = state.get("domain") or {}
    return "%s.%s" % (host, domain["name"]) if domain.get("joined") and domain.get("name") else host


def onboarded_at(state: dict, now: datetime.datetime) -> datetime.datetime:
    explicit = (state.get("mde") or {}).get("onboarded_at")
    if explicit:
        return datetime.datetime.fromtimestamp(float(explicit), datetime.UTC)
    sense = [
        ev
        for ev in state.get("events") or []
        if "sense" in (str(ev.get("log")) + str(ev.get("source"))).lower() and ev.get("time")
    ]
    completed = [ev["time"] for ev in sense if int(ev.get("id") or 0) == 11]  # onboarding completed
    if completed:
        return datetime.datetime.fromtimestamp(float(max(completed)), datetime.UTC)
    if sense:
        return datetime.datetime.fromtimestamp(float(min(ev["time"] for ev in sense)), datetime.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - PRE_ONBOARDED_AGE  # stable within a day, so two calls agree


def _h(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def os_platform(state: dict) -> str:
    o = state["os"]
    if int(o.get("product_type", 1)) == 1:
        return "Windows11" if int(o["build"]) >= 22000 else ("Windows10" if int(o["build"]) >= 10240 else "Windows7")
    return _SERVER_PLATFORM.get(int(o["build"]), "WindowsServer")


class Device:
    """One simulated host as the service sees it."""

    def __init__(self, state: dict, org: str | None, now: datetime.datetime) -> None:
        self.state = state
        self.org = org
        self.name = str(state.get("name"))
        self.dns = dns_name(state)
        self.running = sense_running(state)
        self.onboarded = org is not None
        self.since = onboarded_at(state, now)
        self.id = _h(org or "unonboarded", self.name.lower())

    @property
    def health(self) -> str:
        return "Active" if self.running else "NoSensorData"

    def machine(self, now: datetime.datetime) -> dict:
        s = self.state
        digest = int(self.id[:8], 16)
        last_seen = now.replace(minute=0, second=0, microsecond=0)
        if not self.running or last_seen < self.since:
            last_seen = self.since
        build = int(s["os"]["build"])
        return {
            "id": self.id,
            "computerDnsName": self.dns,
            "firstSeen": iso(self.since),
            "lastSeen": iso(last_seen),
            "osPlatform": os_platform(s),
            "osVersion": None,
            "osProcessor": "x64",
            "version": _VERSION.get(build),
            "lastIpAddress": "10.%d.%d.%d" % (digest >> 16 & 255, digest >> 8 & 255, digest & 255 or 1),
            "lastExternalIpAddress": "203.0.113.%d" % (digest % 254 + 1),
            "agentVersion": "10.8760.%d.1000" % build,
            "osBuild": build,
            "healthStatus": self.health if self.onboarded else "Inactive",
            "deviceValue": "Normal",
            "onboardingStatus": "Onboarded" if self.onboarded else "CanBeOnboarded",
            "rbacGroupId": 0,
            "rbacGroupName": "UnassignedGroup",
            "riskScore": "None",
            "exposureLevel": "Low",
            "isAadJoined": False,
            "aadDeviceId": None,
            "machineTags": [],
            "defenderAvStatus": None,
            "osArchitecture": "64-bit",
            "managedBy": "MicrosoftDefenderForEndpoint",
            "ipAddresses": [],
        }

    def av_info(self, now: datetime.datetime) -> dict | None:
        s = self.state
        o = s["os"]
        if (
            int(o.get("product_type", 1)) != 1
            and int(o["build"]) in (9600, 14393)
            and not (s.get("mde") or {}).get("unified_agent")
        ):
            return None  # 2012 R2 / 2016 appear only with the unified solution (deviceavinfo docs)
        mode = rules.derive_running_mode(s)
        defender = s.get("defender") or {}
        fresh = int(defender.get("signature_age_days", 0)) <= 7
        return {
            "id": str(uuid.UUID(self.id[:32])),
            "machineId": self.id,
            "computerDnsName": self.dns,
            "osKind": "windows",
            "osPlatform": os_platform(s),
            "osVersion": "%s.%s" % (o.get("version"), o.get("ubr", 1000)),
            "avMode": _AV_MODE.get(mode, "") if mode is not None else "",
            "avSignatureVersion": defender.get("signature_version"),
            "avEngineVersion": defender.get("engine_version"),
            "avPlatformVersion": defender.get("platform_version"),
            "lastSeenTime": iso(now.replace(minute=0, second=0, microsecond=0) if self.running else self.since),
            "quickScanResult": "Completed",
            "quickScanError": "",
            "quickScanTime": iso(self.since),
            "fullScanResult": "",
            "fullScanError": "",
            "fullScanTime": None,
            "dataRefreshTimestamp": iso(now),
            "avEngineUpdateTime": iso(self.since),
            "avSignatureUpdateTime": iso(self.since),
            "avPlatformUpdateTime": iso(self.since),
            "avIsSignatureUpToDate": "True" if fresh else "False",
            "avIsEngineUpToDate": "True",
            "avIsPlatformUpToDate": "True",
            "avSignaturePublishTime": iso(self.since),
            "rbacGroupName": "UnassignedGroup",
            "rbacGroupId": 0,
        }

    def detection_tests(self) -> list[dict]:
        return list((self.state.get("mde") or {}).get("detection_tests") or [])

    def alerts(self, now: datetime.datetime, tenant_id: str, delay: float) -> list[dict]:
        out = []
        for test in self.detection_tests():
            ran = datetime.datetime.fromtimestamp(float(test["time"]), datetime.UTC)
            created = ran + datetime.timedelta(seconds=delay)
            if created > now or not self.running:
                continue
            aid = "da%d_%d" % (int(ran.timestamp() * 10_000_000), int(self.id[:7], 16))
            out.append(
                {
                    "id": aid,
                    "incidentId": int(self.id[:5], 16),
                    "investigationId": None,
                    "assignedTo": None,
                    "severity": "Informational",
                    "status": "New",
                    "classification": None,
                    "determination": None,
                    "investigationState": "Queued",
                    "detectionSource": "WindowsDefenderAtp",
                    "detectorId": "7f1c3609-a3ff-40e2-995b-c01770161d68",
                    "category": "Execution",
                    "threatFamilyName": None,
                    "title": DETECTION_TEST_TITLE,
                    "description": "A suspicious PowerShell command line was found on the machine. This alert was "
                    "raised by a detection test.",
                    "alertCreationTime": iso(created),
                    "firstEventTime": iso(ran),
                    "lastEventTime": iso(ran),
                    "lastUpdateTime": iso(created),
                    "resolvedTime": None,
                    "machineId": self.id,
                    "computerDnsName": self.dns,
                    "rbacGroupName": "UnassignedGroup",
                    "aadTenantId": tenant_id,
                    "threatName": None,
                    "mitreTechniques": ["T1059.001"],
                    "relatedUser": None,
                    "comments": [],
                    "evidence": [],
                }
            )
        return out

    def hunting_rows(self, table: str, since: datetime.datetime, now: datetime.datetime) -> Iterator[dict]:
        if not self.running or not self.onboarded:
            return
        start = max(since, self.since)
        base = {"DeviceId": self.id, "DeviceName": self.dns}
        # onboarding is a change: Sense reports the device and starts recording at once
        first = [self.since] if since <= self.since <= now else []
        build = int(self.state["os"]["build"])
        if table == "DeviceInfo":
            for t in first + _grid(start, datetime.timedelta(hours=1), now):
                yield dict(
                    base,
                    Timestamp=t,
                    OnboardingStatus="Onboarded",
                    SensorHealthState="Active",
                    OSPlatform=os_platform(self.state),
                    OSBuild=build,
                    ClientVersion="10.8760.%d.1000" % build,
                    ConnectivityType="Standard",
                    MachineGroup="UnassignedGroup",
                )
        elif table == "DeviceProcessEvents":
            for t in first + _grid(start, datetime.timedelta(minutes=10), now):
                yield dict(
                    base,
                    Timestamp=t,
                    ActionType="ProcessCreated",
                    FileName="svchost.exe",
                    FolderPath="C:\\Windows\\System32\\svchost.exe",
                    ProcessCommandLine="svchost.exe -k netsvcs -p",
                    InitiatingProcessFileName="services.exe",
                    AccountName="system",
                )
            for test in self.detection_tests():
                ran = datetime.datetime.fromtimestamp(float(test["time"]), datetime.UTC)
                if start <= ran <= now:
                    yield dict(
                        base,
                        Timestamp=ran,
                        ActionType="ProcessCreated",
                        FileName="powershell.exe",
                        FolderPath="C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        ProcessCommandLine=str(test.get("command") or "powershell.exe"),
                        InitiatingProcessFileName="wsmprovhost.exe",
                        AccountName="ansible",
                    )
        elif table in GENERIC_TABLES:
            for t in first + _grid(start, datetime.timedelta(minutes=30), now):
                yield dict(base, Timestamp=t, ActionType="Generic")


def _align(when: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    epoch = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    n = -(-(when - epoch) // step)  # ceil
    return epoch + n * step


def _grid(start: datetime.datetime, step: datetime.timedelta, end: datetime.datetime) -> list[datetime.datetime]:
    """Times on a fixed grid (so two queries see the same rows) from ``start`` to ``end``."""
    out = []
    t = _align(start, step)
    while t <= end:
        out.append(t)
        t += step
    return out


class Fleet:
    """The host states of a state dir, re-read when a file changed."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self._cache: dict[str, tuple[tuple[int, int], dict]] = {}
        self._lock = threading.Lock()

    def states(self) -> list[dict]:
        out = []
        with self._lock:
            try:
                names = sorted(os.listdir(self.state_dir))
            except FileNotFoundError:
                return []
            for fname in names:
                if not fname.endswith(".json") or fname.endswith(".counters.json") or fname.startswith("."):
                    continue
                path = os.path.join(self.state_dir, fname)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                key = (st.st_mtime_ns, st.st_size)
                cached = self._cache.get(fname)
                if cached is None or cached[0] != key:
                    try:
                        with open(path, encoding="utf-8") as fh:
                            state = json.load(fh)
                    except (OSError, ValueError):
                        continue  # a file being replaced; the next request reads it
                    cached = (key, state)
                    self._cache[fname] = cached
                state = cached[1]
                if isinstance(state, dict) and "os" in state and "registry" in state:
                    out.append(state)
        return out

    def devices(
        self, org_id: str, now: datetime.datetime, ingestion_delay: float = 0.0, discovery: bool = False
    ) -> list[Device]:
        """The tenant's view: hosts onboarded to ``org_id`` (plus discoverable ones)."""
        out = []
        for state in self.states():
            org = host_org(state)
            if org == org_id.lower():
                dev = Device(state, org, now)
                if dev.since + datetime.timedelta(seconds=ingestion_delay) <= now:
                    out.append(dev)
            elif org is None and discovery:
                out.append(Device(state, None, now))
        return out
