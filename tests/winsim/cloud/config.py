"""The ``tenant:`` and ``cloud:`` blocks of a fleet file (the fake cloud's configuration).

::

    tenant:                     # the tenant the tests sign in to (every key optional)
      tenant_id: 8f0e3c1a-5b6d-4e7f-9a0b-1c2d3e4f5a6b
      org_id: 3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71   # its MDE organisation (default: the first
                                                    # onboarded_org of the fleet file)
      name: contoso
      clients:                  # app registrations (default: one client with every permission)
        - client_id: c7d3a1e2-4b5f-4a6b-8c9d-0e1f2a3b4c5d
          secret: "..."         # default: generated; or `certificate: true` (key pair generated,
                                # PEM path and SHA-1 thumbprint in CONFIG.json)
          permissions: [Machine.Read.All, Alert.Read.All, AdvancedQuery.Read.All,
                        ThreatHunting.Read.All, DeviceManagementConfiguration.ReadWrite.All]
    cloud:
      tenants: [...]            # more tenants, same keys as `tenant` (hosts of their orgs appear there)
      limits:                   # calls per minute / per hour per tenant and endpoint family
        machines: [100, 1500]   # defaults: the documented limits (docs/sources.md §7.3-7.6)
      page_size: {machines: 10000}   # the most items one page holds (default 10,000; deviceavinfo's
                                     # default page without $top is 20)
      faults:                   # served before anything else, in order
        - {status: 503, count: 2, family: machines, retry_after: 1}
        - {status: 200, family: machines, body: []}   # a malformed answer: this JSON instead
        - {status: 200, family: machines, next_link: "{self}"}   # the real page, this @odata.nextLink
      alert_delay_s: 2          # detection test -> alert (the real service: ~10 minutes)
      ingestion_delay_s: 0      # onboarding -> device visible
      discovery: false          # list never-onboarded hosts as CanBeOnboarded
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TENANT_ID = "8f0e3c1a-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
DEFAULT_CLIENT_ID = "c7d3a1e2-4b5f-4a6b-8c9d-0e1f2a3b4c5d"
DEFAULT_ORG_ID = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"

#: Application permissions per resource (WindowsDefenderATP, Microsoft Graph).
API_PERMISSIONS = (
    "Machine.Read.All",
    "Machine.ReadWrite.All",
    "Alert.Read.All",
    "Alert.ReadWrite.All",
    "AdvancedQuery.Read.All",
)
GRAPH_PERMISSIONS = (
    "ThreatHunting.Read.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
)
ALL_PERMISSIONS = (
    "Machine.Read.All",
    "Alert.Read.All",
    "AdvancedQuery.Read.All",
    "ThreatHunting.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
)

#: Documented limits (per minute, per hour); Graph families are not limited by default.
DEFAULT_LIMITS: dict[str, tuple[int | None, int | None]] = {
    "machines": (100, 1500),
    "alerts": (100, 1500),
    "deviceavinfo": (30, 1000),
    "advancedqueries": (45, 1500),
    "graph_hunting": (45, 1500),
    "graph_intune": (None, None),
}
DEFAULT_PAGE_SIZE = {"machines": 10000, "deviceavinfo": 10000, "alerts": 10000, "graph_intune": 1000}
#: Page size without $top (deviceavinfo documents 20; the others give the maximum).
DEFAULT_TOP = {"machines": 10000, "deviceavinfo": 20, "alerts": 10000, "graph_intune": 100}

_TENANT_KEYS = {"tenant_id", "org_id", "name", "clients"}
_CLIENT_KEYS = {"client_id", "secret", "certificate", "permissions", "name"}
_CLOUD_KEYS = {"tenants", "limits", "page_size", "faults", "alert_delay_s", "ingestion_delay_s", "discovery"}
_FAULT_KEYS = {"status", "count", "family", "retry_after", "code", "message", "body", "next_link"}


class CloudConfigError(ValueError):
    pass


@dataclass
class Client:
    client_id: str
    tenant_id: str
    permissions: tuple[str, ...]
    secret: str | None = None
    certificate: bool = False
    cert_pem: str | None = None
    key_path: str | None = None
    thumbprint: str | None = None
    name: str | None = None


@dataclass
class Tenant:
    tenant_id: str
    org_id: str
    name: str
    clients: list[Client] = field(default_factory=list)


@dataclass
class Fault:
    status: int
    count: int | None = 1  # None = every request
    family: str | None = None
    retry_after: float | None = None
    code: str | None = None
    message: str | None = None
    #: When given, the fault answers ``status`` with exactly this JSON (a malformed answer).
    body: Any = None
    has_body: bool = False
    #: When given, the request is answered as usual (a collection: its real page) but the page's
    #: ``@odata.nextLink`` is this value, any JSON; in a string ``{self}`` is the request's own URL and
    #: ``{base}`` the fake's ``https://host:port`` (a hostile or broken link of the service).
    next_link: Any = None
    has_next_link: bool = False

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "count": self.count,
            "family": self.family,
            "retry_after": self.retry_after,
            "code": self.code,
            "message": self.message,
            **({"body": self.body} if self.has_body else {}),
            **({"next_link": self.next_link} if self.has_next_link else {}),
        }


@dataclass
class CloudConfig:
    tenants: dict[str, Tenant]
    limits: dict[str, tuple[int | None, int | None]]
    page_size: dict[str, int]
    faults: list[Fault]
    alert_delay_s: float = 2.0
    ingestion_delay_s: float = 0.0
    discovery: bool = False

    def client(self, client_id: str) -> Client | None:
        for tenant in self.tenants.values():
            for client in tenant.clients:
                if client.client_id.lower() == str(client_id).lower():
                    return client
        return None


def _check_keys(block: Any, allowed: set[str], where: str) -> dict:
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise CloudConfigError("%s must be a mapping" % where)
    bad = set(block) - allowed
    if bad:
        raise CloudConfigError("%s: unknown keys %s; allowed: %s" % (where, sorted(bad), sorted(allowed)))
    return block


def parse_fault(data: dict, where: str = "fault") -> Fault:
    data = _check_keys(data, _FAULT_KEYS, where)
    try:
        status = int(data["status"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CloudConfigError("%s: status (an HTTP status) is required" % where) from exc
    count = data.get("count", 1)
    if "body" in data and "next_link" in data:
        raise CloudConfigError("%s: body and next_link exclude each other (body answers that JSON instead)" % where)
    return Fault(
        status=status,
        count=None if count in (None, "always") else int(count),
        family=data.get("family"),
        retry_after=data.get("retry_after"),
        code=data.get("code"),
        message=data.get("message"),
        body=data.get("body"),
        has_body="body" in data,
        next_link=data.get("next_link"),
        has_next_link="next_link" in data,
    )


def _first_org(fleet: dict) -> str:
    defaults = fleet.get("defaults") or {}
    for host in (fleet.get("hosts") or {}).values():
        org = (host or {}).get("onboarded_org") or defaults.get("onboarded_org")
        if org:
            return str(org).lower()
    return DEFAULT_ORG_ID


def _tenant(data: dict, where: str, default_id: str, default_org: str) -> Tenant:
    data = _check_keys(data, _TENANT_KEYS, where)
    tid = str(data.get("tenant_id") or default_id).lower()
    tenant = Tenant(
        tenant_id=tid,
        org_id=str(data.get("org_id") or default_org).lower(),
        name=str(data.get("name") or "tenant-%s" % tid[:8]),
    )
    clients = data.get("clients")
    if clients is None:
        clients = [{"client_id": DEFAULT_CLIENT_ID if tid == DEFAULT_TENANT_ID else str(uuid.uuid4())}]
    for i, c in enumerate(clients):
        c = _check_keys(c, _CLIENT_KEYS, "%s.clients[%d]" % (where, i))
        perms = tuple(c.get("permissions") if c.get("permissions") is not None else ALL_PERMISSIONS)
        unknown = set(perms) - set(API_PERMISSIONS) - set(GRAPH_PERMISSIONS)
        if unknown:
            raise CloudConfigError("%s.clients[%d]: unknown permissions %s" % (where, i, sorted(unknown)))
        cert = bool(c.get("certificate", False))
        tenant.clients.append(
            Client(
                client_id=str(c.get("client_id") or uuid.uuid4()).lower(),
                tenant_id=tid,
                permissions=perms,
                secret=None if cert else str(c.get("secret") or secrets.token_urlsafe(24)),
                certificate=cert,
                name=c.get("name"),
            )
        )
    return tenant


def parse_config(fleet: dict) -> CloudConfig:
    cloud = _check_keys(fleet.get("cloud"), _CLOUD_KEYS, "cloud")
    tenants: dict[str, Tenant] = {}
    main = _tenant(fleet.get("tenant") or {}, "tenant", DEFAULT_TENANT_ID, _first_org(fleet))
    tenants[main.tenant_id] = main
    for i, extra in enumerate(cloud.get("tenants") or []):
        t = _tenant(extra, "cloud.tenants[%d]" % i, str(uuid.uuid4()), str(uuid.uuid4()))
        if t.tenant_id in tenants:
            raise CloudConfigError("cloud.tenants[%d]: tenant %s is defined twice" % (i, t.tenant_id))
        tenants[t.tenant_id] = t
    limits = dict(DEFAULT_LIMITS)
    for family, value in (cloud.get("limits") or {}).items():
        if family not in limits:
            raise CloudConfigError("cloud.limits: unknown family %r; known: %s" % (family, sorted(limits)))
        if value is None:
            limits[family] = (None, None)
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            limits[family] = (value[0], value[1])
        else:
            limits[family] = (int(value), limits[family][1])
    page = dict(DEFAULT_PAGE_SIZE)
    page.update({k: int(v) for k, v in (cloud.get("page_size") or {}).items()})
    faults = [parse_fault(f, "cloud.faults[%d]" % i) for i, f in enumerate(cloud.get("faults") or [])]
    return CloudConfig(
        tenants=tenants,
        limits=limits,
        page_size=page,
        faults=faults,
        alert_delay_s=float(cloud.get("alert_delay_s", 2.0)),
        ingestion_delay_s=float(cloud.get("ingestion_delay_s", 0.0)),
        discovery=bool(cloud.get("discovery", False)),
    )
